import { parquetMetadata } from 'hyparquet';
import { observedAtOf, rawLayoutOf, serializeMessage, type AnyBatchExtracted, type LoadRequestedV1 } from '@totes/events';
import type { ObjectStore } from '@totes/shared/aws/objects';
import type { MessageSender } from '@totes/shared/aws/queues';
import { TotesError, UnreadableBatchError, describeError } from '@totes/shared/errors';
import type { BatchStore } from '@totes/shared/state/batch-store';
import type { SourceTableName } from '@totes/shared/source/tables';
import type { WarehouseTableName } from '@totes/shared/warehouse/tables';
import { deriveBatch, type QuarantinedRow } from './derive-batch';
import { encodeParquet } from './parquet-file';
import type { SourceImages } from './source-images';

/**
 * One batch-extracted message, end to end: read the raw batch, derive its warehouse rows, write one
 * Parquet file per target table (and the rows left out under quarantine/), record the batch as
 * transformed, and ask the loader to load each file.
 *
 * Exactly-once effect over at-least-once delivery (ARCHITECTURE decision 1). Every step can be
 * repeated, and a redelivery repeats all of them:
 * 1. files: keys derive from the batch id, bytes from the input; `putImmutable` never overwrites,
 *    so a second attempt finds its file there. If the stored bytes differ (a joined dimension's
 *    source changed between attempts) the stored file stands and the messages describe IT.
 * 2. recordTransformed BEFORE sending: the record is a conditional first-write-wins update, and the
 *    loader may mark a batch `loaded` as soon as it has loaded every file; were the messages sent
 *    first, a fast loader could move the batch past `extracted` and the transformer's counts
 *    (files, quarantined rows) would never be recorded. A crash after recording and before sending
 *    loses nothing: the message is redelivered, recording is a no-op, and the sends happen.
 * 3. send: one load-requested message per file, the same fileId every time; the loader records
 *    fileIds in the warehouse transaction, so a re-sent message is a no-op there.
 */
export interface TransformLogger {
  info(message: string, attributes: Record<string, unknown>): void;
  warn(message: string, attributes: Record<string, unknown>): void;
}

export interface TransformCounts {
  /** Source rows of the batch transformed (read minus quarantined). */
  readonly rowsTransformed: number;
  readonly quarantinedRows: number;
  /** Files newly written by this attempt (a redelivery finds them there: 0). */
  readonly filesWritten: number;
}

export interface TransformMetrics {
  /** Called once per batch, after its messages are sent; not again for a redelivery of it. */
  batchTransformed(table: SourceTableName, counts: TransformCounts): void;
}

export interface TransformDependencies {
  readonly objects: ObjectStore;
  readonly batches: Pick<BatchStore, 'recordTransformed'>;
  readonly sender: MessageSender;
  readonly images: SourceImages;
  readonly processedBucket: string;
  readonly logger: TransformLogger;
  readonly metrics: TransformMetrics;
  readonly now: () => Date;
}

export interface WrittenFile {
  readonly target: WarehouseTableName;
  readonly key: string;
  readonly rows: number;
  readonly bytes: number;
  /** False when an earlier attempt had stored the key already. */
  readonly written: boolean;
}

export interface TransformResult extends TransformCounts {
  readonly batchId: string;
  readonly table: SourceTableName;
  readonly rows: number;
  readonly files: readonly WrittenFile[];
  readonly quarantineKey?: string;
  readonly messages: readonly LoadRequestedV1[];
}

/** The partition of everything a batch writes: the day of the last row version it holds. */
export function batchDate(message: AnyBatchExtracted): string {
  return message.range.to.lastUpdated.slice(0, 10);
}

export function processedKey(target: WarehouseTableName, message: AnyBatchExtracted): string {
  return `processed/${target}/date=${batchDate(message)}/${message.batchId}.parquet`;
}

export function quarantineKey(message: AnyBatchExtracted): string {
  return `quarantine/${message.table}/date=${batchDate(message)}/${message.batchId}.jsonl`;
}

/** The quarantine file: one JSON object per row left out, keys in a fixed order. */
export function encodeQuarantine(rows: readonly QuarantinedRow[]): Uint8Array {
  const text = rows
    .map((q) => JSON.stringify({ table: q.table, id: q.id, column: q.column, reason: q.reason, problems: q.problems, line: q.line, row: q.row }))
    .join('\n');
  return new TextEncoder().encode(`${text}\n`);
}

const LOGGED_QUARANTINE_ROWS = 50;

