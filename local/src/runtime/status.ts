import { GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { BatchGetCommand, ScanCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { DatabaseConfig } from '@totes/shared/config/index';
import { connect } from '@totes/shared/db/connect';
import { SOURCE_TABLE_NAMES, quoteIdent } from '@totes/shared/source/tables';
import { WAREHOUSE_TABLE_NAMES } from '@totes/shared/warehouse/tables';

/**
 * What an operator wants to see at a glance: per source table, how far extraction has got and
 * what is stuck; per queue, depth and DLQ depth; per warehouse table, rows. Works on the local
 * stack and on a deployed stage alike (it only reads SQS, DynamoDB and the warehouse).
 */
export interface QueueStatus {
  readonly logicalName: string;
  readonly url: string;
  readonly dlqUrl: string;
}

export interface TableProgress {
  readonly table: string;
  readonly batches: number;
  readonly rowsExtracted: number;
  readonly loaded: number;
  readonly pending: number;
  readonly quarantined: number;
  readonly lateRows: number;
  /** When the newest batch of this table was extracted. */
  readonly lastExtractedAt: string | undefined;
  /** The last_updated of the newest row extracted. */
  readonly extractedUpTo: string | undefined;
  /** The detector's recorded problem with this table, if any. */
  readonly error: string | undefined;
  /**
   * How long the oldest change not yet extracted has been waiting, in seconds of the source's clock
   * (0 when caught up). Undefined when the source is not reachable.
   */
  readonly behindSeconds?: number;
}

export interface QueueDepthStatus {
  readonly logicalName: string;
  readonly waiting: number;
  readonly inFlight: number;
  readonly dlq: number;
}

export interface StatusSnapshot {
  readonly at: Date;
  readonly tables: TableProgress[];
  readonly queues: QueueDepthStatus[];
  readonly warehouse: Array<{ table: string; rows: number }>;
}

interface BatchItem {
  table?: string;
  state?: string;
  rows?: number;
  quarantinedRows?: number;
  lateRows?: number;
  extractedAt?: string;
  transformedAt?: string;
  range?: { to?: { lastUpdated?: string } };
}

export async function batchItems(dynamo: DynamoDBDocumentClient, tableName: string): Promise<BatchItem[]> {
  const items: BatchItem[] = [];
  let ExclusiveStartKey: Record<string, unknown> | undefined;
  do {
    const out = await dynamo.send(
      new ScanCommand({
        TableName: tableName,
        FilterExpression: 'begins_with(pk, :batch)',
        ExpressionAttributeValues: { ':batch': 'batch#' },
        ExpressionAttributeNames: { '#table': 'table', '#state': 'state', '#rows': 'rows', '#range': 'range' },
        ProjectionExpression: '#table, #state, #rows, quarantinedRows, lateRows, extractedAt, transformedAt, #range',
        ...(ExclusiveStartKey ? { ExclusiveStartKey } : {}),
      }),
    );
    items.push(...((out.Items ?? []) as BatchItem[]));
    ExclusiveStartKey = out.LastEvaluatedKey;
  } while (ExclusiveStartKey);
  return items;
}

async function watermarkErrors(dynamo: DynamoDBDocumentClient, tableName: string): Promise<Map<string, string>> {
  const out = await dynamo.send(
    new BatchGetCommand({ RequestItems: { [tableName]: { Keys: SOURCE_TABLE_NAMES.map((t) => ({ pk: `watermark#${t}` })) } } }),
  );
  const errors = new Map<string, string>();
  for (const item of out.Responses?.[tableName] ?? []) {
    const table = String(item.pk).slice('watermark#'.length);
    const error = item.error as { message?: string } | string | undefined;
    const message = typeof error === 'string' ? error : error?.message;
    if (message) errors.set(table, message);
  }
  return errors;
}

export function summariseBatches(items: readonly BatchItem[], errors: ReadonlyMap<string, string> = new Map()): TableProgress[] {
  return SOURCE_TABLE_NAMES.map((table) => {
    const mine = items.filter((i) => i.table === table);
    const max = (values: Array<string | undefined>) => values.filter((v): v is string => !!v).sort().at(-1);
    return {
      table,
      batches: mine.length,
      rowsExtracted: mine.reduce((n, i) => n + (i.rows ?? 0), 0),
      loaded: mine.filter((i) => i.state === 'loaded').length,
      pending: mine.filter((i) => i.state !== 'loaded').length,
      quarantined: mine.reduce((n, i) => n + (i.quarantinedRows ?? 0), 0),
      lateRows: mine.reduce((n, i) => n + (i.lateRows ?? 0), 0),
      lastExtractedAt: max(mine.map((i) => i.extractedAt)),
      extractedUpTo: max(mine.map((i) => i.range?.to?.lastUpdated)),
      error: errors.get(table),
    };
  });
}

export async function queueDepths(sqs: SQSClient, queues: readonly QueueStatus[]): Promise<QueueDepthStatus[]> {
  const attrs = async (url: string) =>
    (
      await sqs.send(
        new GetQueueAttributesCommand({
          QueueUrl: url,
          AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible', 'ApproximateNumberOfMessagesDelayed'],
        }),
      )
    ).Attributes ?? {};
  return Promise.all(
    queues.map(async (q) => {
      const [main, dlq] = await Promise.all([attrs(q.url), attrs(q.dlqUrl)]);
      return {
        logicalName: q.logicalName,
        waiting: Number(main.ApproximateNumberOfMessages ?? 0) + Number(main.ApproximateNumberOfMessagesDelayed ?? 0),
        inFlight: Number(main.ApproximateNumberOfMessagesNotVisible ?? 0),
        dlq: Number(dlq.ApproximateNumberOfMessages ?? 0) + Number(dlq.ApproximateNumberOfMessagesNotVisible ?? 0),
      };
    }),
  );
}

/** Row counts of the warehouse tables (0 for a table that does not exist yet). */
export async function warehouseCounts(warehouse: DatabaseConfig): Promise<Array<{ table: string; rows: number }>> {
  const client = await connect(warehouse);
  try {
    const { rows: present } = await client.query<{ table_name: string }>(
      `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_name = ANY($1)`,
      [[...WAREHOUSE_TABLE_NAMES]],
    );
    const exists = new Set(present.map((r) => r.table_name));
    const counted = WAREHOUSE_TABLE_NAMES.filter((t) => exists.has(t));
    const counts = new Map<string, number>();
    if (counted.length > 0) {
      // Table names come from the closed warehouse catalogue.
      const sql = counted.map((t) => `SELECT '${t}' AS t, count(*)::bigint AS n FROM ${quoteIdent(t)}`).join(' UNION ALL ');
      const { rows } = await client.query<{ t: string; n: string }>(sql);
      for (const r of rows) counts.set(r.t, Number(r.n));
    }
    return WAREHOUSE_TABLE_NAMES.map((table) => ({ table, rows: counts.get(table) ?? 0 }));
  } finally {
    await client.end();
  }
}

/**
 * Per source table, how long (seconds, on the source's clock) its oldest change not yet extracted
 * has been waiting: rows with last_updated after the newest one extracted. 0 when there is none.
 * This is the freshness SPEC §4 bounds; a table that rarely changes is not "behind" merely because
 * its last extraction is old.
 */
export async function sourceWaiting(source: DatabaseConfig, extractedUpTo: ReadonlyMap<string, string | undefined>): Promise<Map<string, number>> {
  const client = await connect(source);
  try {
    // Table names come from the closed source catalogue; the bounds are bind parameters.
    const sql = SOURCE_TABLE_NAMES.map(
      (t, i) =>
        `SELECT '${t}' AS t, extract(epoch FROM localtimestamp - min(last_updated))::float8 AS waiting FROM ${quoteIdent(t)} WHERE $${i + 1}::timestamp IS NULL OR last_updated > $${i + 1}::timestamp`,
    ).join(' UNION ALL ');
    const { rows } = await client.query<{ t: string; waiting: number | null }>(
      sql,
      SOURCE_TABLE_NAMES.map((t) => extractedUpTo.get(t) ?? null),
    );
    return new Map(rows.map((r) => [r.t, r.waiting === null ? 0 : Math.max(0, r.waiting)]));
  } finally {
    await client.end();
  }
}

/**
 * A batch scan reused for `maxAgeMs`: the batch records grow with history (one per page), while
 * queue depths, counts and lag are cheap. `totes up` refreshes those every couple of seconds and the
 * batch summary less often.
 */
export function cachedBatchItems(maxAgeMs: number): (dynamo: DynamoDBDocumentClient, stateTable: string) => Promise<BatchItem[]> {
  let cached: { at: number; items: Promise<BatchItem[]> } | undefined;
  return (dynamo, stateTable) => {
    if (!cached || Date.now() - cached.at > maxAgeMs) {
      const items = batchItems(dynamo, stateTable);
      cached = { at: Date.now(), items };
      items.catch(() => (cached = undefined));
    }
    return cached.items;
  };
}

export async function gatherStatus(deps: {
  sqs: SQSClient;
  dynamo: DynamoDBDocumentClient;
  stateTable: string;
  queues: readonly QueueStatus[];
  warehouse: DatabaseConfig | undefined;
  source?: DatabaseConfig | undefined;
  /** How to read the batch records; by default a fresh scan. */
  readBatches?: (dynamo: DynamoDBDocumentClient, stateTable: string) => Promise<BatchItem[]>;
}): Promise<StatusSnapshot> {
  const [items, errors, queues, warehouse] = await Promise.all([
    (deps.readBatches ?? batchItems)(deps.dynamo, deps.stateTable),
    watermarkErrors(deps.dynamo, deps.stateTable),
    queueDepths(deps.sqs, deps.queues),
    deps.warehouse ? warehouseCounts(deps.warehouse) : Promise.resolve([]),
  ]);
  const summary = summariseBatches(items, errors);
  const waiting = deps.source
    ? await sourceWaiting(deps.source, new Map(summary.map((t) => [t.table, t.extractedUpTo]))).catch(() => undefined)
    : undefined;
  const tables = summary.map((t) => (waiting ? { ...t, behindSeconds: waiting.get(t.table) ?? 0 } : t));
  return { at: new Date(), tables, queues, warehouse };
}
