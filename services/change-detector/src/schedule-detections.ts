import { serializeMessage } from '@totes/events';
import type { MessageSender } from '@totes/shared/aws/queues';
import { SOURCE_TABLE_NAMES, type SourceTableName } from '@totes/shared/source/tables';

/**
 * The scheduled fan-out: one detect-table message per source table (all 11) on the detect queue,
 * so each table is detected by its own invocation and a failing table fails (and retries) alone.
 */
export const DETECT_QUEUE = 'detect';

export async function scheduleDetections(sender: MessageSender, requestedAt: Date): Promise<readonly SourceTableName[]> {
  const bodies = SOURCE_TABLE_NAMES.map((table) =>
    serializeMessage('detect-table', { type: 'detect-table', version: 1, table, requestedAt: requestedAt.toISOString() }),
  );
  await sender.send(DETECT_QUEUE, bodies);
  return SOURCE_TABLE_NAMES;
}
