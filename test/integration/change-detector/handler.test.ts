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

/** An embedded-metric-format line as Powertools Metrics writes it (one per detect record). */
type EmfLine = Record<string, unknown> & {
  _aws: { CloudWatchMetrics: Array<{ Namespace: string; Dimensions: string[][]; Metrics: Array<{ Name: string; Unit: string }> }> };
};
const emfLines = (lines: ReadonlyArray<Record<string, unknown>>) => lines.filter((l): l is EmfLine => '_aws' in l);

/** The CloudFormation of the resources service, rendered by the same function `serverless package` calls. */
type AlarmProperties = { Namespace?: string; MetricName?: string; Dimensions?: Array<{ Name: string; Value: unknown }> };
async function renderedAlarms(): Promise<AlarmProperties[]> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- plain CommonJS that osls loads (no types)
  const topologyCjs = require('../../../services/resources/topology.cjs') as {
    sharedResourcesStack(context: { resolveVariable(name: string): Promise<unknown> }): Promise<{ Resources: Record<string, { Type: string; Properties: AlarmProperties }> }>;
  };
  const params: Record<string, string> = { 'sls:stage': 'ci' };
  const stack = await topologyCjs.sharedResourcesStack({
    resolveVariable: (name) => Promise.resolve(name.startsWith('param:alarmEmail') ? 'ops@example.com' : (params[name] ?? null)),
  });
  return Object.values(stack.Resources)
    .filter((r) => r.Type === 'AWS::CloudWatch::Alarm')
    .map((r) => r.Properties);
}

/**
 * Every source table has exactly one rendered alarm on `metric`, and each watches what the detector
 * emitted for its table in `emitted` (one EMF line per table): CloudWatch matches an alarm to a
 * metric on namespace, name and the exact set of dimensions, with their values.
 */
async function expectAlarmsWatchEmitted(metric: string, emitted: readonly EmfLine[]): Promise<void> {
  const byTable = new Map(emitted.map((l) => [l.table, l]));
  const alarms = (await renderedAlarms()).filter((a) => a.MetricName === metric);
  expect(alarms.map((a) => a.Dimensions?.find((d) => d.Name === 'table')?.Value).sort()).toEqual([...SOURCE_TABLE_NAMES].sort());
  for (const alarm of alarms) {
    const table = alarm.Dimensions?.find((d) => d.Name === 'table')?.Value;
    const line = byTable.get(table);
    expect({ table, emitted: line !== undefined }).toEqual({ table, emitted: true });
    const definition = line?._aws.CloudWatchMetrics[0];
    expect(definition?.Namespace).toBe(alarm.Namespace);
    expect(definition?.Metrics).toContainEqual({ Name: alarm.MetricName, Unit: 'Count' });
    expect(definition?.Dimensions).toEqual([alarm.Dimensions?.map((d) => d.Name)]);
    for (const d of alarm.Dimensions ?? []) expect({ dimension: d.Name, value: line?.[d.Name] }).toEqual({ dimension: d.Name, value: d.Value });
  }
}

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

  it('every table’s freshness alarm watches exactly the metric, namespace and dimensions the detector emits for it', async () => {
    // Repair the table the previous test broke, so that every table completes a detection.
    await h.source.query(`ALTER TABLE payment_type DROP COLUMN note, ADD COLUMN payment_type_name varchar NOT NULL DEFAULT 'SALES_RECEIPT'`);
    const from = logLines.length;

    const response = await handlers.detect({ Records: SOURCE_TABLE_NAMES.map((t) => sqsRecord(detectMessage(t), `m-${t}`)) }, context);

    expect(response.batchItemFailures).toEqual([]);
    await expectAlarmsWatchEmitted('DetectionPasses', emfLines(logLines.slice(from)).filter((l) => l.DetectionPasses === 1));
  });

  it('detect emits DetectionPasses 1 (EMF) for a pass with rows and for an idle pass, and none for a table whose detection stopped', async () => {
    await h.source.query(`INSERT INTO address VALUES (2, '2 Road', NULL, NULL, 'York', 'YO1', 'UK', '0190', localtimestamp, localtimestamp)`);
    await h.source.query(`ALTER TABLE design DROP COLUMN file_name`);
    const run = async (table: string) => {
      const from = logLines.length;
      await handlers.detect({ Records: [sqsRecord(detectMessage(table), `m-${table}-${from}`)] }, context);
      return emfLines(logLines.slice(from));
    };

    const withRows = await run('address');
    const idle = await run('address');
    const stopped = await run('design');

    expect(withRows).toEqual([expect.objectContaining({ service: 'change-detector', table: 'address', DetectionPasses: 1, RowsExtracted: 1 })]);
    expect(idle).toEqual([expect.objectContaining({ service: 'change-detector', table: 'address', DetectionPasses: 1 })]);
    expect(idle[0]).not.toHaveProperty('RowsExtracted');
    expect(stopped).toEqual([expect.objectContaining({ table: 'design', DetectionErrors: 1 })]);
    expect(stopped[0]).not.toHaveProperty('DetectionPasses');
    expect(stopped[0]?._aws.CloudWatchMetrics[0]?.Metrics.map((m) => m.Name)).not.toContain('DetectionPasses');
  });

  it('every table’s RowsOffClock alarm watches exactly the metric, namespace and dimensions the detector emits when it extracts an off-clock row', async () => {
    // Repair the table the previous test broke; give every table one row stamped 'infinity'.
    await h.source.query(`ALTER TABLE design ADD COLUMN file_name varchar NOT NULL DEFAULT 'wooden.json'`);
    await h.source.query(`
      UPDATE address SET last_updated = 'infinity' WHERE address_id = 1;
      UPDATE counterparty SET last_updated = 'infinity' WHERE counterparty_id = 1;
      UPDATE currency SET last_updated = 'infinity' WHERE currency_id = 1;
      UPDATE department SET last_updated = 'infinity' WHERE department_id = 1;
      UPDATE design SET last_updated = 'infinity' WHERE design_id = 1;
      UPDATE staff SET last_updated = 'infinity' WHERE staff_id = 1;
      UPDATE sales_order SET last_updated = 'infinity' WHERE sales_order_id = 1;
      UPDATE payment_type SET last_updated = 'infinity' WHERE payment_type_id = 1;
      UPDATE "transaction" SET last_updated = 'infinity' WHERE transaction_id = 1;
      INSERT INTO purchase_order VALUES (1, '2022-11-03 14:20:52.186', 'infinity', 1, 1, 'ABC1234', 10, 2.50, 1, '2022-11-10', '2022-11-08', 1);
      INSERT INTO payment VALUES (1, '2022-11-03 14:20:52.186', 'infinity', 1, 1, 10.00, 1, 1, true, '2022-11-08', 10000001, 20000001);
    `);
    const from = logLines.length;

    const response = await handlers.detect({ Records: SOURCE_TABLE_NAMES.map((t) => sqsRecord(detectMessage(t), `m-off-clock-${t}`)) }, context);

    expect(response.batchItemFailures).toEqual([]);
    const emitted = emfLines(logLines.slice(from)).filter((l) => 'RowsOffClock' in l);
    expect(emitted.map((l) => [l.table, l.RowsOffClock]).sort()).toEqual([...SOURCE_TABLE_NAMES].sort().map((t) => [t, 1]));
    await expectAlarmsWatchEmitted('RowsOffClock', emitted);
  });
});
