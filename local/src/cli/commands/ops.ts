import { GetQueueAttributesCommand, GetQueueUrlCommand, ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { createAwsClients, type AwsClients } from '@totes/shared/aws/clients';
import { redriveDlq } from '@totes/shared/aws/redrive';
import { TotesError } from '@totes/shared/errors';
import { queueDefinitions, stateTableName } from '@totes/shared/topology';
import { createStageResources } from '../../stack/resources';
import { LOCAL_REGION, LOCAL_STAGE, databaseEndpoint, isStateDirectory, runningStack } from '../../stack/stack';
import { loadDatabaseConfig, type DatabaseConfig } from '@totes/shared/config/index';
import { gatherStatus, type StatusSnapshot } from '../../runtime/status';
import { formatTable, type Output } from '../output';
import { openSession, type StackOptions } from '../session';

/**
 * Operating the pipeline: status, dead-letter queues and redrive. The same commands work on the
 * local stack (attached if `totes up` is running on the state directory, else started briefly)
 * and on a deployed stage (`--stage dev`, with the usual AWS credentials).
 */
export interface OpsQueue {
  readonly logicalName: string;
  readonly url: string;
  readonly arn: string;
  readonly dlqUrl: string;
  readonly dlqArn: string;
}

export interface OpsTarget {
  readonly description: string;
  readonly clients: AwsClients;
  readonly stateTable: string;
  readonly queues: readonly OpsQueue[];
  readonly warehouse: DatabaseConfig | undefined;
  readonly source?: DatabaseConfig | undefined;
  close(): Promise<void>;
}

export interface TargetOptions extends StackOptions {
  /** A deployed stage; when absent (or 'local') the local stack is used. */
  readonly stage?: string;
  readonly region?: string;
}

export async function openTarget(options: TargetOptions, out: Output): Promise<OpsTarget> {
  if (options.stage && options.stage !== LOCAL_STAGE) return remoteTarget(options.stage, options.region ?? LOCAL_REGION, options.warehouseUrl);
  const running = runningStack(options.stateDir);
  if (running) {
    const clients = createAwsClients({
      stage: LOCAL_STAGE,
      region: LOCAL_REGION,
      endpoints: { sqs: running.awsEndpoint, s3: running.awsEndpoint, dynamodb: running.dynamodbEndpoint },
    });
    const resources = await createStageResources(clients, LOCAL_STAGE);
    return {
      description: `the local pipeline running in ${options.stateDir} (pid ${running.pid})`,
      clients,
      stateTable: resources.stateTable,
      queues: resources.queues,
      warehouse: loadDatabaseConfig('warehouse', running.env),
      source: loadDatabaseConfig('source', running.env),
      close: async () => undefined,
    };
  }
  if (!isStateDirectory(options.stateDir)) {
    throw new TotesError(
      `There is no totes state in ${options.stateDir}: run \`totes run --once\` or \`npm start\` first, or point --state-dir at the directory they used.`,
    );
  }
  const session = await openSession({ stateDir: options.stateDir, ...(options.warehouseUrl ? { warehouseUrl: options.warehouseUrl } : {}) }, out);
  return {
    description: `the local state in ${options.stateDir}`,
    clients: session.stack.clients,
    stateTable: session.stack.resources.stateTable,
    queues: session.stack.resources.queues,
    warehouse: session.stack.warehouse.config,
    source: session.stack.source.config,
    close: () => session.close(),
  };
}

async function remoteTarget(stage: string, region: string, warehouseUrl: string | undefined): Promise<OpsTarget> {
  const clients = createAwsClients({ stage, region, endpoints: {} });
  const arnOf = async (sqs: SQSClient, url: string) =>
    (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }))).Attributes?.QueueArn ?? '';
  const urlOf = async (name: string) => {
    try {
      return (await clients.sqs.send(new GetQueueUrlCommand({ QueueName: name }))).QueueUrl ?? '';
    } catch (err) {
      throw new TotesError(`The queue ${name} was not found in ${region}: is stage ${stage} deployed there, and are your AWS credentials for that account?`, { cause: err });
    }
  };
  const queues = await Promise.all(
    queueDefinitions(stage).map(async (q) => {
      const [url, dlqUrl] = await Promise.all([urlOf(q.name), urlOf(q.dlqName)]);
      const [arn, dlqArn] = await Promise.all([arnOf(clients.sqs, url), arnOf(clients.sqs, dlqUrl)]);
      return { logicalName: q.logicalName, url, arn, dlqUrl, dlqArn };
    }),
  );
  return {
    description: `stage ${stage} in ${region}`,
    clients,
    stateTable: stateTableName(stage),
    queues,
    warehouse: warehouseUrl ? databaseEndpoint('warehouse', warehouseUrl, false).config : undefined,
    close: async () => undefined,
  };
}

