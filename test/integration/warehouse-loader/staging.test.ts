import type pg from 'pg';
import { LoadFileError } from '../../../shared/src/errors';
import { VERSION_COLUMN, WAREHOUSE_TABLES, type WarehouseTableName } from '../../../shared/src/warehouse/tables';
import { createStagingTableSql, stagingTable } from '../../../services/warehouse-loader/src/merge-sql';
import { openParquet } from '../../../services/warehouse-loader/src/parquet-file';
import { stageFile } from '../../../services/warehouse-loader/src/stage-file';
import { stagingColumns } from '../../../services/warehouse-loader/src/staging-columns';
import { decodeCopyBinary } from '../../unit/warehouse-loader/copy-binary';
import { writeContractParquet, type ContractRow } from '../../unit/warehouse-loader/contract-parquet';
import { payments, salesOrders } from './fixtures';
import { createTestDatabase, withClient, type TestDatabase } from './harness';

/**
 * The loader stages files as binary COPY (copy-writer.ts). Here a real PostgreSQL receives the edge
 * values of every staging type and prints them back: they must be exactly the values the files
 * hold, and exactly what the unit tests' decoder (test/unit/warehouse-loader/copy-binary.ts) reads
 * from the same bytes, so the unit tests check what PostgreSQL makes of the stream.
 */
describe('staging a file as binary COPY in a real PostgreSQL', () => {
  let db: TestDatabase;

  beforeAll(async () => {
    db = await createTestDatabase('loader_staging');
  });
  afterAll(async () => {
    await db.drop();
  });

  /** Stage the rows, then read back each staged value as PostgreSQL's text, beside the decoder's reading of the stream. */
  async function stage(table: WarehouseTableName, rows: readonly ContractRow[]): Promise<{ staged: string[][]; decoded: string[][] }> {
    const columns = stagingColumns(WAREHOUSE_TABLES[table]);
    const file = () => openParquet(writeContractParquet(table, rows), columns, `test ${table}`);
    const blocks: Buffer[] = [];
    for await (const block of file().copyData()) blocks.push(block);
    const decoded = decodeCopyBinary(Buffer.concat(blocks), columns);
    const staged = await withClient(db, async (c: pg.Client) => {
      await c.query(`SET datestyle = 'ISO, YMD'`);
      await c.query(createStagingTableSql(WAREHOUSE_TABLES[table]));
      await c.query('BEGIN');
      try {
        const count = await stageFile({ client: c, foreignKeyChecks: 'set-based', stagingTables: new Set() }, WAREHOUSE_TABLES[table], file());
        expect(count).toBe(rows.length);
        const list = columns.map((col) => `coalesce(${col.name}::text, '\\N')`).join(', ');
        const { rows: out } = await c.query<string[]>({ text: `SELECT ${list} FROM ${stagingTable(table)}`, rowMode: 'array' });
        return out;
      } finally {
        await c.query('ROLLBACK');
      }
    });
    return { staged, decoded };
  }

  const payment = payments[0]!;

  it('receives amounts, dates, times and booleans exactly as the file holds them', async () => {
    const amounts = ['552548.62', '0.000001', '-12.50', '123456789012345678.123456', '-99999999999999999.999999', '0.00', '1000.00', '10000.00', '79016.00', '3.945'];
    const { staged, decoded } = await stage(
      'fact_payment',
      amounts.map((payment_amount, i) => ({
        ...payment,
        payment_id: i + 1,
        payment_amount,
        paid: i % 2 === 0,
        created_date: ['1969-12-31', '1999-12-31', '2000-01-01', '0001-01-01', '9999-12-31'][i % 5] as string,
        created_time: ['00:00:00', '23:59:59.999999', '14:20:52.000001', '12:00:00.5', '24:00:00'][i % 5] as string,
      })),
    );
    expect(staged).toEqual(decoded);
    expect(staged.map((r) => r[7])).toEqual(amounts);
    expect(staged.map((r) => [r[1], r[2], r[10]])).toEqual(
      amounts.map((_, i) => [
        ['1969-12-31', '1999-12-31', '2000-01-01', '0001-01-01', '9999-12-31'][i % 5],
        ['00:00:00', '23:59:59.999999', '14:20:52.000001', '12:00:00.5', '24:00:00'][i % 5],
        i % 2 === 0 ? 'true' : 'false',
      ]),
    );
  });

  it('receives text byte for byte (tabs, newlines, backslashes, Unicode), NULLs and version stamps to the microsecond', async () => {
    const location: ContractRow = {
      location_id: 1,
      address_line_1: 'Tab\there, back\\slash, \\N',
      address_line_2: null,
      district: 'New\nline\r',
      city: 'Leeds',
      postal_code: '',
      country: 'Ünited Kingdom ✓',
      phone: '0113 496 0000',
      _version: '1969-12-31 23:59:59.999999',
    };
    const { staged, decoded } = await stage('dim_location', [location, { ...location, location_id: 2, _version: '2024-11-15 14:40:00.000001' }]);
    expect(staged).toEqual(decoded);
    expect(staged[0]).toEqual(['1', 'Tab\there, back\\slash, \\N', '\\N', 'New\nline\r', 'Leeds', '', 'Ünited Kingdom ✓', '0113 496 0000', '1969-12-31 23:59:59.999999']);
    expect(staged[1]?.[8]).toBe('2024-11-15 14:40:00.000001');
  });

  it('stages a fact file without version stamps with NULL stamps', async () => {
    const sale = salesOrders[2]!;
    const { staged } = await stage('fact_sales_order', [sale, { ...sale, sales_order_id: 2, unit_price: '99999999.99' }]);
    const version = stagingColumns(WAREHOUSE_TABLES.fact_sales_order).findIndex((c) => c.name === VERSION_COLUMN);
    expect(staged.map((r) => [r[8], r[version]])).toEqual([
      [sale.unit_price, '\\N'],
      ['99999999.99', '\\N'],
    ]);
  });

  it('fails a value outside the years a warehouse date may have, naming the column and row, before PostgreSQL sees it', async () => {
    await expect(stage('fact_payment', [payment, { ...payment, payment_id: 8, payment_date: '+010000-01-01' }])).rejects.toThrow(LoadFileError);
    await expect(stage('fact_payment', [payment, { ...payment, payment_id: 8, payment_date: '+010000-01-01' }])).rejects.toThrow(
      /column payment_date \(row 2\) that cannot be loaded: .*outside years 1 to 9999/,
    );
  });
});
