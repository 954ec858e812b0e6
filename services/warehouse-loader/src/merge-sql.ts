import { quoteIdent } from '@totes/shared/source/tables';
import {
  VERSION_COLUMN,
  WAREHOUSE_TABLES,
  WAREHOUSE_TABLE_NAMES,
  type DimensionTable,
  type DimensionTableName,
  type FactTable,
  type WarehouseColumn,
  type WarehouseTable,
  type WarehouseTableName,
} from '@totes/shared/warehouse/tables';
import { sqlType, stagingColumns } from './staging-columns';

/**
 * The loader's SQL, generated from the closed warehouse catalogue (every identifier comes from
 * shared/src/warehouse/tables.ts and is quoted). Every statement is set-based: one statement per
 * step and target table, whatever the number of rows (ARCHITECTURE decision 5).
 */
const q = quoteIdent;

/** Session-local staging table of one target table (one per connection, emptied per load). */
export function stagingTable(table: WarehouseTableName): string {
  return `pg_temp.${q(`stage_${table}`)}`;
}

export function createStagingTableSql(table: WarehouseTable): string {
  const columns = stagingColumns(table).map((c) => `${q(c.name)} ${sqlType(c.type)}`);
  return `CREATE TEMP TABLE IF NOT EXISTS ${q(`stage_${table.name}`)} (${columns.join(', ')})`;
}

export function copyIntoStagingSql(table: WarehouseTable): string {
  return `COPY ${stagingTable(table.name)} (${stagingColumns(table)
    .map((c) => q(c.name))
    .join(', ')}) FROM STDIN`;
}

// ---------- Locks ----------

/**
 * Advisory lock keys: (namespace, position of the table in the catalogue). Locks are always taken
 * in ascending position (dimensions first, then facts), so two loads can never wait on each other
 * in a cycle. The two-int key space of pg_advisory_xact_lock does not overlap the single-bigint one
 * that migrateWarehouse uses.
 */
export const LOCK_NAMESPACE = 0x746f7465; // "tote"

export function tableLockKey(table: WarehouseTableName): number {
  return WAREHOUSE_TABLE_NAMES.indexOf(table);
}

/** Every table a load of `table` writes: the table itself and, for a fact, each dimension it references. */
export function tablesTouched(table: WarehouseTable): WarehouseTableName[] {
  const touched = new Set<WarehouseTableName>([table.name]);
  if (table.kind === 'fact') for (const c of table.columns) if (c.references) touched.add(c.references);
  return [...touched].sort((a, b) => tableLockKey(a) - tableLockKey(b));
}

/** Takes the locks in array order, in one round trip: unnest yields the elements in order. */
export const LOCK_TABLES_SQL = 'SELECT count(pg_advisory_xact_lock($1::int, k)) FROM unnest($2::int[]) AS k';

// ---------- Dimensions ----------

/**
 * Upsert a dimension file: per key, the newest version in the file; applied only where the key is
 * new, holds an inferred placeholder, or holds an older version than the file's (a late or
 * duplicate delivery changes nothing). A row whose values did not change is not rewritten, but its
 * version moves forward. $1 = dimension name.
 * Returns one row: inserted, updated (rows whose values changed).
 */
export function mergeDimensionSql(table: DimensionTable): string {
  const stage = stagingTable(table.name);
  const key = q(table.key);
  const columns = table.columns.map((c) => q(c.name));
  const nonKey = table.columns.filter((c) => c.name !== table.key).map((c) => q(c.name));
  const version = q(VERSION_COLUMN);
  // Ties on the version (never expected: one version is one source state) break on the values, so
  // the pick does not depend on the order of rows in the file.
  const tieBreak = nonKey.map((c) => `s.${c}`).join(', ');
  return `
WITH incoming AS (
  SELECT DISTINCT ON (s.${key}) s.*
  FROM ${stage} s
  ORDER BY s.${key}, s.${version} DESC${tieBreak ? `, ${tieBreak}` : ''}
), applicable AS (
  SELECT i.* FROM incoming i
  LEFT JOIN pipeline.dimension_version v ON v.dimension = $1::text AND v.key = i.${key}::text
  WHERE v.key IS NULL OR v.inferred OR i.${version} > v.version
), written AS (
  INSERT INTO ${q(table.name)} AS d (${columns.join(', ')})
  SELECT ${columns.join(', ')} FROM applicable ORDER BY ${key}
  ON CONFLICT (${key}) DO UPDATE SET ${nonKey.map((c) => `${c} = EXCLUDED.${c}`).join(', ')}
  WHERE (${nonKey.map((c) => `d.${c}`).join(', ')}) IS DISTINCT FROM (${nonKey.map((c) => `EXCLUDED.${c}`).join(', ')})
  RETURNING (xmax = 0) AS inserted
), versions AS (
  INSERT INTO pipeline.dimension_version AS v (dimension, key, version, inferred)
  SELECT $1::text, ${key}::text, ${version}, false FROM applicable
  ON CONFLICT (dimension, key) DO UPDATE SET version = EXCLUDED.version, inferred = false
)
SELECT count(*) FILTER (WHERE inserted)::int AS inserted, count(*) FILTER (WHERE NOT inserted)::int AS updated FROM written`;
}

// ---------- Facts ----------

/** The staged fact columns referencing `dimension`. */
function referencing(table: FactTable, dimension: DimensionTableName): WarehouseColumn[] {
  return table.columns.filter((c) => c.references === dimension);
}

