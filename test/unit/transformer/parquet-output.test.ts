import { WAREHOUSE_TABLES, WAREHOUSE_TABLE_NAMES, type WarehouseColumnType, type WarehouseTableName } from '@totes/shared/warehouse/tables';
import type { SourceTableName } from '@totes/shared/source/tables';
import { deriveBatch } from '../../../services/transformer/src/derive-batch';
import { encodeParquet } from '../../../services/transformer/src/parquet-file';
import { readWithDuckDB } from './duckdb-reader';
import { MemorySourceImages, gen, gzipJsonLines, type Row, DERIVE } from './fixtures';

/**
 * THE PARQUET CONTRACT, checked with an independent reader (DuckDB): column names, order, types and
 * nullability per target table; values read back equal what was written, decimals exact; and the
 * same input yields the same bytes.
 */
const source = {
  address: [gen.address(1), gen.address(2)],
  counterparty: [gen.counterparty(1, 1)],
  department: [gen.department(1, 'Sales', 'Manchester')],
  staff: [gen.staff(1, 1)],
};

const batches: Record<SourceTableName, Row[]> = {
  address: source.address,
  counterparty: source.counterparty,
  currency: [gen.currency(1, 'GBP')],
  department: source.department,
  design: [gen.design(1)],
  staff: source.staff,
  sales_order: [gen.salesOrder(1)],
  purchase_order: [gen.purchaseOrder(1)],
  payment_type: [gen.paymentType(1, 'SALES_RECEIPT')],
  transaction: [gen.transaction(1)],
  payment: [gen.payment(1)],
};

async function filesOf(table: SourceTableName, rows: readonly Row[]) {
  const derived = await deriveBatch(table, gzipJsonLines(rows), new MemorySourceImages(source), DERIVE);
  return derived.targets.map((t) => ({ target: t.target, bytes: encodeParquet(t.target, t.rows), rows: t.rows.length }));
}

const DUCKDB_TYPES: Record<WarehouseColumnType, string> = {
  int: 'INTEGER',
  varchar: 'VARCHAR',
  boolean: 'BOOLEAN',
  date: 'DATE',
  time: 'TIME',
  'numeric(10,2)': 'DECIMAL(10,2)',
  numeric: 'DECIMAL(24,6)',
};

describe('Parquet output', () => {
  let files: Map<WarehouseTableName, Uint8Array>;
  beforeAll(async () => {
    files = new Map();
    for (const [table, rows] of Object.entries(batches) as [SourceTableName, Row[]][]) {
      for (const f of await filesOf(table, rows)) files.set(f.target, f.bytes);
    }
  });

  it('covers all 11 warehouse tables', () => {
    expect([...files.keys()].sort()).toEqual([...WAREHOUSE_TABLE_NAMES].sort());
  });

  it.each([...WAREHOUSE_TABLE_NAMES])('%s: catalogue columns in order, then _version, contract types, nullability', async (target) => {
    const table = WAREHOUSE_TABLES[target];
    const expected = table.columns.map((c) => ({ name: c.name, type: DUCKDB_TYPES[c.type], nullable: c.nullable }));
    expected.push({ name: '_version', type: 'TIMESTAMP', nullable: false });
    const read = await readWithDuckDB(files.get(target)!);
    expect(read.columns).toEqual(expected);
    expect(read.rows.length).toBeGreaterThan(0);
  });

  it('reads back exactly what was written: decimals to the last digit, times to the microsecond', async () => {
    const extremes = [
      gen.payment(1, { payment_amount: '999999999999999999.999999', created_at: '2024-02-29T23:59:59.999999' }),
      gen.payment(2, { payment_amount: '-0.000001', created_at: '1969-12-31T00:00:00.000001' }),
      gen.payment(3, { payment_amount: '0', created_at: '2022-11-03T00:00:00' }),
      gen.payment(4, { payment_amount: '0.1', created_at: '2022-11-03T14:20:52.1' }),
    ];
    const [, fact] = await filesOf('payment', extremes);
    const read = await readWithDuckDB(fact!.bytes);
    expect(read.rows.map((r) => [r.payment_amount, r.created_date, r.created_time])).toEqual([
      ['999999999999999999.999999', '2024-02-29', '23:59:59.999999'],
      ['-0.000001', '1969-12-31', '00:00:00.000001'],
      ['0.000000', '2022-11-03', '00:00:00'],
      ['0.100000', '2022-11-03', '14:20:52.1'],
    ]);
    const sales = await filesOf('sales_order', [gen.salesOrder(1, { unit_price: '99999999.99' }), gen.salesOrder(2, { unit_price: '-0.01' }), gen.salesOrder(3, { unit_price: '2.10' })]);
    const salesRead = await readWithDuckDB(sales[1]!.bytes);
    expect(salesRead.rows.map((r) => r.unit_price)).toEqual(['99999999.99', '-0.01', '2.10']);
  });

  it('keeps text exactly, including quotes, commas, accents and emoji', async () => {
    const names = ['Leannon, Predovic and Morar', "O'Keefe \"Ltd\"", 'Zoë – Müller', 'tab\there', '🎒 Totes'];
    const [file] = await filesOf('design', names.map((design_name, i) => gen.design(i + 1, { design_name })));
    const read = await readWithDuckDB(file!.bytes);
    expect(read.rows.map((r) => r.design_name)).toEqual(names);
  });

  it('is deterministic: the same input gives the same bytes, whatever the row order in the raw batch', async () => {
    const rows = Array.from({ length: 300 }, (_, i) => gen.salesOrder(i + 1, { last_updated: `2024-11-${String((i % 28) + 1).padStart(2, '0')}T10:00:00.000000` }));
    const first = await filesOf('sales_order', rows);
    const again = await filesOf('sales_order', rows);
    const shuffled = await filesOf('sales_order', [...rows].reverse());
    const duplicated = await filesOf('sales_order', [...rows, ...rows.slice(0, 50)]);
    for (const other of [again, shuffled, duplicated]) {
      expect(other.map((f) => Buffer.from(f.bytes).toString('base64'))).toEqual(first.map((f) => Buffer.from(f.bytes).toString('base64')));
    }
  });
});
