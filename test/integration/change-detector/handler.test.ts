import { randomUUID } from 'node:crypto';
import { DeleteMessageBatchCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import type { Context, ScheduledEvent, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { parseMessage } from '@totes/events';
import { setLogSink } from '@totes/shared/logging';
import { SOURCE_TABLE_NAMES } from '@totes/shared/source/tables';
import { DetectorHarness } from './harness';

/**
 * The Lambda handlers as AWS (or the local runtime) invokes them: `schedule` with an EventBridge
 * scheduled event, `detect` with a real SQS event shape, configuration from the environment.
 */
type Handlers = {
  schedule: (event: ScheduledEvent, context?: Context) => Promise<{ scheduled: number }>;
  detect: (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;
};

let h: DetectorHarness;
let handlers: Handlers;
const saved = { ...process.env };
const logLines: Array<Record<string, unknown>> = [];
const context = { functionName: 'detect', awsRequestId: 'request-1', getRemainingTimeInMillis: () => 300_000 } as unknown as Context;

function sqsRecord(body: string, id: string): SQSRecord {
  return {
    messageId: id,
    receiptHandle: `receipt-${id}`,
    body,
    attributes: { ApproximateReceiveCount: '1', SentTimestamp: String(Date.now()), SenderId: 'AROAEXAMPLE', ApproximateFirstReceiveTimestamp: String(Date.now()) },
    messageAttributes: {},
    md5OfBody: '0',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:eu-west-2:000000000000:detect',
    awsRegion: 'eu-west-2',
  };
}

const detectMessage = (table: string) => JSON.stringify({ type: 'detect-table', version: 1, table, requestedAt: '2024-11-15T14:40:00.000Z' });

beforeAll(async () => {
  h = await DetectorHarness.create('cd_handler');
  await h.insertParents();
  // The handlers read their configuration once, at module scope, as in a Lambda container.
  Object.assign(process.env, h.stage.env, { TOTES_SOURCE_URL: h.db.url, TOTES_SOURCE_SSL: 'disable', TOTES_PAGE_SIZE: '2' });
  setLogSink({ write: (line) => logLines.push(JSON.parse(line) as Record<string, unknown>) });
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- the module must be loaded after the environment is set
  handlers = require('../../../services/change-detector/src/handler') as Handlers;
});

afterAll(async () => {
  setLogSink(undefined);
  process.env = saved;
  // Dropping the database with FORCE also ends the handler's source connection.
  await h?.close();
});

describe('change-detector handlers', () => {
  it('schedule sends one detect-table message per source table to the detect queue', async () => {
    const event = {
      version: '0',
      id: randomUUID(),
      'detail-type': 'Scheduled Event',
      source: 'aws.events',
      account: '000000000000',
      time: '2024-11-15T14:40:00Z',
      region: 'eu-west-2',
      resources: [],
      detail: {},
    } as ScheduledEvent;

    expect(await handlers.schedule(event)).toEqual({ scheduled: 11 });

    const url = h.stage.resources.queues.find((q) => q.logicalName === 'detect')?.url ?? '';
    const bodies: string[] = [];
    for (;;) {
      const got = await h.stage.clients.sqs.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, VisibilityTimeout: 600 }));
      if (!got.Messages?.length) break;
      bodies.push(...got.Messages.map((m) => m.Body ?? ''));
      await h.stage.clients.sqs.send(new DeleteMessageBatchCommand({ QueueUrl: url, Entries: got.Messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle ?? '' })) }));
    }
    const messages = bodies.map((b) => parseMessage('detect-table', b));
    expect(messages.map((m) => m.table).sort()).toEqual([...SOURCE_TABLE_NAMES].sort());
    expect(new Set(messages.map((m) => m.requestedAt))).toEqual(new Set(['2024-11-15T14:40:00.000Z']));
  });

  it('detect runs one detection per record and reports only the bad records as batch item failures', async () => {
    await h.source.query(`INSERT INTO currency VALUES (2, 'USD', '2022-11-03 14:20:49.962', '2022-11-03 14:20:49.962'), (3, 'EUR', '2022-11-03 14:20:49.962', '2022-11-03 14:20:49.962')`);
    await h.source.query(`ALTER TABLE payment_type ADD COLUMN note text, DROP COLUMN payment_type_name`);
    const event: SQSEvent = {
      Records: [
        sqsRecord(detectMessage('currency'), 'm-currency'),
        sqsRecord(detectMessage('no_such_table'), 'm-unknown-table'),
        sqsRecord('{"type":"detect-table"', 'm-not-json'),
        sqsRecord(detectMessage('payment_type'), 'm-schema-drift'),
      ],
    };

    const response = await handlers.detect(event, context);

    expect(response.batchItemFailures.map((f) => f.itemIdentifier).sort()).toEqual(['m-not-json', 'm-unknown-table']);
    const messages = await h.drainMessages('currency');
    expect(messages.map((m) => m.object.rows)).toEqual([2, 1]);
    expect(await h.rowsOf(messages)).toEqual(await h.sourceJson('currency'));
    // The schema problem is recorded for `totes status`, not retried.
    expect((await h.watermark('payment_type')).error?.column).toBe('payment_type_name');
    // Structured logs name the table and batch; metrics carry the table as a dimension.
    expect(logLines.find((l) => l.message === 'batch extracted')).toMatchObject({ table: 'currency', batchId: messages[0]?.batchId, rows: 2 });
    expect(logLines.filter((l) => l.message === 'detect-table message failed').map((l) => l.messageId).sort()).toEqual(['m-not-json', 'm-unknown-table']);
    const emf = logLines.filter((l) => '_aws' in l);
    expect(emf.find((l) => l.table === 'currency')).toMatchObject({ service: 'change-detector', RowsExtracted: [2, 1], BatchesExtracted: [1, 1] });
    expect(emf.find((l) => l.table === 'payment_type')).toMatchObject({ DetectionErrors: 1 });
  });
});
