import { z } from 'zod';
import { batchId, instant, s3Object, sourceTableName, warehouseTableName } from './common';

/**
 * transformer → warehouse-loader: one Parquet file for one warehouse table is in the processed zone.
 *
 * The file holds exactly the target table's columns (shared/src/warehouse/tables.ts), money as
 * DECIMAL, dates as DATE, times as TIME (microseconds, exact), and for dimensions a `_version` TIMESTAMP (microseconds).
 * `fileId` is unique per file and is what the loader records to make a redelivery a no-op.
 */
export const loadRequestedV1 = z.object({
  type: z.literal('load-requested'),
  version: z.literal(1),
  fileId: z.string().regex(/^[a-z0-9][a-z0-9._/-]{2,250}$/, 'a file id: [a-z0-9._/-]'),
  batchId,
  sourceTable: sourceTableName,
  targetTable: warehouseTableName,
  object: s3Object.extend({ format: z.literal('parquet') }),
  /** How many files this source batch produced in all, so the batch record can say when all are loaded. */
  filesInBatch: z.number().int().positive(),
  createdAt: instant,
});
export type LoadRequestedV1 = z.infer<typeof loadRequestedV1>;
