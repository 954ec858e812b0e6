import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { parseMessage } from '@totes/events';
import { createAwsClients } from '@totes/shared/aws/clients';
import { S3ObjectStore } from '@totes/shared/aws/objects';
import { SqsMessageSender } from '@totes/shared/aws/queues';
import { loadAwsConfig, loadDatabaseConfig, loadResourcesConfig, type Env } from '@totes/shared/config/index';
import { ReusableConnection } from '@totes/shared/db/connect';
import { ContractError, describeError } from '@totes/shared/errors';
import { MetricUnit, createLogger, createMetrics, flushMetrics, type Logger, type Metrics } from '@totes/shared/logging';
import { DynamoBatchStore } from '@totes/shared/state/batch-store';
import { PgSourceImages } from './source-images';
import { transformBatch, type TransformDependencies, type TransformMetrics } from './transform-batch';

/**
 * The transformer's wiring: configuration, clients and adapters built once per process (module
 * scope of handler.ts), and the SQS handler that parses each record and calls `transformBatch`.
 * Kept apart from handler.ts so tests can build a handler from a stage's own environment.
 */
export interface TransformerRuntime {
  readonly deps: TransformDependencies;
  readonly logger: Logger;
  /** Close the source connection (tests and the local runtime; Lambda just freezes it). */
  close(): Promise<void>;
}

/** CloudWatch metrics per source table (dimension `table`), as embedded metric format. */
export function powertoolsTransformMetrics(metrics: Metrics): TransformMetrics {
  return {
    batchTransformed(table, counts) {
      // Dimension, metrics and flush in one synchronous step: the local runtime runs several
      // invocations of this handler concurrently on one Metrics instance, and nothing can
      // interleave between these lines.
      // Locally flushMetrics keeps dimensions (in AWS publishing clears them): start clean.
      metrics.clearDimensions();
      metrics.addDimension('table', table);
      metrics.addMetric('RowsTransformed', MetricUnit.Count, counts.rowsTransformed);
      metrics.addMetric('QuarantinedRows', MetricUnit.Count, counts.quarantinedRows);
      metrics.addMetric('FilesWritten', MetricUnit.Count, counts.filesWritten);
      flushMetrics(metrics);
    },
  };
}

export function createTransformerRuntime(env?: Env): TransformerRuntime {
  const aws = loadAwsConfig(env);
  const resources = loadResourcesConfig(env);
  const source = loadDatabaseConfig('source', env);
  const clients = createAwsClients(aws);
  const connection = new ReusableConnection(source);
  const logger = createLogger('transformer');
  return {
    logger,
    deps: {
      objects: new S3ObjectStore(clients.s3),
      batches: new DynamoBatchStore(clients.dynamo, resources.stateTable),
      sender: new SqsMessageSender(clients.sqs, resources.queuePrefix),
      images: new PgSourceImages(connection),
      processedBucket: resources.processedBucket,
      logger,
      metrics: powertoolsTransformMetrics(createMetrics('transformer')),
      now: () => new Date(),
    },
    close: () => connection.close(),
  };
}

/** The queue a record came from must be the transform queue of the message's table. */
export function assertFromTableQueue(record: Pick<SQSRecord, 'eventSourceARN'>, table: string): void {
  const queueName = record.eventSourceARN.split(':').pop() ?? '';
  if (!queueName.endsWith(`-transform-${table}`)) {
    throw new ContractError(`A batch of ${table} arrived on ${queueName || 'an unknown queue'}, not on its transform-${table} queue.`);
  }
}

export type TransformHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;

export function createTransformHandler(runtime: Pick<TransformerRuntime, 'deps' | 'logger'>): TransformHandler {
  const { deps, logger } = runtime;
  const recordHandler = async (record: SQSRecord): Promise<void> => {
    let message;
    try {
      message = parseMessage('batch-extracted', record.body);
      assertFromTableQueue(record, message.table);
      await transformBatch(message, deps);
    } catch (err) {
      logger.error('Batch not transformed; its message goes back to the queue and, after its retries, to the DLQ', {
        table: message?.table,
        batchId: message?.batchId,
        messageId: record.messageId,
        error: describeError(err),
      });
      throw err;
    }
  };
  // A processor per invocation (it keeps the batch's state), records one after the other: memory
  // stays bounded by one batch, and the source connection serves one snapshot at a time.
  return (event, context) => processPartialResponse(event, recordHandler, new BatchProcessor(EventType.SQS), { context, processInParallel: false });
}