async function readRaw(message: AnyBatchExtracted, objects: ObjectStore): Promise<Uint8Array> {
  const { bucket, key } = message.object;
  try {
    return await objects.get(bucket, key);
  } catch (err) {
    if (err instanceof Error && (err.name === 'NoSuchKey' || err.name === 'NotFound')) {
      throw new UnreadableBatchError(`The raw batch s3://${bucket}/${key} does not exist.`, { cause: err });
    }
    throw err;
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

/** Write a target file once; on a redelivery describe the file that is there. */
async function writeFile(deps: TransformDependencies, message: AnyBatchExtracted, target: WarehouseTableName, body: Uint8Array, rows: number): Promise<WrittenFile> {
  const key = processedKey(target, message);
  const written = await deps.objects.putImmutable(deps.processedBucket, key, body, {
    contentType: 'application/vnd.apache.parquet',
    metadata: { 'batch-id': message.batchId, 'source-table': message.table, 'target-table': target },
  });
  if (written) return { target, key, rows, bytes: body.byteLength, written };
  const stored = await deps.objects.get(deps.processedBucket, key);
  if (sameBytes(stored, body)) return { target, key, rows, bytes: body.byteLength, written };
  const storedRows = Number(parquetMetadata(stored.buffer.slice(stored.byteOffset, stored.byteOffset + stored.byteLength) as ArrayBuffer).num_rows);
  deps.logger.info('An earlier attempt stored this file with other content (the source changed in between); the stored file stands.', {
    table: message.table,
    batchId: message.batchId,
    target,
    key,
    storedRows,
    computedRows: rows,
  });
  return { target, key, rows: storedRows, bytes: stored.byteLength, written };
}

export async function transformBatch(message: AnyBatchExtracted, deps: TransformDependencies): Promise<TransformResult> {
  const { batchId, table } = message;
  const log = { table, batchId };
  const compressed = await readRaw(message, deps.objects);

  let derived;
  try {
    derived = await deriveBatch(table, compressed, deps.images, { layout: rawLayoutOf(message), observedAt: observedAtOf(message) });
  } catch (err) {
    if (err instanceof UnreadableBatchError) {
      throw new UnreadableBatchError(`The raw batch s3://${message.object.bucket}/${message.object.key} cannot be read: ${err.message}.`, { cause: err });
    }
    throw err;
  }
  if (derived.rows !== message.object.rows) {
    throw new UnreadableBatchError(
      `The raw batch s3://${message.object.bucket}/${message.object.key} holds ${derived.rows} rows where its message says ${message.object.rows}: it is incomplete or not the object the message describes.`,
    );
  }
  for (const note of derived.notes) deps.logger.warn(note.message, { ...log, ...note.attributes });

  // Rows left out: written to the lake with their reasons, and each one logged (up to a limit).
  let quarantineKeyWritten: string | undefined;
  if (derived.quarantined.length > 0) {
    quarantineKeyWritten = quarantineKey(message);
    await deps.objects.putImmutable(deps.processedBucket, quarantineKeyWritten, encodeQuarantine(derived.quarantined), { contentType: 'application/x-ndjson' });
    for (const q of derived.quarantined.slice(0, LOGGED_QUARANTINE_ROWS)) {
      deps.logger.warn('Row quarantined', { ...log, id: q.id, column: q.column, reason: q.reason, problems: q.problems.length });
    }
    deps.logger.warn(`${derived.quarantined.length} row(s) of the batch quarantined`, {
      ...log,
      quarantinedRows: derived.quarantined.length,
      key: quarantineKeyWritten,
    });
  }

  const files: WrittenFile[] = [];
  for (const { target, rows } of derived.targets) {
    files.push(await writeFile(deps, message, target, encodeParquet(target, rows), rows.length));
  }

  const firstRecorded = await deps.batches.recordTransformed(batchId, {
    files: files.length,
    quarantinedRows: derived.quarantined.length,
    outputs: Object.fromEntries(files.map((f) => [f.target, f.rows])),
  });

  const createdAt = deps.now().toISOString();
  const messages: LoadRequestedV1[] = files.map((f) => ({
    type: 'load-requested',
    version: 1,
    fileId: `${batchId}/${f.target}`,
    batchId,
    sourceTable: table,
    targetTable: f.target,
    object: { bucket: deps.processedBucket, key: f.key, format: 'parquet', bytes: f.bytes, rows: f.rows },
    filesInBatch: files.length,
    createdAt,
  }));
  try {
    await deps.sender.send(
      'load',
      messages.map((m) => serializeMessage('load-requested', m)),
    );
  } catch (err) {
    throw new TotesError(`Could not ask the loader to load batch ${batchId}: ${describeError(err)}`, { cause: err });
  }

  const counts: TransformCounts = {
    rowsTransformed: derived.rows - derived.quarantined.length,
    quarantinedRows: derived.quarantined.length,
    filesWritten: files.filter((f) => f.written).length,
  };
  // Counted once per batch: a redelivery (the batch was recorded as transformed already) repeats
  // the work harmlessly but must not add its rows to the metrics again.
  if (firstRecorded) deps.metrics.batchTransformed(table, counts);
  deps.logger.info('Batch transformed', { ...log, rows: derived.rows, ...counts, outputs: Object.fromEntries(files.map((f) => [f.target, f.rows])) });
  return { batchId, table, rows: derived.rows, files, messages, ...counts, ...(quarantineKeyWritten ? { quarantineKey: quarantineKeyWritten } : {}) };
}
