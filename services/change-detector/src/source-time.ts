/**
 * Source timestamps (`timestamp without time zone`: a wall clock, microseconds) as exact integers,
 * for the window arithmetic of a detection pass. JS Dates hold milliseconds only, so the value is
 * microseconds since 1970-01-01 00:00 of the same wall clock, as a bigint.
 */
const PATTERN = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?$/;

export function toMicros(timestamp: string): bigint {
  const m = PATTERN.exec(timestamp);
  if (!m) throw new TypeError(`${JSON.stringify(timestamp)} is not a source timestamp (YYYY-MM-DDTHH:MM:SS[.ffffff])`);
  const [, y, mo, d, h, mi, s, f] = m;
  // Not Date.UTC(year, …): it reads years 0 to 99 as 1900 to 1999 (a row of year 0044 would sort
  // after one of 1990 and the cursor would seem to go back). Fields out of range roll over, so the
  // off-range key 9999-12-31T24:00:00 is 10000-01-01T00:00:00, after every other key.
  const date = new Date(0);
  date.setUTCFullYear(Number(y), Number(mo) - 1, Number(d));
  date.setUTCHours(Number(h), Number(mi), Number(s), 0);
  return BigInt(date.getTime()) * 1000n + BigInt((f ?? '').padEnd(6, '0'));
}

/** "YYYY-MM-DDTHH:MM:SS.ffffff", always six fraction digits, so that such strings sort as they compare. */
export function fromMicros(micros: bigint): string {
  const ms = micros / 1000n - (micros % 1000n < 0n ? 1n : 0n);
  const sub = micros - ms * 1000n;
  const date = new Date(Number(ms));
  const fraction = String(date.getUTCMilliseconds() * 1000 + Number(sub)).padStart(6, '0');
  return `${date.toISOString().slice(0, 19)}.${fraction}`;
}

/** The same instant in the canonical six-digit form. */
export function canonicalTimestamp(timestamp: string): string {
  return fromMicros(toMicros(timestamp));
}

export function maxTimestamp(a: string, b: string): string {
  return toMicros(a) >= toMicros(b) ? a : b;
}

export function addSeconds(timestamp: string, seconds: number): string {
  return fromMicros(toMicros(timestamp) + BigInt(Math.round(seconds * 1_000_000)));
}

export function addMicros(timestamp: string, micros: bigint): string {
  return fromMicros(toMicros(timestamp) + micros);
}
