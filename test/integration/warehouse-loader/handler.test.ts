import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { FullBatchFailureError } from '@aws-lambda-powertools/batch';
import { staff, salesOrders } from './fixtures';
import { LoaderHarness, createTestDatabase, logLines, withClient, type LoaderFile, type TestDatabase } from './harness';

type LoadHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;

function sqsRecord(body: string, id: string, queueArn: string): SQSRecord {
  return {
    messageId: id,
    receiptHandle: `receipt-${id}`,
    body,
    attributes: {
      ApproximateReceiveCount: '1',
      SentTimestamp: String(Date.now()),
      SenderId: 'AROAEXAMPLE',
      ApproximateFirstReceiveTimestamp: String(Date.now()),
    },
    messageAttributes: {},
    md5OfBody: '0',
    eventSource: 'aws:sqs',
    eventSourceARN: queueArn,
    awsRegion: 'eu-west-2',
  };
}

const context = {
  functionName: 'load',
  awsRequestId: 'request-1',
  getRemainingTimeInMillis: () => 300_000,
} as unknown as Context;

describe('warehouse-loader: the load handler', () => {
  let harness: LoaderHarness;
  let db: TestDatabase;
  let load: LoadHandler;
  let queueArn: string;
  const saved = { ...process.env };

  beforeAll(async () => {
    harness = await LoaderHarness.create();
    db = await createTestDatabase('loader_handler');
    queueArn = harness.stage.resources.queues.find((q) => q.logicalName === 'load')?.arn ?? 'arn:aws:sqs:eu-west-2:000000000000:load';
    // The handler reads its configuration once, at module scope, as in a Lambda container.
    Object.assign(process.env, harness.stage.env, { TOTES_WAREHOUSE_URL: db.url, TOTES_WAREHOUSE_SSL: 'disable' });
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- the module must be loaded after the environment is set
    load = (require('../../../services/warehouse-loader/src/handler') as { load: LoadHandler }).load;
  });
  afterAll(async () => {
    process.env = saved;
    // Dropping with FORCE ends the handler's connection too.
    await db.drop();
  });

  it('migrates a fresh warehouse, loads each good record and reports only the bad ones as batch item failures', async () => {
    const good = await harness.file('dim_staff', staff);
    const missingObject: LoaderFile = { ...good, message: { ...good.message, fileId: `${good.message.fileId}-gone`, object: { ...good.message.object, key: 'processed/nothing-here.parquet' } } };
    const event: SQSEvent = {
      Records: [
        sqsRecord(JSON.stringify(good.message), 'm-good', queueArn),
        sqsRecord('{"type":"load-requested","version":9}', 'm-unknown-version', queueArn),
        sqsRecord(JSON.stringify(missingObject.message), 'm-missing-object', queueArn),
      ],
    };
    logLines.length = 0;
    const response = await load(event, context);
    expect(response.batchItemFailures.map((f) => f.itemIdentifier).sort()).toEqual(['m-missing-object', 'm-unknown-version']);

    await withClient(db, async (c) => {
      expect((await c.query(`SELECT count(*)::int AS n FROM dim_staff`)).rows).toEqual([{ n: staff.length }]);
      expect((await c.query(`SELECT max(id)::int AS latest FROM pipeline.schema_migration`)).rows[0]?.latest).toBeGreaterThanOrEqual(4);
    });
    // Structured logs name the table, batch and file; metrics carry the table as a dimension.
    const loaded = logLines.find((l) => l.message === 'file loaded');
    expect(loaded).toMatchObject({ table: 'dim_staff', batchId: good.message.batchId, fileId: good.message.fileId, inserted: staff.length });
    const failed = logLines.filter((l) => l.message === 'load failed');
    expect(failed).toHaveLength(2);
    expect(failed.find((l) => l.messageId === 'm-missing-object')).toMatchObject({ table: 'dim_staff', fileId: missingObject.message.fileId });
    const emf = logLines.find((l) => (l as { _aws?: unknown })._aws !== undefined && 'RowsLoaded' in l);
    expect(emf).toMatchObject({ table: 'dim_staff', RowsLoaded: staff.length, FilesLoaded: 1, service: 'warehouse-loader' });
  });

  it('treats a redelivered message as a no-op that succeeds', async () => {
    const file = await harness.file('fact_sales_order', salesOrders);
    const event: SQSEvent = { Records: [sqsRecord(JSON.stringify(file.message), 'm-1', queueArn), sqsRecord(JSON.stringify(file.message), 'm-2', queueArn)] };
    expect(await load(event, context)).toEqual({ batchItemFailures: [] });
    expect(await load(event, context)).toEqual({ batchItemFailures: [] });
    await withClient(db, async (c) => {
      expect((await c.query(`SELECT count(*)::int AS n FROM fact_sales_order`)).rows).toEqual([{ n: salesOrders.length }]);
    });
  });

  it('fails the whole invocation when every record fails, so Lambda retries the batch', async () => {
    const event: SQSEvent = { Records: [sqsRecord('not json', 'm-bad', queueArn)] };
    await expect(load(event, context)).rejects.toThrow(FullBatchFailureError);
  });

  it('marks the batch loaded, with counts per table, once every file of the batch is loaded', async () => {
    const batchId = 'staff.20241115t144000123456-2.p0001';
    await harness.batches.recordExtracted({
      batchId,
      table: 'staff',
      rows: 2,
      bytes: 100,
      rawBucket: harness.stage.resources.ingestionBucket,
      rawKey: `raw/staff/date=2024-11-15/${batchId}.jsonl.gz`,
      range: { from: null, to: { lastUpdated: '2024-11-15T14:40:00.123456', id: 2 } },
      lateRows: 0,
      extractedAt: '2024-11-15T14:40:01.000Z',
    });
    await harness.batches.recordTransformed(batchId, { files: 2, quarantinedRows: 0, outputs: { dim_staff: 2, fact_sales_order: 1 } });
    const dims = await harness.file('dim_staff', staff.map((s) => ({ ...s, email_address: `moved.${String(s.email_address)}`, _version: '2024-11-15 14:40:00.123456' })), { batchId, filesInBatch: 2 });
    const facts = await harness.file('fact_sales_order', [{ ...salesOrders[0]!, sales_order_id: 77 }], { batchId, filesInBatch: 2 });

    await load({ Records: [sqsRecord(JSON.stringify(dims.message), 'b-1', queueArn)] }, context);
    expect(await harness.batches.get(batchId)).toMatchObject({ state: 'transformed', filesLoaded: 1 });

    // The facts file twice (a redelivery): counted once.
    await load({ Records: [sqsRecord(JSON.stringify(facts.message), 'b-2', queueArn), sqsRecord(JSON.stringify(facts.message), 'b-3', queueArn)] }, context);
    const record = await harness.batches.get(batchId);
    expect(record).toMatchObject({
      state: 'loaded',
      filesLoaded: 2,
      loads: {
        dim_staff: { inserted: 0, updated: 2, skipped: 0 },
        fact_sales_order: { inserted: 1, updated: 0, skipped: 0 },
      },
    });
    expect(record?.loadedAt).toEqual(expect.any(String));
  });
});
