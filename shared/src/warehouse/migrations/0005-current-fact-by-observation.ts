import { FACT_TABLE_NAMES, WAREHOUSE_TABLES, type FactTableName } from '../tables';
import type { Migration } from './migration';

/**
 * Which version of an order or payment is current is decided by when the pipeline observed it,
 * not by its last_updated (migration 0004 took the greatest last_updated). A writer that stamps
 * last_updated when its transaction starts and commits late writes an older stamp over a newer
 * version: by last_updated, the version it replaced would stay current for good. Every fact file
 * now carries each version's observation stamp (`_version`: the detection pass that read it, on
 * the source clock, strictly increasing from pass to pass); per fact table, the pipeline schema
 * keeps one row per order or payment pointing at the version observed last, which the loader
 * moves forward in the same transaction as it appends, and the `_current` views join it.
 *
 * Existing facts: each order's or payment's current version is the one 0004 showed (greatest
 * last_updated), with its last_updated as its observation stamp; every later detection pass
 * observes after it, so what the pipeline loads from now on supersedes it.
 */
export function currentVersionTable(fact: FactTableName): string {
  return `pipeline.${fact}_current_version`;
}

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
  SELECT DISTINCT ON (${id}) ${id}, last_updated_date, last_updated_time, last_updated_date + last_updated_time
  FROM ${fact}
  ORDER BY ${id}, last_updated_date DESC, last_updated_time DESC;
CREATE OR REPLACE VIEW ${fact}_current AS
  SELECT f.*
  FROM ${fact} f
  JOIN ${pointer} c ON c.${id} = f.${id} AND c.last_updated_date = f.last_updated_date AND c.last_updated_time = f.last_updated_time;
COMMENT ON VIEW ${fact}_current IS 'The latest version of each ${id.replace(/_id$/, '').replace(/_/g, ' ')} (one row per ${id}): the version observed last.';`;
}

export const migration: Migration = {
  id: 5,
  name: 'current-fact-by-observation',
  sql: FACT_TABLE_NAMES.map(factSql).join('\n'),
};
