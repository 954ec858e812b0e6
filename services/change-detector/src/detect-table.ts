import { describeError, SourceSchemaError } from '@totes/shared/errors';
import type { SourcePass } from '@totes/shared/source/change-reader';
import type { SourceTableName } from '@totes/shared/source/tables';
import type { Lease } from '@totes/shared/state/lease-store';
import { DetectionPass, loadDoneMembers, RAW_LAYOUT, type PassOutcome } from './detection-pass';
import { SourceReplacedError } from './errors';
import type { DetectionPorts, DetectionSettings } from './ports';

/**
 * One detection of one source table, as a detect-table message asks: take the table's lease, run
 * (or resume) a detection pass, give the lease back.
 *
 * Outcomes that are not failures of the message:
 * - another live detection holds the lease: this one is skipped (logged and counted); the holder
 *   is doing the work, and the next scheduled message will find the table free;
 * - the source table no longer matches the contract (missing table or column, changed type), or the
 *   source was restored or replaced (its transaction ids went back): the detection stops with an
 *   error naming table (and column), recorded on the table's watermark (where `totes status` shows
 *   it) and counted in DetectionErrors (which raises the alarm), and the message succeeds: retrying
 *   cannot fix either, and a message in the DLQ would only repeat what the alarm says. Every
 *   scheduled detection checks again, so fixing the source resumes the table.
 * Anything else (the source unreachable, S3 or SQS failing, a state conflict) fails the message,
 * which SQS retries and finally moves to the DLQ.
 *
 * `DetectionPasses` (1) is counted for every detection that ends completed, idle or paused, and for
 * nothing else: the per-table freshness alarm fires when it stays absent.
 */
export type DetectionOutcome =
  | PassOutcome
  | { readonly status: 'skipped'; readonly holder: string | undefined }
  | { readonly status: 'schema-error'; readonly message: string; readonly column: string | undefined };

export async function detectTable(ports: DetectionPorts, settings: DetectionSettings, table: SourceTableName): Promise<DetectionOutcome> {
  const leaseMs = settings.leaseSeconds * 1000;
  const attempt = await ports.leases.acquire(table, settings.owner, leaseMs);
  if (!attempt.acquired) {
    ports.metrics.count('DetectionsSkipped', 1);
    ports.log.info('detection skipped: another detection of this table holds its lease', {
      table,
      skipped: 1,
      holder: attempt.holder?.owner,
      holderExpiresAt: attempt.holder ? new Date(attempt.holder.expiresAt).toISOString() : undefined,
    });
    return { status: 'skipped', holder: attempt.holder?.owner };
  }
  let lease: Lease = attempt.lease;
  const now = () => (ports.now ? ports.now() : new Date()).getTime();
  let renewedAt = now();
  const keepLease = async () => {
    // Renew a third of the way through, so a long pass never outlives its lease.
    if (now() - renewedAt < leaseMs / 3) return;
    lease = await ports.leases.renew(lease, leaseMs);
    renewedAt = now();
  };
  try {
    const outcome = await detectUnderLease(ports, settings, table, keepLease);
    // The freshness alarm's heartbeat (docs/deploy.md, "Freshness"): counted only here, after a
    // detection that ran to its end, so that a table that fails, stops (schema) or never runs stays
    // silent and its alarm fires. A paused pass counts too: it pauses only after writing a page in
    // this invocation (see DetectionPass.run), so it made progress, and a long first extraction
    // spanning many invocations is not a stuck table.
    ports.metrics.count('DetectionPasses', 1);
    return outcome;
  } catch (err) {
    ports.metrics.count('DetectionErrors', 1);
    if (err instanceof SourceSchemaError || err instanceof SourceReplacedError) {
      const column = err instanceof SourceSchemaError ? err.column : undefined;
      ports.log.error('detection stopped: the source needs a person', { table, column, reason: err.message });
      await recordSourceProblem(ports, table, err.message, column);
      return { status: 'schema-error', message: err.message, column };
    }
    ports.log.error('detection failed', { table, reason: describeError(err) });
    throw err;
  } finally {
    await ports.leases.release(lease).catch((err: unknown) => ports.log.warn('could not release the lease', { table, reason: describeError(err) }));
  }
}

async function detectUnderLease(
  ports: DetectionPorts,
  settings: DetectionSettings,
  table: SourceTableName,
  keepLease: () => Promise<void>,
): Promise<PassOutcome> {
  const pass = new DetectionPass({ table, ports, settings, keepLease }, await ports.watermarks.get(table));
  await pass.recoverRecordedPages();
  const source = await ports.source.open(table, { layout: RAW_LAYOUT });
  try {
    await reportExtraColumns(ports, pass, source);
    const doneMembers = await loadDoneMembers(pass.state, ports);
    return await pass.run(source, doneMembers);
  } finally {
    await source.close();
  }
}

/** Extra source columns are carried (as text) and reported once per table and set of columns. */
async function reportExtraColumns(ports: DetectionPorts, pass: DetectionPass, source: SourcePass): Promise<void> {
  const now = [...source.extraColumns].sort();
  const before = [...(pass.state.extraColumns ?? [])].sort();
  if (now.join('\u0000') === before.join('\u0000')) return;
  if (now.length > 0) {
    ports.metrics.count('ExtraColumns', now.length);
    ports.log.warn('the source table has columns the contract does not know; they are carried into the raw zone as text', {
      table: source.table,
      extraColumns: now,
    });
  } else {
    ports.log.info('the source table no longer has extra columns', { table: source.table, previously: before });
  }
  await pass.saveExtraColumns(now);
}

async function recordSourceProblem(ports: DetectionPorts, table: SourceTableName, message: string, column: string | undefined): Promise<void> {
  try {
    const watermark = await ports.watermarks.get(table);
    if (watermark.error?.message === message) return;
    await ports.watermarks.save(
      { ...watermark, error: { message, ...(column ? { column } : {}), at: (ports.now ? ports.now() : new Date()).toISOString() } },
      watermark.version,
      'record-error',
    );
  } catch (saveErr) {
    ports.log.warn('could not record the schema error on the watermark', { table, reason: describeError(saveErr) });
  }
}
