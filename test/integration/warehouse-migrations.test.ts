import pg from 'pg';
import { migrateWarehouse } from '../../shared/src/warehouse/migrate';
import { MIGRATIONS } from '../../shared/src/warehouse/migrations';
import { WAREHOUSE_TABLES } from '../../shared/src/warehouse/tables';
import { createTestDatabase, type TestDatabase } from '../helpers/stack';

describe('warehouse migrations', () => {
  let db: TestDatabase;
  let client: pg.Client;
  beforeAll(async () => {
    db = await createTestDatabase('migrations');
    client = new pg.Client({ connectionString: db.url });
    await client.connect();
  });
  afterAll(async () => {
    await client.end();
    await db.drop();
  });

  it('creates all 11 warehouse tables with the columns the catalogue names', async () => {
    const result = await migrateWarehouse(client);
    expect(result.applied).toHaveLength(MIGRATIONS.length);
    for (const table of Object.values(WAREHOUSE_TABLES)) {
      const { rows } = await client.query<{ column_name: string }>(
        `SELECT column_name FROM information_schema.columns WHERE table_schema = 'public' AND table_name = $1 ORDER BY ordinal_position`,
        [table.name],
      );
      const expected = table.kind === 'fact' ? [table.recordId, ...table.columns.map((c) => c.name)] : table.columns.map((c) => c.name);
      expect(rows.map((r) => r.column_name)).toEqual(expected);
    }
  });

  it('is a no-op when run again, including from two connections at once', async () => {
    const other = new pg.Client({ connectionString: db.url });
    await other.connect();
    try {
      const [a, b] = await Promise.all([migrateWarehouse(client), migrateWarehouse(other)]);
      expect(a.applied).toEqual([]);
      expect(b.applied).toEqual([]);
    } finally {
      await other.end();
    }
  });

  it('refuses to run when an applied migration was edited, naming it', async () => {
    const edited = MIGRATIONS.map((m) => (m.id === 2 ? { ...m, sql: `${m.sql}\n-- edited` } : m));
    await expect(migrateWarehouse(client, edited)).rejects.toThrow('0002-fact-version-uniqueness was changed after it was applied');
  });
  it('0005 keeps each order current as 0004 showed it (greatest last_updated) when it upgrades a loaded warehouse', async () => {
    const old = await createTestDatabase('migrations-0005');
    const c = new pg.Client({ connectionString: old.url });
    await c.connect();
    try {
      await migrateWarehouse(c, MIGRATIONS.filter((m) => m.id <= 4));
      await c.query(`INSERT INTO dim_date (date_id, year, month, day, day_of_week, day_name, month_name, quarter) VALUES
        ('2022-11-03', 2022, 11, 3, 4, 'Thursday', 'November', 4), ('2022-11-04', 2022, 11, 4, 5, 'Friday', 'November', 4)`);
      await c.query(`INSERT INTO dim_staff VALUES (1, 'A', 'B', 'Sales', 'Leeds', 'a@b.c')`);
      await c.query(`INSERT INTO dim_counterparty VALUES (1, 'C', 'l1', NULL, NULL, 'city', 'pc', 'UK', '0')`);
      await c.query(`INSERT INTO dim_currency VALUES (1, 'GBP', 'Pound Sterling')`);
      await c.query(`INSERT INTO dim_design VALUES (1, 'D', '/x', 'd.json')`);
      await c.query(`INSERT INTO dim_location VALUES (1, 'a', NULL, NULL, 'c', 'p', 'UK', '0')`);
      const order = (id: number, date: string, time: string, units: number) =>
        c.query(
          `INSERT INTO fact_sales_order (sales_order_id, created_date, created_time, last_updated_date, last_updated_time, sales_staff_id, counterparty_id,
             units_sold, unit_price, currency_id, design_id, agreed_payment_date, agreed_delivery_date, agreed_delivery_location_id)
           VALUES ($1, '2022-11-03', '09:00', $2, $3, 1, 1, $4, 1.00, 1, 1, '2022-11-04', '2022-11-04', 1)`,
          [id, date, time, units],
        );
      await order(1, '2022-11-03', '09:00', 10);
      await order(1, '2022-11-04', '10:00', 11);
      await order(2, '2022-11-03', '12:00', 20);
      // A version stamped in the future (a broken writer): it must not outrank what comes later.
      await c.query(`INSERT INTO dim_date (date_id, year, month, day, day_of_week, day_name, month_name, quarter) VALUES ('2030-01-01', 2030, 1, 1, 2, 'Tuesday', 'January', 1)`);
      await order(3, '2022-11-03', '12:00', 30);
      await order(3, '2030-01-01', '00:00', 31);
      await c.query(`INSERT INTO pipeline.dimension_version (dimension, key, version) VALUES ('dim_design', '1', '2030-01-01'), ('dim_staff', '1', '2022-11-03')`);
      const before = (await c.query('SELECT sales_order_id, units_sold FROM fact_sales_order_current ORDER BY 1')).rows;
      expect(before).toEqual([
        { sales_order_id: 1, units_sold: 11 },
        { sales_order_id: 2, units_sold: 20 },
        { sales_order_id: 3, units_sold: 31 },
      ]);
      expect((await migrateWarehouse(c)).applied).toEqual(['0005-current-fact-by-observation']);
      expect((await c.query('SELECT sales_order_id, units_sold FROM fact_sales_order_current ORDER BY 1')).rows).toEqual(before);
      // Pointers for the orders with more than one version; the future stamp capped at now.
      expect(
        (await c.query(`SELECT sales_order_id, observed::text, observed <= localtimestamp AS not_future FROM pipeline.fact_sales_order_current_version ORDER BY 1`)).rows,
      ).toEqual([
        { sales_order_id: 1, observed: '2022-11-04 10:00:00', not_future: true },
        { sales_order_id: 3, observed: expect.any(String), not_future: true },
      ]);
      expect((await c.query(`SELECT key, version::text, version <= localtimestamp AS not_future FROM pipeline.dimension_version ORDER BY dimension`)).rows).toEqual([
        { key: '1', version: expect.any(String), not_future: true },
        { key: '1', version: '2022-11-03 00:00:00', not_future: true },
      ]);
      // Order 2 (one version, no pointer) gains a version the way a loader of the previous release
      // would append it (no pointer, no range): the view still shows one current row per order.
      await order(2, '2022-11-04', '09:00', 21);
      expect((await c.query('SELECT sales_order_id, units_sold FROM fact_sales_order_current ORDER BY 1')).rows).toEqual([
        { sales_order_id: 1, units_sold: 11 },
        { sales_order_id: 2, units_sold: 21 },
        { sales_order_id: 3, units_sold: 31 },
      ]);
    } finally {
      await c.end();
      await old.drop();
    }
  });
});
