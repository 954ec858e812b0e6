import path from 'node:path';
import type { ScheduledEvent, Context } from 'aws-lambda';
import { TotesError } from '@totes/shared/errors';
import { functionSpec, topology, type FunctionName } from '@totes/shared/topology';
import type { StageResources } from '../stack/resources';
import type { QueueBinding, SqsHandler } from './event-source-mapping';

/**
 * Binds the services' own handler modules to their queues, as serverless.yml does in AWS:
 * infra/topology.json names each function's service and `file.export` handler. Modules are required
 * here, after the caller has set the TOTES_* environment they read their configuration from.
 */
export type ScheduleHandler = (event: ScheduledEvent, context: Context) => Promise<unknown>;

const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');

function loadHandler<T>(fn: FunctionName): T {
  const spec = functionSpec(fn);
  const dot = spec.handler.lastIndexOf('.');
  const file = path.join(REPO_ROOT, 'services', spec.service, `${spec.handler.slice(0, dot)}.ts`);
  const exportName = spec.handler.slice(dot + 1);
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- handler modules are chosen by the topology at run time
  const mod = require(file) as Record<string, unknown>;
  const handler = mod[exportName];
  if (typeof handler !== 'function') throw new TotesError(`${file} does not export a handler named ${exportName}.`);
  return handler as T;
}

export interface LocalFunctions {
  readonly schedule: ScheduleHandler;
  readonly bindings: readonly QueueBinding[];
}

export function loadFunctions(resources: StageResources): LocalFunctions {
  const handlers = new Map<FunctionName, SqsHandler>();
  const bindings = resources.queues.map((q): QueueBinding => {
    let handler = handlers.get(q.consumer);
    if (!handler) {
      handler = loadHandler<SqsHandler>(q.consumer);
      handlers.set(q.consumer, handler);
    }
    return {
      functionName: q.sourceTable ? `${q.consumer}-${q.sourceTable}` : q.consumer,
      queueName: q.name,
      queueUrl: q.url,
      queueArn: q.arn,
      batchSize: q.batchSize,
      maxConcurrency: q.maxConcurrency,
      handler,
    };
  });
  return { schedule: loadHandler<ScheduleHandler>('schedule'), bindings };
}

/** The event EventBridge delivers for a scheduled rule. */
export function scheduledEvent(region: string, stage: string): ScheduledEvent {
  return {
    version: '0',
    id: crypto.randomUUID(),
    'detail-type': 'Scheduled Event',
    source: 'aws.events',
    account: '000000000000',
    time: new Date().toISOString(),
    region,
    resources: [`arn:aws:events:${region}:000000000000:rule/${topology.app}-${stage}-schedule`],
    detail: {},
  };
}
