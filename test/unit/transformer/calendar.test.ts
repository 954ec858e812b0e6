import { civilFromDays, dateDimensionRow, daysFromCivil, formatDate, isoDayOfWeek } from '../../../services/transformer/src/calendar';

describe('dim_date derivation (SPEC §3)', () => {
  it('puts 2024-03-31 in quarter 1 and 2024-04-01 in quarter 2', () => {
    expect(dateDimensionRow(daysFromCivil(2024, 3, 31))).toMatchObject({ year: 2024, month: 3, day: 31, quarter: 1, month_name: 'March' });
    expect(dateDimensionRow(daysFromCivil(2024, 4, 1)).quarter).toBe(2);
    expect(dateDimensionRow(daysFromCivil(2024, 12, 31)).quarter).toBe(4);
  });

  it('makes 2022-11-03 a Thursday, ISO day 4', () => {
    expect(dateDimensionRow(daysFromCivil(2022, 11, 3))).toEqual({
      date_id: daysFromCivil(2022, 11, 3),
      year: 2022,
      month: 11,
      day: 3,
      day_of_week: 4,
      day_name: 'Thursday',
      month_name: 'November',
      quarter: 4,
    });
  });

  it('numbers the week ISO style: Monday 1 … Sunday 7', () => {
    // 2024-11-11 was a Monday.
    const monday = daysFromCivil(2024, 11, 11);
    const names = Array.from({ length: 7 }, (_, i) => dateDimensionRow(monday + i)).map((r) => `${r.day_of_week} ${r.day_name}`);
    expect(names).toEqual(['1 Monday', '2 Tuesday', '3 Wednesday', '4 Thursday', '5 Friday', '6 Saturday', '7 Sunday']);
    expect(isoDayOfWeek(-1)).toBe(3); // 1969-12-31 was a Wednesday
  });

  it('counts days from 1970-01-01 as the Parquet DATE does, leap days included', () => {
    expect(daysFromCivil(1970, 1, 1)).toBe(0);
    expect(daysFromCivil(2022, 11, 3)).toBe(19299);
    expect(daysFromCivil(2024, 3, 1) - daysFromCivil(2024, 2, 28)).toBe(2);
    expect(daysFromCivil(2100, 3, 1) - daysFromCivil(2100, 2, 28)).toBe(1);
    for (let d = -800_000; d <= 800_000; d += 997) {
      const c = civilFromDays(d);
      expect(daysFromCivil(c.year, c.month, c.day)).toBe(d);
    }
    expect(formatDate(19299)).toBe('2022-11-03');
  });
});
