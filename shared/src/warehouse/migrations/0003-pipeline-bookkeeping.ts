import type { Migration } from './migration';

/**
 * The pipeline's own bookkeeping, in its own schema beside the ERD's tables:
 *  - loaded_file: every processed file the loader committed, written in the same transaction as
 *    the rows, so a redelivered load message finds its file here and does nothing;
 *  - dimension_version: per dimension row, the version stamp (greatest source last_updated) of the
 *    values it holds, so an older or duplicate delivery never overwrites newer values; `inferred`
 *    marks placeholder rows created for facts whose dimension row has not arrived yet.
 */
export const migration: Migration = {
  id: 3,
  name: 'pipeline-bookkeeping',
  sql: `
CREATE TABLE pipeline.loaded_file (
  file_id text PRIMARY KEY,
  batch_id text NOT NULL,
  source_table text NOT NULL,
  target_table text NOT NULL,
  rows_inserted int NOT NULL,
  rows_updated int NOT NULL,
  rows_skipped int NOT NULL,
  loaded_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX loaded_file_batch_idx ON pipeline.loaded_file (batch_id);
CREATE TABLE pipeline.dimension_version (
  dimension text NOT NULL,
  key text NOT NULL,
  version timestamp(6) NOT NULL,
  inferred boolean NOT NULL DEFAULT false,
  PRIMARY KEY (dimension, key)
);
`,
};
