import { describeError } from '@totes/shared/errors';
import { topology } from '@totes/shared/topology';
import { LocalPipeline } from '../../runtime/pipeline';
import { cachedBatchItems, gatherStatus } from '../../runtime/status';
import { formatDuration, type Output } from '../output';
import { openSession, stopRequested, type StackOptions } from '../session';
import { prepareSource, simulate, type SeedOptions } from '../source';
import { renderStatus } from './ops';

/**
 * `totes up` (`npm start`): the whole pipeline on this machine, running until Ctrl-C: the stack,
 * a seeded source, the scheduler ticking the change-detector, every queue consumed, and a live
 * status on the terminal.
 */
export interface UpOptions extends StackOptions, SeedOptions {
  /** Seconds between scheduler ticks. */
  readonly interval: number;
  /** Changes per second made by the change simulator in an embedded source (0: none). */
  readonly rate: number;
}

export async function up(options: UpOptions, out: Output): Promise<number> {
  const started = Date.now();
  out.info(`Starting the local stack in ${options.stateDir}…`);
  const session = await openSession(options, out);
  const stop = stopRequested(out);
  const problems: string[] = [];
  let invocations = 0;
  const pipeline = new LocalPipeline(session.stack, {
    onInvocation: (r) => {
      invocations++;
      if (r.error || r.failed > 0) {
        problems.push(`${new Date().toISOString().slice(11, 19)} ${r.functionName}: ${r.error ?? `${r.failed} of ${r.messages} message(s) failed`}`);
        problems.splice(0, Math.max(0, problems.length - 5));
      }
    },
    onScheduleError: (message) => problems.push(`${new Date().toISOString().slice(11, 19)} schedule: ${message}`),
  });
  let refresh: NodeJS.Timeout | undefined;
  let simulator: ReturnType<typeof simulate> | undefined;
  try {
    const migrated = await session.migrate();
    out.info(migrated.applied.length > 0 ? `Warehouse schema created (${migrated.applied.length} migrations).` : 'Warehouse schema is up to date.');
    await prepareSource(session, options, out);
    const { stack } = session;
    out.info(`Source:    ${redact(stack.source.url)}${stack.source.embedded ? ' (embedded)' : ''}`);
    out.info(`Warehouse: ${redact(stack.warehouse.url)}${stack.warehouse.embedded ? ' (embedded)' : ''}`);
    out.info(`SQS/S3 ${stack.awsEndpoint} · DynamoDB ${stack.dynamodbEndpoint} · handler logs ${session.logFile}`);
    if (stack.source.embedded && options.rate > 0) {
      simulator = simulate(session, options.rate, (options.seed ?? 42) + Date.now(), out);
      out.info(`Change simulator: ${options.rate} change(s) per second in the source (--rate 0 turns it off).`);
    }
    out.info(`Detecting changes every ${options.interval} s. Ctrl-C stops everything cleanly.`);
    out.info('');
    pipeline.start(options.interval);
    let drawing = false;
    const readBatches = cachedBatchItems(10_000);
    const draw = async () => {
      if (drawing) return;
      drawing = true;
      try {
        const snapshot = await gatherStatus({
          ...stack.clients,
          stateTable: stack.resources.stateTable,
          queues: stack.resources.queues,
          warehouse: stack.warehouse.config,
          source: stack.source.config,
          readBatches,
        });
        out.live([
          `totes up · running ${formatDuration(Date.now() - started)} · ${invocations} invocations${simulator ? ` · ${simulator.changes()} simulated change(s)` : ''}`,
          ...renderStatus(snapshot),
          ...(problems.length > 0 ? ['', 'recent problems (details in the handler log):', ...problems.map((p) => `  ${p}`)] : []),
        ]);
      } catch (err) {
        out.live([`status unavailable: ${describeError(err)}`]);
      } finally {
        drawing = false;
      }
    };
    refresh = setInterval(() => void draw(), 2000);
    await draw();
    await stop.promise;
    return 0;
  } finally {
    if (refresh) clearInterval(refresh);
    out.endLive();
    stop.dispose();
    await simulator?.stop();
    await pipeline.stop();
    await session.close();
    out.info('Stopped. The state is kept; `npm start` continues where this run stopped.');
  }
}

function redact(url: string): string {
  const u = new URL(url);
  if (u.password) u.password = '***';
  return u.toString();
}

export const DEFAULT_INTERVAL_SECONDS = topology.schedule.localIntervalSeconds;
