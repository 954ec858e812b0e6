import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { parseMessage } from '@totes/events';
import { createAwsClients } from '@totes/shared/aws/clients';
import { S3ObjectStore } from '@totes/shared/aws/objects';
import { ReusableConnection } from '@totes/shared/db/connect';
import { describeError } from '@totes/shared/errors';
import { createLogger, createMetrics, flushMetrics } from '@totes/shared/logging';
import { DynamoBatchStore } from '@totes/shared/state/batch-store';
import { loadLoaderConfig } from './config';
import { loadFile } from './load-file';
import { WarehousePool } from './warehouse-session';

/**
 * The `load` function: consumes load-requested messages from the load queue. Wiring only: config,
 * clients and the warehouse connection at module scope (once per container; a bad config fails at
 * start naming the variable), then per record: parse the message, call loadFile. Records are
 * processed one after another (they share the container's connection); a failing record fails
 * alone (ReportBatchItemFailures) and is retried by SQS, then lands in the DLQ.
 */
const config = loadLoaderConfig();
const clients = createAwsClients(config.aws);
const logger = createLogger('warehouse-loader');
const metrics = createMetrics('warehouse-loader');
const objects = new S3ObjectStore(clients.s3);
const batches = new DynamoBatchStore(clients.dynamo, config.resources.stateTable);
const warehouses = new WarehousePool(() => new ReusableConnection(config.warehouse), {
  foreignKeyChecks: config.foreignKeyChecks,
  statementTimeoutMs: config.warehouse.statementTimeoutMs,
  logger,
});

async function loadRecord(record: SQSRecord): Promise<void> {
  let context: Record<string, string> = { messageId: record.messageId };
  try {
    const message = parseMessage('load-requested', record.body);
    context = { ...context, table: message.targetTable, batchId: message.batchId, fileId: message.fileId };
    await warehouses.use((warehouse) => loadFile(message, { objects, batches, warehouse, logger, metrics, retry: config.retry }));
  } catch (err) {
    logger.error('load failed', { ...context, reason: describeError(err) });
    throw err;
  } finally {
    if (metrics.hasStoredMetrics()) flushMetrics(metrics);
    // Each record's metrics carry its own table dimension.
    metrics.clearDimensions();
  }
}

export async function load(event: SQSEvent, context: Context): Promise<SQSBatchResponse> {
  // A processor per invocation: it holds the batch's state, and the local runtime may invoke this
  // module concurrently.
  const processor = new BatchProcessor(EventType.SQS);
  return processPartialResponse(event, loadRecord, processor, { context, processInParallel: false });
}
