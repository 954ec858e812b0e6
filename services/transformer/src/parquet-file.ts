import { parquetWriteBuffer } from 'hyparquet-writer';
import type { SchemaElement } from 'hyparquet';
import { VERSION_COLUMN, WAREHOUSE_TABLES, type WarehouseColumn, type WarehouseColumnType, type WarehouseTableName } from '@totes/shared/warehouse/tables';
import type { DecimalSpec } from './source-values';

/**
 * THE PARQUET CONTRACT (team brief; the loader reads exactly this): the target table's catalogue
 * columns in catalogue order, plus `_version` (facts too, from batch-extracted observedAt on); nullable columns OPTIONAL, others
 * REQUIRED. int → INT32; varchar → STRING; boolean → BOOLEAN; date → DATE (INT32 days);
 * time → TIME(MICROS) as INT64; `_version` → TIMESTAMP(MICROS) as INT64; numeric(10,2) →
 * DECIMAL(10,2) as INT64; numeric → DECIMAL(24,6) as FIXED_LEN_BYTE_ARRAY(11).
 *
 * TIME and TIMESTAMP carry only the logical type with isAdjustedToUTC = false: the legacy converted
 * types TIME_MICROS/TIMESTAMP_MICROS mean "adjusted to UTC" in the Parquet spec, and these are
 * zone-less wall clocks. Decimals are written from BigInt unscaled values, so they are exact.
 */
export type Cell = string | number | bigint | boolean | null;
export type OutputRow = Readonly<Record<string, Cell>>;

export const DECIMAL_SPECS = {
  'numeric(10,2)': { precision: 10, scale: 2 },
  // The ERD's unconstrained numeric. 24 digits, 6 after the point, holds every amount totesys has
  // (at most 2 decimals, under 10^9) with room; a value that does not fit is quarantined.
  numeric: { precision: 24, scale: 6 },
} as const satisfies Record<Extract<WarehouseColumnType, `numeric${string}`>, DecimalSpec>;

/** Bytes of a two's-complement integer holding every unscaled value of the precision. */
function decimalByteLength(precision: number): number {
  return Math.ceil((Math.log2(10 ** precision) + 1) / 8);
}

function decimalElement(name: string, spec: DecimalSpec, repetition: 'REQUIRED' | 'OPTIONAL'): SchemaElement {
  const decimal = { converted_type: 'DECIMAL', precision: spec.precision, scale: spec.scale, logical_type: { type: 'DECIMAL', precision: spec.precision, scale: spec.scale } } as const;
  // The Parquet spec: INT64 holds precision up to 18; beyond it a fixed-length byte array.
  return spec.precision <= 18
    ? { name, type: 'INT64', repetition_type: repetition, ...decimal }
    : { name, type: 'FIXED_LEN_BYTE_ARRAY', type_length: decimalByteLength(spec.precision), repetition_type: repetition, ...decimal };
}

export function columnElement(column: WarehouseColumn): SchemaElement {
  const repetition = column.nullable ? 'OPTIONAL' : 'REQUIRED';
  const name = column.name;
  switch (column.type) {
    case 'int':
      return { name, type: 'INT32', repetition_type: repetition };
    case 'varchar':
      return { name, type: 'BYTE_ARRAY', converted_type: 'UTF8', logical_type: { type: 'STRING' }, repetition_type: repetition };
    case 'boolean':
      return { name, type: 'BOOLEAN', repetition_type: repetition };
    case 'date':
      return { name, type: 'INT32', converted_type: 'DATE', logical_type: { type: 'DATE' }, repetition_type: repetition };
    case 'time':
      return { name, type: 'INT64', logical_type: { type: 'TIME', isAdjustedToUTC: false, unit: 'MICROS' }, repetition_type: repetition };
    case 'numeric(10,2)':
    case 'numeric':
      return decimalElement(name, DECIMAL_SPECS[column.type], repetition);
  }
}

export const VERSION_ELEMENT: SchemaElement = {
  name: VERSION_COLUMN,
  type: 'INT64',
  logical_type: { type: 'TIMESTAMP', isAdjustedToUTC: false, unit: 'MICROS' },
  repetition_type: 'REQUIRED',
};

/** The Parquet columns of a target table: catalogue columns, then `_version`. */
export function parquetColumns(target: WarehouseTableName): { readonly name: string; readonly element: SchemaElement }[] {
  const table = WAREHOUSE_TABLES[target];
  const columns = table.columns.map((c: WarehouseColumn) => ({ name: c.name, element: columnElement(c) }));
  return [...columns, { name: VERSION_COLUMN, element: VERSION_ELEMENT }];
}

/**
 * Encode rows (already validated and in their final order) as one Parquet file. Same rows in,
 * same bytes out: hyparquet-writer writes no clock or random value, and `createdBy` is fixed.
 */
export function encodeParquet(target: WarehouseTableName, rows: readonly OutputRow[]): Uint8Array {
  const columns = parquetColumns(target);
  const buffer = parquetWriteBuffer({
    columnData: columns.map(({ name }) => ({ name, data: rows.map((row) => row[name] ?? null) })),
    schema: [{ name: 'schema', num_children: columns.length }, ...columns.map((c) => c.element)],
    codec: 'SNAPPY',
    createdBy: 'totes-etl transformer',
  });
  return new Uint8Array(buffer);
}
