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
import { FIRST_VERSION_RANGE_TABLE, currentVersionTable } from '@totes/shared/warehouse/migrations/0005-current-fact-by-observation';
import { sqlType, stagingColumns } from './staging-columns';

/**
 * The loader's SQL, generated from the closed warehouse catalogue (every identifier comes from
 * shared/src/warehouse/tables.ts and is quoted). Every statement is set-based: one statement per
 * step and target table, whatever the number of rows (ARCHITECTURE decision 5).
 */
const q = quoteIdent;

/** Session-local staging table of one target table (one per connection, emptied at each commit). */
export function stagingTable(table: WarehouseTableName): string {
  return `pg_temp.${q(`stage_${table}`)}`;
}

/**
 * ON COMMIT DELETE ROWS: the load's COPY runs inside the merge transaction, and the commit empties
 * the table by truncating its file, cheaper than a TRUNCATE or DELETE per load.
 */
export function createStagingTableSql(table: WarehouseTable): string {
  const columns = stagingColumns(table).map((c) => `${q(c.name)} ${sqlType(c.type)}`);
  return `CREATE TEMP TABLE IF NOT EXISTS ${q(`stage_${table.name}`)} (${columns.join(', ')}) ON COMMIT DELETE ROWS`;
}

export function copyIntoStagingSql(table: WarehouseTable): string {
  return `COPY ${stagingTable(table.name)} (${stagingColumns(table)
    .map((c) => q(c.name))
    .join(', ')}) FROM STDIN WITH (FORMAT binary)`;
}

// ---------- Locks ----------

/**
 * Advisory lock keys: (namespace, position of the table in the catalogue). Every load takes its
 * locks in ascending position (dimensions first, then facts), so two loads never wait on each
 * other in a cycle. The two-int key space of pg_advisory_xact_lock does not overlap the
 * single-bigint one that migrateWarehouse uses.
 *
 * Modes: a load holds exclusively every table it writes: its target table, and for a fact file
 * the dimensions it must add dates or inferred members to. A dimension a fact file only references
 * is held shared, so facts of different tables whose dimension rows are all there load side by
 * side, while a write to a dimension has it to itself. Appends to one fact table take turns: side
 * by side they would only contend for the same index pages.
 */
export const LOCK_NAMESPACE = 0x746f7465; // "tote"

export function tableLockKey(table: WarehouseTableName): number {
  return WAREHOUSE_TABLE_NAMES.indexOf(table);
}

/** Every table a load of `table` touches: the table itself and, for a fact, each dimension it references. */
export function tablesTouched(table: WarehouseTable): WarehouseTableName[] {
  const touched = new Set<WarehouseTableName>([table.name]);
  if (table.kind === 'fact') for (const c of table.columns) if (c.references) touched.add(c.references);
  return [...touched].sort((a, b) => tableLockKey(a) - tableLockKey(b));
}

export type LockMode = 'exclusive' | 'shared';

/** The advisory locks of a load, in lock order; `writes` = the dimensions a fact load writes. */
export function loadLocks(table: WarehouseTable, writes: ReadonlySet<WarehouseTableName> = new Set()): Array<{ table: WarehouseTableName; mode: LockMode }> {
  return tablesTouched(table).map((t) => ({ table: t, mode: t === table.name || writes.has(t) ? 'exclusive' : 'shared' }));
}

/**
 * The statements that open a load's critical section, in one round trip (simple query protocol;
 * every value is an integer or identifier from the catalogue): the advisory locks in lock order;
 * for a fact load checking foreign keys set-based, then a SHARE lock on each referenced dimension
 * (readers and other loads referencing it go on; any other writer waits for the commit, so no
 * referenced row can be deleted or re-keyed meanwhile; a dimension this load writes is its own,
 * the advisory lock keeps other loads out) and session_replication_role = replica for this
 * transaction only, which skips the per-row foreign-key triggers the set-based check replaces.
 */
