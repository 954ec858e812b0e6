/**
 * Calendar arithmetic on days since 1970-01-01 in the proleptic Gregorian calendar, the same
 * calendar PostgreSQL's `date` uses. Done with integers (Howard Hinnant's civil-from-days
 * algorithms) rather than `Date`, whose two-digit-year quirks and time zones have no place in a
 * warehouse date.
 */
export interface CivilDate {
  readonly year: number;
  readonly month: number;
  readonly day: number;
}

export function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const mp = (month + 9) % 12;
  const doy = Math.floor((153 * mp + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

export function civilFromDays(days: number): CivilDate {
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  return { year: yoe + era * 400 + (month <= 2 ? 1 : 0), month, day };
}

export function isLeapYear(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

const MONTH_LENGTHS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31] as const;

export function daysInMonth(year: number, month: number): number {
  return month === 2 && isLeapYear(year) ? 29 : (MONTH_LENGTHS[month - 1] ?? 0);
}

/** ISO 8601 day of the week: 1 = Monday … 7 = Sunday (1970-01-01 was a Thursday, ISO 4). */
export function isoDayOfWeek(days: number): number {
  return ((((days + 3) % 7) + 7) % 7) + 1;
}

export const DAY_NAMES = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'] as const;
export const MONTH_NAMES = [
  'January',
  'February',
  'March',
  'April',
  'May',
  'June',
  'July',
  'August',
  'September',
  'October',
  'November',
  'December',
] as const;

/** The dim_date row of one calendar day (SPEC §3), in catalogue column order. */
export interface DateDimensionRow {
  readonly date_id: number;
  readonly year: number;
  readonly month: number;
  readonly day: number;
  readonly day_of_week: number;
  readonly day_name: string;
  readonly month_name: string;
  readonly quarter: number;
}

export function dateDimensionRow(days: number): DateDimensionRow {
  const { year, month, day } = civilFromDays(days);
  const dayOfWeek = isoDayOfWeek(days);
  return {
    date_id: days,
    year,
    month,
    day,
    day_of_week: dayOfWeek,
    day_name: DAY_NAMES[dayOfWeek - 1] as string,
    month_name: MONTH_NAMES[month - 1] as string,
    quarter: Math.ceil(month / 3),
  };
}

/** 'YYYY-MM-DD' of a day number (for keys, logs and tests). */
export function formatDate(days: number): string {
  const { year, month, day } = civilFromDays(days);
  return `${String(year).padStart(4, '0')}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`;
}
