import type pg from 'pg';
import type { DatabaseConfig } from '@totes/shared/config/index';
import { connect } from '@totes/shared/db/connect';
import { TotesError } from '@totes/shared/errors';
import { applySourceSchema, importCsv, seedSource, startSimulator } from '../data';
import type { Output } from './output';
import type { Session } from './session';

/**
 * The embedded source database: created with the totesys schema on first use and seeded with
 * generated data (or a folder of CSV files). A source given by URL is never written to: seeding and
 * simulating refuse it.
 */
export interface SeedOptions {
  readonly scale?: number;
  readonly seed?: number;
}

async function withClient<T>(config: DatabaseConfig, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = await connect(config);
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

export function refuseExternalSource(what: string): TotesError {
  return new TotesError(`Refusing to ${what}: the source was given by URL, and totes never writes to a source it did not create.`);
}

function requireEmbedded(session: Session, what: string): string {
  if (!session.stack.source.embedded) throw refuseExternalSource(what);
  return session.stack.source.url;
}

/** Open the embedded source's schema, creating it on first use. */
export async function ensureSourceSchema(session: Session): Promise<boolean> {
  requireEmbedded(session, 'create the source schema');
  return withClient(session.stack.source.config, (c) => applySourceSchema(c));
}

async function sourceIsEmpty(config: DatabaseConfig): Promise<boolean> {
  return withClient(config, async (c) => {
    const { rows } = await c.query<{ n: string }>('SELECT (SELECT count(*) FROM sales_order) + (SELECT count(*) FROM address) AS n');
    return Number(rows[0]?.n ?? 0) === 0;
  });
}

/** Before a run: an embedded source gets its schema and, when empty, generated data at `scale`. */
export async function prepareSource(session: Session, options: SeedOptions, out: Output): Promise<void> {
  const { source } = session.stack;
  if (!source.embedded) {
    out.info('Using the source database given by URL (read only).');
    return;
  }
  if (await ensureSourceSchema(session)) out.info('Created the totesys schema in the embedded source database.');
  if (await sourceIsEmpty(source.config)) await seed(session, options, out);
}

export async function seed(session: Session, options: SeedOptions, out: Output): Promise<void> {
  const url = requireEmbedded(session, 'seed the source');
  const scale = options.scale ?? 1;
  const started = Date.now();
  out.info(`Seeding the embedded source at scale ${scale} (seed ${options.seed ?? 42})…`);
  const result = await seedSource({
    url,
    scale,
    seed: options.seed ?? 42,
    onProgress: (p) => {
      const pct = p.allTotalRows > 0 ? Math.floor((100 * p.allRows) / p.allTotalRows) : 100;
      out.live([`  ${p.phase === 'load' ? `loading ${p.table}` : p.phase === 'constraints' ? 'building keys and indexes' : 'committing'} · ${p.allRows.toLocaleString('en-GB')} of ${p.allTotalRows.toLocaleString('en-GB')} rows (${pct}%)`]);
    },
  });
  out.endLive();
  out.info(`Seeded ${result.totalRows.toLocaleString('en-GB')} rows in ${((Date.now() - started) / 1000).toFixed(1)} s (orders from ${result.from} to ${result.to}).`);
}

export async function importSourceCsv(session: Session, dir: string, out: Output): Promise<void> {
  const url = requireEmbedded(session, 'import CSV files into the source');
  await ensureSourceSchema(session);
  if (!(await sourceIsEmpty(session.stack.source.config))) {
    throw new TotesError('The embedded source already holds data; import into a fresh state directory (--fresh or another --state-dir).');
  }
  out.info(`Importing the CSV files in ${dir}…`);
  const result = await importCsv({
    url,
    dir,
    onProgress: (p) => out.live([`  ${p.file}: ${p.rows.toLocaleString('en-GB')} rows · ${Math.floor((100 * p.bytes) / Math.max(1, p.totalBytes))}% of the bytes read`]),
  });
  out.endLive();
  out.info(`Imported ${result.totalRows.toLocaleString('en-GB')} rows: ${Object.entries(result.rows).map(([t, n]) => `${t} ${n}`).join(', ')}.`);
}

/** Start the change simulator on the embedded source; returns a function that stops it. */
export function simulate(session: Session, rate: number, seedValue: number, out: Output): { stop(): Promise<void>; changes(): number } {
  const url = requireEmbedded(session, 'simulate changes in the source');
  const simulator = startSimulator({
    url,
    rate,
    seed: seedValue,
    onError: (err) => out.detail(`simulator: ${err instanceof Error ? err.message : String(err)}`),
  });
  return { stop: () => simulator.stop(), changes: () => simulator.stats().changes };
}
