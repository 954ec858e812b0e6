import { parquetMetadata, parquetScan, parquetSchema, type DecodedArray, type FileMetaData, type SchemaElement } from 'hyparquet';
import { LoadFileError } from '@totes/shared/errors';
import { formatDateDays } from './copy-text';
import {
  BINARY_COPY_HEADER,
  BINARY_COPY_TRAILER,
  CopyBuffer,
  decimalWriter,
  timestampWriter,
  writeBoolean,
  writeDate,
  writeInteger,
  writeNull,
  writeText,
  writeTime,
  type FieldWriter,
} from './copy-writer';
import type { StagingColumn, StagingColumnType } from './staging-columns';

/**
 * Reads a processed-zone Parquet file (THE PARQUET CONTRACT in the team brief) exactly, and turns
 * it into a binary COPY stream for the staging table (copy-writer.ts says why binary).
 *
 * Exactness: hyparquet converts DECIMAL to a JS float on read, which cannot hold every value of a
 * DECIMAL(24,6). So the file is read with a copy of its metadata in which the DECIMAL columns have
 * lost their annotation: hyparquet then hands over the raw unscaled integers (INT32, INT64 or
 * big-endian bytes) and the writer builds each exact numeric from them. DATE, TIME and TIMESTAMP
 * values are taken as their raw integers too (custom parsers), so microseconds survive. STRING
 * columns lose their annotation as well: their UTF-8 bytes go to COPY as they are, never decoded
 * into JavaScript strings and encoded again.
 */
export interface ParquetContents {
  readonly rows: number;
  /**
   * The distinct non-NULL values, as PostgreSQL text ('42', '2024-03-31'), of a column named when
   * the file was opened, as of the last complete pass of `copyData`: the dimension keys a fact file
   * references, gathered while its rows stream, so the database need not aggregate them.
   */
  distinct(column: string): string[];
  /** How many distinct non-NULL values such a column holds (as of the last complete pass of `copyData`). */
  distinctCount(column: string): number;
  /** How many NULLs such a column holds, a column the file lacks counting every row (as of the last complete pass). */
  nullCount(column: string): number;
  /** The least and greatest value of such an integer column (as of the last complete pass); undefined when it holds none. */
  bounds(column: string): { readonly min: number; readonly max: number } | undefined;
  /** The rows as a binary COPY stream, fields in `columns` order, a block of rows at a time. */
  copyData(): AsyncGenerator<Buffer>;
}

const exactParsers = {
  dateFromDays: (days: number) => days,
  timestampFromMicroseconds: (micros: bigint) => micros,
  timestampFromMilliseconds: (millis: bigint) => millis,
  timestampFromNanoseconds: (nanos: bigint) => nanos,
};

const ROWS_PER_BLOCK = 4_000;

interface Expected {
  readonly physical: readonly string[];
  readonly description: string;
  matches(element: SchemaElement): boolean;
}

const logical = (e: SchemaElement) => e.logical_type;
const decimalOf = (e: SchemaElement): { precision: number; scale: number } | undefined => {
  const lt = logical(e);
  if (lt?.type === 'DECIMAL') return { precision: lt.precision, scale: lt.scale };
  if (e.converted_type === 'DECIMAL') return { precision: e.precision ?? 0, scale: e.scale ?? 0 };
  return undefined;
};

function decimalExpectation(precision: number, scale: number): Expected {
  return {
    physical: ['INT32', 'INT64', 'FIXED_LEN_BYTE_ARRAY', 'BYTE_ARRAY'],
    description: `DECIMAL(${precision},${scale})`,
    matches: (e) => {
      const d = decimalOf(e);
      return d !== undefined && d.precision === precision && d.scale === scale;
    },
  };
}

/** What the contract says each warehouse type is in Parquet. */
export const PARQUET_TYPES: Record<StagingColumnType, Expected> = {
  int: {
    physical: ['INT32'],
    description: 'INT32',
    matches: (e) => {
      const lt = logical(e);
      return (e.converted_type === undefined || e.converted_type === 'INT_32') && (lt === undefined || (lt.type === 'INTEGER' && lt.bitWidth === 32 && lt.isSigned));
    },
  },
  varchar: {
    physical: ['BYTE_ARRAY'],
    description: 'STRING (BYTE_ARRAY UTF8)',
    matches: (e) => e.converted_type === 'UTF8' || logical(e)?.type === 'STRING',
  },
  boolean: { physical: ['BOOLEAN'], description: 'BOOLEAN', matches: () => true },
  date: {
    physical: ['INT32'],
    description: 'DATE (INT32)',
    matches: (e) => e.converted_type === 'DATE' || logical(e)?.type === 'DATE',
  },
  time: {
    physical: ['INT64'],
    description: 'TIME MICROS (INT64)',
    matches: (e) => {
      const lt = logical(e);
      return lt?.type === 'TIME' ? lt.unit === 'MICROS' : e.converted_type === 'TIME_MICROS';
    },
  },
  timestamp: {
    physical: ['INT64'],
    description: 'TIMESTAMP MICROS (INT64)',
    matches: (e) => {
      const lt = logical(e);
      return lt?.type === 'TIMESTAMP' ? lt.unit === 'MICROS' : e.converted_type === 'TIMESTAMP_MICROS';
    },
  },
  'numeric(10,2)': decimalExpectation(10, 2),
  numeric: decimalExpectation(24, 6),
};

