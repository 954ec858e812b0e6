import { FACT_TABLE_NAMES, WAREHOUSE_TABLES, type FactTableName } from '../tables';
import type { Migration } from './migration';

/**
 * Which version of an order or payment is current is decided by when the pipeline observed it,
 * not by its last_updated (migration 0004 took the greatest last_updated). A writer that stamps
 * last_updated when its transaction starts and commits late writes an older stamp over a newer
 * version: by last_updated, the version it replaced would stay current for good. Every fact file
 * now carries each version's observation stamp (`_version`: the detection pass that read it, on
 * the source clock, strictly increasing from pass to pass), and the loader keeps, in the same
 * transaction as it appends:
 *  - pipeline.<fact>_current_version: for each order or payment with more than one version (or
 *    loaded the slow way), the version observed last;
 *  - pipeline.fact_first_version_range: for each file whose orders or payments were all new (the
 *    bulk of every load), one row: its range of ids and when its rows were observed. Such a file's
 *    ids get no pointer (a pointer per row cost a quarter of the load); while an id has no pointer
 *    it has exactly one version, which is current, and its stamp is its range's. Ranges never
 *    overlap: a file whose id range meets an earlier range takes the pointer path.
 * The `_current` views: the pointed version of each id that has a pointer, and, of an id that has
 * none, its version with the greatest last_updated (its only version, unless it was loaded before
 * this migration or by a loader of the previous release finishing during the upgrade: those are
 * ordered as 0004 ordered them, until the pipeline loads a newer version of the id).
 *
 * Existing facts: each order's or payment's current version stays the one 0004 showed (greatest
 * last_updated); ids with more than one version get a pointer to it, stamped with its last_updated
 * (never later than now: a future last_updated must not outrank every observation to come), so what
 * the pipeline observes from now on supersedes it. Existing dimension versions are capped at now
 * for the same reason. The fact tables are locked (SHARE) first, so a loader of the previous release
 * still running cannot append while the bookkeeping is built.
 */
export function currentVersionTable(fact: FactTableName): string {
  return `pipeline.${fact}_current_version`;
}

export const FIRST_VERSION_RANGE_TABLE = 'pipeline.fact_first_version_range';

function factSql(fact: FactTableName): string {
  const id = WAREHOUSE_TABLES[fact].naturalKey;
  const pointer = currentVersionTable(fact);
  return `
CREATE TABLE ${pointer} (
  ${id} int PRIMARY KEY,
  last_updated_date date NOT NULL,
  last_updated_time time NOT NULL,
  observed timestamp(6) NOT NULL
);
COMMENT ON TABLE ${pointer} IS 'Per ${id}: the version of ${fact} the pipeline observed last (loader bookkeeping behind ${fact}_current).';
INSERT INTO ${pointer} (${id}, last_updated_date, last_updated_time, observed)
  SELECT DISTINCT ON (${id}) ${id}, last_updated_date, last_updated_time, least(last_updated_date + last_updated_time, localtimestamp)
  FROM ${fact}
  WHERE ${id} IN (SELECT ${id} FROM ${fact} GROUP BY ${id} HAVING count(*) > 1)
  ORDER BY ${id}, last_updated_date DESC, last_updated_time DESC;
CREATE OR REPLACE VIEW ${fact}_current AS
  SELECT f.*
  FROM ${fact} f
  JOIN ${pointer} c ON c.${id} = f.${id} AND c.last_updated_date = f.last_updated_date AND c.last_updated_time = f.last_updated_time
  UNION ALL
  (SELECT DISTINCT ON (f.${id}) f.*
   FROM ${fact} f
   WHERE NOT EXISTS (SELECT 1 FROM ${pointer} c WHERE c.${id} = f.${id})
   ORDER BY f.${id}, f.last_updated_date DESC, f.last_updated_time DESC);
COMMENT ON VIEW ${fact}_current IS 'The latest version of each ${id.replace(/_id$/, '').replace(/_/g, ' ')} (one row per ${id}): the version observed last.';`;
}

export const migration: Migration = {
  id: 5,
  name: 'current-fact-by-observation',
  sql: `
LOCK TABLE ${FACT_TABLE_NAMES.join(', ')} IN SHARE MODE;
UPDATE pipeline.dimension_version SET version = localtimestamp WHERE version > localtimestamp AND NOT inferred;
CREATE TABLE ${FIRST_VERSION_RANGE_TABLE} (
  fact text NOT NULL,
  id_min int NOT NULL,
  id_max int NOT NULL,
  observed timestamp(6) NOT NULL,
  file_id text NOT NULL,
  PRIMARY KEY (fact, id_min)
);
COMMENT ON TABLE ${FIRST_VERSION_RANGE_TABLE} IS 'Per fact file whose ids were all new: its id range and when its rows were observed (loader bookkeeping behind the _current views).';
${FACT_TABLE_NAMES.map(factSql).join('\n')}`,
};
