import { formatDateDays, formatDecimal, unscaledFromBytes } from '../../../services/warehouse-loader/src/copy-text';
import {
  CopyBuffer,
  dateWriter,
  decimalWriter,
  timestampWriter,
  writeInteger,
  writeText,
  writeTimeMicros,
  type ValueWriter,
} from '../../../services/warehouse-loader/src/copy-writer';

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

function written(write: ValueWriter, value: unknown): string {
  const out = new CopyBuffer(4);
  write(out, value);
  return out.take().toString('utf8');
}

describe('COPY text values', () => {
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
    expect(written(decimalWriter(6), bytesOf(55254862000000n, 11))).toBe('55254862.00');
    expect(written(decimalWriter(2), 394n)).toBe('3.94');
  });

  it('reads two-complement big-endian decimal bytes of every length, negative ones included', () => {
    for (const value of [0n, 1n, -1n, 255n, -256n, 55254862000000n, -55254862000000n, 123456789012345678123456n, -(2n ** 87n)]) {
      for (const length of [11, 16]) expect(BigInt(unscaledFromBytes(bytesOf(value, length)))).toBe(value);
    }
    expect(unscaledFromBytes(bytesOf(-5n, 3))).toBe(-5);
    expect(unscaledFromBytes(new Uint8Array())).toBe(0);
  });

  it('writes times of day from microseconds, keeping every microsecond', () => {
    expect(written(writeTimeMicros, 0n)).toBe('00:00:00');
    expect(written(writeTimeMicros, 51_652_186_000n)).toBe('14:20:52.186000');
    expect(written(writeTimeMicros, 51_652_000_001n)).toBe('14:20:52.000001');
    expect(written(writeTimeMicros, 86_399_999_999n)).toBe('23:59:59.999999');
    expect(() => written(writeTimeMicros, -1n)).toThrow(RangeError);
  });

  it('writes dates from days since 1970 and timestamps from microseconds, before 1970 too', () => {
    expect(formatDateDays(0)).toBe('1970-01-01');
    expect(written(dateWriter(), 19_297)).toBe('2022-11-01');
    expect(written(dateWriter(), -1)).toBe('1969-12-31');
    expect(written(timestampWriter(), 1_667_485_249_962_123n)).toBe('2022-11-03 14:20:49.962123');
    expect(written(timestampWriter(), -1n)).toBe('1969-12-31 23:59:59.999999');
  });

  it('writes integers of either sign', () => {
    for (const n of [0, 7, 10, -1, -2147483648, 2147483647, 42972]) expect(written(writeInteger, n)).toBe(String(n));
  });

  it('escapes exactly the bytes COPY text format treats specially, leaving UTF-8 intact', () => {
    const text = (s: string) => written(writeText, new TextEncoder().encode(s));
    expect(text('plain, "quoted" and \'Ünïcödé\' ✓')).toBe('plain, "quoted" and \'Ünïcödé\' ✓');
    expect(text('a\tb\nc\rd\\e')).toBe('a\\tb\\nc\\rd\\\\e');
    expect(text('\\N')).toBe('\\\\N');
  });
});
