import { GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { BatchGetCommand, paginateScan, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { DatabaseConfig } from '@totes/shared/config/index';
import { connect } from '@totes/shared/db/connect';
import { SOURCE_TABLE_NAMES, SOURCE_TABLES, quoteIdent } from '@totes/shared/source/tables';
import type { RowKeyRecord } from '@totes/shared/state/batch-store';
import { watermarkPk } from '@totes/shared/state/watermark-store';
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
  /**
   * The key (last_updated) of the newest row extracted, from the batch records: once an off-clock
   * row is extracted, its key for good (`9999-12-31T24:00:00` or a future time). Shown only;
   * behindSeconds is measured from the watermark.
   */
  readonly extractedUpTo: string | undefined;
  /** The detector's recorded problem with this table, if any. */
  readonly error: string | undefined;
  /**
   * How long the oldest change not yet extracted has been waiting, in seconds of the source's clock
   * (0 when caught up). Undefined when the source is not reachable. Measured from the detector's
   * watermark (extractedTo below), not from the batches: see sourceWaiting.
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
  const pages = paginateScan(
    { client: dynamo },
    {
      TableName: tableName,
      FilterExpression: 'begins_with(pk, :batch)',
      ExpressionAttributeValues: { ':batch': 'batch#' },
      ExpressionAttributeNames: { '#table': 'table', '#state': 'state', '#rows': 'rows', '#range': 'range' },
      ProjectionExpression: '#table, #state, #rows, quarantinedRows, lateRows, extractedAt, transformedAt, #range',
    },
  );
  for await (const page of pages) items.push(...((page.Items ?? []) as BatchItem[]));
  return items;
}

/** What `totes status` needs of a table's watermark item (shared/src/state/watermark-store.ts). */
export interface WatermarkProgress {
  /** The detector's recorded problem with this table, if any. */
  readonly error: string | undefined;
  /** The key up to which its changes are extracted (extractedTo); undefined when nothing is. */
  readonly extractedTo: RowKeyRecord | undefined;
}

interface WatermarkView {
  pk?: string;
  error?: { message?: string } | string;
  done?: { upper?: string };
  current?: { upper?: string; cursor?: RowKeyRecord | null };
}

/** The largest int4: (t, MAX_ID) as a keyset bound means "last_updated above t" (as the detector's batch ranges). */
const MAX_ID = 2_147_483_647;

/**
 * Up to which keyset key (last_updated, id) a table's changes are extracted, from its watermark:
 * - a completed pass extracted every row committed before its snapshot, and its upper bound `done.upper`
 *   is the source clock in that snapshot: rows stamped after it came later (late arrivals aside);
 * - a pass in progress has, in addition, extracted its rows up to its cursor, but never beyond its
 *   own upper bound: past it the cursor is in rows stamped in the future or off the clock
 *   (`9999-12-31T24:00:00`, change-reader.ts), which say nothing about the clock.
 * The batch ranges cannot say this: the newest key extracted is an off-clock row's for good once one
 * is extracted, and a table with nothing new keeps its old key (an idle pass writes nothing).
 * Keys compare as text: the detector writes them "YYYY-MM-DDTHH:MM:SS[.f]" (years 1 to 9999, fixed
 * width up to the fraction, whose digits compare left to right), and the off-range key sorts last.
 */
export function extractedTo(watermark: Pick<WatermarkView, 'done' | 'current'>): RowKeyRecord | undefined {
  const done = watermark.done?.upper;
  const current = watermark.current;
  const candidates: RowKeyRecord[] = [];
  if (done) candidates.push({ lastUpdated: done, id: MAX_ID });
  if (current?.upper && current.cursor) {
    candidates.push(current.cursor.lastUpdated < current.upper ? current.cursor : { lastUpdated: current.upper, id: MAX_ID });
  }
  const later = (a: RowKeyRecord, b: RowKeyRecord) => (a.lastUpdated !== b.lastUpdated ? (a.lastUpdated > b.lastUpdated ? a : b) : a.id >= b.id ? a : b);
  return candidates.reduce<RowKeyRecord | undefined>((max, k) => (max ? later(max, k) : k), undefined);
}

/**
 * Every table's error and extraction progress, in one BatchGet of the 11 watermark items, projected
 * to the few fields read (an item can carry up to 1,000 ambiguous members): cheap enough for
 * `totes up`'s 2-second refresh.
 */
export async function watermarkProgress(dynamo: DynamoDBDocumentClient, tableName: string): Promise<Map<string, WatermarkProgress>> {
  const progress = new Map<string, WatermarkProgress>();
  let keys: Array<Record<string, unknown>> = SOURCE_TABLE_NAMES.map((t) => ({ pk: watermarkPk(t) }));
  while (keys.length > 0) {
    const out = await dynamo.send(
      new BatchGetCommand({
        RequestItems: {
          [tableName]: {
            Keys: keys,
            ProjectionExpression: 'pk, #error, #done.#upper, #current.#upper, #current.#cursor',
            ExpressionAttributeNames: { '#error': 'error', '#done': 'done', '#current': 'current', '#upper': 'upper', '#cursor': 'cursor' },
          },
        },
      }),
    );
    for (const item of (out.Responses?.[tableName] ?? []) as WatermarkView[]) {
      const table = String(item.pk).slice(watermarkPk('').length);
      const message = typeof item.error === 'string' ? item.error : item.error?.message;
      progress.set(table, { error: message || undefined, extractedTo: extractedTo(item) });
    }
    // BatchGet may leave keys unprocessed (throttling); ask again for those only.
    keys = out.UnprocessedKeys?.[tableName]?.Keys ?? [];
  }
  return progress;
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
 * has been waiting: the rows stamped after the key its changes are extracted to (extractedTo; every
 * row when nothing is), the oldest of them counted from its last_updated. 0 when there is none: this
 * is the freshness SPEC §4 bounds, and a table that rarely changes is not "behind" merely because
 * its last pass that extracted something is old.
 *
 * Only rows on the clock count: last_updated from year 1 up to the source clock now. A row stamped
 * in the future, 'infinity', a year after 9999, BC or '-infinity' has no wait to measure (the
 * detector reports such rows as it extracts them: RowsOffClock), and must not hide the others.
 * Not counted either: a late arrival (stamped before the last pass's upper bound, committed after
 * it), until the next pass extracts it; it waits at most one detection interval more.
 *
 * Cost: one query, per table an index range scan on (last_updated, id) stopped at its first row.
 */
export async function sourceWaiting(source: DatabaseConfig, extracted: ReadonlyMap<string, RowKeyRecord | undefined>): Promise<Map<string, number>> {
  const client = await connect(source);
  try {
    // Table and column names come from the closed source catalogue; the bounds are bind parameters.
    const sql = SOURCE_TABLE_NAMES.map((t, i) => {
      const [after, afterId] = [`$${2 * i + 1}::timestamp`, `$${2 * i + 2}::int`];
      return (
        `SELECT '${t}' AS t, extract(epoch FROM localtimestamp - min(last_updated))::float8 AS waiting FROM ${quoteIdent(t)} ` +
        `WHERE (last_updated, ${quoteIdent(SOURCE_TABLES[t].primaryKey)}) > (${after}, ${afterId}) ` +
        `AND last_updated >= '0001-01-01 00:00:00'::timestamp AND last_updated <= localtimestamp`
      );
    }).join(' UNION ALL ');
    const { rows } = await client.query<{ t: string; waiting: number | null }>(
      sql,
      SOURCE_TABLE_NAMES.flatMap((t) => {
        const key = extracted.get(t);
        // Nothing extracted yet: every row is waiting.
        return key ? [key.lastUpdated, key.id] : ['-infinity', 0];
      }),
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
  const [items, watermarks, queues, warehouse] = await Promise.all([
    (deps.readBatches ?? batchItems)(deps.dynamo, deps.stateTable),
    watermarkProgress(deps.dynamo, deps.stateTable),
    queueDepths(deps.sqs, deps.queues),
    deps.warehouse ? warehouseCounts(deps.warehouse) : Promise.resolve([]),
  ]);
  const errors = new Map([...watermarks].flatMap(([table, w]) => (w.error ? [[table, w.error] as const] : [])));
  const summary = summariseBatches(items, errors);
  const waiting = deps.source
    ? await sourceWaiting(deps.source, new Map([...watermarks].map(([table, w]) => [table, w.extractedTo]))).catch(() => undefined)
    : undefined;
  const tables = summary.map((t) => (waiting ? { ...t, behindSeconds: waiting.get(t.table) ?? 0 } : t));
  return { at: new Date(), tables, queues, warehouse };
}
