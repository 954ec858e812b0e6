import { seedSource } from '../../../local/src/data/generator';
import { ChangeMaker, DEFAULT_MIX, startSimulator, type ChangeKind, type SimulatedChange } from '../../../local/src/data/simulator';
import { createTestDatabase } from '../../helpers/stack';
import { countRows, createSourceDatabase, type SourceDatabase } from './helpers';

/**
 * The change simulator on real PostgreSQL: the mix of changes, foreign keys and the amount rule
 * kept, last_updated moved by the database, one transaction per change, ids after the largest.
 */
describe('change simulator', () => {
  let source: SourceDatabase;
  beforeAll(async () => {
    source = await createSourceDatabase('simulator');
    await seedSource({ url: source.db.url, scale: 0.02, seed: 11 });
  });
  afterAll(async () => {
    await source.close();
  });

  it('makes the expected mix over 400 changes: mostly orders and paid flips, rare amendments and dimension edits', async () => {
    const maker = new ChangeMaker(source.client, 5);
    const counts: Partial<Record<ChangeKind, number>> = {};
    for (let i = 0; i < 400; i++) {
      const change = await maker.next();
      counts[change.kind] = (counts[change.kind] ?? 0) + 1;
    }
    const total = Object.values(DEFAULT_MIX).reduce((a, b) => a + b, 0);
    for (const [kind, weight] of Object.entries(DEFAULT_MIX) as [ChangeKind, number][]) {
      const expected = (400 * weight) / total;
      // Binomial spread: within four standard deviations (and at least 3 changes) of the mix.
      const tolerance = Math.max(3, 4 * Math.sqrt(expected));
      expect(Math.abs((counts[kind] ?? 0) - expected)).toBeLessThanOrEqual(tolerance);
    }
    expect(counts['reference-rows']).toBeUndefined();
  });

  it('keeps every foreign key, the amount rule and one transaction and payment per order after the changes', async () => {
    // The constraints are enforced by PostgreSQL; the amount rule and the pairing are checked here.
    const { rows } = await source.client.query<{ broken: string; orders: string; payments: string }>(`
      SELECT (SELECT count(*) FROM payment p JOIN "transaction" t USING (transaction_id)
                LEFT JOIN sales_order s ON s.sales_order_id = t.sales_order_id LEFT JOIN purchase_order o ON o.purchase_order_id = t.purchase_order_id
               WHERE p.payment_amount <> coalesce(s.units_sold * s.unit_price, o.item_quantity * o.item_unit_price)
                 AND NOT p.paid) AS broken,
             (SELECT count(*) FROM sales_order) + (SELECT count(*) FROM purchase_order) AS orders,
             (SELECT count(*) FROM payment) AS payments`);
    expect(rows[0]?.broken).toBe('0');
    expect(rows[0]?.payments).toBe(rows[0]?.orders);
  });

  it('continues ids after the largest existing id and stamps last_updated with the database clock, to the millisecond', async () => {
    const before = await source.client.query<{ max: number }>('SELECT max(sales_order_id) AS max FROM sales_order');
    const maker = new ChangeMaker(source.client, 99);
    let change: SimulatedChange;
    do change = await maker.next();
    while (change.kind !== 'sales-order');
    const id = change.rows.find((r) => r.table === 'sales_order')?.id;
    expect(id).toBeGreaterThan(before.rows[0]?.max ?? Infinity);
    const { rows } = await source.client.query<{ age: number; ms_only: boolean; same: boolean }>(
      `SELECT extract(epoch FROM localtimestamp - s.last_updated)::float8 AS age,
              s.last_updated = date_trunc('milliseconds', s.last_updated) AS ms_only,
              s.created_at = t.created_at AND t.created_at = p.created_at AS same
         FROM sales_order s JOIN "transaction" t USING (sales_order_id) JOIN payment p USING (transaction_id) WHERE s.sales_order_id = $1`,
      [id],
    );
    expect(rows[0]?.age).toBeGreaterThanOrEqual(0);
    expect(rows[0]?.age).toBeLessThan(60);
    expect(rows[0]?.ms_only).toBe(true);
    expect(rows[0]?.same).toBe(true);
  });

  it('moves last_updated of an edited dimension row, leaving its created_at', async () => {
    const maker = new ChangeMaker(source.client, 123);
    let change: SimulatedChange;
    do change = await maker.next();
    while (change.kind !== 'department-moved');
    const { rows } = await source.client.query<{ moved: boolean; created: Date }>(
      `SELECT last_updated > created_at AS moved, created_at AS created FROM department WHERE department_id = $1`,
      [change.rows[0]?.id],
    );
    expect(rows[0]?.moved).toBe(true);
    expect(rows[0]?.created.getUTCFullYear()).toBe(2022);
  });

  it('makes each change in its own transaction: every row of one change carries one commit', async () => {
    const maker = new ChangeMaker(source.client, 7);
    const changes: SimulatedChange[] = [];
    for (let i = 0; i < 30; i++) changes.push(await maker.next());
    const orders = changes.filter((c) => c.kind === 'sales-order' || c.kind === 'purchase-order');
    expect(orders.length).toBeGreaterThan(5);
    const xmins = new Set<string>();
    for (const change of orders) {
      // One query at a time: a pg client runs its queries in sequence (concurrent ones are deprecated).
      const ids: string[] = [];
      for (const r of change.rows) {
        const pk = r.table === 'transaction' ? 'transaction_id' : `${r.table}_id`;
        const table = r.table === 'transaction' ? '"transaction"' : r.table;
        const { rows } = await source.client.query<{ xmin: string }>(`SELECT xmin::text AS xmin FROM ${table} WHERE ${pk} = $1`, [r.id]);
        ids.push(rows[0]?.xmin ?? '');
      }
      expect(new Set(ids).size).toBe(1);
      xmins.add(ids[0] ?? '');
    }
    expect(xmins.size).toBe(orders.length);
  });

  it('runs at the given rate until stopped, reporting each change', async () => {
    const before = await countRows(source.client);
    const seen: SimulatedChange[] = [];
    const errors: unknown[] = [];
    const started = Date.now();
    const simulator = startSimulator({ url: source.db.url, rate: 50, seed: 1, onChange: (c) => seen.push(c), onError: (e) => errors.push(e) });
    // Wait for work, not for a fixed time (a loaded machine is slower); then check the pacing
    // against the time that actually passed: never faster than the rate.
    while (seen.length < 20) {
      if (Date.now() - started > 30_000) throw new Error(`only ${seen.length} changes in 30 s`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    await simulator.stop();
    const elapsedSeconds = (Date.now() - started) / 1000;
    const stats = simulator.stats();
    expect(errors).toEqual([]);
    expect(stats.changes).toBe(seen.length);
    expect(stats.changes).toBeGreaterThanOrEqual(20);
    expect(stats.changes).toBeLessThanOrEqual(Math.ceil(50 * elapsedSeconds) + 2);
    const after = await countRows(source.client);
    expect(after.transaction - before.transaction).toBe(after.payment - before.payment);
    const afterStop = simulator.stats().changes;
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(simulator.stats().changes).toBe(afterStop);
  });
});

describe('change simulator on an empty source', () => {
  it('writes the reference rows first, then makes orders on them', async () => {
    const source = await createSourceDatabase('simulator_empty');
    try {
      const maker = new ChangeMaker(source.client, 2);
      const first = await maker.next();
      expect(first.kind).toBe('reference-rows');
      const second = await maker.next();
      expect(second.kind).toBe('design-added');
      for (let i = 0; i < 20; i++) await maker.next();
      const counts = await countRows(source.client);
      expect(counts).toMatchObject({ currency: 3, payment_type: 4, department: 8, address: 30, counterparty: 20, staff: 20 });
      expect(counts.sales_order + counts.purchase_order).toBeGreaterThan(5);
    } finally {
      await source.close();
    }
  });

  it('reports a failed change through onError, counts it, and stops cleanly when the tables are missing', async () => {
    const db = await createTestDatabase('simulator_noschema');
    try {
      const errors: unknown[] = [];
      const simulator = startSimulator({ url: db.url, rate: 100, seed: 1, onError: (e) => errors.push(e) });
      await new Promise((resolve) => setTimeout(resolve, 300));
      await simulator.stop();
      expect(errors.length).toBeGreaterThan(0);
      expect(String(errors[0])).toMatch(/relation "design" does not exist/);
      expect(simulator.stats().failures).toBe(errors.length);
    } finally {
      await db.drop();
    }
  });
});
