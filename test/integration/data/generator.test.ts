import pg from 'pg';
import { seedSource, type SeedProgress } from '../../../local/src/data/generator';
import { SeedError } from '../../../local/src/data/errors';
import { REFERENCE_ROWS } from '../../../local/src/data/reference-data';
import { applySourceSchema } from '../../../local/src/data/source-setup';
import { SourceSchemaError } from '../../../shared/src/errors';
import { createTestDatabase } from '../../helpers/stack';
import { countRows, createSourceDatabase, describeSchema, digestTables, type SourceDatabase } from './helpers';

/**
 * The generator on real PostgreSQL at a small scale (0.05 ≈ 560 sales orders over two years):
 * the rules of SPEC §1 hold row for row, the result is deterministic, and the schema is exactly
 * SOURCE_SCHEMA_SQL's afterwards.
 */
const SCALE = 0.05;

describe('seedSource', () => {
  let source: SourceDatabase;
  let progress: SeedProgress[];
  beforeAll(async () => {
    source = await createSourceDatabase('seed');
    progress = [];
    await seedSource({ url: source.db.url, scale: SCALE, seed: 7, onProgress: (p) => progress.push(p) });
  });
  afterAll(async () => {
    await source.close();
  });
  const q = async <T extends pg.QueryResultRow>(sql: string): Promise<T[]> => (await source.client.query<T>(sql)).rows;

  it('writes the fixed reference rows exactly as the real source has them', async () => {
    const departments = await q<{ department_id: number; department_name: string; location: string }>(
      'SELECT department_id, department_name, location FROM department ORDER BY 1',
    );
    expect(departments.map((d) => [d.department_id, d.department_name, d.location])).toEqual(
      REFERENCE_ROWS.department.map((r) => [r[0], r[1], r[2]]),
    );
    expect(departments.find((d) => d.department_name === 'Dispatch')?.location).toBe('Leds');
    const currencies = await q<{ currency_code: string }>('SELECT currency_code FROM currency ORDER BY currency_id');
    expect(currencies.map((c) => c.currency_code)).toEqual(['GBP', 'USD', 'EUR']);
    const counts = await countRows(source.client);
    expect(counts).toMatchObject({ address: 30, counterparty: 20, staff: 20, currency: 3, payment_type: 4, department: 8 });
  });

  it('gives every order exactly one transaction and one payment, created with it, of the right kind', async () => {
    const [row] = await q<{ orders: string; transactions: string; payments: string; bad: string }>(`
      SELECT (SELECT count(*) FROM sales_order) + (SELECT count(*) FROM purchase_order) AS orders,
             (SELECT count(*) FROM "transaction") AS transactions, (SELECT count(*) FROM payment) AS payments,
             (SELECT count(*) FROM "transaction" t
                LEFT JOIN sales_order s ON s.sales_order_id = t.sales_order_id
                LEFT JOIN purchase_order p ON p.purchase_order_id = t.purchase_order_id
               WHERE NOT ((t.transaction_type = 'SALE' AND s.created_at = t.created_at AND t.purchase_order_id IS NULL)
                       OR (t.transaction_type = 'PURCHASE' AND p.created_at = t.created_at AND t.sales_order_id IS NULL))) AS bad`);
    expect(Number(row?.orders)).toBeGreaterThan(500);
    expect(row?.transactions).toBe(row?.orders);
    expect(row?.payments).toBe(row?.orders);
    expect(row?.bad).toBe('0');
    const [dup] = await q<{ n: string }>(`SELECT count(*) AS n FROM (SELECT transaction_id FROM payment GROUP BY 1 HAVING count(*) > 1) d`);
    expect(dup?.n).toBe('0');
  });

  it('keeps the amount rule exactly: payment = quantity × price, same counterparty, currency and date, type 1 or 3', async () => {
    const [row] = await q<{ checked: string; broken: string }>(`
      SELECT count(*) AS checked, count(*) FILTER (WHERE NOT ok) AS broken FROM (
        SELECT p.payment_amount = s.units_sold * s.unit_price AND p.counterparty_id = s.counterparty_id AND p.currency_id = s.currency_id
               AND p.payment_date = s.agreed_payment_date AND p.payment_type_id = 1 AND p.created_at = s.created_at AS ok
          FROM payment p JOIN "transaction" t USING (transaction_id) JOIN sales_order s ON s.sales_order_id = t.sales_order_id
        UNION ALL
        SELECT p.payment_amount = o.item_quantity * o.item_unit_price AND p.counterparty_id = o.counterparty_id AND p.currency_id = o.currency_id
               AND p.payment_date = o.agreed_payment_date AND p.payment_type_id = 3 AND p.created_at = o.created_at
          FROM payment p JOIN "transaction" t USING (transaction_id) JOIN purchase_order o ON o.purchase_order_id = t.purchase_order_id) x`);
    expect(Number(row?.checked)).toBeGreaterThan(500);
    expect(row?.broken).toBe('0');
  });

  it('places orders on weekdays 08:00–18:59 with milliseconds, and never amends them', async () => {
    const rows = await q<{ dow: number; hour: number; amended: string; n: string }>(`
      SELECT extract(isodow FROM created_at)::int AS dow, extract(hour FROM created_at)::int AS hour,
             count(*) FILTER (WHERE last_updated <> created_at) AS amended, count(*) AS n
        FROM (SELECT created_at, last_updated FROM sales_order UNION ALL SELECT created_at, last_updated FROM purchase_order) o
       GROUP BY 1, 2`);
    expect(rows.every((r) => r.dow >= 1 && r.dow <= 5 && r.hour >= 8 && r.hour <= 18 && r.amended === '0')).toBe(true);
    expect(new Set(rows.map((r) => r.dow)).size).toBe(5);
    const [ms] = await q<{ n: string }>(`SELECT count(*) AS n FROM sales_order WHERE extract(milliseconds FROM created_at)::numeric % 1000 <> 0`);
    expect(Number(ms?.n)).toBeGreaterThan(0);
  });

  it('flips payments to paid at 07:xx on their payment date, and leaves unpaid ones as created', async () => {
    const [row] = await q<{ paid: string; unpaid: string; bad_paid: string; bad_unpaid: string }>(`
      SELECT count(*) FILTER (WHERE paid) AS paid, count(*) FILTER (WHERE NOT paid) AS unpaid,
             count(*) FILTER (WHERE paid AND (to_char(last_updated, 'YYYY-MM-DD') <> payment_date OR extract(hour FROM last_updated) <> 7)) AS bad_paid,
             count(*) FILTER (WHERE NOT paid AND last_updated <> created_at) AS bad_unpaid
        FROM payment`);
    const share = Number(row?.paid) / (Number(row?.paid) + Number(row?.unpaid));
    expect(share).toBeGreaterThan(0.5);
    expect(share).toBeLessThan(0.72);
    expect(row?.bad_paid).toBe('0');
    expect(row?.bad_unpaid).toBe('0');
  });

  it('adds designs over time and uses only designs that existed when an order was placed', async () => {
    const [row] = await q<{ designs: string; first: Date; last: Date; too_early: string }>(`
      SELECT (SELECT count(*) FROM design) AS designs, (SELECT min(created_at) FROM design) AS first, (SELECT max(created_at) FROM design) AS last,
             (SELECT count(*) FROM sales_order s JOIN design d USING (design_id) WHERE d.created_at > s.created_at) AS too_early`);
    expect(Number(row?.designs)).toBeGreaterThan(420);
    expect(row?.last.getTime()).toBeGreaterThan(row?.first.getTime() ?? Infinity);
    expect(row?.too_early).toBe('0');
  });

  it('leaves exactly the schema SOURCE_SCHEMA_SQL creates, every foreign key validated, no staging schema', async () => {
    const fresh = await createSourceDatabase('seed_schema');
    try {
      expect(await describeSchema(source.client)).toEqual(await describeSchema(fresh.client));
    } finally {
      await fresh.close();
    }
  });

  it('reports progress per table, then the foreign keys, then the swap', () => {
    const phases = progress.map((p) => p.phase);
    expect(phases.indexOf('constraints')).toBeGreaterThan(phases.lastIndexOf('load'));
    expect(phases.at(-1)).toBe('commit');
    const salesDone = progress.find((p) => p.table === 'sales_order' && p.rows === p.totalRows);
    expect(salesDone?.rows).toBeGreaterThan(500);
    expect(progress.at(-1)?.allRows).toBe(progress.at(-1)?.allTotalRows);
  });

  it('refuses a source that already has rows, changing nothing', async () => {
    const before = await digestTables(source.client);
    await expect(seedSource({ url: source.db.url, scale: SCALE, seed: 7 })).rejects.toThrow(SeedError);
    await expect(seedSource({ url: source.db.url, scale: SCALE, seed: 7 })).rejects.toThrow(/^The source is not empty \(\w+ has rows\)/);
    expect(await digestTables(source.client)).toEqual(before);
  });

  it('is deterministic: the same seed gives the same rows in another database, another seed other rows', async () => {
    const same = await createSourceDatabase('seed_same');
    const other = await createSourceDatabase('seed_other');
    try {
      await Promise.all([seedSource({ url: same.db.url, scale: SCALE, seed: 7 }), seedSource({ url: other.db.url, scale: SCALE, seed: 8 })]);
      const expected = await digestTables(source.client);
      expect(await digestTables(same.client)).toEqual(expected);
      const different = await digestTables(other.client);
      expect(different.sales_order).not.toBe(expected.sales_order);
      expect(different.currency).toBe(expected.currency);
    } finally {
      await Promise.all([same.close(), other.close()]);
    }
  });
});

