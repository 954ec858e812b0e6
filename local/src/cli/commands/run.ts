import { formatDuration, formatTable, type Output } from '../output';
import { openSession, stopRequested, type StackOptions } from '../session';
import { prepareSource, type SeedOptions } from '../source';
import { LocalPipeline } from '../../runtime/pipeline';
import { batchItems, queueDepths, summariseBatches, warehouseCounts, type QueueDepthStatus } from '../../runtime/status';
import { EXIT } from '../exit-codes';
import { SOURCE_TABLE_NAMES, type SourceTableName } from '@totes/shared/source/tables';
import { DynamoWatermarkStore } from '@totes/shared/state/watermark-store';

/** Scheduler ticks a pass may take to finish paused or interrupted detections. */
const MAX_ROUNDS = 5;

/**
 * `totes run --once`: one complete pass. The scheduler ticks once (every source table is
 * detected), then every queue is processed until it is drained. Prints what the warehouse holds
 * and what changed, and exits 0 when all is well, 2 if a message ended in a DLQ, 3 if rows were
 * quarantined.
 */
export async function runOnce(options: StackOptions & SeedOptions, out: Output): Promise<number> {
  const started = Date.now();
  out.info(`Starting the local stack in ${options.stateDir}…`);
  const session = await openSession(options, out);
  const stop = stopRequested(out);
  let pipeline: LocalPipeline | undefined;
  try {
    const { stack } = session;
    const migrated = await session.migrate();
    out.info(migrated.applied.length > 0 ? `Warehouse schema created (${migrated.applied.length} migrations).` : 'Warehouse schema is up to date.');
    await prepareSource(session, options, out);

    const before = new Map((await warehouseCounts(stack.warehouse.config)).map((c) => [c.table, c.rows]));
    const dlqBefore = new Map((await queueDepths(stack.clients.sqs, stack.resources.queues)).map((q) => [q.logicalName, q.dlq]));
    const passStartedAt = new Date().toISOString();
    let invocations = 0;
    let failedInvocations = 0;
    pipeline = new LocalPipeline(stack, {
      onInvocation: (r) => {
        invocations++;
        if (r.error || r.failed > 0) failedInvocations++;
      },
    });
    pipeline.start();
    out.info('Detecting changes in every source table…');
    const progress = (depths: QueueDepthStatus[]) => {
      const waiting = depths.reduce((n, d) => n + d.waiting + d.inFlight, 0);
      const dlq = depths.reduce((n, d) => n + d.dlq, 0);
      out.live([`  ${invocations} invocations · ${waiting} message(s) waiting or in flight · ${dlq} in DLQs · ${formatDuration(Date.now() - started)}`]);
    };
    const watermarks = new DynamoWatermarkStore(stack.clients.dynamo, stack.resources.stateTable);
    let drained: Awaited<ReturnType<LocalPipeline['waitUntilDrained']>> | undefined;
    // A detection may pause between pages (its invocation running out of time) or have been cut
    // short; the pass is complete only when no table has a detection pass left in progress.
    for (let round = 1; ; round++) {
      await pipeline.tick();
      drained = await Promise.race([pipeline.waitUntilDrained(progress), stop.promise.then(() => undefined)]);
      if (!drained) break;
      const unfinished = (await Promise.all(SOURCE_TABLE_NAMES.map(async (t) => ((await watermarks.get(t)).current ? t : undefined)))).filter(
        (t): t is SourceTableName => t !== undefined,
      );
      if (unfinished.length === 0) break;
      if (round >= MAX_ROUNDS) {
        out.endLive();
        out.error(`totes: the detection of ${unfinished.join(', ')} did not finish in ${MAX_ROUNDS} rounds; see ${session.logFile}. The next run continues it.`);
        return EXIT.error;
      }
      out.info(`Continuing the detection of ${unfinished.join(', ')}…`);
    }
    out.endLive();
    await pipeline.stop();
    pipeline = undefined;
    if (!drained) {
      out.info('Stopped before the pass finished; the next run continues where this one stopped.');
      return EXIT.error;
    }

    const after = await warehouseCounts(stack.warehouse.config);
    out.info('');
    for (const line of formatTable(['warehouse table', 'rows now', 'rows added'], after.map((c) => [c.table, c.rows, c.rows - (before.get(c.table) ?? 0)]))) {
      out.info(line);
    }

    const batches = await batchItems(stack.clients.dynamo, stack.resources.stateTable);
    const progressByTable = summariseBatches(batches.filter((b) => (b.extractedAt ?? '') >= passStartedAt)).filter((t) => t.batches > 0);
    // Quarantines of every batch transformed in this run, including batches extracted by an earlier,
    // interrupted run and finished now.
    const transformedNow = summariseBatches(batches.filter((b) => (b.transformedAt ?? '') >= passStartedAt)).filter((t) => t.quarantined > 0);
    const quarantined = transformedNow.reduce((n, t) => n + t.quarantined, 0);
    const stopped = (await Promise.all(SOURCE_TABLE_NAMES.map(async (t) => ({ table: t, error: (await watermarks.get(t)).error })))).filter((w) => w.error);
    const newDlq = drained.filter((d) => d.dlq > (dlqBefore.get(d.logicalName) ?? 0));
    out.info('');
    out.info(
      `Pass finished in ${formatDuration(Date.now() - started)}: ${progressByTable.reduce((n, t) => n + t.batches, 0)} batch(es), ` +
        `${progressByTable.reduce((n, t) => n + t.rowsExtracted, 0).toLocaleString('en-GB')} source row(s) extracted, ${invocations} invocation(s).`,
    );
    if (quarantined > 0) {
      out.info(`${quarantined} row(s) were quarantined: ${transformedNow.map((t) => `${t.table} ${t.quarantined}`).join(', ')}.`);
      out.info(`  They are kept with their reasons under s3://${stack.resources.processedBucket}/quarantine/; fix them in the source and they load on the next pass.`);
    }
    for (const { table, error } of stopped) {
      out.error(`totes: the detection of ${table} is stopped: ${error?.message ?? 'see the log'} It resumes by itself once the source is fixed.`);
    }
    if (stopped.length > 0) return EXIT.error;
    if (newDlq.length > 0) {
      out.info(`Messages ended in a dead-letter queue: ${newDlq.map((d) => `${d.logicalName} (${d.dlq})`).join(', ')}.`);
      out.info(`  Inspect them with \`totes dlq show <queue>\`, fix the cause, then \`totes redrive <queue>\`. Handler logs: ${session.logFile}`);
      return EXIT.dlq;
    }
    if (quarantined > 0) return EXIT.quarantined;
    if (failedInvocations > 0) out.info(`${failedInvocations} invocation(s) failed and succeeded on retry; see ${session.logFile}.`);
    return EXIT.ok;
  } finally {
    stop.dispose();
    await pipeline?.stop();
    await session.close();
  }
}