function describeElement(e: SchemaElement): string {
  const lt = logical(e);
  const d = decimalOf(e);
  const annotation = d
    ? `DECIMAL(${d.precision},${d.scale})`
    : lt && 'unit' in lt
      ? `${lt.type} ${lt.unit}`
      : (lt?.type ?? e.converted_type);
  return `${e.repetition_type ?? 'REQUIRED'} ${e.type ?? 'group'}${annotation ? ` ${annotation}` : ''}`;
}

/**
 * Check the file's columns against the target table's. A missing, extra, nested or mistyped column
 * is a bad file: LoadFileError naming the column (the message retries, then goes to the DLQ).
 * Column order is not checked: columns are read by name.
 */
export function checkColumns(metadata: FileMetaData, columns: readonly StagingColumn[], label: string): void {
  const children = parquetSchema(metadata).children;
  const byName = new Map(children.map((c) => [c.element.name, c]));
  for (const column of columns) {
    const node = byName.get(column.name);
    const expected = PARQUET_TYPES[column.type];
    const wanted = `${column.nullable ? 'OPTIONAL' : 'REQUIRED'} ${expected.description}`;
    if (!node && column.optional) continue;
    if (!node) throw new LoadFileError(`${label} lacks the column ${column.name} (${wanted}).`);
    const e = node.element;
    const shapeOk = node.children.length === 0 && e.type !== undefined && expected.physical.includes(e.type) && expected.matches(e);
    // A REQUIRED column may feed a nullable one; an OPTIONAL one may hold NULLs a NOT NULL column refuses.
    const repetitionOk = e.repetition_type === 'REQUIRED' || e.repetition_type === undefined || (e.repetition_type === 'OPTIONAL' && column.nullable);
    if (!shapeOk || !repetitionOk) {
      throw new LoadFileError(`${label} has the column ${column.name} as ${describeElement(e)}; the contract needs ${wanted}.`);
    }
  }
  const known = new Set(columns.map((c) => c.name));
  const extra = children.find((c) => !known.has(c.element.name));
  if (extra) throw new LoadFileError(`${label} has the column ${extra.element.name}, which its target table does not have.`);
}

/** PostgreSQL's text of a key value (dimension keys are ints or dates). */
function keyText(column: StagingColumn): (value: unknown) => string {
  if (column.type === 'int') return (v) => String(v);
  if (column.type === 'date') return (v) => formatDateDays(v as number);
  throw new Error(`${column.name} (${column.type}) is not a key column`);
}

/** The metadata hyparquet reads with: DECIMAL and STRING columns without their annotations (see above). */
function rawMetadata(metadata: FileMetaData): FileMetaData {
  return {
    ...metadata,
    schema: metadata.schema.map((e) => {
      if (!decimalOf(e) && e.converted_type !== 'UTF8' && logical(e)?.type !== 'STRING') return e;
      const { converted_type: _c, logical_type: _l, ...bare } = e;
      return bare;
    }),
  };
}

function writerFor(column: StagingColumn, element: SchemaElement): FieldWriter {
  const write = ((): FieldWriter => {
    switch (column.type) {
      case 'int':
        return writeInteger;
      case 'varchar':
        return writeText;
      case 'boolean':
        return writeBoolean;
      case 'date':
        return writeDate;
      case 'time':
        return writeTime;
      case 'timestamp':
        return timestampWriter();
      case 'numeric':
      case 'numeric(10,2)':
        return decimalWriter(decimalOf(element)?.scale ?? 0);
    }
  })();
  if (!column.nullable) return write;
  return (out, v) => (v === null || v === undefined ? writeNull(out) : write(out, v));
}

function toArrayBuffer(bytes: Uint8Array): ArrayBuffer {
  if (bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && bytes.buffer instanceof ArrayBuffer) return bytes.buffer;
  return bytes.slice().buffer as ArrayBuffer;
}

