import type { SchemaElement } from 'hyparquet';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { VERSION_COLUMN, WAREHOUSE_TABLES, type WarehouseColumnType, type WarehouseTableName } from '../../../shared/src/warehouse/tables';

/**
 * Writes processed-zone Parquet files exactly as THE PARQUET CONTRACT (team brief) describes, from
 * rows given in the warehouse's own text forms, so the loader's tests and benchmark do not depend
 * on the transformer: dates 'YYYY-MM-DD', times 'HH:MM:SS[.ffffff]', decimals as decimal strings,
 * `_version` as 'YYYY-MM-DD HH:MM:SS[.ffffff]'. Values are converted to the contract's raw
 * representations (DATE days, TIME/TIMESTAMP micros as BigInt, DECIMAL unscaled BigInt), never
 * through a float.
 */
export type ContractValue = string | number | boolean | null;
export type ContractRow = Readonly<Record<string, ContractValue>>;

export interface ContractFileOptions {
  /** Annotate TIME/TIMESTAMP with the legacy converted types too (both forms are valid Parquet). */
  readonly legacyAnnotations?: boolean;
  /** Replace the schema element of a column (to write a mistyped file). */
  readonly elements?: Readonly<Record<string, SchemaElement>>;
  /** Leave these columns out (to write a file missing a column). */
  readonly omit?: readonly string[];
  /** Extra columns (name → values), written as strings. */
  readonly extra?: Readonly<Record<string, readonly (string | null)[]>>;
  /** Rows per row group (the transformer's files have one or a few). */
  readonly rowGroupSize?: number;
}

type ColumnType = WarehouseColumnType | 'timestamp';

const DECIMALS: Record<'numeric' | 'numeric(10,2)', { precision: number; scale: number; physical: 'INT64' | 'FIXED_LEN_BYTE_ARRAY'; length?: number }> = {
  'numeric(10,2)': { precision: 10, scale: 2, physical: 'INT64' },
  numeric: { precision: 24, scale: 6, physical: 'FIXED_LEN_BYTE_ARRAY', length: 11 },
};

export function contractElement(name: string, type: ColumnType, nullable: boolean, legacy = false): SchemaElement {
  const repetition_type = nullable ? 'OPTIONAL' : 'REQUIRED';
  switch (type) {
    case 'int':
      return { name, type: 'INT32', repetition_type };
    case 'varchar':
      return { name, type: 'BYTE_ARRAY', converted_type: 'UTF8', logical_type: { type: 'STRING' }, repetition_type };
    case 'boolean':
      return { name, type: 'BOOLEAN', repetition_type };
    case 'date':
      return { name, type: 'INT32', converted_type: 'DATE', logical_type: { type: 'DATE' }, repetition_type };
    case 'time':
      return {
        name,
        type: 'INT64',
        ...(legacy ? { converted_type: 'TIME_MICROS' as const } : {}),
        logical_type: { type: 'TIME', isAdjustedToUTC: false, unit: 'MICROS' },
        repetition_type,
      };
    case 'timestamp':
      return {
        name,
        type: 'INT64',
        ...(legacy ? { converted_type: 'TIMESTAMP_MICROS' as const } : {}),
        logical_type: { type: 'TIMESTAMP', isAdjustedToUTC: false, unit: 'MICROS' },
        repetition_type,
      };
    case 'numeric':
    case 'numeric(10,2)': {
      const d = DECIMALS[type];
      return {
        name,
        type: d.physical,
        ...(d.length ? { type_length: d.length } : {}),
        converted_type: 'DECIMAL',
        precision: d.precision,
        scale: d.scale,
        logical_type: { type: 'DECIMAL', precision: d.precision, scale: d.scale },
        repetition_type,
      };
    }
  }
}

/** Exact unscaled integer of a decimal string at `scale` (more decimals than the scale is an error). */
export function unscaled(text: string, scale: number): bigint {
  const m = /^(-?)(\d+)(?:\.(\d+))?$/.exec(text);
  if (!m) throw new Error(`not a decimal: ${text}`);
  const fraction = m[3] ?? '';
  if (fraction.length > scale) throw new Error(`${text} has more than ${scale} decimals`);
  const value = BigInt(`${m[2]}${fraction.padEnd(scale, '0')}`);
  return m[1] ? -value : value;
}