describe('seedSource on a source that is not ready', () => {
  it('cleans up what a killed seed left behind (the totes_seed schema) and seeds normally', async () => {
    const source = await createSourceDatabase('seed_leftover');
    try {
      await source.client.query('CREATE SCHEMA totes_seed; CREATE TABLE totes_seed.sales_order (half_loaded int)');
      await seedSource({ url: source.db.url, scale: 0.01, seed: 1 });
      const schemas = await source.client.query(`SELECT 1 FROM pg_namespace WHERE nspname = 'totes_seed'`);
      expect(schemas.rowCount).toBe(0);
      expect((await countRows(source.client)).sales_order).toBeGreaterThan(50);
    } finally {
      await source.close();
    }
  });

  it('refuses a database without the source tables, naming the missing table', async () => {
    const db = await createTestDatabase('seed_noschema');
    try {
      await expect(seedSource({ url: db.url, scale: 0.01, seed: 1 })).rejects.toThrow(SourceSchemaError);
      await expect(seedSource({ url: db.url, scale: 0.01, seed: 1 })).rejects.toThrow('The source has no address table; create the source schema before seeding.');
    } finally {
      await db.drop();
    }
  });

  it.each([0, -1, Number.NaN, 5000])('refuses scale %d with a sentence', async (scale) => {
    await expect(seedSource({ url: 'postgres://unused', scale, seed: 1 })).rejects.toThrow(/^The scale must be a number above 0 and at most 1000/);
  });
});

describe('applySourceSchema', () => {
  it('creates the 11 tables once and is a no-op afterwards, even from two connections at once', async () => {
    const db = await createTestDatabase('source_schema');
    const a = new pg.Client({ connectionString: db.url });
    const b = new pg.Client({ connectionString: db.url });
    await Promise.all([a.connect(), b.connect()]);
    try {
      const created = await Promise.all([applySourceSchema(a), applySourceSchema(b)]);
      expect(created.sort()).toEqual([false, true]);
      expect(await applySourceSchema(a)).toBe(false);
      expect(Object.keys(await countRows(a))).toHaveLength(11);
    } finally {
      await Promise.all([a.end(), b.end()]);
      await db.drop();
    }
  });

  it('leaves a database with only some of the tables alone, naming a missing one', async () => {
    const db = await createTestDatabase('source_partial');
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      await client.query('CREATE TABLE address (address_id int PRIMARY KEY)');
      await expect(applySourceSchema(client)).rejects.toThrow(/has some totesys tables but not counterparty/);
    } finally {
      await client.end();
      await db.drop();
    }
  });
});