export function openCriticalSectionSql(table: WarehouseTable, setBasedForeignKeys: boolean, writes: ReadonlySet<WarehouseTableName> = new Set()): string {
  const statements = loadLocks(table, writes).map(
    (l) => `SELECT ${l.mode === 'exclusive' ? 'pg_advisory_xact_lock' : 'pg_advisory_xact_lock_shared'}(${LOCK_NAMESPACE}, ${tableLockKey(l.table)})`,
  );
  if (table.kind === 'fact' && setBasedForeignKeys) {
    statements.push(`LOCK TABLE ${referencedDimensions(table).map(q).join(', ')} IN SHARE MODE`);
    statements.push('SET LOCAL session_replication_role = replica');
  }
  return statements.join(';\n');
}

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

/** The fact columns referencing `dimension`. */
export function referencingColumns(table: FactTable, dimension: DimensionTableName): WarehouseColumn[] {
  return table.columns.filter((c) => c.references === dimension);
}

/** The dimensions a fact references, in lock order. */
export function referencedDimensions(table: FactTable): DimensionTableName[] {
  return tablesTouched(table).filter((t): t is DimensionTableName => t !== table.name);
}

/** `$n` as an array of the dimension's key type (the keys travel as text arrays). */
function keysParameter(dimension: DimensionTableName, n: number): string {
  const dim = WAREHOUSE_TABLES[dimension];
  const key = dim.columns.find((c) => c.name === dim.key);
  if (!key) throw new Error(`${dimension} has no key column ${dim.key}`);
  return `$${n}::${sqlType(key.type)}[]`;
}

/**
 * dim_date holds every date a fact references (SPEC §3). It is a calendar of whole years: for each
 * date a fact file (or a dim_date file) brings, the loader adds every missing day of that date's
 * year, each row computed from the date itself: ISO day of week (1 = Monday), English day and
 * month names ('FM' drops to_char's padding; without 'TM' the names are English whatever the
 * server's locale), quarter 1-4. A year at a time, loads add days about once a year instead of
 * with every batch, so they rarely need dim_date to themselves; and the calendar is the same
 * whatever order the files arrive in. $1 = the dates. Row count = days added.
 */
export const EXTEND_DIM_DATE_SQL = `
INSERT INTO dim_date (date_id, year, month, day, day_of_week, day_name, month_name, quarter)
SELECT d, extract(year FROM d)::int, extract(month FROM d)::int, extract(day FROM d)::int,
  extract(isodow FROM d)::int, to_char(d, 'FMDay'), to_char(d, 'FMMonth'), extract(quarter FROM d)::int
FROM (
  SELECT generate_series(y, y + interval '1 year' - interval '1 day', interval '1 day')::date AS d
  FROM (SELECT DISTINCT date_trunc('year', r::timestamp) AS y FROM unnest($1::date[]) AS r) AS years
) AS days
WHERE NOT EXISTS (SELECT 1 FROM dim_date x WHERE x.date_id = days.d)
ORDER BY d
ON CONFLICT (date_id) DO NOTHING`;

/** The marker placed in the NOT NULL text columns of an inferred member. */
export const INFERRED_MARKER = 'Unknown';

/** The value an inferred member holds in a non-key column. */
export function placeholderValue(column: WarehouseColumn): string {
  if (column.nullable) return 'NULL';
  if (column.type === 'varchar') return `'${INFERRED_MARKER}'`;
  throw new Error(`No placeholder for the NOT NULL ${column.type} column ${column.name}; extend placeholderValue.`);
}

/**
 * Inferred members (ARCHITECTURE decision 4): each referenced key the dimension does not hold yet
 * gets a placeholder row, recorded as inferred with the lowest possible version, so the real row
 * replaces it whenever it arrives (a version recorded for a key whose row is gone, deleted outside
 * the pipeline, no longer describes anything). $1 = dimension name, $2 = the referenced keys.
 * Row count = members created.
 */
