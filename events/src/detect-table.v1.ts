import { z } from 'zod';
import { instant, sourceTableName } from './common';

/** Scheduler → change-detector: detect the changes of one source table. */
export const detectTableV1 = z.object({
  type: z.literal('detect-table'),
  version: z.literal(1),
  table: sourceTableName,
  requestedAt: instant,
});
export type DetectTableV1 = z.infer<typeof detectTableV1>;
