import { createHash } from 'node:crypto';
import type pg from 'pg';
import { inTransaction } from '../db/transaction';
import { TotesError } from '../errors';
import { MIGRATIONS, type Migration } from './migrations';

/**
 * Brings a warehouse database up to the latest schema: applies every migration not yet recorded in
 * pipeline.schema_migration, each in its own transaction, in id order. Idempotent and safe to run
 * from several processes at once (a session advisory lock serialises them; the loader runs it on
 * cold start, the CLI before a pass). A recorded migration whose text changed is an error: a
 * published migration is never edited, a new one is added.
 */
const MIGRATION_LOCK = 0x746f746573; // "totes"

export interface MigrationResult {
  readonly applied: readonly string[];
  readonly current: number;
}

const checksum = (m: Migration) => createHash('sha256').update(m.sql).digest('hex');

export async function migrateWarehouse(client: pg.Client, migrations: readonly Migration[] = MIGRATIONS): Promise<MigrationResult> {
  await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
  try {
    await client.query('CREATE SCHEMA IF NOT EXISTS pipeline');
    await client.query(`CREATE TABLE IF NOT EXISTS pipeline.schema_migration (
      id int PRIMARY KEY, name text NOT NULL, checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
    const { rows } = await client.query<{ id: number; name: string; checksum: string }>('SELECT id, name, checksum FROM pipeline.schema_migration');
    const recorded = new Map(rows.map((r) => [r.id, r]));
    const applied: string[] = [];
    for (const m of [...migrations].sort((a, b) => a.id - b.id)) {
      const label = `${String(m.id).padStart(4, '0')}-${m.name}`;
      const done = recorded.get(m.id);
      if (done) {
        if (done.checksum !== checksum(m)) {
          throw new TotesError(`Warehouse migration ${label} was changed after it was applied; add a new migration instead of editing it.`);
        }
        continue;
      }
      try {
        await inTransaction(client, async () => {
          await client.query(m.sql);
          await client.query('INSERT INTO pipeline.schema_migration (id, name, checksum) VALUES ($1, $2, $3)', [m.id, m.name, checksum(m)]);
        });
      } catch (err) {
        throw new TotesError(`Warehouse migration ${label} failed`, { cause: err });
      }
      applied.push(label);
    }
    return { applied, current: Math.max(0, ...migrations.map((m) => m.id)) };
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]);
  }
}