/** Open a file: parse and check its metadata now (a bad file fails before any database work). */
export function openParquet(bytes: Uint8Array, columns: readonly StagingColumn[], label: string, distinctColumns: readonly string[] = []): ParquetContents {
  const buffer = toArrayBuffer(bytes);
  let metadata: FileMetaData;
  try {
    metadata = parquetMetadata(buffer);
  } catch (err) {
    throw new LoadFileError(`${label} is not a readable Parquet file.`, { cause: err });
  }
  checkColumns(metadata, columns, label);
  const elements = new Map(parquetSchema(metadata).children.map((c) => [c.element.name, c.element]));
  // An optional column the file lacks (checkColumns allowed it) is staged as NULL.
  const present = columns.filter((c) => elements.has(c.name));
  const exact = rawMetadata(metadata);
  const rows = Number(metadata.num_rows);
  // Raw values (ints, DATE day numbers) while streaming; text only for the few distinct ones.
  const seenValues = new Map(distinctColumns.map((name) => [name, new Set<unknown>()]));
  const nullValues = new Map(distinctColumns.map((name) => [name, 0]));
  return {
    rows,
    distinct(column) {
      const values = seenValues.get(column);
      const spec = columns.find((c) => c.name === column);
      if (!values || !spec) throw new Error(`${column} was not named as a key column when ${label} was opened`);
      return [...values].map(keyText(spec));
    },
    distinctCount(column) {
      const values = seenValues.get(column);
      if (!values) throw new Error(`${column} was not named as a key column when ${label} was opened`);
      return values.size;
    },
    nullCount(column) {
      const nulls = nullValues.get(column);
      if (nulls === undefined) throw new Error(`${column} was not named as a key column when ${label} was opened`);
      return nulls;
    },
    bounds(column) {
      const values = seenValues.get(column);
      if (!values) throw new Error(`${column} was not named as a key column when ${label} was opened`);
      let min = Infinity;
      let max = -Infinity;
      for (const v of values) {
        if (typeof v !== 'number') throw new Error(`${column} is not an integer column`);
        if (v < min) min = v;
        if (v > max) max = v;
      }
      return values.size > 0 ? { min, max } : undefined;
    },
    async *copyData() {
      const writers = columns.map((c) => {
        const seen = seenValues.get(c.name);
        if (seen) {
          seen.clear();
          nullValues.set(c.name, 0);
        }
        if (!elements.has(c.name)) {
          if (seen) nullValues.set(c.name, rows);
          return writeNull;
        }
        const write = writerFor(c, elements.get(c.name) as SchemaElement);
        if (!seen) return write;
        return (out: CopyBuffer, v: unknown) => {
          if (v !== null && v !== undefined) seen.add(v);
          else nullValues.set(c.name, (nullValues.get(c.name) as number) + 1);
          write(out, v);
        };
      });
      const fail = (err: unknown): never => {
        throw new LoadFileError(`${label} cannot be read: ${(err as Error).message}.`, { cause: err });
      };
      const scan = await parquetScan({ file: buffer, metadata: exact, columns: present.map((c) => c.name), utf8: false, parsers: exactParsers }).catch(fail);
      const out = new CopyBuffer();
      out.bytes(BINARY_COPY_HEADER);
      let seen = 0;
      for (const { rowStart, rowEnd } of scan.ranges) {
        const count = rowEnd - rowStart;
        const nulls = new Array<null>(count).fill(null);
        const data: DecodedArray[] = await Promise.all(
          columns.map((c) => (elements.has(c.name) ? scan.readColumn({ column: c.name, rowStart, rowEnd }) : Promise.resolve(nulls as unknown as DecodedArray))),
        ).catch(fail);
        let c = 0;
        let r = 0;
        try {
          for (r = 0; r < count; r++) {
            out.int16(data.length);
            for (c = 0; c < data.length; c++) (writers[c] as FieldWriter)(out, (data[c] as DecodedArray)[r]);
            if ((r + 1) % ROWS_PER_BLOCK === 0) yield out.take();
          }
        } catch (err) {
          const name = (columns[c] as StagingColumn).name;
          throw new LoadFileError(`${label} has a value in column ${name} (row ${rowStart + r + 1}) that cannot be loaded: ${(err as Error).message}.`, { cause: err });
        }
        seen += count;
      }
      if (seen !== rows) throw new LoadFileError(`${label} says it holds ${rows} rows but ${seen} were read.`);
      out.bytes(BINARY_COPY_TRAILER);
      yield out.take();
    },
  };
}
