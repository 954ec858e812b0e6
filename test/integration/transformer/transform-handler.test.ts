import { randomUUID } from 'node:crypto';
import { DeleteMessageBatchCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import pg from 'pg';
import { parseMessage, type BatchExtractedV1, type LoadRequestedV1 } from '@totes/events';
import { S3ObjectStore } from '@totes/shared/aws/objects';
import { setLogSink } from '@totes/shared/logging';
import { SOURCE_SCHEMA_SQL } from '@totes/shared/source/schema';
import { SOURCE_TABLES, quoteIdent, type SourceTableName } from '@totes/shared/source/tables';
import { DynamoBatchStore } from '@totes/shared/state/batch-store';
import { createTransformHandler, createTransformerRuntime, type TransformHandler, type TransformerRuntime } from '../../../services/transformer/src/wiring';
import { createTestDatabase, createTestStage, type TestDatabase, type TestStage } from '../../helpers/stack';
import { readWithDuckDB } from '../../unit/transformer/duckdb-reader';
import { batchMessage, gen, gzipJsonLines, type Row } from '../../unit/transformer/fixtures';

/**
 * The transformer handler against the real local services: raw batches in the stage's ingestion
 * bucket (fauxqs S3), batch records in its state table (dynalite), the joined dimensions read from
 * a real embedded PostgreSQL source, Parquet in the processed bucket read back by DuckDB, load
 * messages on the stage's load queue.
 */
let stage: TestStage;
let sourceDb: TestDatabase;
let source: pg.Client;
let runtime: TransformerRuntime;
let handler: TransformHandler;
let objects: S3ObjectStore;
let batches: DynamoBatchStore;
const logLines: Record<string, unknown>[] = [];

async function insertRows(table: SourceTableName, rows: readonly Row[]): Promise<void> {
  const columns = SOURCE_TABLES[table].columns.map((c) => c.name);
  for (const row of rows) {
    const params = columns.map((_, i) => `$${i + 1}`).join(', ');
    await source.query(`INSERT INTO ${quoteIdent(table)} (${columns.map(quoteIdent).join(', ')}) VALUES (${params})`, columns.map((c) => row[c]));
  }
}

const context = { functionName: 'transform', getRemainingTimeInMillis: () => 120_000 } as unknown as Context;

function sqsRecord(message: BatchExtractedV1 | string, table: string = typeof message === 'string' ? 'design' : message.table): SQSRecord {
  return {
    messageId: randomUUID(),
    receiptHandle: 'r',
    body: typeof message === 'string' ? message : JSON.stringify(message),
    attributes: { ApproximateReceiveCount: '1', SentTimestamp: '0', SenderId: 'local', ApproximateFirstReceiveTimestamp: '0' },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: `arn:aws:sqs:eu-west-2:000000000000:${stage.resources.queuePrefix}-transform-${table}`,
    awsRegion: 'eu-west-2',
  };
}

let batchCounter = 0;
/** What the change-detector does: a raw object in the ingestion bucket and an `extracted` batch record. */
async function extracted(table: SourceTableName, rows: readonly Row[], body = gzipJsonLines(rows)): Promise<BatchExtractedV1> {
  batchCounter += 1;
  const batchId = `${table}.20241115t1440${String(batchCounter).padStart(2, '0')}000000-${rows.length}.p0001`;
  const message = batchMessage(table, rows, { batchId, bucket: stage.resources.ingestionBucket, bytes: body.byteLength });
  await objects.putImmutable(message.object.bucket, message.object.key, body);
  await batches.recordExtracted({
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

async function drainLoadQueue(): Promise<LoadRequestedV1[]> {
  const queue = stage.resources.queues.find((q) => q.logicalName === 'load')!;
  const out: LoadRequestedV1[] = [];
  for (;;) {
    const got = await stage.clients.sqs.send(new ReceiveMessageCommand({ QueueUrl: queue.url, MaxNumberOfMessages: 10, VisibilityTimeout: 30 }));
    const messages = got.Messages ?? [];
    if (messages.length === 0) return out;
    for (const m of messages) out.push(parseMessage('load-requested', m.Body));
    await stage.clients.sqs.send(new DeleteMessageBatchCommand({ QueueUrl: queue.url, Entries: messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! })) }));
  }
}

async function readFile(message: LoadRequestedV1) {
  return readWithDuckDB(await objects.get(message.object.bucket, message.object.key));
}

beforeAll(async () => {
  setLogSink({ write: (line) => logLines.push(JSON.parse(line) as Record<string, unknown>) });
  stage = await createTestStage();
  sourceDb = await createTestDatabase('transformer_source');
  source = new pg.Client({ connectionString: sourceDb.url });
  await source.connect();
  await source.query(SOURCE_SCHEMA_SQL);
  await insertRows('department', [gen.department(1, 'Sales', 'Manchester'), gen.department(4, 'Dispatch', 'Leds'), gen.department(5, 'Nowhere', null)]);
  await insertRows('staff', [gen.staff(1, 1), gen.staff(2, 4), gen.staff(3, 4), gen.staff(5, 5)]);
  await insertRows('address', [gen.address(1), gen.address(2), gen.address(3)]);
  await insertRows('counterparty', [gen.counterparty(1, 2), gen.counterparty(2, 2), gen.counterparty(3, 3)]);
  runtime = createTransformerRuntime({ ...stage.env, TOTES_SOURCE_URL: sourceDb.url, TOTES_SOURCE_SSL: 'disable' });
  handler = createTransformHandler(runtime);
  objects = new S3ObjectStore(stage.clients.s3);
  batches = new DynamoBatchStore(stage.clients.dynamo, stage.resources.stateTable);
});

afterAll(async () => {
  setLogSink(undefined);
  await runtime?.close();
  await source?.end();
  await sourceDb?.drop();
});

beforeEach(async () => {
  await drainLoadQueue();
  logLines.length = 0;
});

describe('transformer handler on the local stack', () => {
  it('transforms a sales_order batch: Parquet read back by DuckDB, batch recorded, one load message per file, metrics emitted', async () => {
    const message = await extracted('sales_order', [gen.salesOrder(1), gen.salesOrder(2, { unit_price: '2.05', agreed_payment_date: '2024-03-31' })]);

    const response = await handler({ Records: [sqsRecord(message)] }, context);

    expect(response).toEqual({ batchItemFailures: [] });
    const sent = await drainLoadQueue();
    expect(sent.map((m) => [m.fileId, m.targetTable, m.filesInBatch, m.object.rows])).toEqual([
      [`${message.batchId}/dim_date`, 'dim_date', 2, 4],
      [`${message.batchId}/fact_sales_order`, 'fact_sales_order', 2, 2],
    ]);
    const fact = await readFile(sent[1]!);
    expect(fact.rows.map((r) => [r.sales_order_id, r.unit_price, r.agreed_payment_date, r.created_time])).toEqual([
      ['1', '3.94', '2022-11-08', '14:20:52.186'],
      ['2', '2.05', '2024-03-31', '14:20:52.186'],
    ]);
    const dates = await readFile(sent[0]!);
    expect(dates.rows.find((d) => d.date_id === '2024-03-31')).toMatchObject({ quarter: '1', day_of_week: '7', day_name: 'Sunday' });
    expect(await batches.get(message.batchId)).toMatchObject({ state: 'transformed', files: 2, quarantinedRows: 0, outputs: { dim_date: 4, fact_sales_order: 2 } });
    const metrics = logLines.find((l) => '_aws' in l);
    expect(metrics).toMatchObject({ table: 'sales_order', RowsTransformed: 2, QuarantinedRows: 0, FilesWritten: 2 });
  });

  it('a department edit re-derives each of its staff from the source, stamped with the edit', async () => {
    await source.query(`UPDATE department SET location = 'Leeds', last_updated = '2024-11-15T10:00:00.123456' WHERE department_id = 4`);
    const edited = (await source.query(`SELECT to_char(last_updated, 'YYYY-MM-DD"T"HH24:MI:SS.US') AS lu FROM department WHERE department_id = 4`)).rows[0].lu as string;
    const message = await extracted('department', [gen.department(4, 'Dispatch', 'Leeds', { last_updated: edited })]);

    await handler({ Records: [sqsRecord(message)] }, context);

    const [file] = await drainLoadQueue();
    expect(file?.targetTable).toBe('dim_staff');
    expect((await readFile(file!)).rows.map((r) => [r.staff_id, r.department_name, r.location, r._version])).toEqual([
      ['2', 'Dispatch', 'Leeds', '2024-11-15 10:00:00.123456'],
      ['3', 'Dispatch', 'Leeds', '2024-11-15 10:00:00.123456'],
    ]);
    await source.query(`UPDATE department SET location = 'Leds' WHERE department_id = 4`);
  });

  it("a staff batch joins each member with the department as it is now: 'Leds' stays 'Leds'", async () => {
    const message = await extracted('staff', [gen.staff(2, 4), gen.staff(1, 1)]);
    await handler({ Records: [sqsRecord(message)] }, context);
    const [file] = await drainLoadQueue();
    expect((await readFile(file!)).rows.map((r) => [r.staff_id, r.department_name, r.location])).toEqual([
      ['1', 'Sales', 'Manchester'],
      ['2', 'Dispatch', 'Leds'],
    ]);
  });

  it('an address edit re-derives every counterparty on it, and dim_location from the batch row', async () => {
    await source.query(`UPDATE address SET phone = '0113 496 0000', last_updated = '2024-11-15T12:00:00' WHERE address_id = 2`);
    const row = gen.address(2, { phone: '0113 496 0000', last_updated: '2024-11-15T12:00:00.000000' });
    const message = await extracted('address', [row]);

    await handler({ Records: [sqsRecord(message)] }, context);

    const sent = await drainLoadQueue();
    expect(sent.map((m) => m.targetTable)).toEqual(['dim_location', 'dim_counterparty']);
    expect((await readFile(sent[0]!)).rows.map((r) => [r.location_id, r.phone])).toEqual([['2', '0113 496 0000']]);
    expect((await readFile(sent[1]!)).rows.map((r) => [r.counterparty_id, r.counterparty_legal_phone_number, r._version])).toEqual([
      ['1', '0113 496 0000', '2024-11-15 12:00:00'],
      ['2', '0113 496 0000', '2024-11-15 12:00:00'],
    ]);
  });

  it('quarantines a member of a department with no location, counts it in the batch record and the metric, and loads the rest', async () => {
    const message = await extracted('staff', [gen.staff(1, 1), gen.staff(5, 5)]);

    await handler({ Records: [sqsRecord(message)] }, context);

    const [file] = await drainLoadQueue();
    expect((await readFile(file!)).rows.map((r) => r.staff_id)).toEqual(['1']);
    expect(await batches.get(message.batchId)).toMatchObject({ state: 'transformed', quarantinedRows: 1, outputs: { dim_staff: 1 } });
    const key = `quarantine/staff/date=${message.range.to.lastUpdated.slice(0, 10)}/${message.batchId}.jsonl`;
    const line = JSON.parse(new TextDecoder().decode(await objects.get(stage.resources.processedBucket, key)).trim());
    expect(line).toMatchObject({ table: 'staff', id: 5, column: 'department.location', reason: 'NULL where dim_staff.location needs a value', row: gen.staff(5, 5) });
    expect(logLines).toEqual(expect.arrayContaining([expect.objectContaining({ level: 'WARN', message: 'Row quarantined', table: 'staff', batchId: message.batchId, id: 5 })]));
    expect(logLines.find((l) => '_aws' in l)).toMatchObject({ table: 'staff', QuarantinedRows: 1 });
  });

  it('fails an unreadable batch and a batch on the wrong queue alone; the other records of the invocation succeed', async () => {
    const good = await extracted('design', [gen.design(1)]);
    const corrupt = await extracted('design', [gen.design(2)], new TextEncoder().encode('this is not gzip'));
    const missingColumn = await extracted('design', [(({ file_name: _f, ...rest }) => rest)(gen.design(3))]);
    const unknownVersion = JSON.stringify({ ...good, version: 2 });
    const records = [sqsRecord(good), sqsRecord(corrupt), sqsRecord(missingColumn), sqsRecord(unknownVersion), sqsRecord(good, 'currency')];

    const response = await handler({ Records: records } as SQSEvent, context);

    expect(response.batchItemFailures.map((f) => f.itemIdentifier)).toEqual(records.slice(1).map((r) => r.messageId));
    expect((await drainLoadQueue()).map((m) => m.fileId)).toEqual([`${good.batchId}/dim_design`]);
    expect(await batches.get(corrupt.batchId)).toMatchObject({ state: 'extracted' });
    const errors = logLines.filter((l) => l.level === 'ERROR').map((l) => l.error);
    expect(errors).toEqual([
      expect.stringContaining('the object is not gzip'),
      expect.stringContaining('has no file_name column'),
      expect.stringContaining('has version 2'),
      expect.stringContaining(`arrived on ${stage.resources.queuePrefix}-transform-currency`),
    ]);
  });

  it('duplicate and out-of-order delivery produce the same files and the same load messages', async () => {
    const older = await extracted('payment', [gen.payment(1)]);
    const newer = await extracted('payment', [gen.payment(1, { paid: true, last_updated: '2022-11-04T09:00:00.000000' })]);

    await handler({ Records: [sqsRecord(newer)] }, context);
    await handler({ Records: [sqsRecord(older)] }, context);
    const firstSends = await drainLoadQueue();
    const firstBytes = await Promise.all(firstSends.map((m) => objects.get(m.object.bucket, m.object.key)));
    await handler({ Records: [sqsRecord(older), sqsRecord(newer)] }, context);
    await handler({ Records: [sqsRecord(newer)] }, context);
    const againSends = await drainLoadQueue();

    const withoutTime = (m: LoadRequestedV1) => JSON.stringify({ ...m, createdAt: undefined });
    expect(new Set(againSends.map(withoutTime))).toEqual(new Set(firstSends.map(withoutTime)));
    expect(againSends).toHaveLength(firstSends.length * 1.5);
    const againBytes = await Promise.all(firstSends.map((m) => objects.get(m.object.bucket, m.object.key)));
    expect(againBytes.map((b) => Buffer.from(b).toString('base64'))).toEqual(firstBytes.map((b) => Buffer.from(b).toString('base64')));
    expect(await batches.get(newer.batchId)).toMatchObject({ state: 'transformed', files: 2, outputs: { fact_payment: 1, dim_date: 2 } });
  });

  it('two transformers handling the same batch at once leave one set of files and consistent messages', async () => {
    const second = createTransformerRuntime({ ...stage.env, TOTES_SOURCE_URL: sourceDb.url, TOTES_SOURCE_SSL: 'disable' });
    try {
      const message = await extracted('counterparty', [gen.counterparty(1, 2), gen.counterparty(3, 3)]);
      const [a, b] = await Promise.all([handler({ Records: [sqsRecord(message)] }, context), createTransformHandler(second)({ Records: [sqsRecord(message)] }, context)]);
      expect([a, b]).toEqual([{ batchItemFailures: [] }, { batchItemFailures: [] }]);
      const sent = await drainLoadQueue();
      expect(sent).toHaveLength(2);
      expect(sent[0]!.object).toEqual(sent[1]!.object);
      expect((await readFile(sent[0]!)).rows.map((r) => [r.counterparty_id, r.counterparty_legal_address_line_1])).toEqual([
        ['1', '2 Herzog Via'],
        ['3', '3 Herzog Via'],
      ]);
    } finally {
      await second.close();
    }
  });
});
