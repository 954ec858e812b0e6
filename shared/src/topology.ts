import { z } from 'zod';
import raw from '../../infra/topology.json';
import { SOURCE_TABLE_NAMES, type SourceTableName } from './source/tables';
import { WAREHOUSE_TABLE_NAMES, type WarehouseTableName } from './warehouse/tables';

/**
 * The pipeline's resources as one typed object, read from infra/topology.json: the same file the
 * serverless.yml files render CloudFormation from, so local resources and AWS resources cannot drift.
 */
const functionSchema = z.object({
  service: z.string(),
  handler: z.string(),
  timeoutSeconds: z.number().int().positive(),
  memoryMb: z.number().int().positive(),
});
const queueSchema = z.object({
  consumer: z.string(),
  perSourceTable: z.boolean().optional(),
  batchSize: z.number().int().min(1).max(10),
  maxConcurrency: z.number().int().min(2),
  maxReceiveCount: z.number().int().min(1),
});
const topologySchema = z.object({
  app: z.string(),
  sourceTables: z.array(z.string()).length(11),
  transformTargets: z.record(z.enum(SOURCE_TABLE_NAMES), z.array(z.enum(WAREHOUSE_TABLE_NAMES)).min(1)),
  buckets: z.object({ ingestion: z.object({ purpose: z.string() }), processed: z.object({ purpose: z.string() }) }),
  stateTable: z.object({ name: z.string(), partitionKey: z.string() }),
  schedule: z.object({ rate: z.string(), localIntervalSeconds: z.number().positive() }),
  functions: z.record(z.string(), functionSchema),
  queues: z.record(z.string(), queueSchema),
  local: z.object({
    functionTimeoutSeconds: z.number().positive(),
    retryDelaySeconds: z.number().nonnegative(),
    pollWaitMilliseconds: z.number().nonnegative(),
  }),
});

export const topology = topologySchema.parse(raw);
export type Topology = typeof topology;
export type FunctionName = 'schedule' | 'detect' | 'transform' | 'load';
export type BucketRole = keyof Topology['buckets'];

/**
 * The warehouse tables each source table's batches feed, in the order the transformer sends their
 * load messages: what the transformer derives, and what each transform function's role may write.
 */
export const TRANSFORM_TARGETS: Readonly<Record<SourceTableName, readonly WarehouseTableName[]>> = topology.transformTargets;

/** SQS visibility timeout for a queue consumed by `fn`: AWS recommends at least 6x the function timeout. */
export function visibilityTimeoutSeconds(fn: FunctionName): number {
  return 6 * functionSpec(fn).timeoutSeconds;
}

export function functionSpec(fn: FunctionName): z.infer<typeof functionSchema> {
  const spec = topology.functions[fn];
  if (!spec) throw new Error(`infra/topology.json has no function named ${fn}`);
  return spec;
}

/** Every resource name starts with the app and stage, so stages share an account without clashing. */
export function resourcePrefix(stage: string): string {
  return `${topology.app}-${stage}`;
}

export interface QueueDefinition {
  /** Logical name: 'detect', 'load' or 'transform-<table>'. */
  readonly logicalName: string;
  readonly name: string;
  readonly dlqName: string;
  readonly consumer: FunctionName;
  readonly sourceTable?: string;
  readonly batchSize: number;
  readonly maxConcurrency: number;
  readonly maxReceiveCount: number;
  readonly visibilityTimeoutSeconds: number;
}

/** All work queues of a stage, each with its DLQ, in a stable order. */
export function queueDefinitions(stage: string): QueueDefinition[] {
  const prefix = resourcePrefix(stage);
  const out: QueueDefinition[] = [];
  for (const [key, q] of Object.entries(topology.queues)) {
    const consumer = q.consumer as FunctionName;
    const logicalNames = q.perSourceTable ? topology.sourceTables.map((t) => `${key}-${t}`) : [key];
    logicalNames.forEach((logicalName, i) => {
      out.push({
        logicalName,
        name: `${prefix}-${logicalName}`,
        dlqName: `${prefix}-${logicalName}-dlq`,
        consumer,
        ...(q.perSourceTable ? { sourceTable: topology.sourceTables[i] } : {}),
        batchSize: q.batchSize,
        maxConcurrency: q.maxConcurrency,
        maxReceiveCount: q.maxReceiveCount,
        visibilityTimeoutSeconds: visibilityTimeoutSeconds(consumer),
      });
    });
  }
  return out;
}

export function transformQueueName(stage: string, table: string): string {
  return `${resourcePrefix(stage)}-transform-${table}`;
}

export function bucketName(stage: string, role: BucketRole, suffix = ''): string {
  return `${resourcePrefix(stage)}-${role}${suffix}`;
}

export function stateTableName(stage: string): string {
  return `${resourcePrefix(stage)}-${topology.stateTable.name}`;
}
