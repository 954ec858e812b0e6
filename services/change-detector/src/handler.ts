import { randomUUID } from 'node:crypto';
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { Context, ScheduledEvent, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { parseMessage } from '@totes/events';
import { createAwsClients } from '@totes/shared/aws/clients';
import { S3ObjectStore } from '@totes/shared/aws/objects';
import { SqsMessageSender } from '@totes/shared/aws/queues';
import { describeError } from '@totes/shared/errors';
import { createLogger, createMetrics, flushMetrics, MetricUnit } from '@totes/shared/logging';
import { PgChangeReader } from '@totes/shared/source/change-reader';
import { ReusableConnectionLender } from '@totes/shared/source/connections';
import { DynamoBatchStore } from '@totes/shared/state/batch-store';
import { DynamoLeaseStore } from '@totes/shared/state/lease-store';
import { DynamoWatermarkStore } from '@totes/shared/state/watermark-store';
import { loadDetectorConfig } from './config';
import { detectTable } from './detect-table';
import type { DetectionMetrics, DetectionPorts } from './ports';
import { scheduleDetections } from './schedule-detections';

/**
 * The change-detector's two functions. Wiring only: configuration, clients, stores and the source
 * connection at module scope (once per container; a bad configuration fails here, at start, naming
 * the variable), then per event or record one domain call.
 * - `schedule` (EventBridge rule, or the local scheduler tick): one detect-table message per table.
 * - `detect` (the detect queue): one record = one table's detection. Records run one after another
 *   (each borrows a source connection; in AWS a container keeps one), and a failing record fails
 *   alone (ReportBatchItemFailures), so SQS retries it and finally moves it to the DLQ.
 */
const SERVICE = 'change-detector';
const config = loadDetectorConfig();
const clients = createAwsClients(config.aws);
const logger = createLogger(SERVICE);
const ports: Omit<DetectionPorts, 'metrics'> = {
  source: new PgChangeReader(new ReusableConnectionLender(config.source)),
  objects: new S3ObjectStore(clients.s3),
  sender: new SqsMessageSender(clients.sqs, config.resources.queuePrefix),
  batches: new DynamoBatchStore(clients.dynamo, config.resources.stateTable),
  watermarks: new DynamoWatermarkStore(clients.dynamo, config.resources.stateTable),
  leases: new DynamoLeaseStore(clients.dynamo, config.resources.stateTable),
  log: {
    info: (message, attributes) => logger.info(message, attributes ?? {}),
    warn: (message, attributes) => logger.warn(message, attributes ?? {}),
    error: (message, attributes) => logger.error(message, attributes ?? {}),
  },
};

export async function schedule(event: ScheduledEvent, _context?: Context): Promise<{ scheduled: number }> {
  const requestedAt = event.time ? new Date(event.time) : new Date();
  const tables = await scheduleDetections(ports.sender, Number.isNaN(requestedAt.getTime()) ? new Date() : requestedAt);
  logger.info('detections scheduled', { tables: tables.length, requestedAt: requestedAt.toISOString() });
  return { scheduled: tables.length };
}

async function detectRecord(record: SQSRecord, context: Context | undefined): Promise<void> {
  let table: string | undefined;
  try {
    const message = parseMessage('detect-table', record.body);
    table = message.table;
    // Metrics per record, each with its own table dimension (invocations may overlap locally).
    const metrics = createMetrics(SERVICE);
    metrics.addDimension('table', message.table);
    const counters: DetectionMetrics = { count: (name, value) => metrics.addMetric(name, MetricUnit.Count, value) };
    try {
      const outcome = await detectTable(
        { ...ports, metrics: counters },
        {
          ingestionBucket: config.resources.ingestionBucket,
          pageSize: config.tuning.pageSize,
          lookbackSeconds: config.tuning.lookbackSeconds,
          leaseSeconds: config.tuning.leaseSeconds,
          owner: `${context?.awsRequestId ?? 'local'}/${randomUUID()}`,
          ...(context ? { remainingMs: () => context.getRemainingTimeInMillis() } : {}),
        },
        message.table,
      );
      logger.info('detection finished', { table: message.table, messageId: record.messageId, ...outcome });
    } finally {
      if (metrics.hasStoredMetrics()) flushMetrics(metrics);
    }
  } catch (err) {
    logger.error('detect-table message failed', { messageId: record.messageId, table, reason: describeError(err) });
    throw err;
  }
}

export async function detect(event: SQSEvent, context: Context): Promise<SQSBatchResponse> {
  // A processor per invocation: it holds the batch's state, and the local runtime may invoke this
  // module concurrently.
  const processor = new BatchProcessor(EventType.SQS);
  return processPartialResponse(event, (record: SQSRecord) => detectRecord(record, context), processor, { context, processInParallel: false });
}
