import { formatDecimal, unscaledFromBytes } from './copy-text';

/**
 * Writes rows in PostgreSQL's binary COPY format straight into a buffer, field by field.
 *
 * Why binary and not text: the staging table is the loader's own and nobody else reads the stream,
 * and every Parquet value already is, or nearly is, what the binary format wants: INT32 and DATE
 * days are 32-bit integers, TIME and TIMESTAMP microseconds 64-bit ones (each date and timestamp
 * moved from 1970's epoch to 2000's), strings their UTF-8 bytes with nothing to escape. PostgreSQL
 * then has nothing to parse: measured on 1.1M fact_sales_order rows, staging takes 1.5 CPU-seconds
 * of the warehouse instead of 3.2–3.4 for the same rows as text (docs/architecture.md, decision 5).
 *
 * The format (PostgreSQL docs, COPY, "Binary Format"): an 11-byte signature, a 32-bit flags field
 * and a 32-bit header extension length; per row a 16-bit field count, then per field a 32-bit length
 * (-1 = NULL) and the value in its type's send/receive representation; a 16-bit -1 to end.
 * PostgreSQL checks each value as it receives it (a date or time out of range, text that is not
 * UTF-8), so a bad value fails the COPY, naming the column and row, as text input would.
 *
 * Not pg-copy-streams-binary: its encoder (2.2.0, 2021) has no numeric, date or time, and takes
 * timestamps as JavaScript Dates, which hold milliseconds; the warehouse needs microseconds and
 * exact decimals.
 */
export const BINARY_COPY_HEADER = Buffer.from([0x50, 0x47, 0x43, 0x4f, 0x50, 0x59, 0x0a, 0xff, 0x0d, 0x0a, 0x00, 0, 0, 0, 0, 0, 0, 0, 0]);
export const BINARY_COPY_TRAILER = Buffer.from([0xff, 0xff]);

/** PostgreSQL's dates and timestamps count from 2000-01-01; Parquet's from 1970-01-01. */
const DAYS_1970_TO_2000 = 10_957;
const MICROS_PER_DAY = 86_400_000_000n;
const MICROS_1970_TO_2000 = BigInt(DAYS_1970_TO_2000) * MICROS_PER_DAY;

/** Days since 1970 of 0001-01-01 and 9999-12-31: the years a warehouse date may have (as the transformer writes them). */
const FIRST_DAY = -719_162;
const LAST_DAY = 2_932_896;

export class CopyBuffer {
  private buffer: Buffer;
  /** The same memory, for big-endian integer writes (cheaper than Buffer's checked write methods). */
  private view: DataView;
  private position = 0;

  constructor(initialBytes = 1 << 20) {
    this.buffer = Buffer.allocUnsafe(initialBytes);
    this.view = new DataView(this.buffer.buffer, this.buffer.byteOffset, this.buffer.byteLength);
  }

  get length(): number {
    return this.position;
  }

  /** Make room for `bytes` more bytes. */
  ensure(bytes: number): void {
    if (this.position + bytes <= this.buffer.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buffer.length * 2, this.position + bytes));
    this.buffer.copy(next, 0, 0, this.position);
    this.buffer = next;
    this.view = new DataView(next.buffer, next.byteOffset, next.byteLength);
  }

  int16(value: number): void {
    this.ensure(2);
    this.view.setInt16(this.position, value);
    this.position += 2;
  }

  int32(value: number): void {
    this.ensure(4);
    this.view.setInt32(this.position, value);
    this.position += 4;
  }

  /** A field of 4 bytes: its length, then the 32-bit integer. */
  int32Field(value: number): void {
    this.ensure(8);
    this.view.setInt32(this.position, 4);
    this.view.setInt32(this.position + 4, value);
    this.position += 8;
  }

  /** A field of 8 bytes: its length, then the 64-bit integer. */
  int64Field(value: bigint): void {
    this.ensure(12);
    this.view.setInt32(this.position, 8);
    this.view.setBigInt64(this.position + 4, value);
    this.position += 12;
  }

  byte(value: number): void {
    this.ensure(1);
    this.buffer[this.position++] = value;
  }

  bytes(value: Uint8Array): void {
    this.ensure(value.length);
    this.buffer.set(value, this.position);
    this.position += value.length;
  }

  /** The bytes written so far (copied out), and start again. */
  take(): Buffer {
    const out = Buffer.from(this.buffer.subarray(0, this.position));
    this.position = 0;
    return out;
  }
}

/** Writes one field: its length, then its value. */
export type FieldWriter = (out: CopyBuffer, value: unknown) => void;

