import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sendMessage, sql, summaryCounts, totes } from '../helpers/cli';

/**
 * The newcomer's path, through the real CLI: `totes run --once` on a fresh state directory starts
 * the embedded stack, seeds the source, runs the real handlers through the local event-source
 * mapping, and exits with the documented code. Later commands on the same state directory see
 * what earlier ones left (incremental passes, quarantine, a DLQ to inspect and redrive).
 */
describe('totes run --once', () => {
  let stateDir: string;
  beforeAll(() => {
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'totes-e2e-'));
  });
  afterAll(() => {
    fs.rmSync(stateDir, { recursive: true, force: true });
  });

  const state = () => ['--state-dir', stateDir];
  const count = (database: 'source' | 'warehouse', statement: string) => Number(sql<{ n: string }>(stateDir, database, statement)[0]?.n);

  it('loads a freshly seeded source into every warehouse table and exits 0', () => {
    const run = totes(['run', '--once', ...state(), '--scale', '0.05']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('Seeding the embedded source at scale 0.05');
    const counts = summaryCounts(run.stdout);
    expect([...counts.keys()].sort()).toHaveLength(11);
    for (const [table, c] of counts) {
      expect({ table, added: c.added > 0 }).toEqual({ table, added: true });
      expect(c.added).toBe(c.now);
    }
    expect(counts.get('fact_sales_order')?.now).toBe(count('source', 'SELECT count(*) AS n FROM sales_order'));
    expect(counts.get('fact_payment')?.now).toBe(count('source', 'SELECT count(*) AS n FROM payment'));
    const sourceTotal = sql<{ s: string }>(stateDir, 'source', 'SELECT sum(payment_amount)::text AS s FROM payment')[0]?.s;
    const warehouseTotal = sql<{ s: string }>(stateDir, 'warehouse', 'SELECT sum(payment_amount)::text AS s FROM fact_payment')[0]?.s;
    expect(warehouseTotal).toBe(sourceTotal);
  });

  it('adds nothing on a pass with no change', () => {
    const run = totes(['run', '--once', ...state()]);
    expect(run.code).toBe(0);
    for (const [, c] of summaryCounts(run.stdout)) expect(c.added).toBe(0);
  });

  it('extracts simulated changes incrementally and keeps every fact version', () => {
    const simulated = totes(['simulate', ...state(), '--rate', '40', '--duration', '2']);
    expect(simulated.code).toBe(0);
    const run = totes(['run', '--once', ...state()]);
    expect(run.code).toBe(0);
    const versions = count('warehouse', 'SELECT count(*) AS n FROM fact_payment');
    const current = count('warehouse', 'SELECT count(*) AS n FROM fact_payment_current');
    expect(current).toBe(count('source', 'SELECT count(*) AS n FROM payment'));
    expect(versions).toBeGreaterThanOrEqual(current);
    const paid = (db: 'source' | 'warehouse', table: string) => count(db, `SELECT count(*) FILTER (WHERE paid) AS n FROM ${table}`);
    expect(paid('warehouse', 'fact_payment_current')).toBe(paid('source', 'payment'));
  });

  it('quarantines a row that breaks a rule, loads the rest, and exits 3', () => {
    sql(stateDir, 'source', `UPDATE sales_order SET agreed_delivery_date = 'not-a-date', last_updated = now() WHERE sales_order_id = (SELECT min(sales_order_id) FROM sales_order)`);
    sql(stateDir, 'source', `UPDATE payment SET paid = true, last_updated = now() WHERE payment_id = (SELECT max(payment_id) FROM payment WHERE NOT paid)`);
    const run = totes(['run', '--once', ...state()]);
    expect(run.code).toBe(3);
    expect(run.stdout).toMatch(/1 row\(s\) were quarantined: sales_order 1/);
    expect(summaryCounts(run.stdout).get('fact_payment')?.added).toBe(1);
  });

  it('parks a poison message in its DLQ (exit 2), shows it, and redrives it', () => {
    sendMessage(stateDir, 'transform-design', '{"type":"batch-extracted","version":1}');
    const run = totes(['run', '--once', ...state()]);
    expect(run.code).toBe(2);
    expect(run.stdout).toContain('transform-design (1)');

    const list = totes(['dlq', 'list', ...state()]);
    expect(list.code).toBe(2);
    expect(list.stdout).toMatch(/transform-design\s+1/);
    const show = totes(['dlq', 'show', 'design', ...state()]);
    expect(show.code).toBe(0);
    expect(show.stdout).toContain('"type":"batch-extracted"');

    const redrive = totes(['redrive', 'design', ...state()]);
    expect(redrive.code).toBe(0);
    expect(redrive.stdout).toContain('transform-design: moved 1 message(s) back from its DLQ');
    expect(totes(['dlq', 'list', ...state()]).stdout).toMatch(/transform-design\s+0/);
  });

  it('explains a bad option in one sentence, without a stack trace', () => {
    const run = totes(['run', '--once', ...state(), '--scale', 'lots']);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('--scale must be a positive number, not "lots".');
    expect(run.stderr).not.toMatch(/\n\s+at /);
  });
});
