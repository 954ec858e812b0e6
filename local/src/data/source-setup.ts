import pg from 'pg';
import { inTransaction } from '@totes/shared/db/transaction';
import { SourceSchemaError } from '@totes/shared/errors';
import { SOURCE_SCHEMA_SQL } from '@totes/shared/source/schema';
import { SOURCE_TABLE_NAMES, type SourceTableName } from '@totes/shared/source/tables';

/**
 * The totesys tables of the embedded source. Only the embedded source this tool created may be
 * given here (the caller knows: LocalStack.source.embedded); a customer's source is never written to.
 */

/**
 * Which of the 11 source tables exist, in `schema` or else in a schema of the search path. Reads
 * pg_class with the statement's own snapshot (to_regclass would read the relation cache, which
 * may not yet know of tables another session just committed).
 */
export async function existingSourceTables(client: pg.Client, schema?: string): Promise<SourceTableName[]> {
  const result = await client.query<{ name: SourceTableName }>(
    `SELECT DISTINCT c.relname AS name
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relname = ANY ($1::text[]) AND c.relkind IN ('r', 'p')
        AND CASE WHEN $2::text IS NULL THEN n.nspname = ANY (current_schemas(false)) ELSE n.nspname = $2::text END`,
    [SOURCE_TABLE_NAMES, schema ?? null],
  );
  const found = new Set(result.rows.map((r) => r.name));
  return SOURCE_TABLE_NAMES.filter((t) => found.has(t));
}

/**
 * Create the source tables (SOURCE_SCHEMA_SQL) when none exists; a no-op when all exist.
 * Returns true when it created them. A source holding only some of the tables is not one this
 * tool made, so it is left alone with an error naming the first missing table.
 */
export async function applySourceSchema(client: pg.Client): Promise<boolean> {
  const present = await existingSourceTables(client);
  if (present.length === SOURCE_TABLE_NAMES.length) return false;
  if (present.length > 0) {
    const missing = SOURCE_TABLE_NAMES.find((t) => !present.includes(t));
    throw new SourceSchemaError(
      missing ?? 'unknown',
      undefined,
      `The source database has some totesys tables but not ${missing}; it was not created by this tool, so it is left as it is.`,
    );
  }
  // One transaction: a failure half-way leaves no table behind. Two concurrent callers serialise
  // on the advisory lock, and the second finds the tables made and does nothing.
  return inTransaction(client, async () => {
    await client.query(`SELECT pg_advisory_xact_lock(hashtext('totes-source-schema'))`);
    if ((await existingSourceTables(client)).length > 0) return false;
    await client.query(SOURCE_SCHEMA_SQL);
    return true;
  });
}

/** applySourceSchema on the database at `url`, over a connection of its own. */
export async function applySourceSchemaAt(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await applySourceSchema(client);
  } finally {
    await client.end();
  }
}
