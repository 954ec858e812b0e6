import pg from 'pg';
import { applySourceSchema } from '../../../local/src/data/source-setup';
import { SOURCE_TABLE_NAMES, SOURCE_TABLES, quoteIdent, type SourceTableName } from '../../../shared/src/source/tables';
import { createTestDatabase, type TestDatabase } from '../../helpers/stack';

/** A private database with the source schema applied, and a client on it. */
export interface SourceDatabase {
  readonly db: TestDatabase;
  readonly client: pg.Client;
  close(): Promise<void>;
}

export async function createSourceDatabase(purpose: string): Promise<SourceDatabase> {
  const db = await createTestDatabase(purpose);
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  await applySourceSchema(client);
  return {
    db,
    client,
    async close() {
      await client.end();
      await db.drop();
    },
  };
}

/** Row counts of the 11 source tables. */
export async function countRows(client: pg.Client): Promise<Record<SourceTableName, number>> {
  const counts = {} as Record<SourceTableName, number>;
  for (const table of SOURCE_TABLE_NAMES) {
    const r = await client.query<{ n: string }>(`SELECT count(*) AS n FROM ${quoteIdent(table)}`);
    counts[table] = Number(r.rows[0]?.n);
  }
  return counts;
}

/** A digest of every row of every table in key order: equal digests mean equal contents. */
export async function digestTables(client: pg.Client): Promise<Record<SourceTableName, string>> {
  const digests = {} as Record<SourceTableName, string>;
  for (const table of SOURCE_TABLE_NAMES) {
    const pk = quoteIdent(SOURCE_TABLES[table].primaryKey);
    const r = await client.query<{ md5: string }>(`SELECT md5(coalesce(string_agg(t::text, E'\\n' ORDER BY ${pk}), '')) AS md5 FROM ${quoteIdent(table)} t`);
    digests[table] = r.rows[0]?.md5 ?? '';
  }
  return digests;
}

/** Columns, constraints (with validation state) and indexes of the public schema, as text. */
export async function describeSchema(client: pg.Client): Promise<string[]> {
  const columns = await client.query<{ line: string }>(
    `SELECT table_name || '.' || column_name || ' ' || data_type || coalesce('(' || character_maximum_length || ')', '') || ' ' || is_nullable AS line
       FROM information_schema.columns WHERE table_schema = 'public' ORDER BY table_name, ordinal_position`,
  );
  const constraints = await client.query<{ line: string }>(
    `SELECT r.relname || ' ' || c.conname || ' ' || pg_get_constraintdef(c.oid) || CASE WHEN c.convalidated THEN '' ELSE ' NOT VALIDATED' END AS line
       FROM pg_constraint c JOIN pg_class r ON r.oid = c.conrelid JOIN pg_namespace n ON n.oid = r.relnamespace
      WHERE n.nspname = 'public' ORDER BY 1`,
  );
  const indexes = await client.query<{ line: string }>(`SELECT indexdef AS line FROM pg_indexes WHERE schemaname = 'public' ORDER BY indexname`);
  const schemas = await client.query<{ line: string }>(
    `SELECT 'schema ' || nspname AS line FROM pg_namespace WHERE nspname NOT LIKE 'pg\\_%' AND nspname NOT IN ('information_schema', 'public') ORDER BY 1`,
  );
  return [...columns.rows, ...constraints.rows, ...indexes.rows, ...schemas.rows].map((r) => r.line);
}
