import { randomUUID } from 'node:crypto';
import { DeleteMessageBatchCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import type { Context, SQSRecord } from 'aws-lambda';
import pg from 'pg';
import { parseMessage, type BatchExtractedV1, type LoadRequestedV1 } from '@totes/events';
import { S3ObjectStore } from '@totes/shared/aws/objects';
import { setLogSink } from '@totes/shared/logging';
import { SOURCE_SCHEMA_SQL } from '@totes/shared/source/schema';
import { SOURCE_TABLES, quoteIdent, type SourceTableName } from '@totes/shared/source/tables';
import { DynamoBatchStore } from '@totes/shared/state/batch-store';
import { createTransformHandler, createTransformerRuntime, type TransformHandler, type TransformerRuntime } from '../../../services/transformer/src/wiring';
import { createTestDatabase, createTestStage, type TestDatabase, type TestStage } from '../../helpers/stack';
import { readWithDuckDB, type DuckFile } from '../../unit/transformer/duckdb-reader';
import { batchMessage, gzipJsonLines, type Row } from '../../unit/transformer/fixtures';

/**
 * The transformer handler on the local stack: a private stage (fauxqs S3 and SQS, dynalite), a
 * private source database (embedded PostgreSQL with the SPEC §1 schema), the change-detector's
 * side played by `extracted` (raw object + `extracted` batch record), log lines captured.
 */
export class TransformerHarness {
  readonly logLines: Record<string, unknown>[] = [];
  readonly context = { functionName: 'transform', getRemainingTimeInMillis: () => 120_000 } as unknown as Context;
  readonly objects: S3ObjectStore;
  readonly batches: DynamoBatchStore;
  private batchCounter = 0;
  private readonly extraRuntimes: TransformerRuntime[] = [];

  private constructor(
    readonly stage: TestStage,
    readonly sourceDb: TestDatabase,
    readonly source: pg.Client,
    readonly runtime: TransformerRuntime,
    readonly handler: TransformHandler,
  ) {
    this.objects = new S3ObjectStore(stage.clients.s3);
    this.batches = new DynamoBatchStore(stage.clients.dynamo, stage.resources.stateTable);
  }

  static async create(purpose: string): Promise<TransformerHarness> {
    const stage = await createTestStage();
    const sourceDb = await createTestDatabase(purpose);
    const source = new pg.Client({ connectionString: sourceDb.url });
    await source.connect();
    await source.query(SOURCE_SCHEMA_SQL);
    const runtime = createTransformerRuntime({ ...stage.env, TOTES_SOURCE_URL: sourceDb.url, TOTES_SOURCE_SSL: 'disable' });
    const harness = new TransformerHarness(stage, sourceDb, source, runtime, createTransformHandler(runtime));
    setLogSink({ write: (line) => harness.logLines.push(JSON.parse(line) as Record<string, unknown>) });
    return harness;
  }

  /** Another transformer on the same stage and source (its own connection), as a second Lambda instance. */
  secondHandler(): TransformHandler {
    const runtime = createTransformerRuntime({ ...this.stage.env, TOTES_SOURCE_URL: this.sourceDb.url, TOTES_SOURCE_SSL: 'disable' });
    this.extraRuntimes.push(runtime);
    return createTransformHandler(runtime);
  }

  async close(): Promise<void> {
    setLogSink(undefined);
    for (const r of [this.runtime, ...this.extraRuntimes]) await r.close();
    await this.source.end();
    await this.sourceDb.drop();
  }

  async insertRows(table: SourceTableName, rows: readonly Row[]): Promise<void> {
    const columns = SOURCE_TABLES[table].columns.map((c) => c.name);
    for (const row of rows) {
      const params = columns.map((_, i) => `$${i + 1}`).join(', ');
      await this.source.query(`INSERT INTO ${quoteIdent(table)} (${columns.map(quoteIdent).join(', ')}) VALUES (${params})`, columns.map((c) => row[c]));
    }
  }

  /** The SQS record Lambda would deliver from the transform queue of `table`. */
  sqsRecord(message: BatchExtractedV1 | string, table: string = typeof message === 'string' ? 'design' : message.table): SQSRecord {
    return {
      messageId: randomUUID(),
      receiptHandle: 'r',
      body: typeof message === 'string' ? message : JSON.stringify(message),
      attributes: { ApproximateReceiveCount: '1', SentTimestamp: '0', SenderId: 'local', ApproximateFirstReceiveTimestamp: '0' },
      messageAttributes: {},
      md5OfBody: '',
      eventSource: 'aws:sqs',
      eventSourceARN: `arn:aws:sqs:eu-west-2:000000000000:${this.stage.resources.queuePrefix}-transform-${table}`,
      awsRegion: 'eu-west-2',
    };
  }

  /** What the change-detector does: a raw object in the ingestion bucket and an `extracted` batch record. */
  async extracted(table: SourceTableName, rows: readonly Row[], body = gzipJsonLines(rows)): Promise<BatchExtractedV1> {
    this.batchCounter += 1;
    const batchId = `${table}.20241115t1440${String(this.batchCounter).padStart(2, '0')}000000.p0001`;
    const message = batchMessage(table, rows, { batchId, bucket: this.stage.resources.ingestionBucket, bytes: body.byteLength });
    await this.objects.putImmutable(message.object.bucket, message.object.key, body);
    await this.batches.recordExtracted({
      batchId,
      table,
      rows: rows.length,
      bytes: body.byteLength,
      rawBucket: message.object.bucket,
      rawKey: message.object.key,
      range: message.range,
      lateRows: 0,
      extractedAt: message.extractedAt,
    });
    return message;
  }

  /** Receive and delete every message on the load queue. */
  async drainLoadQueue(): Promise<LoadRequestedV1[]> {
    const queue = this.stage.resources.queues.find((q) => q.logicalName === 'load')!;
    const out: LoadRequestedV1[] = [];
    for (;;) {
      const got = await this.stage.clients.sqs.send(new ReceiveMessageCommand({ QueueUrl: queue.url, MaxNumberOfMessages: 10, VisibilityTimeout: 30 }));
      const messages = got.Messages ?? [];
      if (messages.length === 0) return out;
      for (const m of messages) out.push(parseMessage('load-requested', m.Body));
      await this.stage.clients.sqs.send(new DeleteMessageBatchCommand({ QueueUrl: queue.url, Entries: messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! })) }));
    }
  }

  /** A processed file, as DuckDB reads it. */
  async readFile(message: LoadRequestedV1): Promise<DuckFile> {
    return readWithDuckDB(await this.objects.get(message.object.bucket, message.object.key));
  }
}
