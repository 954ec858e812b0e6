import pg from 'pg';
import { SOURCE_SCHEMA_SQL } from '@totes/shared/source/schema';
import type { Output } from './output';
import type { Session } from './session';

/**
 * Prepares the embedded source database: on first use it gets the totesys schema (and, once the
 * generator is wired, seeded data). A source given by URL is never written to.
 */
export interface SeedOptions {
  readonly scale?: number;
  readonly seed?: number;
}

export async function prepareSource(session: Session, _options: SeedOptions, out: Output): Promise<void> {
  const { source } = session.stack;
  if (!source.embedded) {
    out.info('Using the source database given by URL (read only).');
    return;
  }
  const client = new pg.Client({ connectionString: source.url });
  await client.connect();
  try {
    const { rows } = await client.query<{ present: boolean }>(`SELECT to_regclass('public.sales_order') IS NOT NULL AS present`);
    if (!rows[0]?.present) {
      await client.query(SOURCE_SCHEMA_SQL);
      out.info('Created the totesys schema in the embedded source database.');
    }
  } finally {
    await client.end();
  }
}
