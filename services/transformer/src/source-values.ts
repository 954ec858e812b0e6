import { daysFromCivil, daysInMonth } from './calendar';

/**
 * The raw zone's value formats (events/src/batch-extracted.v1.ts), parsed strictly. Nothing here
 * guesses: a value that is not exactly what the contract says becomes a reason, never a default.
 */
export const MICROS_PER_DAY = 86_400_000_000n;

/** A source `timestamp without time zone`: a wall-clock instant with microseconds, no zone. */
export interface SourceTimestamp {
  /** Days since 1970-01-01. */
  readonly days: number;
  /** Microseconds since midnight (0 … 86,399,999,999): the warehouse TIME, exact. */
  readonly timeMicros: bigint;
  /** Microseconds since 1970-01-01T00:00:00 of the wall clock: the `_version` TIMESTAMP. */
  readonly epochMicros: bigint;
}

const TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?$/;
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** Days since 1970-01-01 of a real calendar date 'YYYY-MM-DD' (year 0001 or later), else undefined. */
function calendarDays(year: number, month: number, day: number): number | undefined {
  if (year < 1 || month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined;
  return daysFromCivil(year, month, day);
}

/** "YYYY-MM-DDTHH:MM:SS[.f{1,6}]" (PostgreSQL's JSON rendering of a timestamp), else undefined. */
export function parseSourceTimestamp(text: string): SourceTimestamp | undefined {
  const m = TIMESTAMP.exec(text);
  if (!m) return undefined;
  const days = calendarDays(Number(m[1]), Number(m[2]), Number(m[3]));
  const hours = Number(m[4]);
  const minutes = Number(m[5]);
  const seconds = Number(m[6]);
  // PostgreSQL timestamps have no leap second and no 24:00 (it normalises both away on input).
  if (days === undefined || hours > 23 || minutes > 59 || seconds > 59) return undefined;
  const fraction = BigInt((m[7] ?? '').padEnd(6, '0'));
  const timeMicros = BigInt((hours * 60 + minutes) * 60 + seconds) * 1_000_000n + fraction;
  return { days, timeMicros, epochMicros: BigInt(days) * MICROS_PER_DAY + timeMicros };
}

/**
 * The text dates totesys agrees ('YYYY-MM-DD') cast to a warehouse date, strictly: exactly that
 * shape and a day that exists (no 2023-02-29, no 2024-13-01, no padding or other formats that
 * PostgreSQL's lenient `::date` would accept).
 */
export function parseTextDate(text: string): number | undefined {
  const m = DATE.exec(text);
  if (!m) return undefined;
  return calendarDays(Number(m[1]), Number(m[2]), Number(m[3]));
}

/** A warehouse DECIMAL(precision, scale). */
export interface DecimalSpec {
  readonly precision: number;
  readonly scale: number;
}

const DECIMAL = /^(-?)(\d+)(?:\.(\d+))?$/;

/**
 * A source numeric (a decimal string) as the unscaled integer of DECIMAL(precision, scale), or the
 * reason it does not fit. Trailing zeros are not digits of value ("3.940" fits scale 2); a digit
 * beyond the scale is never rounded away: the value is refused.
 */
export function parseDecimal(text: string, spec: DecimalSpec): { readonly unscaled: bigint } | { readonly reason: string } {
  const m = DECIMAL.exec(text);
  if (!m) return { reason: `"${clip(text)}" is not a decimal number` };
  const sign = m[1] ?? '';
  const integer = (m[2] ?? '').replace(/^0+(?=\d)/, '');
  const fraction = (m[3] ?? '').replace(/0+$/, '');
  if (fraction.length > spec.scale) {
    return { reason: `${text} has ${fraction.length} decimal places; DECIMAL(${spec.precision},${spec.scale}) keeps ${spec.scale} and a value is never rounded` };
  }
  const integerDigits = integer === '0' ? 0 : integer.length;
  if (integerDigits > spec.precision - spec.scale) {
    return { reason: `${text} has ${integerDigits} digits before the point; DECIMAL(${spec.precision},${spec.scale}) holds ${spec.precision - spec.scale}` };
  }
  return { unscaled: BigInt(`${sign}${integer}${fraction.padEnd(spec.scale, '0')}`) };
}

/** A value quoted for a reason: short, so one huge bad value cannot flood a log line. */
export function clip(value: unknown): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

const INT32_MIN = -2_147_483_648;
const INT32_MAX = 2_147_483_647;

export function isInt32(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= INT32_MIN && value <= INT32_MAX;
}

/** One row's problem: the source column at fault and a sentence saying why. */
export interface RowIssue {
  readonly column: string;
  readonly reason: string;
}

/** A raw row: one JSON Lines object, keyed by source column name. */
export type RawRow = Readonly<Record<string, unknown>>;

/**
 * Reads a raw row's columns as the warehouse needs them, collecting every problem instead of
 * stopping at the first: a row is transformed only if `issues` stays empty. `need` names the
 * warehouse column a value feeds; when given, NULL is a problem ("a NULL where the warehouse needs
 * a value", SPEC §5). `prefix` qualifies column names read from a joined image ("department.").
 */
export class RowReader {
  readonly issues: RowIssue[] = [];

  constructor(
    private readonly row: RawRow,
    private readonly prefix = '',
  ) {}

  issue(column: string, reason: string): void {
    this.issues.push({ column: `${this.prefix}${column}`, reason });
  }

  private present(column: string, need: string | undefined): unknown {
    const value = this.row[column];
    if ((value === null || value === undefined) && need !== undefined) this.issue(column, `NULL where ${need} needs a value`);
    return value ?? null;
  }

  int(column: string, need?: string): number | null {
    const value = this.present(column, need);
    if (value === null) return null;
    if (isInt32(value)) return value;
    this.issue(column, `expected an integer, got ${clip(value)}`);
    return null;
  }

  text(column: string, need?: string): string | null {
    const value = this.present(column, need);
    if (value === null) return null;
    if (typeof value === 'string') return value;
    this.issue(column, `expected text, got ${clip(value)}`);
    return null;
  }

  bool(column: string, need?: string): boolean | null {
    const value = this.present(column, need);
    if (value === null) return null;
    if (typeof value === 'boolean') return value;
    this.issue(column, `expected true or false, got ${clip(value)}`);
    return null;
  }

  timestamp(column: string, need?: string): SourceTimestamp | null {
    const value = this.present(column, need);
    if (value === null) return null;
    const parsed = typeof value === 'string' ? parseSourceTimestamp(value) : undefined;
    if (parsed) return parsed;
    this.issue(column, `${clip(value)} is not a timestamp (YYYY-MM-DDTHH:MM:SS[.ffffff])`);
    return null;
  }

  textDate(column: string, need?: string): number | null {
    const value = this.present(column, need);
    if (value === null) return null;
    const parsed = typeof value === 'string' ? parseTextDate(value) : undefined;
    if (parsed !== undefined) return parsed;
    this.issue(column, `${clip(value)} is not a date (a real calendar day written YYYY-MM-DD)`);
    return null;
  }

  decimal(column: string, spec: DecimalSpec, need?: string): bigint | null {
    const value = this.present(column, need);
    if (value === null) return null;
    if (typeof value !== 'string') {
      this.issue(column, `expected a decimal string, got ${clip(value)}`);
      return null;
    }
    const parsed = parseDecimal(value, spec);
    if ('unscaled' in parsed) return parsed.unscaled;
    this.issue(column, parsed.reason);
    return null;
  }
}