export function renderStatus(s: StatusSnapshot): string[] {
  const ago = (iso: string | undefined) => {
    if (!iso) return '—';
    const seconds = Math.max(0, Math.round((s.at.getTime() - Date.parse(iso)) / 1000));
    return seconds < 120 ? `${seconds} s ago` : seconds < 7200 ? `${Math.round(seconds / 60)} min ago` : `${Math.round(seconds / 3600)} h ago`;
  };
  // How long the oldest change not yet extracted has waited; '—' when the source is not reachable.
  const behind = (seconds: number | undefined) =>
    seconds === undefined ? '—' : seconds < 1 ? 'caught up' : seconds < 120 ? `${Math.round(seconds)} s` : seconds < 7200 ? `${Math.round(seconds / 60)} min` : `${Math.round(seconds / 3600)} h`;
  const queue = new Map(s.queues.map((q) => [q.logicalName, q]));
  const lines = formatTable(
    ['source table', 'batches', 'rows', 'loaded', 'pending', 'late', 'quarantined', 'queue', 'dlq', 'behind', 'last batch', 'up to', 'problem'],
    s.tables.map((t) => {
      const q = queue.get(`transform-${t.table}`);
      return [
        t.table,
        t.batches,
        t.rowsExtracted,
        t.loaded,
        t.pending,
        t.lateRows,
        t.quarantined,
        (q?.waiting ?? 0) + (q?.inFlight ?? 0),
        q?.dlq ?? 0,
        behind(t.behindSeconds),
        ago(t.lastExtractedAt),
        t.extractedUpTo?.replace('T', ' ').slice(0, 19) ?? '—',
        t.error ?? '',
      ];
    }),
  );
  const detect = queue.get('detect');
  const load = queue.get('load');
  lines.push('');
  lines.push(
    `detect queue ${(detect?.waiting ?? 0) + (detect?.inFlight ?? 0)} (dlq ${detect?.dlq ?? 0}) · load queue ${(load?.waiting ?? 0) + (load?.inFlight ?? 0)} (dlq ${load?.dlq ?? 0})`,
  );
  if (s.warehouse.length > 0) lines.push(`warehouse: ${s.warehouse.map((w) => `${w.table} ${w.rows.toLocaleString('en-GB')}`).join(' · ')}`);
  return lines;
}

export async function statusCommand(options: TargetOptions, out: Output): Promise<number> {
  const target = await openTarget(options, out);
  try {
    const snapshot = await gatherStatus({
      ...target.clients,
      stateTable: target.stateTable,
      queues: target.queues,
      warehouse: target.warehouse,
      source: target.source,
    });
    out.info(`Status of ${target.description}:`);
    for (const line of renderStatus(snapshot)) out.info(line);
    return 0;
  } finally {
    await target.close();
  }
}

function findQueue(target: OpsTarget, name: string): OpsQueue {
  const wanted = name.replace(/-dlq$/, '');
  const found = target.queues.find((q) => q.logicalName === wanted || q.logicalName === `transform-${wanted}` || q.url.endsWith(`/${wanted}`));
  if (!found) throw new TotesError(`There is no queue called ${name}; the queues are: ${target.queues.map((q) => q.logicalName).join(', ')}.`);
  return found;
}

export async function dlqListCommand(options: TargetOptions, out: Output): Promise<number> {
  const target = await openTarget(options, out);
  try {
    const depths = await Promise.all(
      target.queues.map(async (q) => {
        const a = await target.clients.sqs.send(
          new GetQueueAttributesCommand({ QueueUrl: q.dlqUrl, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }),
        );
        return [q.logicalName, Number(a.Attributes?.ApproximateNumberOfMessages ?? 0) + Number(a.Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0)] as const;
      }),
    );
    out.info(`Dead-letter queues of ${target.description}:`);
    for (const line of formatTable(['queue', 'messages in its DLQ'], depths.map(([n, d]) => [n, d]))) out.info(line);
    const total = depths.reduce((n, [, d]) => n + d, 0);
    if (total > 0) out.info('Show one with `totes dlq show <queue>`; move them back with `totes redrive <queue>` once the cause is fixed.');
    return total > 0 ? 2 : 0;
  } finally {
    await target.close();
  }
}

export async function dlqShowCommand(queueName: string, limit: number, options: TargetOptions, out: Output): Promise<number> {
  const target = await openTarget(options, out);
  try {
    const q = findQueue(target, queueName);
    // Visibility timeout 0: the messages stay where they are for the next reader.
    const got = await target.clients.sqs.send(
      new ReceiveMessageCommand({ QueueUrl: q.dlqUrl, MaxNumberOfMessages: Math.min(10, limit), VisibilityTimeout: 0, MessageSystemAttributeNames: ['All'] }),
    );
    const messages = got.Messages ?? [];
    out.info(`${messages.length === 0 ? 'No' : messages.length} message(s) in the DLQ of ${q.logicalName}${messages.length ? ':' : '.'}`);
    for (const m of messages) {
      out.info(`- ${m.MessageId} (sent ${new Date(Number(m.Attributes?.SentTimestamp ?? 0)).toISOString()})`);
      out.info(`  ${m.Body ?? ''}`);
    }
    return 0;
  } finally {
    await target.close();
  }
}

export async function redriveCommand(queueName: string, options: TargetOptions, out: Output): Promise<number> {
  const target = await openTarget(options, out);
  try {
    const selected = queueName === 'all' ? target.queues : [findQueue(target, queueName)];
    let total = 0;
    for (const q of selected) {
      const result = await redriveDlq(
        target.clients.sqs,
        { dlqUrl: q.dlqUrl, dlqArn: q.dlqArn, queueUrl: q.url, queueArn: q.arn },
        { onProgress: (moved) => out.live([`  ${q.logicalName}: ${moved} moved…`]) },
      );
      out.endLive();
      if (result.moved > 0 || queueName !== 'all') out.info(`${q.logicalName}: moved ${result.moved} message(s) back from its DLQ (${result.method}).`);
      total += result.moved;
    }
    if (queueName === 'all') out.info(`Moved ${total} message(s) in all.`);
    return 0;
  } finally {
    await target.close();
  }
}
