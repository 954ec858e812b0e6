import { z } from 'zod';
import { SOURCE_TABLE_NAMES } from '@totes/shared/source/tables';
import { WAREHOUSE_TABLE_NAMES } from '@totes/shared/warehouse/tables';

export const sourceTableName = z.enum(SOURCE_TABLE_NAMES);
export const warehouseTableName = z.enum(WAREHOUSE_TABLE_NAMES);

/** An instant, ISO 8601 with an offset (the pipeline's own clocks). */
export const instant = z.iso.datetime({ offset: true });

/** A source `timestamp without time zone` as PostgreSQL's JSON renders it: microseconds kept. */
export const sourceTimestamp = z.string().regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?$/, 'YYYY-MM-DDTHH:MM:SS[.ffffff]');

/** Ids: lower-case letters, digits, dots, dashes and underscores; safe in an S3 key. */
export const batchId = z.string().regex(/^[a-z0-9][a-z0-9._-]{2,199}$/, 'a batch id: [a-z0-9._-], 3 to 200 characters');

export const s3Object = z.object({
  bucket: z.string().min(3),
  key: z.string().min(1),
  bytes: z.number().int().nonnegative(),
  rows: z.number().int().nonnegative(),
});