export const writeNull = (out: CopyBuffer): void => out.int32(-1);

/** int4: a signed 32-bit integer (Parquet INT32). */
export const writeInteger: FieldWriter = (out, v) => out.int32Field(v as number);

export const writeBoolean: FieldWriter = (out, v) => {
  out.int32(1);
  out.byte(v ? 1 : 0);
};

/** varchar: the UTF-8 bytes as they are. */
export const writeText: FieldWriter = (out, v) => {
  const bytes = v as Uint8Array;
  out.int32(bytes.length);
  out.bytes(bytes);
};

function checkDays(days: number): void {
  if (!Number.isInteger(days) || days < FIRST_DAY || days > LAST_DAY) throw new RangeError(`${days} days is outside years 1 to 9999`);
}

/** date: days since 2000-01-01 (Parquet DATE: days since 1970-01-01). */
export const writeDate: FieldWriter = (out, v) => {
  const days = v as number;
  checkDays(days);
  out.int32Field(days - DAYS_1970_TO_2000);
};

/** time: microseconds since midnight, as Parquet TIME MICROS holds them (24:00:00 included, as PostgreSQL allows). */
export const writeTime: FieldWriter = (out, v) => {
  const micros = v as bigint;
  if (typeof micros !== 'bigint' || micros < 0n || micros > MICROS_PER_DAY) throw new RangeError(`${String(v)} µs is not a time of day`);
  out.int64Field(micros);
};

/**
 * timestamp: microseconds since 2000-01-01 00:00 (Parquet TIMESTAMP MICROS: since 1970). A fact
 * file's version stamps are one value (one detection pass): checked and moved once.
 */
export function timestampWriter(): FieldWriter {
  let last: unknown;
  let lastValue = 0n;
  return (out, v) => {
    if (v !== last) {
      const micros = v as bigint;
      const days = micros / MICROS_PER_DAY - (micros % MICROS_PER_DAY < 0n ? 1n : 0n);
      checkDays(Number(days));
      lastValue = micros - MICROS_1970_TO_2000;
      last = v;
    }
    out.int64Field(lastValue);
  };
}

/**
 * numeric's binary form, length prefix included, of a decimal text ('-123.45'): digit count, weight
 * (the power of 10000 of the first digit), sign, display scale (the text's fractional places, so the
 * warehouse shows the scale text input would give it), then the base-10000 digits without leading
 * or trailing zero digits.
 */
export function numericField(text: string): Buffer {
  const negative = text.startsWith('-');
  const [integer = '0', fraction = ''] = (negative ? text.slice(1) : text).split('.');
  const integerDigits = integer.replace(/^0+/, '');
  const groups: number[] = [];
  const paddedInteger = integerDigits.padStart(Math.ceil(integerDigits.length / 4) * 4, '0');
  for (let i = 0; i < paddedInteger.length; i += 4) groups.push(Number(paddedInteger.slice(i, i + 4)));
  let weight = groups.length - 1;
  const paddedFraction = fraction.padEnd(Math.ceil(fraction.length / 4) * 4, '0');
  for (let i = 0; i < paddedFraction.length; i += 4) groups.push(Number(paddedFraction.slice(i, i + 4)));
  while (groups.length > 0 && groups[0] === 0) {
    groups.shift();
    weight--;
  }
  while (groups.length > 0 && groups[groups.length - 1] === 0) groups.pop();
  if (groups.length === 0) weight = 0;
  const field = Buffer.alloc(4 + 8 + 2 * groups.length);
  field.writeInt32BE(8 + 2 * groups.length, 0);
  field.writeInt16BE(groups.length, 4);
  field.writeInt16BE(weight, 6);
  field.writeUInt16BE(negative && groups.length > 0 ? 0x4000 : 0, 8);
  field.writeInt16BE(fraction.length, 10);
  groups.forEach((g, i) => field.writeUInt16BE(g, 12 + 2 * i));
  return field;
}

/**
 * Exact decimals from unscaled integers (number, bigint, or two's-complement big-endian bytes),
 * through their exact text (copy-text.ts: money keeps two places, more places are kept whole).
 */
export function decimalWriter(scale: number): FieldWriter {
  // Amounts repeat (dictionary pages hand out the same value or byte array per distinct amount).
  const cache = new Map<unknown, Buffer>();
  return (out, v) => {
    let field = cache.get(v);
    if (!field) {
      const unscaled = v instanceof Uint8Array ? unscaledFromBytes(v) : (v as number | bigint);
      field = numericField(formatDecimal(unscaled, scale));
      if (cache.size < 50_000) cache.set(v, field);
    }
    out.bytes(field);
  };
}
