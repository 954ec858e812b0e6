import { z } from 'zod';
import { batchId, instant, s3Object, sourceTableName, sourceTimestamp } from './common';

/**
 * change-detector → transformer: one page of changed source rows is in the raw zone.
 *
 * The object is gzipped JSON Lines, one source row version per line, keyed by column name, with
 * every type exact: int as a JSON number, numeric as a decimal string ("3.94"), timestamp as
 * PostgreSQL's JSON renders it ("YYYY-MM-DDTHH:MM:SS" with 0 to 6 fractional digits, trailing zeros
 * dropped), varchar as a string, boolean as true/false, NULL as null. Columns
 * the contract does not know (added in the source) are carried as text and listed in `extraColumns`.
 */
export const rowKey = z.object({ lastUpdated: sourceTimestamp, id: z.number().int() });

export const batchExtractedV1 = z.object({
  type: z.literal('batch-extracted'),
  version: z.literal(1),
  batchId,
  table: sourceTableName,
  object: s3Object.extend({ format: z.literal('jsonl.gz') }),
  /** The keyset range of the page: (from, to] in (last_updated, id) order; from is null at the start of a table. */
  range: z.object({ from: rowKey.nullable(), to: rowKey }),
  extraColumns: z.array(z.string()).default([]),
  /** Rows in this batch that committed after an earlier detection had passed their last_updated. */
  lateRows: z.number().int().nonnegative(),
  extractedAt: instant,
});
export type BatchExtractedV1 = z.infer<typeof batchExtractedV1>;
