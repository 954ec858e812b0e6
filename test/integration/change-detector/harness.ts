import { randomUUID } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { DeleteMessageBatchCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import pg from 'pg';
import { parseMessage, rawHeaderV2, RAW_FORMAT_V2, type BatchExtractedV2 } from '@totes/events';
import { S3ObjectStore } from '@totes/shared/aws/objects';
import { SqsMessageSender } from '@totes/shared/aws/queues';
import { PgChangeReader } from '@totes/shared/source/change-reader';
import { ReusableConnectionLender } from '@totes/shared/source/connections';
import { SOURCE_SCHEMA_SQL } from '@totes/shared/source/schema';
import { SOURCE_TABLES, quoteIdent, type SourceTableName } from '@totes/shared/source/tables';
import { DynamoBatchStore, type BatchRecord } from '@totes/shared/state/batch-store';
import { DynamoLeaseStore } from '@totes/shared/state/lease-store';
import { DynamoWatermarkStore, type Watermark } from '@totes/shared/state/watermark-store';
import { detectTable, type DetectionOutcome } from '../../../services/change-detector/src/detect-table';
import type { DetectionMetricName, DetectionPorts, DetectionSettings } from '../../../services/change-detector/src/ports';
import { createTestDatabase, createTestStage, type TestDatabase, type TestStage } from '../../helpers/stack';

/**
 * The change-detector's domain function on the local stack: a private stage (fauxqs S3 and SQS,
 * dynalite) and a private source database (embedded PostgreSQL, SPEC §1 schema), with the real
 * adapters as ports; metrics and logs captured. Tests wrap ports to inject faults.
 */
export type SourceRow = Record<string, unknown>;

export interface Captured {
  readonly metrics: Array<{ name: DetectionMetricName; value: number }>;
  readonly logs: Array<{ level: string; message: string; attributes: Record<string, unknown> }>;
}

export class DetectorHarness {
  readonly captured: Captured = { metrics: [], logs: [] };
  readonly objects: S3ObjectStore;
  readonly batches: DynamoBatchStore;
  readonly watermarks: DynamoWatermarkStore;
  private readonly lenders: ReusableConnectionLender[] = [];

  private constructor(
    readonly stage: TestStage,
    readonly db: TestDatabase,
    readonly source: pg.Client,
  ) {
    this.objects = new S3ObjectStore(stage.clients.s3);
    this.batches = new DynamoBatchStore(stage.clients.dynamo, stage.resources.stateTable);
    this.watermarks = new DynamoWatermarkStore(stage.clients.dynamo, stage.resources.stateTable);
  }

  static async create(purpose: string): Promise<DetectorHarness> {
    const stage = await createTestStage();
    const db = await createTestDatabase(purpose);
    const source = new pg.Client({ connectionString: db.url });
    await source.connect();
    await source.query(SOURCE_SCHEMA_SQL);
    return new DetectorHarness(stage, db, source);
  }

  /** A harness whose source holds the parent rows and payments 1..`payments` (insertPayments' defaults). */
  static async withPayments(purpose: string, payments: number): Promise<DetectorHarness> {
    const h = await DetectorHarness.create(purpose);
    await h.insertParents();
    await h.insertPayments(1, payments);
    return h;
  }

  async close(): Promise<void> {
    for (const l of this.lenders) await l.close();
    await this.source.end();
    await this.db.drop();
  }

  /** A new client on the source (a writer of its own). */
  async writer(): Promise<pg.Client> {
    const c = new pg.Client({ connectionString: this.db.url });
    await c.connect();
    return c;
  }

  /** The real adapters, a source connection of their own, captured metrics and logs. */
  ports(overrides: Partial<DetectionPorts> = {}): DetectionPorts {
    const lender = new ReusableConnectionLender({ name: 'source', source: { kind: 'url', url: this.db.url }, ssl: 'disable', statementTimeoutMs: 30_000 });
    this.lenders.push(lender);
    const { dynamo, sqs } = this.stage.clients;
    const table = this.stage.resources.stateTable;
    const log = (level: string) => (message: string, attributes: Record<string, unknown> = {}) => this.captured.logs.push({ level, message, attributes });
    return {
      source: new PgChangeReader(lender),
      objects: this.objects,
      sender: new SqsMessageSender(sqs, this.stage.resources.queuePrefix),
      batches: this.batches,
      watermarks: this.watermarks,
      leases: new DynamoLeaseStore(dynamo, table),
      metrics: { count: (name, value) => this.captured.metrics.push({ name, value }) },
      log: { info: log('info'), warn: log('warn'), error: log('error') },
      ...overrides,
    };
  }

  settings(overrides: Partial<DetectionSettings> = {}): DetectionSettings {
    return { ingestionBucket: this.stage.resources.ingestionBucket, pageSize: 50, lookbackSeconds: 900, leaseSeconds: 60, owner: randomUUID(), ...overrides };
  }

  detect(table: SourceTableName, ports: Partial<DetectionPorts> = {}, settings: Partial<DetectionSettings> = {}): Promise<DetectionOutcome> {
    return detectTable(this.ports(ports), this.settings(settings), table);
  }

  metric(name: DetectionMetricName): number {
    return this.captured.metrics.filter((m) => m.name === name).reduce((n, m) => n + m.value, 0);
  }

  /** Every message on transform-<table> (received and deleted), validated against the contract. */
  async drainMessages(table: SourceTableName): Promise<BatchExtractedV2[]> {
    const url = this.stage.resources.queues.find((q) => q.logicalName === `transform-${table}`)?.url;
    if (!url) throw new Error(`no transform queue for ${table}`);
    const out: BatchExtractedV2[] = [];
    for (;;) {
      const got = await this.stage.clients.sqs.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, VisibilityTimeout: 600, WaitTimeSeconds: 0 }));
      const messages = got.Messages ?? [];
      if (messages.length === 0) return out;
      for (const m of messages) out.push(parseMessage('batch-extracted', m.Body ?? ''));
      await this.stage.clients.sqs.send(
        new DeleteMessageBatchCommand({ QueueUrl: url, Entries: messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle ?? '' })) }),
      );
    }
  }

  /** The lines of a raw object as they are: for the arrays layout, the header line first. */
  async objectLines(message: Pick<BatchExtractedV2, 'object'>): Promise<string[]> {
    const bytes = await this.objects.get(message.object.bucket, message.object.key);
    const text = gunzipSync(bytes).toString('utf8');
    expect(text.endsWith('\n')).toBe(true);
    return text.slice(0, -1).split('\n');
  }

  /**
   * The rows of a raw object as JSON object lines, `{"name":value,…}`: an arrays object's values
   * keep their exact bytes (only the header's names are put in front of them), so a row compares
   * byte for byte with PostgreSQL's own row_to_json.
   */
  async rawLines(message: Pick<BatchExtractedV2, 'object' | 'table'>): Promise<string[]> {
    const lines = await this.objectLines(message);
    if (message.object.layout === 'objects') return lines;
    const header = rawHeaderV2.parse(JSON.parse(lines[0] ?? 'null'));
    expect(header).toMatchObject({ format: RAW_FORMAT_V2, table: message.table });
    return lines.slice(1).map((line) => {
      const values = jsonArrayValueTexts(line);
      expect(values).toHaveLength(header.columns.length);
      return `{${header.columns.map((name, i) => `${JSON.stringify(name)}:${values[i]}`).join(',')}}`;
    });
  }

  /** The rows of every distinct batch among `messages` (a batch re-sent counts once), in batch order. */
  async rowsOf(messages: readonly BatchExtractedV2[]): Promise<string[]> {
    const byBatch = new Map<string, BatchExtractedV2>();
    for (const m of messages) {
      const seen = byBatch.get(m.batchId);
      if (seen) expect(seen).toEqual(m);
      byBatch.set(m.batchId, m);
    }
    const lines: string[] = [];
    for (const m of [...byBatch.values()].sort((a, b) => a.batchId.localeCompare(b.batchId))) lines.push(...(await this.rawLines(m)));
    return lines;
  }

  /** Every batch record of `table`. */
  async batchRecords(table: SourceTableName): Promise<BatchRecord[]> {
    const out = await this.stage.clients.dynamo.send(
      new ScanCommand({ TableName: this.stage.resources.stateTable, FilterExpression: 'begins_with(pk, :p)', ExpressionAttributeValues: { ':p': `batch#${table}.` } }),
    );
    return ((out.Items ?? []) as Array<BatchRecord & { pk: string; kind: string }>)
      .map(({ pk: _pk, kind: _kind, ...r }) => r as BatchRecord)
      .sort((a, b) => a.batchId.localeCompare(b.batchId));
  }

  watermark(table: SourceTableName): Promise<Watermark> {
    return this.watermarks.get(table);
  }

  /**
   * The source rows as PostgreSQL's own JSON renders them (numerics as text, exactly as the raw
   * zone's contract says), in keyset order; `where` filters.
   */
  async sourceJson(table: SourceTableName, where = 'true'): Promise<string[]> {
    const columns = SOURCE_TABLES[table].columns.map((c) => (c.type === 'numeric' ? `t.${quoteIdent(c.name)}::text AS ${quoteIdent(c.name)}` : `t.${quoteIdent(c.name)}`));
    const pk = quoteIdent(SOURCE_TABLES[table].primaryKey);
    const r = await this.source.query<{ j: string }>(
      `SELECT row_to_json(x)::text AS j FROM (SELECT ${columns.join(', ')} FROM ${quoteIdent(table)} t WHERE ${where} ORDER BY t.last_updated, t.${pk}) x`,
    );
    return r.rows.map((row) => row.j);
  }

  /** One parent row for every table the fixture rows reference. */
  async insertParents(): Promise<void> {
    await this.source.query(`
      INSERT INTO address VALUES (1, '1 Road', NULL, NULL, 'Leeds', 'LS1', 'UK', '0113', '2022-11-03 14:20:49.962', '2022-11-03 14:20:49.962');
      INSERT INTO counterparty VALUES (1, 'Fahey', 1, NULL, 'Bob', '2022-11-03 14:20:51.563', '2022-11-03 14:20:51.563');
      INSERT INTO currency VALUES (1, 'GBP', '2022-11-03 14:20:49.962', '2022-11-03 14:20:49.962');
      INSERT INTO department VALUES (1, 'Sales', 'Manchester', 'Richard', '2022-11-03 14:20:49.962', '2022-11-03 14:20:49.962');
      INSERT INTO staff VALUES (1, 'Jeremie', 'Franey', 1, 'j@t.com', '2022-11-03 14:20:51.563', '2022-11-03 14:20:51.563');
      INSERT INTO design VALUES (1, '2022-11-03 14:20:49.962', '2022-11-03 14:20:49.962', 'Wooden', '/usr', 'wooden.json');
      INSERT INTO payment_type VALUES (1, 'SALES_RECEIPT', '2022-11-03 14:20:49.962', '2022-11-03 14:20:49.962');
      INSERT INTO sales_order VALUES (1, '2022-11-03 14:20:52.186', '2022-11-03 14:20:52.186', 1, 1, 1, 100, 2.50, 1, '2022-11-10', '2022-11-08', 1);
      INSERT INTO "transaction" VALUES (1, 'SALE', 1, NULL, '2022-11-03 14:20:52.186', '2022-11-03 14:20:52.186');
    `);
  }

  /**
   * `count` payment rows from id `from`, with every kind of value: numerics of many scales, µs
   * timestamps, booleans; last_updated `base` plus about a second per row (`base` NULL: the
   * writing transaction's start, as a writer stamping localtimestamp does).
   */
  async insertPayments(from: number, count: number, base: string | null = '2023-01-02 03:04:05.678901', client: pg.Client = this.source): Promise<void> {
    await client.query(
      `INSERT INTO payment
       SELECT i, ts, ts, 1, 1, (i * 12345.678901 / 7)::numeric(20, 6) + CASE WHEN i % 5 = 0 THEN 0.5 ELSE 0 END, 1, 1, i % 2 = 0,
              to_char(ts + interval '3 days', 'YYYY-MM-DD'), 10000000 + i, 20000000 + i
         FROM (SELECT i, COALESCE($3::timestamp, localtimestamp) + (i - $1::int) * interval '1.000001 second' AS ts FROM generate_series($1::int, $1::int + $2::int - 1) AS i) s`,
      [from, count, base],
    );
  }
}

/** Thrown by a fault-injecting wrapper: the process "crashed" right after a side effect. */
export class InjectedCrash extends Error {
  constructor(what: string) {
    super(`injected crash after ${what}`);
  }
}

/** The texts of the values of a JSON array of scalars, exactly as written (`[1,"a,b",null]` → `1`, `"a,b"`, `null`). */
export function jsonArrayValueTexts(line: string): string[] {
  if (!line.startsWith('[') || !line.endsWith(']')) throw new Error(`not a JSON array line: ${line.slice(0, 60)}`);
  const values: string[] = [];
  let start = 1;
  let inString = false;
  for (let i = 1; i < line.length - 1; i++) {
    const ch = line[i];
    if (inString) {
      if (ch === '\\') i += 1;
      else if (ch === '"') inString = false;
    } else if (ch === '"') {
      inString = true;
    } else if (ch === ',') {
      values.push(line.slice(start, i));
      start = i + 1;
    }
  }
  values.push(line.slice(start, line.length - 1));
  return values;
}