export function inferMembersSql(dimension: Exclude<DimensionTableName, 'dim_date'>): string {
  const dim = WAREHOUSE_TABLES[dimension];
  const key = q(dim.key);
  const values = dim.columns.map((c) => (c.name === dim.key ? 'key' : placeholderValue(c)));
  return `
WITH created AS (
  INSERT INTO ${q(dimension)} (${dim.columns.map((c) => q(c.name)).join(', ')})
  SELECT ${values.join(', ')} FROM unnest(${keysParameter(dimension, 2)}) AS r(key)
  WHERE NOT EXISTS (SELECT 1 FROM ${q(dimension)} x WHERE x.${key} = r.key)
  ORDER BY key
  ON CONFLICT (${key}) DO NOTHING
  RETURNING ${key} AS key
)
INSERT INTO pipeline.dimension_version (dimension, key, version, inferred)
SELECT $1::text, key::text, '-infinity'::timestamp, true FROM created
ON CONFLICT (dimension, key) DO UPDATE SET version = EXCLUDED.version, inferred = true`;
}

/**
 * For each dimension, how many of the referenced keys ($1, $2, ... in `dimensions` order) it
 * holds. Result columns: `<dimension>` = rows found. With `idsOf`, also `overlaps`: does that fact
 * table hold a row whose source id lies within the file's ids ($n = least, $n+1 = greatest, after
 * the dimensions' keys), or does an earlier first-version range (migration 0005) meet them? When
 * neither, every version in the file is the first of its order or payment.
 */
export function checkReferencesSql(dimensions: readonly DimensionTableName[], idsOf?: FactTable): string {
  const outputs = dimensions.map((dimension, i) => {
    const key = q(WAREHOUSE_TABLES[dimension].key);
    return `(SELECT count(*) FROM ${q(dimension)} x WHERE x.${key} = ANY(${keysParameter(dimension, i + 1)}))::int AS ${q(dimension)}`;
  });
  if (idsOf) {
    const id = q(idsOf.naturalKey);
    const [lo, hi] = [`$${dimensions.length + 1}::int`, `$${dimensions.length + 2}::int`];
    outputs.push(
      `(EXISTS (SELECT 1 FROM ${q(idsOf.name)} f WHERE f.${id} BETWEEN ${lo} AND ${hi})
    OR EXISTS (SELECT 1 FROM ${FIRST_VERSION_RANGE_TABLE} r WHERE r.fact = '${idsOf.name}' AND r.id_min <= ${hi} AND r.id_max >= ${lo})) AS overlaps`,
    );
  }
  return `SELECT ${outputs.join(',\n  ')}`;
}

/**
 * Append every fact version not already present (the version unique index of migration 0002), in
 * the file's order: appends to one fact table take turns (the locks above), so no ordering is
 * needed against a concurrent append, and sorting cost about a tenth of the insert.
 */
export function appendFactsSql(table: FactTable): string {
  const versionKey = [table.naturalKey, 'last_updated_date', 'last_updated_time'].map(q).join(', ');
  return `${insertFactsSql(table)}\nON CONFLICT (${versionKey}) DO NOTHING`;
}

/** The append without ON CONFLICT (appendFirstVersionsSql). */
export function insertFactsSql(table: FactTable): string {
  // The catalogue's columns only: the staged stamp goes to the current-version pointer.
  const columns = table.columns.map((c) => q(c.name)).join(', ');
  return `INSERT INTO ${q(table.name)} (${columns})\nSELECT ${columns} FROM ${stagingTable(table.name)}`;
}

/**
 * A file of first versions (no id of it in the table or an earlier first-version range, one version
 * per id, one observation stamp), in one statement: the plain append (no ON CONFLICT, so no
 * speculative insertion per row), one first-version range row holding the file's ids and stamp
 * instead of a pointer per row (migration 0005), and the file's pipeline.loaded_file row. Fewer
 * round trips inside the critical section, where appends to one table take turns, is what the
 * other loads wait for. $1-$7 as RECORD_LOADED_FILE_SQL, $8 = least id, $9 = greatest id.
 * Row count = 1, or 0 when a concurrent delivery of the file committed first (roll back).
 */
export function appendFirstVersionsSql(table: FactTable): string {
  return `WITH appended AS (
${insertFactsSql(table)}
), first_range AS (
  INSERT INTO ${FIRST_VERSION_RANGE_TABLE} (fact, id_min, id_max, observed, file_id)
  SELECT '${table.name}', $8::int, $9::int, s.${q(VERSION_COLUMN)}, $1::text FROM ${stagingTable(table.name)} s LIMIT 1
)${RECORD_LOADED_FILE_SQL}`;
}

