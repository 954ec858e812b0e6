import { z } from 'zod';
import { batchExtractedV1, type BatchExtractedV1 } from './batch-extracted.v1';
import { ContractError } from '@totes/shared/errors';
import { s3Object, sourceTableName, sourceTimestamp } from './common';

/**
 * change-detector → transformer, version 2: as version 1, plus `object.layout`, which says how the
 * raw object's rows are written. Both layouts are gzipped JSON Lines with exactly version 1's value
 * encodings (int as a JSON number, numeric as a decimal string, timestamp as
 * "YYYY-MM-DDTHH:MM:SS[.ffffff]" with trailing zeros dropped, varchar as a string, boolean as
 * true/false, NULL as null, extra columns as text):
 *
 * - `arrays` (what the detector writes from version 2 on): the first line is a header object,
 *   `{"format":"totes-raw-v2","table":"<table>","columns":["<name>",…]}`, naming every column of the
 *   rows (the catalogue's columns in catalogue order, then any extra source columns); every other
 *   line is one source row version as a JSON array of its values in the header's column order,
 *   e.g. `[1,"2022-11-03T14:21:09.077","2022-11-03T14:21:09.077",2,11,2,23312,"2.96",1,"2022-11-07","2022-11-06",1]`.
 *   Why: version 1 repeats every column name on every row (314 bytes a sales_order row against 113
 *   here); converting and compressing those bytes cost a full extraction about 0.4 CPU-seconds.
 * - `objects`: version 1's layout, one JSON object per line keyed by column name. A version 1
 *   message is read as version 2 with this layout (`upgradeBatchExtractedV1`).
 *
 * Reading the arrays layout elsewhere (the header line is the one line that is an object):
 * DuckDB `SELECT j->>0 AS sales_order_id, … FROM read_json(<objects>, format = 'newline_delimited',
 * records = false, columns = {j: 'JSON'}) WHERE json_type(j) = 'ARRAY'` (docs/change-detection.md);
 * Athena: a one-string-column table over the prefix and a view of `json_extract_scalar(line, '$[0]')`, ….
 */
export const RAW_FORMAT_V2 = 'totes-raw-v2';

export const rawLayout = z.enum(['objects', 'arrays']);
export type RawLayout = z.infer<typeof rawLayout>;

/** The first line of an `arrays` object. */
export const rawHeaderV2 = z.object({
  format: z.literal(RAW_FORMAT_V2),
  table: sourceTableName,
  columns: z.array(z.string().min(1)).min(1),
});
export type RawHeaderV2 = z.infer<typeof rawHeaderV2>;

/** The header line of an `arrays` object, its LF included. */
export function rawHeaderLine(header: RawHeaderV2): string {
  return `${JSON.stringify(rawHeaderV2.parse(header))}\n`;
}

export const batchExtractedV2 = batchExtractedV1.extend({
  version: z.literal(2),
  object: s3Object.extend({ format: z.literal('jsonl.gz'), layout: rawLayout }),
  /**
   * When the rows were observed: the upper bound of the detection pass that read them, a reading
   * of the source's clock taken in the pass's snapshot. Every row of the batch is the row as it
   * stood in that snapshot, and passes of a table run one at a time with strictly increasing upper
   * bounds, so of two versions of one row the one observed later is the newer, whatever their
   * last_updated say (a writer that stamps last_updated when its transaction starts and commits
   * late writes an older stamp over a newer one). Optional because detectors before it did not
   * send it: `observedAtOf` then reads it from the batch id, which is named after the pass.
   */
  observedAt: sourceTimestamp.optional(),
});
export type BatchExtractedV2 = z.infer<typeof batchExtractedV2>;

/** A version 1 message in version 2's shape: its object is in the `objects` layout. */
export function upgradeBatchExtractedV1(message: BatchExtractedV1): BatchExtractedV2 {
  return { ...message, version: 2, object: { ...message.object, layout: 'objects' } };
}

/** Either version, as a consumer that is handed messages directly (not through parseMessage) may see them. */
export type AnyBatchExtracted = BatchExtractedV1 | BatchExtractedV2;

/** The layout of a message's raw object: version 1 objects are always `objects`. */
export function rawLayoutOf(message: AnyBatchExtracted): RawLayout {
  return message.version === 2 ? message.object.layout : 'objects';
}

/** "sales_order.20241115t144000123456.p0001": the pass id is the pass's upper bound, compacted. */
const BATCH_ID_PASS = /^[a-z_]+\.(\d{4})(\d{2})(\d{2})t(\d{2})(\d{2})(\d{2})(\d{6})\.p\d{4,}$/;

/** When a batch's rows were observed (see `observedAt`): the message's field, or its batch id's pass. */
export function observedAtOf(message: { readonly batchId: string; readonly observedAt?: string | undefined }): string {
  if (message.observedAt !== undefined) return message.observedAt;
  const m = BATCH_ID_PASS.exec(message.batchId);
  if (!m) throw new ContractError(`The batch-extracted message for ${message.batchId} has no observedAt, and its batch id does not name a detection pass.`);
  return `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}.${m[7]}`;
}
