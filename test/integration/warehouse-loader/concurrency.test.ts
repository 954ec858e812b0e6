import pg from 'pg';
import { LOCK_NAMESPACE, tableLockKey } from '../../../services/warehouse-loader/src/merge-sql';
import { WAREHOUSE_TABLES } from '../../../shared/src/warehouse/tables';
import { counterparties, currencies, dates, designs, locations, payments, salesOrders, staff } from './fixtures';
import { LoaderHarness, createTestDatabase, danglingReferences, dumpWarehouse, logLines, withClient, type LoaderFile, type TestDatabase } from './harness';
import type { ContractRow } from '../../unit/warehouse-loader/contract-parquet';

/** A staff image per key 1..5 at a version; `tag` marks which file a value came from. */
function staffVersion(tag: string, version: string, keys: readonly number[]): ContractRow[] {
  return keys.map((staff_id) => ({ ...staff[0]!, staff_id, last_name: `${tag}-${staff_id}`, _version: version }));
}

function salesFor(ids: readonly number[], lastUpdatedDate: string): ContractRow[] {
  return ids.map((id) => ({ ...salesOrders[0]!, sales_order_id: id, sales_staff_id: 1 + (id % 5), last_updated_date: lastUpdatedDate }));
}

describe('warehouse-loader: concurrent loads and lost connections', () => {
  let harness: LoaderHarness;
  const newDatabase = () => harness.newDatabase('loader_conc');
  beforeAll(async () => {
    harness = await LoaderHarness.create();
  });
  afterAll(async () => {
    await harness.dropDatabases();
  });

  it('runs 8 overlapping loads at once on separate connections without deadlock or lost update; the newest version wins', async () => {
    const files: LoaderFile[] = [
      await harness.file('dim_staff', staffVersion('v1', '2023-01-01 00:00:00', [1, 2, 3, 4, 5])),
      await harness.file('dim_staff', staffVersion('v3', '2023-03-01 00:00:00.000003', [2, 3, 4])),
      await harness.file('dim_staff', staffVersion('v2', '2023-02-01 00:00:00', [1, 2, 3, 4, 5])),
      await harness.file('fact_sales_order', salesFor([1, 2, 3, 4, 5, 6], '2023-01-02')),
      await harness.file('fact_sales_order', [...salesFor([4, 5, 6, 7, 8], '2023-01-02'), ...salesFor([1, 2], '2023-01-03')]),
      await harness.file('fact_payment', payments),
      await harness.file('dim_counterparty', counterparties),
      await harness.file('dim_date', dates),
    ];
    const sequential = await newDatabase();
    await harness.loadAll(sequential, files);
    const expected = await dumpWarehouse(sequential);

    for (let round = 0; round < 3; round++) {
      const db = await newDatabase();
      // Each round starts the loads in another order; all run at once, each on its own connection.
      const order = files.map((f, i) => ({ f, k: (i * (round + 3)) % files.length })).sort((a, b) => a.k - b.k);
      const warehouses = order.map(() => harness.warehouse(db));
      try {
        const results = await Promise.all(order.map(({ f }, i) => harness.load(f, warehouses[i]!)));
        expect(results.every((r) => r.outcome === 'loaded')).toBe(true);
      } finally {
        await Promise.all(warehouses.map((w) => w.close()));
      }
      expect(await dumpWarehouse(db)).toEqual(expected);
      expect(await danglingReferences(db)).toEqual([]);
      await withClient(db, async (c) => {
        const { rows } = await c.query(`SELECT staff_id, last_name FROM dim_staff ORDER BY staff_id`);
        expect(rows).toEqual([
          { staff_id: 1, last_name: 'v2-1' },
          { staff_id: 2, last_name: 'v3-2' },
          { staff_id: 3, last_name: 'v3-3' },
          { staff_id: 4, last_name: 'v3-4' },
          { staff_id: 5, last_name: 'v2-5' },
        ]);
        // 8 orders in their first version, orders 1 and 2 in a second one.
        expect((await c.query(`SELECT count(*)::int AS n FROM fact_sales_order`)).rows).toEqual([{ n: 10 }]);
      });
    }
  });

  it('loads a file delivered twice at the same moment exactly once', async () => {
    const db = await newDatabase();
    const file = await harness.file('fact_sales_order', salesOrders);
    const [a, b] = [harness.warehouse(db), harness.warehouse(db)];
    try {
      const results = await Promise.all([harness.load(file, a), harness.load(file, b)]);
      expect(results.map((r) => r.outcome).sort()).toEqual(['already-loaded', 'loaded']);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
    await withClient(db, async (c) => {
      expect((await c.query(`SELECT count(*)::int AS n FROM fact_sales_order`)).rows).toEqual([{ n: salesOrders.length }]);
    });
  });

  it('fails the message when the connection is lost mid-load, commits nothing, and loads the file on the retry', async () => {
    const db = await newDatabase();
    await withClient(db, async (c) => {
      const setup = harness.warehouse(db);
      await setup.session(); // migrates the new warehouse
      await setup.close();
      await c.query(`INSERT INTO dim_currency VALUES (2, 'USD', 'US Dollar'), (3, 'EUR', 'Euro')`);
    });
    const file = await harness.file('fact_sales_order', salesOrders);
    const warehouse = harness.warehouse(db);
    const blocker = await withClientOpen(db);
    // Not the blocker: inside a transaction pg_stat_activity keeps the snapshot it first took.
    const observer = await withClientOpen(db);
    try {
      // Another transaction holds an uncommitted row with one of the file's fact versions: the
      // loader's append waits on it after it has already written dates and inferred members.
      await beginOutsideWrite(blocker, { ...salesOrders[2]!, units_sold: 1, unit_price: '1' });
      const load = harness.load(file, warehouse);
      const pid = await waitForBlockedLoader(observer, db.name);
      const terminated = await observer.query<{ ok: boolean }>('SELECT pg_terminate_backend($1) AS ok', [pid]);
      expect(terminated.rows[0]?.ok).toBe(true);
      await expect(load).rejects.toThrow(/terminat/i);
      await blocker.query('ROLLBACK');

      const leftovers = await blocker.query(`
        SELECT (SELECT count(*) FROM fact_sales_order)::int AS facts, (SELECT count(*) FROM dim_date)::int AS dates,
               (SELECT count(*) FROM dim_staff)::int AS staff, (SELECT count(*) FROM pipeline.dimension_version)::int AS versions,
               (SELECT count(*) FROM pipeline.loaded_file)::int AS files`);
      expect(leftovers.rows).toEqual([{ facts: 0, dates: 0, staff: 0, versions: 0, files: 0 }]);

      // SQS redelivers: the same loader container opens a new connection and loads the file.
      const retried = await harness.load(file, warehouse);
      expect(retried.outcome).toBe('loaded');
      expect(retried.counts.inserted).toBe(salesOrders.length);
    } finally {
      await blocker.end();
      await observer.end();
      await warehouse.close();
    }
  });

  it('loads a file of first versions again through ON CONFLICT when a version of it is written outside the pipeline meanwhile, skipping that version', async () => {
    const db = await newDatabase();
    const warehouse = harness.warehouse(db);
    const blocker = await withClientOpen(db);
    const observer = await withClientOpen(db);
    // Three new orders observed by one pass: a file of first versions.
    const orders = [1, 2, 3].map((id) => ({ ...salesOrders[2]!, sales_order_id: id, _version: '2024-11-15 14:40:00' }));
    try {
      await harness.load(await harness.file('dim_currency', currencies), warehouse);
      // A writer that takes none of the pipeline's locks holds an uncommitted copy of order 2's
      // version: the overlap check cannot see it, and the plain append waits on it, then collides.
      await beginOutsideWrite(blocker, salesOrders[2]!);
      logLines.length = 0;
      const load = harness.load(await harness.file('fact_sales_order', orders), warehouse);
      await waitForBlockedLoader(observer, db.name);
      await blocker.query('COMMIT');

      const result = await load;
      expect(result.retries).toBe(1);
      expect(result.counts).toEqual({ inserted: 2, updated: 0, skipped: 1 });
      expect(logLines.filter((l) => l.message === 'load transaction retried').map((l) => l.reason)).toEqual([
        expect.stringMatching(/a version of fact_sales_order in ids 1-3 was written while the load held its locks/),
      ]);
      const { rows } = await observer.query(`
        SELECT (SELECT count(*) FROM fact_sales_order)::int AS facts,
               (SELECT count(*) FROM pipeline.fact_first_version_range)::int AS ranges,
               (SELECT array_agg(sales_order_id ORDER BY sales_order_id) FROM pipeline.fact_sales_order_current_version) AS pointed,
               (SELECT array_agg(sales_order_id ORDER BY sales_order_id) FROM fact_sales_order_current) AS current`);
      // No first-version range: the file went the general way, and every id has its pointer.
      expect(rows).toEqual([{ facts: 3, ranges: 0, pointed: [1, 2, 3], current: [1, 2, 3] }]);
      expect(await danglingReferences(db)).toEqual([]);
    } finally {
      await blocker.end();
      await observer.end();
      await warehouse.close();
    }
  });
});

describe('warehouse-loader: a referenced row deleted while a load waits for its locks', () => {
  it('rolls back, tries again holding that dimension to itself, and loads with an inferred member', async () => {
    const harness = await LoaderHarness.create();
    const db = await createTestDatabase('loader_retry');
    const warehouse = harness.warehouse(db);
    const blocker = await withClientOpen(db);
    const observer = await withClientOpen(db);
    try {
      for (const [table, rows] of [
        ['dim_staff', staff],
        ['dim_counterparty', counterparties],
        ['dim_currency', currencies],
        ['dim_design', designs],
        ['dim_location', locations],
      ] as const) {
        await harness.load(await harness.file(table, rows), warehouse);
      }
      // Another transaction holds the fact table's lock: the load checks its references, then waits.
      await blocker.query('BEGIN');
      await blocker.query('SELECT pg_advisory_xact_lock($1, $2)', [LOCK_NAMESPACE, tableLockKey('fact_sales_order')]);
      logLines.length = 0;
      const load = harness.load(await harness.file('fact_sales_order', [salesOrders[2]!]), warehouse);
      await waitForBlockedLoader(observer, db.name);
      // Meanwhile, a writer outside the pipeline deletes the design the facts reference.
      await blocker.query('DELETE FROM dim_design WHERE design_id = 1');
      await blocker.query('COMMIT');

      const result = await load;
      expect(result.retries).toBe(1);
      expect(result.inferredMembers).toBe(1);
      expect(logLines.filter((l) => l.message === 'load transaction retried')).toHaveLength(1);
      expect((await observer.query(`SELECT design_name FROM dim_design WHERE design_id = 1`)).rows).toEqual([{ design_name: 'Unknown' }]);
      expect(await danglingReferences(db)).toEqual([]);
      // The design's real row, redelivered with its old version, replaces the placeholder.
      await harness.load(await harness.file('dim_design', designs), warehouse);
      expect((await observer.query(`SELECT design_name FROM dim_design WHERE design_id = 1`)).rows).toEqual([{ design_name: 'Wooden' }]);
    } finally {
      await blocker.end();
      await observer.end();
      await warehouse.close();
      await db.drop();
    }
  });
});

/**
 * A writer outside the pipeline (none of its locks, no foreign-key triggers) opens a transaction and
 * inserts one fact_sales_order version, left uncommitted.
 */
async function beginOutsideWrite(client: pg.Client, sale: ContractRow): Promise<void> {
  const columns = WAREHOUSE_TABLES.fact_sales_order.columns.map((c) => c.name);
  await client.query('BEGIN');
  await client.query('SET LOCAL session_replication_role = replica');
  await client.query(`INSERT INTO fact_sales_order (${columns.join(', ')}) VALUES (${columns.map((_, i) => `$${i + 1}`).join(', ')})`, columns.map((c) => sale[c]));
}

async function withClientOpen(db: TestDatabase): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  return client;
}

/** The backend pid of the loader once it waits on a lock in database `database`. */
async function waitForBlockedLoader(observer: pg.Client, database: string): Promise<number> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    const { rows } = await observer.query<{ pid: number }>(
      `SELECT pid FROM pg_stat_activity WHERE datname = $1 AND application_name = 'totes-etl-warehouse' AND wait_event_type = 'Lock'`,
      [database],
    );
    if (rows[0]) return rows[0].pid;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('the loader never blocked');
}