export function daysOf(date: string): number {
  const ms = Date.parse(`${date}T00:00:00Z`);
  if (Number.isNaN(ms)) throw new Error(`not a date: ${date}`);
  return ms / 86_400_000;
}

export function microsOfTime(time: string): bigint {
  const m = /^(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?$/.exec(time);
  if (!m) throw new Error(`not a time: ${time}`);
  const seconds = Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3]);
  return BigInt(seconds) * 1_000_000n + BigInt((m[4] ?? '').padEnd(6, '0') || '0');
}

export function microsOfTimestamp(timestamp: string): bigint {
  const [date, time] = timestamp.split(/[ T]/);
  return BigInt(daysOf(date ?? '')) * 86_400_000_000n + microsOfTime(time ?? '');
}

function raw(type: ColumnType, value: ContractValue): unknown {
  if (value === null) return null;
  switch (type) {
    case 'date':
      return daysOf(String(value));
    case 'time':
      return microsOfTime(String(value));
    case 'timestamp':
      return microsOfTimestamp(String(value));
    case 'numeric':
    case 'numeric(10,2)':
      return unscaled(String(value), DECIMALS[type].scale);
    default:
      return value;
  }
}

/** The contract's columns of a table: catalogue columns in order, then `_version`. */
export function contractColumns(table: WarehouseTableName): { name: string; type: ColumnType; nullable: boolean }[] {
  const t = WAREHOUSE_TABLES[table];
  const columns: { name: string; type: ColumnType; nullable: boolean }[] = t.columns.map((c) => ({ name: c.name, type: c.type, nullable: c.nullable }));
  columns.push({ name: VERSION_COLUMN, type: 'timestamp', nullable: false });
  return columns;
}

/**
 * Fact rows without `_version` make a file as transformers wrote them before facts carried the
 * observation stamp (the loader then orders versions by last_updated).
 */
export function writeContractParquet(table: WarehouseTableName, rows: readonly ContractRow[], options: ContractFileOptions = {}): Uint8Array {
  const unstamped = WAREHOUSE_TABLES[table].kind === 'fact' && rows.every((row) => row[VERSION_COLUMN] === undefined);
  const columns = contractColumns(table).filter((c) => !options.omit?.includes(c.name) && !(unstamped && c.name === VERSION_COLUMN));
  const elements: SchemaElement[] = columns.map((c) => options.elements?.[c.name] ?? contractElement(c.name, c.type, c.nullable, options.legacyAnnotations));
  const columnData = columns.map((c) => ({
    name: c.name,
    data: rows.map((row) => {
      const value = row[c.name];
      if (value === undefined) throw new Error(`row lacks ${c.name}: ${JSON.stringify(row)}`);
      // A replaced element is written from the value as given.
      return options.elements?.[c.name] ? value : raw(c.type, value);
    }),
  }));
  for (const [name, values] of Object.entries(options.extra ?? {})) {
    elements.push({ name, type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'OPTIONAL' });
    columnData.push({ name, data: [...values] });
  }
  const buffer = parquetWriteBuffer({
    columnData,
    schema: [{ name: 'schema', num_children: elements.length }, ...elements],
    codec: 'SNAPPY',
    ...(options.rowGroupSize ? { rowGroupSize: options.rowGroupSize } : {}),
  });
  return new Uint8Array(buffer);
}

/**
 * Write a file from columns already in the contract's raw representations (DATE days, TIME and
 * TIMESTAMP micros as BigInt, DECIMAL unscaled BigInt): the benchmark's fast path for big files.
 */
export function writeRawContractParquet(table: WarehouseTableName, data: Readonly<Record<string, readonly unknown[]>>): Uint8Array {
  const columns = contractColumns(table);
  const buffer = parquetWriteBuffer({
    columnData: columns.map((c) => {
      const values = data[c.name];
      if (!values) throw new Error(`no data for ${c.name}`);
      return { name: c.name, data: values as unknown[] };
    }),
    schema: [{ name: 'schema', num_children: columns.length }, ...columns.map((c) => contractElement(c.name, c.type, c.nullable))],
    codec: 'SNAPPY',
  });
  return new Uint8Array(buffer);
}
