import type pg from 'pg';
import { SourceSchemaError } from '../errors';
import { quoteIdent, SOURCE_TABLES, type SourceColumnType, type SourceTableName } from './tables';

/**
 * Compares a source table in the live catalogue with the closed catalogue (tables.ts, SPEC §1)
 * before every detection: a missing table or column, or a column whose type changed, stops that
 * table's detection with a SourceSchemaError naming table and column (retrying cannot fix it; a
 * person must). Columns the catalogue does not know are allowed: they are carried as text.
 *
 * Types are compared by base type (format_type without the modifier), so varchar(3) is a varchar
 * and numeric(10,2) a numeric, as SPEC §1 leaves them open. last_updated and the primary key must
 * also stay NOT NULL: the detection's keyset cursor cannot see a row where either is NULL.
 */
export const CATALOGUE_TYPE_NAMES: Readonly<Record<SourceColumnType, string>> = {
  int: 'integer',
  varchar: 'character varying',
  numeric: 'numeric',
  timestamp: 'timestamp without time zone',
  boolean: 'boolean',
};

export interface LiveColumn {
  readonly name: string;
  readonly type: string;
  /** Absent means NOT NULL is not known (treated as nullable). */
  readonly notNull?: boolean;
}

export interface SourceTableShape {
  /** Columns in the source that the catalogue does not know, in table order. */
  readonly extraColumns: readonly LiveColumn[];
}

export async function readLiveColumns(client: pg.Client, table: SourceTableName): Promise<LiveColumn[] | undefined> {
  // to_regclass resolves the quoted name through search_path (the same resolution the reads use)
  // and yields NULL instead of an error when there is no such table.
  const found = await client.query<{ oid: string | null }>('SELECT to_regclass($1)::oid::text AS oid', [quoteIdent(table)]);
  const oid = found.rows[0]?.oid;
  if (!oid) return undefined;
  const columns = await client.query<LiveColumn>(
    `SELECT a.attname AS name, format_type(a.atttypid, NULL) AS type, a.attnotnull AS "notNull"
       FROM pg_catalog.pg_attribute a
      WHERE a.attrelid = $1::oid AND a.attnum > 0 AND NOT a.attisdropped
      ORDER BY a.attnum`,
    [oid],
  );
  return columns.rows;
}

/** Check `live` against the catalogue; throws the first problem found, in catalogue order. */
export function compareWithCatalogue(table: SourceTableName, live: readonly LiveColumn[] | undefined): SourceTableShape {
  if (!live) {
    throw new SourceSchemaError(table, undefined, `The source table ${table} does not exist; detection of ${table} is stopped until it is restored.`);
  }
  const byName = new Map(live.map((c) => [c.name, c]));
  for (const column of SOURCE_TABLES[table].columns) {
    const found = byName.get(column.name);
    const expected = CATALOGUE_TYPE_NAMES[column.type];
    if (!found) {
      throw new SourceSchemaError(
        table,
        column.name,
        `The source table ${table} has no column ${column.name} (${expected}); detection of ${table} is stopped until it is restored.`,
      );
    }
    if (found.type !== expected) {
      throw new SourceSchemaError(
        table,
        column.name,
        `The source column ${table}.${column.name} is ${found.type}, not ${expected} as the pipeline's contract says; detection of ${table} is stopped until it is changed back.`,
      );
    }
  }
  // The keyset cursor compares (last_updated, id): a row with either NULL would never be read.
  for (const name of ['last_updated', SOURCE_TABLES[table].primaryKey]) {
    if (byName.get(name)?.notNull !== true) {
      throw new SourceSchemaError(
        table,
        name,
        `The source column ${table}.${name} allows NULL; change detection needs it NOT NULL (a row with a NULL ${name} could never be detected), so detection of ${table} is stopped until it is.`,
      );
    }
  }
  const known = new Set<string>(SOURCE_TABLES[table].columns.map((c) => c.name));
  return { extraColumns: live.filter((c) => !known.has(c.name)) };
}

export async function checkSourceTable(client: pg.Client, table: SourceTableName): Promise<SourceTableShape> {
  return compareWithCatalogue(table, await readLiveColumns(client, table));
}
