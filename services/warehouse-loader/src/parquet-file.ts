import { parquetMetadata, parquetScan, parquetSchema, type DecodedArray, type FileMetaData, type SchemaElement } from 'hyparquet';
import { LoadFileError } from '@totes/shared/errors';
import { formatDateDays } from './copy-text';
import { CopyBuffer, dateWriter, decimalWriter, timestampWriter, writeBoolean, writeInteger, writeText, writeTimeMicros, type ValueWriter } from './copy-writer';
import type { StagingColumn, StagingColumnType } from './staging-columns';

/**
 * Reads a processed-zone Parquet file (THE PARQUET CONTRACT in the team brief) exactly, and turns
 * it into COPY text for the staging table.
 *
 * Exactness: hyparquet converts DECIMAL to a JS float on read, which cannot hold every value of a
 * DECIMAL(24,6). So the file is read with a copy of its metadata in which the DECIMAL columns have
 * lost their annotation: hyparquet then hands over the raw unscaled integers (INT32, INT64 or
 * big-endian bytes) and `formatDecimal` writes them out digit by digit. DATE, TIME and TIMESTAMP
 * values are taken as their raw integers too (custom parsers), so microseconds survive. STRING
 * columns lose their annotation as well: their UTF-8 bytes go to COPY as they are (escaped), never
 * decoded into JavaScript strings and encoded again.
 */
export interface ParquetContents {
  readonly rows: number;
  /**
   * The distinct non-NULL values, as PostgreSQL text ('42', '2024-03-31'), of a column named when
   * the file was opened, as of the last complete pass of `copyText`: the dimension keys a fact file
   * references, gathered while its rows stream, so the database need not aggregate them.
   */
  distinct(column: string): string[];
  /** How many distinct non-NULL values such a column holds (as of the last complete pass of `copyText`). */
  distinctCount(column: string): number;
  /** The rows as COPY text lines (UTF-8), in `columns` order, a block of lines at a time. */
  copyText(): AsyncGenerator<Buffer>;
}

const exactParsers = {
  dateFromDays: (days: number) => days,
  timestampFromMicroseconds: (micros: bigint) => micros,
  timestampFromMilliseconds: (millis: bigint) => millis,
  timestampFromNanoseconds: (nanos: bigint) => nanos,
};

const LINES_PER_BLOCK = 4_000;

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

function writerFor(column: StagingColumn, element: SchemaElement): ValueWriter {
  const write = ((): ValueWriter => {
    switch (column.type) {
      case 'int':
        return writeInteger;
      case 'varchar':
        return writeText;
      case 'boolean':
        return writeBoolean;
      case 'date':
        return dateWriter();
      case 'time':
        return writeTimeMicros;
      case 'timestamp':
        return timestampWriter();
      case 'numeric':
      case 'numeric(10,2)':
        return decimalWriter(decimalOf(element)?.scale ?? 0);
    }
  })();
  if (!column.nullable) return write;
  return (out, v) => (v === null || v === undefined ? out.null() : write(out, v));
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
    async *copyText() {
      const writers = columns.map((c) => {
        if (!elements.has(c.name)) return (out: CopyBuffer) => out.null();
        const write = writerFor(c, elements.get(c.name) as SchemaElement);
        const seen = seenValues.get(c.name);
        if (!seen) return write;
        seen.clear();
        return (out: CopyBuffer, v: unknown) => {
          if (v !== null && v !== undefined) seen.add(v);
          write(out, v);
        };
      });
      const fail = (err: unknown): never => {
        throw new LoadFileError(`${label} cannot be read: ${(err as Error).message}.`, { cause: err });
      };
      const scan = await parquetScan({ file: buffer, metadata: exact, columns: present.map((c) => c.name), utf8: false, parsers: exactParsers }).catch(fail);
      const out = new CopyBuffer();
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
            for (c = 0; c < data.length; c++) {
              if (c > 0) out.byte(0x09);
              (writers[c] as ValueWriter)(out, (data[c] as DecodedArray)[r]);
            }
            out.byte(0x0a);
            if ((r + 1) % LINES_PER_BLOCK === 0) yield out.take();
          }
        } catch (err) {
          const name = (columns[c] as StagingColumn).name;
          throw new LoadFileError(`${label} has a value in column ${name} (row ${rowStart + r + 1}) that cannot be loaded: ${(err as Error).message}.`, { cause: err });
        }
        if (out.length > 0) yield out.take();
        seen += count;
      }
      if (seen !== rows) throw new LoadFileError(`${label} says it holds ${rows} rows but ${seen} were read.`);
    },
  };
}
