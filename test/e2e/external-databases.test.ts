import pg from 'pg';
import { createExternalDatabases, type ExternalDatabases } from '../helpers/external';
import { summaryCounts, totes } from '../helpers/cli';

/**
 * `--source-url` / `--warehouse-url`: the pipeline runs against databases it did not create. It
 * migrates and loads the warehouse, and never writes to the source (no schema, no seed, no rows).
 */
describe('totes with external databases', () => {
  let external: ExternalDatabases;
  let source: ExternalDatabases['source'];
  let warehouse: ExternalDatabases['warehouse'];
  let stateDir: string;

  const fingerprint = async (url: string) => {
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    try {
      const { rows } = await c.query<{ fp: string }>(`
        SELECT string_agg(format('%s.%s', table_schema, table_name), ',' ORDER BY table_schema, table_name)
          || '|' || (SELECT count(*) FROM sales_order) || '|' || (SELECT max(last_updated) FROM payment)
          || '|' || (SELECT sum(payment_amount) FROM payment) AS fp
        FROM information_schema.tables WHERE table_schema NOT IN ('pg_catalog', 'information_schema')`);
      return rows[0]?.fp;
    } finally {
      await c.end();
    }
  };

  beforeAll(async () => {
    external = await createExternalDatabases('external', { scale: 0.02, seed: 7 });
    ({ source, warehouse, stateDir } = external);
  });
  afterAll(async () => {
    await external.dispose();
  });

  it('loads the external warehouse from the external source and leaves the source exactly as it was', async () => {
    const before = await fingerprint(source.url);
    // The test cluster has no TLS certificate: an external URL gets TLS unless it says sslmode=disable.
    const run = totes(['run', '--once', ...external.options]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('Using the source database given by URL (read only).');
    expect(run.stdout).not.toContain('Seeding');
    expect(await fingerprint(source.url)).toBe(before);

    const c = new pg.Client({ connectionString: warehouse.url });
    await c.connect();
    try {
      const { rows } = await c.query<{ n: string }>('SELECT count(*) AS n FROM fact_sales_order');
      expect(Number(rows[0]?.n)).toBe(summaryCounts(run.stdout).get('fact_sales_order')?.now);
      expect(Number(rows[0]?.n)).toBe(Number(before?.split('|')[1]));
    } finally {
      await c.end();
    }
  });

  it('asks for TLS by default on a database given by URL, and says how to turn it off', () => {
    const run = totes(['run', '--once', '--state-dir', stateDir, '--source-url', source.url, '--warehouse-url', warehouse.url]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^totes: Could not connect to the warehouse database at 127\.0\.0\.1:\d+\/external_warehouse_\w+ \(TLS verify-full; for a server without TLS set TOTES_WAREHOUSE_SSL=disable or add \?sslmode=disable to its URL\): .*SSL.*\n$/);
  });

  it('refuses to seed, import into or simulate changes in a source it did not create', async () => {
    const before = await fingerprint(source.url);
    for (const args of [
      ['seed', '--scale', '0.01'],
      ['seed', '--from-csv', stateDir],
      ['simulate', '--rate', '5', '--duration', '1'],
    ]) {
      const run = totes([...args, '--state-dir', stateDir, '--source-url', source.url], 60_000);
      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(/^totes: Refusing to (seed the source|import CSV files into the source|simulate changes in the source): the source was given by URL, and totes never writes to a source it did not create\.\n$/);
    }
    expect(await fingerprint(source.url)).toBe(before);
  });
});
