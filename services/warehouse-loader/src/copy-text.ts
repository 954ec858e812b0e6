/**
 * Values in PostgreSQL's COPY text format (one row per line, columns separated by tabs, `\N` for
 * NULL). Every formatter here is exact: decimals are built from their unscaled integers, times and
 * timestamps from integer microseconds, so nothing ever passes through a float.
 */
export const COPY_NULL = '\\N';

const SPECIAL = /[\\\n\r\t]/;
const SPECIAL_ALL = /[\\\n\r\t]/g;
const ESCAPES: Record<string, string> = { '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/** A text value with COPY's special characters (backslash, newline, carriage return, tab) escaped. */
export function escapeCopyText(value: string): string {
  return SPECIAL.test(value) ? value.replace(SPECIAL_ALL, (c) => ESCAPES[c] ?? c) : value;
}

/** A two's-complement big-endian integer (Parquet's FIXED_LEN_BYTE_ARRAY / BYTE_ARRAY DECIMAL). */
export function unscaledFromBytes(bytes: Uint8Array): bigint | number {
  if (bytes.length === 0) return 0;
  if (bytes.length <= 6) {
    // Up to 48 bits fits a double exactly: cheaper than BigInt arithmetic on the hot path.
    let value = 0;
    for (const byte of bytes) value = value * 256 + byte;
    const bits = bytes.length * 8;
    return (bytes[0] as number) & 0x80 ? value - 2 ** bits : value;
  }
  let value = 0n;
  for (const byte of bytes) value = (value << 8n) | BigInt(byte);
  return (bytes[0] as number) & 0x80 ? value - (1n << BigInt(bytes.length * 8)) : value;
}

const POWERS_OF_TEN = Array.from({ length: 16 }, (_, i) => 10 ** i);

/**
 * The decimal text of `unscaled × 10^-scale`, exact, with trailing fractional zeros dropped
 * (PostgreSQL compares numerics by value: 2.50 = 2.5; a numeric(10,2) column pads to its scale).
 */
export function formatDecimal(unscaled: bigint | number, scale: number): string {
  if (typeof unscaled === 'number' && Number.isSafeInteger(unscaled) && scale < POWERS_OF_TEN.length) {
    const negative = unscaled < 0;
    const abs = negative ? -unscaled : unscaled;
    const factor = POWERS_OF_TEN[scale] as number;
    const fraction = abs % factor;
    const integer = (abs - fraction) / factor;
    return `${negative ? '-' : ''}${integer}${fractionText(fraction, scale)}`;
  }
  const big = typeof unscaled === 'bigint' ? unscaled : BigInt(unscaled);
  const negative = big < 0n;
  const abs = negative ? -big : big;
  const factor = 10n ** BigInt(scale);
  const fraction = abs % factor;
  const integer = abs / factor;
  return `${negative ? '-' : ''}${integer}${scale === 0 ? '' : fractionText(fraction, scale)}`;
}

function fractionText(fraction: number | bigint, scale: number): string {
  if (scale === 0 || fraction === 0 || fraction === 0n) return '';
  const digits = String(fraction).padStart(scale, '0').replace(/0+$/, '');
  return `.${digits}`;
}

const MICROS_PER_DAY = 86_400_000_000;
const MS_PER_DAY = 86_400_000;

const pad2 = (n: number) => (n < 10 ? `0${n}` : String(n));

/** Microseconds since midnight (Parquet TIME MICROS) as `HH:MM:SS[.ffffff]`. */
export function formatTimeMicros(micros: bigint | number): string {
  const us = Number(micros);
  if (!Number.isInteger(us) || us < 0 || us > MICROS_PER_DAY) throw new RangeError(`${String(micros)} µs is not a time of day`);
  const fraction = us % 1_000_000;
  const seconds = (us - fraction) / 1_000_000;
  const s = seconds % 60;
  const minutes = (seconds - s) / 60;
  const m = minutes % 60;
  const h = (minutes - m) / 60;
  return `${pad2(h)}:${pad2(m)}:${pad2(s)}${fraction === 0 ? '' : `.${String(fraction).padStart(6, '0')}`}`;
}

/** Days since 1970-01-01 (Parquet DATE) as `YYYY-MM-DD`. */
export function formatDateDays(days: number): string {
  const date = new Date(days * MS_PER_DAY);
  if (Number.isNaN(date.getTime())) throw new RangeError(`${days} days is not a date`);
  const year = date.getUTCFullYear();
  if (year < 1 || year > 9999) throw new RangeError(`${days} days is outside years 1 to 9999`);
  return date.toISOString().slice(0, 10);
}

/** Microseconds since 1970-01-01 00:00 of a wall clock (Parquet TIMESTAMP MICROS) as `YYYY-MM-DD HH:MM:SS[.ffffff]`. */
export function formatTimestampMicros(micros: bigint | number): string {
  const big = typeof micros === 'bigint' ? micros : BigInt(micros);
  const perDay = BigInt(MICROS_PER_DAY);
  let days = big / perDay;
  let rest = big % perDay;
  if (rest < 0n) {
    rest += perDay;
    days -= 1n;
  }
  return `${formatDateDays(Number(days))} ${formatTimeMicros(rest)}`;
}
