import { formatDateDays, formatDecimal, unscaledFromBytes } from './copy-text';

/**
 * Writes COPY text-format bytes straight into a buffer, value by value, so that a million rows do
 * not become millions of short-lived strings (the garbage collector was a quarter of the loader's
 * JavaScript time). The text is the same as copy-text.ts's formatters produce.
 */
const TAB = 0x09;
const NEWLINE = 0x0a;
const CARRIAGE_RETURN = 0x0d;
const BACKSLASH = 0x5c;
const NULL_BYTES = Buffer.from('\\N', 'latin1');

export class CopyBuffer {
  private buffer: Buffer;
  private position = 0;

  constructor(initialBytes = 1 << 20) {
    this.buffer = Buffer.allocUnsafe(initialBytes);
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

  /** ASCII text (digits, punctuation): one byte per character. */
  ascii(value: string): void {
    this.ensure(value.length);
    for (let i = 0; i < value.length; i++) this.buffer[this.position++] = value.charCodeAt(i);
  }

  /** A safe integer in decimal digits. */
  integer(value: number): void {
    this.ensure(21);
    let v = value;
    if (v < 0) {
      this.buffer[this.position++] = 0x2d;
      v = -v;
    }
    let digits = 1;
    for (let t = v; t >= 10; t = Math.floor(t / 10)) digits++;
    this.position += digits;
    let p = this.position;
    do {
      const digit = v % 10;
      this.buffer[--p] = 0x30 + digit;
      v = (v - digit) / 10;
    } while (v > 0);
  }

  /** Microseconds since midnight (0 to 86,400,000,000) as HH:MM:SS[.ffffff]. */
  timeOfDay(micros: number): void {
    this.ensure(15);
    const b = this.buffer;
    let p = this.position;
    const fraction = micros % 1_000_000;
    const seconds = (micros - fraction) / 1_000_000;
    const s = seconds % 60;
    const minutes = (seconds - s) / 60;
    const m = minutes % 60;
    const h = (minutes - m) / 60;
    b[p++] = 0x30 + ((h / 10) | 0);
    b[p++] = 0x30 + (h % 10);
    b[p++] = 0x3a;
    b[p++] = 0x30 + ((m / 10) | 0);
    b[p++] = 0x30 + (m % 10);
    b[p++] = 0x3a;
    b[p++] = 0x30 + ((s / 10) | 0);
    b[p++] = 0x30 + (s % 10);
    if (fraction !== 0) {
      b[p++] = 0x2e;
      let f = fraction;
      for (let i = 5; i >= 0; i--) {
        const digit = f % 10;
        b[p + i] = 0x30 + digit;
        f = (f - digit) / 10;
      }
      p += 6;
    }
    this.position = p;
  }

  /** UTF-8 text bytes with COPY's special bytes escaped (none occurs inside a multi-byte UTF-8 sequence). */
  escapedText(value: Uint8Array): void {
    this.ensure(value.length * 2);
    for (let i = 0; i < value.length; i++) {
      const b = value[i] as number;
      if (b === BACKSLASH || b === NEWLINE || b === CARRIAGE_RETURN || b === TAB) {
        this.buffer[this.position++] = BACKSLASH;
        this.buffer[this.position++] = b === BACKSLASH ? BACKSLASH : b === NEWLINE ? 0x6e : b === CARRIAGE_RETURN ? 0x72 : 0x74;
      } else {
        this.buffer[this.position++] = b;
      }
    }
  }

  null(): void {
    this.bytes(NULL_BYTES);
  }

  /** The bytes written so far (copied out), and start again. */
  take(): Buffer {
    const out = Buffer.from(this.buffer.subarray(0, this.position));
    this.position = 0;
    return out;
  }
}

export type ValueWriter = (out: CopyBuffer, value: unknown) => void;

export const writeInteger: ValueWriter = (out, v) => out.integer(v as number);

export const writeBoolean: ValueWriter = (out, v) => out.byte(v ? 0x74 : 0x66);

/** Raw UTF-8 bytes of a STRING column. */
export const writeText: ValueWriter = (out, v) => out.escapedText(v as Uint8Array);

/** Microseconds since midnight as HH:MM:SS[.ffffff]. */
export const writeTimeMicros: ValueWriter = (out, v) => {
  const us = Number(v as bigint);
  if (!Number.isInteger(us) || us < 0 || us > 86_400_000_000) throw new RangeError(`${String(v)} µs is not a time of day`);
  out.timeOfDay(us);
};

/** A date writer remembering the bytes of each date it met (few distinct dates per file). */
export function dateWriter(): ValueWriter {
  const cache = new Map<number, Buffer>();
  return (out, v) => {
    const days = v as number;
    let bytes = cache.get(days);
    if (!bytes) cache.set(days, (bytes = Buffer.from(formatDateDays(days), 'latin1')));
    out.bytes(bytes);
  };
}

/** Microseconds since 1970 (a wall clock) as YYYY-MM-DD HH:MM:SS[.ffffff]. */
export function timestampWriter(): ValueWriter {
  const date = dateWriter();
  const perDay = 86_400_000_000n;
  const write: ValueWriter = (out, v) => {
    const micros = v as bigint;
    let days = micros / perDay;
    let rest = micros % perDay;
    if (rest < 0n) {
      rest += perDay;
      days -= 1n;
    }
    date(out, Number(days));
    out.byte(0x20);
    writeTimeMicros(out, rest);
  };
  // A fact file's version stamps are one value (one detection pass): its text is formatted once.
  const scratch = new CopyBuffer(64);
  let last: unknown;
  let lastBytes: Buffer | undefined;
  return (out, v) => {
    if (v !== last || !lastBytes) {
      write(scratch, v);
      lastBytes = scratch.take();
      last = v;
    }
    out.bytes(lastBytes);
  };
}

/** Exact decimals from unscaled integers (number, bigint, or two's-complement big-endian bytes). */
export function decimalWriter(scale: number): ValueWriter {
  // Amounts repeat (dictionary pages hand out the same value or byte array per distinct amount).
  const cache = new Map<unknown, Buffer>();
  return (out, v) => {
    let bytes = cache.get(v);
    if (!bytes) {
      const unscaled = v instanceof Uint8Array ? unscaledFromBytes(v) : (v as number | bigint);
      bytes = Buffer.from(formatDecimal(unscaled, scale), 'latin1');
      if (cache.size < 50_000) cache.set(v, bytes);
    }
    out.bytes(bytes);
  };
}
