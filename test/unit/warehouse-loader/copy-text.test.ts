import { formatDateDays, formatDecimal, unscaledFromBytes } from '../../../services/warehouse-loader/src/copy-text';
import {
  BINARY_COPY_HEADER,
  BINARY_COPY_TRAILER,
  CopyBuffer,
  decimalWriter,
  numericField,
  timestampWriter,
  writeDate,
  writeInteger,
  writeNull,
  writeText,
  writeTime,
  type FieldWriter,
} from '../../../services/warehouse-loader/src/copy-writer';
import type { StagingColumnType } from '../../../services/warehouse-loader/src/staging-columns';
import { decodeCopyBinary } from './copy-binary';

/** Two's-complement big-endian bytes of `value` in `length` bytes, as Parquet stores FIXED decimals. */
function bytesOf(value: bigint, length: number): Uint8Array {
  const out = new Uint8Array(length);
  let v = BigInt.asUintN(length * 8, value);
  for (let i = length - 1; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

/** The value one field writer writes, as PostgreSQL would print it (decoded from a one-row binary COPY stream). */
function written(write: FieldWriter, value: unknown, type: StagingColumnType): string {
  const out = new CopyBuffer(4);
  out.bytes(BINARY_COPY_HEADER);
  out.int16(1);
  write(out, value);
  out.bytes(BINARY_COPY_TRAILER);
  return decodeCopyBinary(out.take(), [{ name: 'v', type, nullable: true }])[0]?.[0] as string;
}

describe('COPY values', () => {
  it('formats decimals exactly from unscaled integers of any size, dropping trailing fractional zeros beyond two places', () => {
    expect(formatDecimal(394, 2)).toBe('3.94');
    expect(formatDecimal(210, 2)).toBe('2.10');
    expect(formatDecimal(79_016_000_000n, 6)).toBe('79016.00');
    expect(formatDecimal(73_800_000, 6)).toBe('73.80');
    expect(formatDecimal(3_945_000, 6)).toBe('3.945');
    expect(formatDecimal(5, 1)).toBe('0.5');
    expect(formatDecimal(-1, 2)).toBe('-0.01');
    expect(formatDecimal(0, 6)).toBe('0.00');
    expect(formatDecimal(1_000_000_000n, 6)).toBe('1000.00');
    expect(formatDecimal(123456789012345678123456n, 6)).toBe('123456789012345678.123456');
    expect(formatDecimal(-99999999999999999999999n, 6)).toBe('-99999999999999999.999999');
    expect(formatDecimal(42, 0)).toBe('42');
    expect(written(decimalWriter(6), bytesOf(55254862000000n, 11), 'numeric')).toBe('55254862.00');
    expect(written(decimalWriter(2), 394n, 'numeric(10,2)')).toBe('3.94');
  });

  it('reads two-complement big-endian decimal bytes of every length, negative ones included', () => {
    for (const value of [0n, 1n, -1n, 255n, -256n, 55254862000000n, -55254862000000n, 123456789012345678123456n, -(2n ** 87n)]) {
      for (const length of [11, 16]) expect(BigInt(unscaledFromBytes(bytesOf(value, length)))).toBe(value);
    }
    expect(unscaledFromBytes(bytesOf(-5n, 3))).toBe(-5);
    expect(unscaledFromBytes(new Uint8Array())).toBe(0);
  });

  it('writes numerics in base-10000 digits with their display scale, as numeric_send does', () => {
    // 12.50: digits 12 and 5000, weight 0, positive, two places.
    expect([...numericField('12.50')]).toEqual([0, 0, 0, 12, 0, 2, 0, 0, 0x00, 0x00, 0, 2, 0, 12, 0x13, 0x88]);
    // -0.000001: one digit, 100, at weight -2, negative, six places.
    expect([...numericField('-0.000001')]).toEqual([0, 0, 0, 10, 0, 1, 0xff, 0xfe, 0x40, 0x00, 0, 6, 0, 100]);
    // 0.00: no digits, positive, two places.
    expect([...numericField('0.00')]).toEqual([0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 2]);
    for (const text of ['79016.00', '73.80', '3.945', '-12.50', '10000.00', '123456789012345678.123456', '-99999999999999999.999999', '0.000001', '42']) {
      expect(written((out) => out.bytes(numericField(text)), null, 'numeric')).toBe(text);
    }
  });

  it('writes times of day from microseconds, keeping every microsecond', () => {
    expect(written(writeTime, 0n, 'time')).toBe('00:00:00');
    expect(written(writeTime, 51_652_186_000n, 'time')).toBe('14:20:52.186');
    expect(written(writeTime, 51_652_000_001n, 'time')).toBe('14:20:52.000001');
    expect(written(writeTime, 86_399_999_999n, 'time')).toBe('23:59:59.999999');
    expect(() => written(writeTime, -1n, 'time')).toThrow(RangeError);
    expect(() => written(writeTime, 86_400_000_001n, 'time')).toThrow(RangeError);
  });

  it('writes dates from days since 1970 and timestamps from microseconds, before 1970 and 2000 too', () => {
    expect(formatDateDays(0)).toBe('1970-01-01');
    expect(written(writeDate, 19_297, 'date')).toBe('2022-11-01');
    expect(written(writeDate, -1, 'date')).toBe('1969-12-31');
    expect(written(writeDate, 10_956, 'date')).toBe('1999-12-31');
    expect(written(timestampWriter(), 1_667_485_249_962_123n, 'timestamp')).toBe('2022-11-03 14:20:49.962123');
    expect(written(timestampWriter(), -1n, 'timestamp')).toBe('1969-12-31 23:59:59.999999');
  });

  it('refuses dates and timestamps outside years 1 to 9999', () => {
    expect(written(writeDate, -719_162, 'date')).toBe('0001-01-01');
    expect(written(writeDate, 2_932_896, 'date')).toBe('9999-12-31');
    expect(() => written(writeDate, -719_163, 'date')).toThrow(/outside years 1 to 9999/);
    expect(() => written(writeDate, 2_932_897, 'date')).toThrow(/outside years 1 to 9999/);
    expect(() => written(timestampWriter(), 2_932_897n * 86_400_000_000n, 'timestamp')).toThrow(/outside years 1 to 9999/);
    expect(() => written(timestampWriter(), -719_162n * 86_400_000_000n - 1n, 'timestamp')).toThrow(/outside years 1 to 9999/);
  });

  it('writes integers of either sign, and NULL', () => {
    for (const n of [0, 7, 10, -1, -2147483648, 2147483647, 42972]) expect(written(writeInteger, n, 'int')).toBe(String(n));
    expect(written(writeNull, 1, 'int')).toBe('\\N');
  });

  it('writes text as its UTF-8 bytes, with nothing escaped', () => {
    const text = (s: string) => written(writeText, new TextEncoder().encode(s), 'varchar');
    for (const s of ['plain, "quoted" and \'Ünïcödé\' ✓', 'a\tb\nc\rd\\e', '\\N', '']) expect(text(s)).toBe(s);
  });
});
