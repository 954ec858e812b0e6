import pg from 'pg';
import { loadDatabaseConfig } from '../../../shared/src/config';
import { SOURCE_SCHEMA_SQL } from '../../../shared/src/source/schema';
import { sourceWaiting, summariseBatches } from '../../../local/src/runtime/status';
import { createTestDatabase, type TestDatabase } from '../../helpers/stack';

describe('status: how far extraction trails the source', () => {
  let db: TestDatabase;
  let client: pg.Client;
  beforeAll(async () => {
    db = await createTestDatabase('status_source');
    client = new pg.Client({ connectionString: db.url });
    await client.connect();
    await client.query(SOURCE_SCHEMA_SQL);
    await client.query(`INSERT INTO currency VALUES
      (1, 'GBP', '2022-11-03 14:20:49.962', '2022-11-03 14:20:49.962'),
      (2, 'USD', '2022-11-03 14:20:49.962', localtimestamp - interval '90 seconds'),
      (3, 'EUR', '2022-11-03 14:20:49.962', localtimestamp - interval '30 seconds')`);
    await client.query(`INSERT INTO payment_type VALUES (1, 'SALES_RECEIPT', '2022-11-03 14:20:49.962', '2022-11-03 14:20:49.962')`);
  });
  afterAll(async () => {
    await client.end();
    await db.drop();
  });

  it('reports the age of the oldest change not yet extracted, and 0 for a table with nothing waiting however old', async () => {
    const config = loadDatabaseConfig('source', { TOTES_SOURCE_URL: db.url, TOTES_SOURCE_SSL: 'disable' });
    const waiting = await sourceWaiting(
      config,
      new Map([
        ['currency', '2022-11-03T14:20:49.962'],
        ['payment_type', '2022-11-03T14:20:49.962'],
      ]),
    );
    expect(waiting.get('currency')).toBeGreaterThanOrEqual(90);
    expect(waiting.get('currency')).toBeLessThan(120);
    expect(waiting.get('payment_type')).toBe(0);
    // Nothing extracted yet and nothing in the table: nothing waits.
    expect(waiting.get('sales_order')).toBe(0);
  });

  it('summarises batch records per table: loaded, pending, quarantined, late, newest extracted', () => {
    const tables = summariseBatches([
      { table: 'payment', state: 'loaded', rows: 10, quarantinedRows: 1, lateRows: 2, extractedAt: '2024-01-01T00:00:01Z', range: { to: { lastUpdated: '2024-01-01T00:00:00' } } },
      { table: 'payment', state: 'transformed', rows: 5, extractedAt: '2024-01-01T00:00:02Z', range: { to: { lastUpdated: '2024-01-02T00:00:00' } } },
    ]);
    expect(tables.find((t) => t.table === 'payment')).toMatchObject({
      batches: 2,
      rowsExtracted: 15,
      loaded: 1,
      pending: 1,
      quarantined: 1,
      lateRows: 2,
      lastExtractedAt: '2024-01-01T00:00:02Z',
      extractedUpTo: '2024-01-02T00:00:00',
    });
    expect(tables).toHaveLength(11);
  });
});
