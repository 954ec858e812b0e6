import { daysFromCivil } from '../../../services/transformer/src/calendar';
import { RowReader, parseDecimal, parseSourceTimestamp, parseTextDate } from '../../../services/transformer/src/source-values';

describe('raw value parsing', () => {
  it('splits a timestamp into date and time with microseconds kept', () => {
    expect(parseSourceTimestamp('2022-11-03T14:20:52.186123')).toEqual({
      days: 19299,
      timeMicros: 51_652_186_123n,
      epochMicros: 19299n * 86_400_000_000n + 51_652_186_123n,
    });
    expect(parseSourceTimestamp('2022-11-03T14:20:52')?.timeMicros).toBe(51_652_000_000n);
    expect(parseSourceTimestamp('2022-11-03T14:20:52.1')?.timeMicros).toBe(51_652_100_000n);
  });

  it('refuses timestamps that are not PostgreSQL JSON timestamps', () => {
    for (const bad of ['2022-11-03 14:20:52', '2022-11-03T24:00:00', '2022-02-30T00:00:00', '2022-11-03T14:20:52.1234567', '2022-11-03T14:20:52Z', '']) {
      expect(parseSourceTimestamp(bad)).toBeUndefined();
    }
  });

  it('casts text dates strictly: real calendar days written YYYY-MM-DD only', () => {
    expect(parseTextDate('2024-02-29')).toBe(daysFromCivil(2024, 2, 29));
    for (const bad of ['2023-02-29', '2024-13-01', '2024-00-10', '2022-11-3', ' 2022-11-03', '2022-11-03 ', '03/11/2022', '20221103', '0000-01-01', 'not a date']) {
      expect(parseTextDate(bad)).toBeUndefined();
    }
  });

  it('reads decimals exactly as unscaled integers and never rounds', () => {
    expect(parseDecimal('3.94', { precision: 10, scale: 2 })).toEqual({ unscaled: 394n });
    expect(parseDecimal('3.940', { precision: 10, scale: 2 })).toEqual({ unscaled: 394n });
    expect(parseDecimal('-0.5', { precision: 10, scale: 2 })).toEqual({ unscaled: -50n });
    expect(parseDecimal('12345678.99', { precision: 10, scale: 2 })).toEqual({ unscaled: 1234567899n });
    expect(parseDecimal('552548.62', { precision: 24, scale: 6 })).toEqual({ unscaled: 552548620000n });
    expect(parseDecimal('123456789012345678.123456', { precision: 24, scale: 6 })).toEqual({ unscaled: 123456789012345678123456n });
    expect(parseDecimal('3.945', { precision: 10, scale: 2 })).toMatchObject({ reason: expect.stringContaining('never rounded') });
    expect(parseDecimal('123456789.00', { precision: 10, scale: 2 })).toMatchObject({ reason: expect.stringContaining('9 digits before the point') });
    expect(parseDecimal('1e3', { precision: 10, scale: 2 })).toMatchObject({ reason: expect.stringContaining('not a decimal number') });
    expect(parseDecimal('NaN', { precision: 24, scale: 6 })).toMatchObject({ reason: expect.stringContaining('not a decimal number') });
  });

  it('collects every problem of a row, naming the column, and treats NULL as a problem only where a value is needed', () => {
    const r = new RowReader({ a: null, b: 'x', c: 1.5, d: '2023-02-29', e: null });
    expect(r.int('a', 'fact.a')).toBeNull();
    expect(r.int('b')).toBeNull();
    expect(r.int('c')).toBeNull();
    expect(r.textDate('d')).toBeNull();
    expect(r.text('e')).toBeNull();
    expect(r.issues).toEqual([
      { column: 'a', reason: 'NULL where fact.a needs a value' },
      { column: 'b', reason: 'expected an integer, got x' },
      { column: 'c', reason: 'expected an integer, got 1.5' },
      { column: 'd', reason: '2023-02-29 is not a date (a real calendar day written YYYY-MM-DD)' },
    ]);
  });
});
