import type { StagingColumn } from '../../../services/warehouse-loader/src/staging-columns';

/**
 * Test helper: reads a binary COPY stream back into the text PostgreSQL prints for each value
 * (`value::text`; '\N' for NULL), so the loader's encoding can be checked without a database
 * (test/integration/warehouse-loader/staging.test.ts checks that a real one reads the same).
 */
const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');
const MICROS_PER_DAY = 86_400_000_000n;
const DAYS_1970_TO_2000 = 10_957;

export function decodeCopyBinary(stream: Buffer, columns: readonly StagingColumn[]): string[][] {
  if (!stream.subarray(0, 11).equals(SIGNATURE)) throw new Error('no binary COPY signature');
  if (stream.readInt32BE(11) !== 0 || stream.readInt32BE(15) !== 0) throw new Error('unexpected header flags or extension');
  let p = 19;
  const rows: string[][] = [];
  for (;;) {
    const fields = stream.readInt16BE(p);
    p += 2;
    if (fields === -1) break;
    if (fields !== columns.length) throw new Error(`row ${rows.length + 1} has ${fields} fields, not ${columns.length}`);
    const row: string[] = [];
    for (const column of columns) {
      const length = stream.readInt32BE(p);
      p += 4;
      if (length === -1) {
        row.push('\\N');
        continue;
      }
      row.push(valueText(column, stream.subarray(p, p + length)));
      p += length;
    }
    rows.push(row);
  }
  if (p !== stream.length) throw new Error(`${stream.length - p} bytes after the trailer`);
  return rows;
}

function valueText(column: StagingColumn, value: Buffer): string {
  switch (column.type) {
    case 'int':
      return String(value.readInt32BE(0));
    case 'boolean':
      return value[0] ? 'true' : 'false';
    case 'varchar':
      return value.toString('utf8');
    case 'date':
      return dateText(value.readInt32BE(0) + DAYS_1970_TO_2000);
    case 'time':
      return timeText(value.readBigInt64BE(0));
    case 'timestamp': {
      const micros = value.readBigInt64BE(0) + BigInt(DAYS_1970_TO_2000) * MICROS_PER_DAY;
      const rest = ((micros % MICROS_PER_DAY) + MICROS_PER_DAY) % MICROS_PER_DAY;
      return `${dateText(Number((micros - rest) / MICROS_PER_DAY))} ${timeText(rest)}`;
    }
    case 'numeric':
    case 'numeric(10,2)':
      return numericText(value);
  }
}

function dateText(daysSince1970: number): string {
  return new Date(daysSince1970 * 86_400_000).toISOString().slice(0, 10);
}

function timeText(micros: bigint): string {
  const fraction = micros % 1_000_000n;
  const seconds = Number(micros / 1_000_000n);
  const two = (n: number) => String(n).padStart(2, '0');
  const text = `${two(Math.floor(seconds / 3600))}:${two(Math.floor(seconds / 60) % 60)}:${two(seconds % 60)}`;
  return fraction === 0n ? text : `${text}.${String(fraction).padStart(6, '0').replace(/0+$/, '')}`;
}

/** numeric_out of numeric_send's bytes: ndigits, weight, sign, dscale, base-10000 digits. */
function numericText(value: Buffer): string {
  const ndigits = value.readInt16BE(0);
  const weight = value.readInt16BE(2);
  const sign = value.readUInt16BE(4);
  const dscale = value.readInt16BE(6);
  if (sign !== 0 && sign !== 0x4000) throw new Error(`numeric sign ${sign.toString(16)}`);
  if (value.length !== 8 + 2 * ndigits) throw new Error('numeric length does not match its digit count');
  const digits = Array.from({ length: ndigits }, (_, i) => value.readUInt16BE(8 + 2 * i));
  for (const d of digits) if (d > 9999) throw new Error(`numeric digit ${d}`);
  let integer = '';
  for (let w = weight, i = 0; w >= 0; w--, i++) integer += String(digits[i] ?? 0).padStart(4, '0');
  integer = integer.replace(/^0+/, '') || '0';
  let fraction = '';
  for (let i = weight + 1; fraction.length < dscale; i++) fraction += String(i < 0 ? 0 : (digits[i] ?? 0)).padStart(4, '0');
  fraction = fraction.slice(0, dscale);
  return `${sign === 0x4000 ? '-' : ''}${integer}${dscale > 0 ? `.${fraction}` : ''}`;
}
