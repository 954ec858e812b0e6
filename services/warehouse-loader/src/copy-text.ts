/**
 * Exact text of decimals (the COPY writer builds each binary numeric from it, a few distinct per
 * file) and of date keys (the referenced keys of a fact file): decimals from their unscaled
 * integers, dates from day numbers; nothing passes through a float.
 */

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
 * The decimal text of `unscaled × 10^-scale`, exact, with trailing fractional zeros dropped down to
 * two places: money keeps the scale the source writes it with (79016.00, 73.80), while a value with
 * more places keeps them all. An unconstrained `numeric` column stores the scale it is given, so the
 * warehouse shows amounts as the source does; numeric(10,2) pads to its scale anyway.
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

/** Fractional places kept even when they are zeros (money's scale). */
const MIN_FRACTION_DIGITS = 2;

function fractionText(fraction: number | bigint, scale: number): string {
  if (scale === 0) return '';
  const keep = Math.min(MIN_FRACTION_DIGITS, scale);
  const digits = String(fraction).padStart(scale, '0');
  let end = digits.length;
  while (end > keep && digits.charCodeAt(end - 1) === 48 /* '0' */) end--;
  return `.${digits.slice(0, end)}`;
}

const MS_PER_DAY = 86_400_000;

/** Days since 1970-01-01 (Parquet DATE) as `YYYY-MM-DD`. */
export function formatDateDays(days: number): string {
  const date = new Date(days * MS_PER_DAY);
  if (Number.isNaN(date.getTime())) throw new RangeError(`${days} days is not a date`);
  const year = date.getUTCFullYear();
  if (year < 1 || year > 9999) throw new RangeError(`${days} days is outside years 1 to 9999`);
  return date.toISOString().slice(0, 10);
}
