import { addMicros, addSeconds, canonicalTimestamp, fromMicros, maxTimestamp, toMicros } from '../../../services/change-detector/src/source-time';

describe('source timestamps as exact microseconds', () => {
  it('reads 0 to 6 fraction digits and a T or a space, exactly', () => {
    expect(toMicros('1970-01-01T00:00:00')).toBe(0n);
    expect(toMicros('1970-01-01 00:00:01.5')).toBe(1_500_000n);
    expect(toMicros('2024-11-15T14:39:58.000001') - toMicros('2024-11-15T14:39:58')).toBe(1n);
    expect(() => toMicros('2024-11-15')).toThrow(TypeError);
  });

  it('writes six fraction digits, so that such strings sort as they compare', () => {
    expect(fromMicros(toMicros('2024-11-15T14:39:58.011'))).toBe('2024-11-15T14:39:58.011000');
    expect(canonicalTimestamp('1969-12-31 23:59:59.999999')).toBe('1969-12-31T23:59:59.999999');
    expect(fromMicros(-1n)).toBe('1969-12-31T23:59:59.999999');
  });

  it('orders years 1 to 99 as years, not as 1900 to 1999, and the off-range key after every other', () => {
    expect(toMicros('0044-03-15T00:00:00')).toBeLessThan(toMicros('1990-01-01T00:00:00'));
    expect(fromMicros(toMicros('0044-03-15T12:00:00.5'))).toBe('0044-03-15T12:00:00.500000');
    expect(canonicalTimestamp('0001-01-01 00:00:00')).toBe('0001-01-01T00:00:00.000000');
    expect(toMicros('9999-12-31T24:00:00')).toBe(toMicros('9999-12-31T23:59:59.999999') + 1n);
  });

  it('adds seconds and microseconds across days, and picks the later of two', () => {
    expect(addSeconds('2024-03-01T00:10:00.000000', -900)).toBe('2024-02-29T23:55:00.000000');
    expect(addMicros('2024-12-31T23:59:59.999999', 1n)).toBe('2025-01-01T00:00:00.000000');
    expect(maxTimestamp('2024-01-01T00:00:00.5', '2024-01-01T00:00:00.499999')).toBe('2024-01-01T00:00:00.5');
  });
});