/** The distinct non-NULL values of the columns referencing `dimension` in the staged file. */
function referencedKeys(table: FactTable, dimension: DimensionTableName): string {
  const stage = stagingTable(table.name);
  const each = referencing(table, dimension).map((c) => `SELECT ${q(c.name)} FROM ${stage} WHERE ${q(c.name)} IS NOT NULL`);
  return `SELECT DISTINCT k FROM (${each.join(' UNION ALL ')}) AS referenced(k)`;
}

/** The dimensions a fact references, in lock order. */
export function referencedDimensions(table: FactTable): DimensionTableName[] {
  return tablesTouched(table).filter((t): t is DimensionTableName => t !== table.name);
}

/**
 * dim_date holds every date a fact references (SPEC §3): each missing date's row computed from the
 * date itself: ISO day of week (1 = Monday), English day and month names ('FM' drops to_char's
 * padding; without 'TM' the names are English whatever the server's locale), quarter 1-4.
 */
export function extendDimDateSql(table: FactTable): string {
  return `
INSERT INTO dim_date (date_id, year, month, day, day_of_week, day_name, month_name, quarter)
SELECT d, extract(year FROM d)::int, extract(month FROM d)::int, extract(day FROM d)::int,
  extract(isodow FROM d)::int, to_char(d, 'FMDay'), to_char(d, 'FMMonth'), extract(quarter FROM d)::int
FROM (${referencedKeys(table, 'dim_date')}) AS dates(d)
WHERE NOT EXISTS (SELECT 1 FROM dim_date x WHERE x.date_id = dates.d)
ORDER BY d
ON CONFLICT (date_id) DO NOTHING`;
}

/** The marker placed in the NOT NULL text columns of an inferred member. */
export const INFERRED_MARKER = 'Unknown';

/** The value an inferred member holds in a non-key column. */
export function placeholderValue(column: WarehouseColumn): string {
  if (column.nullable) return 'NULL';
  if (column.type === 'varchar') return `'${INFERRED_MARKER}'`;
  throw new Error(`No placeholder for the NOT NULL ${column.type} column ${column.name}; extend placeholderValue.`);
}

/**
 * Inferred members (ARCHITECTURE decision 4): each key the facts reference that the dimension does
 * not hold yet gets a placeholder row, recorded as inferred with the lowest possible version, so
 * the real row replaces it whenever it arrives. $1 = dimension name. Row count = members created.
 */
export function inferMembersSql(table: FactTable, dimension: Exclude<DimensionTableName, 'dim_date'>): string {
  const dim = WAREHOUSE_TABLES[dimension];
  const key = q(dim.key);
  const values = dim.columns.map((c) => (c.name === dim.key ? 'key' : placeholderValue(c)));
  return `
WITH missing AS (
  SELECT r.key FROM (${referencedKeys(table, dimension)}) AS r(key)
  WHERE NOT EXISTS (SELECT 1 FROM ${q(dimension)} x WHERE x.${key} = r.key)
), created AS (
  INSERT INTO ${q(dimension)} (${dim.columns.map((c) => q(c.name)).join(', ')})
  SELECT ${values.join(', ')} FROM missing ORDER BY key
  ON CONFLICT (${key}) DO NOTHING
  RETURNING ${key} AS key
)
INSERT INTO pipeline.dimension_version (dimension, key, version, inferred)
SELECT $1::text, key::text, '-infinity'::timestamp, true FROM created
ON CONFLICT (dimension, key) DO NOTHING`;
}

/**
 * Locks every dimension row the staged facts reference FOR KEY SHARE (what PostgreSQL's own
 * foreign-key trigger takes per row, so nobody can delete or re-key them before we commit) and
 * counts both the distinct references and the rows found. Used when the loader checks foreign keys
 * set-based instead of row by row; a difference is a missing dimension row.
 */
export function lockReferencedSql(table: FactTable, dimension: DimensionTableName): string {
  const dim = WAREHOUSE_TABLES[dimension];
  const key = q(dim.key);
  return `
WITH refs AS (${referencedKeys(table, dimension)}),
locked AS (SELECT x.${key} FROM ${q(dimension)} x WHERE x.${key} IN (SELECT * FROM refs) FOR KEY SHARE OF x)
SELECT (SELECT count(*) FROM refs)::int AS referenced, (SELECT count(*) FROM locked)::int AS found`;
}

/** Append every fact version not already present (the version unique index of migration 0002). */
export function appendFactsSql(table: FactTable): string {
  const columns = table.columns.map((c) => q(c.name));
  const versionKey = [table.naturalKey, 'last_updated_date', 'last_updated_time'].map(q).join(', ');
  return `
INSERT INTO ${q(table.name)} (${columns.join(', ')})
SELECT ${columns.join(', ')} FROM ${stagingTable(table.name)}
ORDER BY ${versionKey}
ON CONFLICT (${versionKey}) DO NOTHING`;
}

// ---------- Bookkeeping ----------

export const FIND_LOADED_FILE_SQL =
  'SELECT rows_inserted AS inserted, rows_updated AS updated, rows_skipped AS skipped FROM pipeline.loaded_file WHERE file_id = $1';

export const RECORD_LOADED_FILE_SQL = `
INSERT INTO pipeline.loaded_file (file_id, batch_id, source_table, target_table, rows_inserted, rows_updated, rows_skipped)
VALUES ($1, $2, $3, $4, $5, $6, $7)`;