/**
 * Point each staged order's or payment's current version (migration 0005) at the version observed
 * last, of those staged and the ones it had: its pointer's, or, for an id that has none, its
 * versions in the table (normally one, loaded as a first version: stamped with its first-version
 * range's stamp; versions loaded before migration 0005, or during the upgrade by a loader of the
 * previous release, lie in no range: stamped with their last_updated, as they were ordered then).
 * A staged version is stamped with `_version` (a file written before facts carried one: its
 * last_updated). A last_updated used as a stamp is capped at now, so a future value cannot outrank
 * every observation to come. Ties, only possible between versions stamped by last_updated, break
 * on last_updated. Applied where the id has no pointer yet or its pointer's stamp is older, so a
 * late or replayed file moves nothing. Row count = pointers set or moved.
 */
export function advanceCurrentVersionSql(table: FactTable): string {
  const id = q(table.naturalKey);
  const stage = stagingTable(table.name);
  const pointer = currentVersionTable(table.name);
  const fact = q(table.name);
  const lastUpdatedStamp = (alias: string) => `least(${alias}.last_updated_date + ${alias}.last_updated_time, localtimestamp)`;
  return `INSERT INTO ${pointer} AS c (${id}, last_updated_date, last_updated_time, observed)
SELECT DISTINCT ON (v.${id}) v.${id}, v.last_updated_date, v.last_updated_time, v.observed
FROM (
  SELECT s.${id}, s.last_updated_date, s.last_updated_time, coalesce(s.${q(VERSION_COLUMN)}, ${lastUpdatedStamp('s')}) AS observed
  FROM ${stage} s
  UNION ALL
  SELECT f.${id}, f.last_updated_date, f.last_updated_time, CASE WHEN r.id_max >= f.${id} THEN r.observed ELSE ${lastUpdatedStamp('f')} END
  FROM (SELECT DISTINCT ${id} FROM ${stage}) AS s
  JOIN ${fact} f ON f.${id} = s.${id}
  -- The range that may hold the id: the one starting at or before it (ranges never overlap).
  LEFT JOIN LATERAL (
    SELECT r.observed, r.id_max FROM ${FIRST_VERSION_RANGE_TABLE} r
    WHERE r.fact = '${table.name}' AND r.id_min <= f.${id} ORDER BY r.id_min DESC LIMIT 1
  ) AS r ON true
  WHERE NOT EXISTS (SELECT 1 FROM ${pointer} p WHERE p.${id} = f.${id})
    AND NOT EXISTS (SELECT 1 FROM ${stage} x WHERE x.${id} = f.${id} AND x.last_updated_date = f.last_updated_date AND x.last_updated_time = f.last_updated_time)
) AS v
ORDER BY v.${id}, v.observed DESC, v.last_updated_date DESC, v.last_updated_time DESC
ON CONFLICT (${id}) DO UPDATE SET last_updated_date = EXCLUDED.last_updated_date, last_updated_time = EXCLUDED.last_updated_time, observed = EXCLUDED.observed
WHERE (c.observed, c.last_updated_date, c.last_updated_time) < (EXCLUDED.observed, EXCLUDED.last_updated_date, EXCLUDED.last_updated_time)`;
}

// ---------- Bookkeeping ----------

export const FIND_LOADED_FILE_SQL =
  'SELECT rows_inserted AS inserted, rows_updated AS updated, rows_skipped AS skipped FROM pipeline.loaded_file WHERE file_id = $1';

/** Row count 0: a concurrent delivery of the same file committed first. */
export const RECORD_LOADED_FILE_SQL = `
INSERT INTO pipeline.loaded_file (file_id, batch_id, source_table, target_table, rows_inserted, rows_updated, rows_skipped)
VALUES ($1, $2, $3, $4, $5, $6, $7)
ON CONFLICT (file_id) DO NOTHING`;
