import type { LoadRequestedV1 } from '@totes/events';
import type { ObjectStore } from '@totes/shared/aws/objects';
import { LoadFileError, TotesError, describeError } from '@totes/shared/errors';
import { MetricUnit, type Logger, type Metrics } from '@totes/shared/logging';
import type { BatchStore, LoadCounts } from '@totes/shared/state/batch-store';
import { WAREHOUSE_TABLES, type DimensionTable, type FactTable, type WarehouseTable } from '@totes/shared/warehouse/tables';
import {
  FIND_LOADED_FILE_SQL,
  LOCK_NAMESPACE,
  LOCK_TABLES_SQL,
  RECORD_LOADED_FILE_SQL,
  appendFactsSql,
  extendDimDateSql,
  inferMembersSql,
  lockReferencedSql,
  mergeDimensionSql,
  referencedDimensions,
  tableLockKey,
  tablesTouched,
} from './merge-sql';
import { openParquet } from './parquet-file';
import { stageFile } from './stage-file';
import { stagingColumns } from './staging-columns';
import { DEFAULT_RETRY_POLICY, inRetriedTransaction, type RetryPolicy } from './transaction';
import type { LoaderSession, Warehouse } from './warehouse-session';

/**
 * Loads one processed file into the warehouse, exactly once in effect:
 *  1. a file already recorded in pipeline.loaded_file is a no-op (a redelivery or duplicate);
 *  2. the Parquet file is read exactly and checked against its table's catalogue;
 *  3. its rows are COPYed into a temporary staging table;
 *  4. in ONE transaction, after advisory locks on every table it touches (in catalogue order, so
 *     concurrent loads never deadlock): dimensions are upserted where the file's version is newer;
 *     facts extend dim_date, get inferred members for dimension keys not loaded yet, and append
 *     every version not present; and the file is recorded in pipeline.loaded_file;
 *  5. after COMMIT, the batch's DynamoDB record counts the file (idempotent).
 * A serialization failure or deadlock retries the transaction; any other database error discards
 * the connection and fails the message (SQS retries it, then the DLQ holds it).
 */
export interface LoaderDependencies {
  readonly objects: Pick<ObjectStore, 'get'>;
  readonly batches: Pick<BatchStore, 'recordLoaded'>;
  readonly warehouse: Warehouse;
  readonly logger: Logger;
  readonly metrics: Pick<Metrics, 'addMetric' | 'addDimension'>;
  readonly retry?: RetryPolicy;
  readonly sleep?: (ms: number) => Promise<void>;
}

export interface LoadResult {
  readonly outcome: 'loaded' | 'already-loaded';
  readonly counts: LoadCounts;
  /** Rows in the file. */
  readonly rows: number;
  /** Placeholder dimension rows created for keys the facts reference (fact files only). */
  readonly inferredMembers: number;
  /** Dates added to dim_date (fact files only). */
  readonly datesAdded: number;
  /** Transactions retried after a serialization failure or deadlock. */
  readonly retries: number;
}

interface MergeOutcome {
  readonly alreadyLoaded?: LoadCounts;
  readonly counts: LoadCounts;
  readonly inferredMembers: number;
  readonly datesAdded: number;
}

export async function loadFile(message: LoadRequestedV1, deps: LoaderDependencies): Promise<LoadResult> {
  const table = WAREHOUSE_TABLES[message.targetTable];
  const context = { table: table.name, batchId: message.batchId, fileId: message.fileId };
  deps.metrics.addDimension('table', table.name);

  const session = await onConnection(deps, () => deps.warehouse.session());
  const recorded = await onConnection(deps, () => findLoadedFile(session, message.fileId));
  if (recorded) return alreadyLoaded(message, recorded, 0, deps, context);

  const label = `s3://${message.object.bucket}/${message.object.key} (${table.name})`;
  const bytes = await deps.objects.get(message.object.bucket, message.object.key);
  const contents = openParquet(bytes, stagingColumns(table), label);
  if (contents.rows !== message.object.rows) {
    throw new LoadFileError(`${label} holds ${contents.rows} rows but its load message says ${message.object.rows}.`);
  }

  let retries = 0;
  const merged = await onConnection(deps, async () => {
    const staged = await stageFile(session, table, contents);
    return inRetriedTransaction(session.client, () => merge(session, table, message, staged), {
      policy: deps.retry ?? DEFAULT_RETRY_POLICY,
      ...(deps.sleep ? { sleep: deps.sleep } : {}),
      onRetry: (attempt, err) => {
        retries++;
        deps.metrics.addMetric('LoadRetries', MetricUnit.Count, 1);
        deps.logger.warn('load transaction retried', { ...context, attempt, reason: describeError(err) });
      },
    });
  });
  if (merged.alreadyLoaded) return alreadyLoaded(message, merged.alreadyLoaded, retries, deps, context);

  await deps.batches.recordLoaded(message.batchId, table.name, merged.counts, message.filesInBatch);
  deps.metrics.addMetric('FilesLoaded', MetricUnit.Count, 1);
  deps.metrics.addMetric('RowsLoaded', MetricUnit.Count, merged.counts.inserted);
  deps.metrics.addMetric('RowsUpdated', MetricUnit.Count, merged.counts.updated);
  deps.metrics.addMetric('RowsSkipped', MetricUnit.Count, merged.counts.skipped);
  if (merged.inferredMembers > 0) deps.metrics.addMetric('InferredMembers', MetricUnit.Count, merged.inferredMembers);
  deps.logger.info('file loaded', {
    ...context,
    rows: contents.rows,
    ...merged.counts,
    inferredMembers: merged.inferredMembers,
    datesAdded: merged.datesAdded,
    retries,
  });
  return { outcome: 'loaded', counts: merged.counts, rows: contents.rows, inferredMembers: merged.inferredMembers, datesAdded: merged.datesAdded, retries };
}

/**
 * Database work on the session's connection. Any failure may have left the connection mid-COPY,
 * mid-transaction or lost: it is discarded (the next load opens a new one) and the error thrown,
 * so the message fails and is retried. Nothing is half-committed: the transaction never committed.
 */
async function onConnection<T>(deps: LoaderDependencies, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    deps.warehouse.discard();
    if (err instanceof TotesError) throw err;
    throw new TotesError(`The warehouse load failed: ${describeError(err)}`, { cause: err });
  }
}

async function findLoadedFile(session: LoaderSession, fileId: string): Promise<LoadCounts | undefined> {
  const { rows } = await session.client.query<{ inserted: number; updated: number; skipped: number }>(FIND_LOADED_FILE_SQL, [fileId]);
  return rows[0];
}

async function alreadyLoaded(
  message: LoadRequestedV1,
  counts: LoadCounts,
  retries: number,
  deps: LoaderDependencies,
  context: Record<string, string>,
): Promise<LoadResult> {
  // The warehouse has the file, but a crash may have come between its COMMIT and the batch record:
  // record it again (recordLoaded counts a table once) with the counts of the original load.
  await deps.batches.recordLoaded(message.batchId, message.targetTable, counts, message.filesInBatch);
  deps.metrics.addMetric('RowsSkipped', MetricUnit.Count, message.object.rows);
  deps.logger.info('file already loaded; nothing to do', context);
  return { outcome: 'already-loaded', counts, rows: message.object.rows, inferredMembers: 0, datesAdded: 0, retries };
}

async function merge(session: LoaderSession, table: WarehouseTable, message: LoadRequestedV1, staged: number): Promise<MergeOutcome> {
  const { client } = session;
  await client.query(LOCK_TABLES_SQL, [LOCK_NAMESPACE, tablesTouched(table).map(tableLockKey)]);
  // Under the locks, this statement sees every commit of a concurrent load of the same file.
  const recorded = await findLoadedFile(session, message.fileId);
  if (recorded) return { alreadyLoaded: recorded, counts: recorded, inferredMembers: 0, datesAdded: 0 };

  const outcome = table.kind === 'dimension' ? await mergeDimension(session, table) : await appendFacts(session, table);
  const counts: LoadCounts = { ...outcome.counts, skipped: staged - outcome.counts.inserted - outcome.counts.updated };
  await client.query(RECORD_LOADED_FILE_SQL, [
    message.fileId,
    message.batchId,
    message.sourceTable,
    table.name,
    counts.inserted,
    counts.updated,
    counts.skipped,
  ]);
  return { ...outcome, counts };
}

async function mergeDimension(session: LoaderSession, table: DimensionTable): Promise<Omit<MergeOutcome, 'counts'> & { counts: Omit<LoadCounts, 'skipped'> }> {
  const { rows } = await session.client.query<{ inserted: number; updated: number }>(mergeDimensionSql(table), [table.name]);
  const row = rows[0] ?? { inserted: 0, updated: 0 };
  return { counts: { inserted: row.inserted, updated: row.updated }, inferredMembers: 0, datesAdded: 0 };
}

async function appendFacts(session: LoaderSession, table: FactTable): Promise<Omit<MergeOutcome, 'counts'> & { counts: Omit<LoadCounts, 'skipped'> }> {
  const { client } = session;
  const dates = await client.query(extendDimDateSql(table));
  let inferredMembers = 0;
  for (const dimension of referencedDimensions(table)) {
    if (dimension === 'dim_date') continue;
    const created = await client.query(inferMembersSql(table, dimension), [dimension]);
    inferredMembers += created.rowCount ?? 0;
  }
  if (session.foreignKeyChecks === 'set-based') {
    for (const dimension of referencedDimensions(table)) {
      const { rows } = await client.query<{ referenced: number; found: number }>(lockReferencedSql(table, dimension));
      const check = rows[0];
      if (!check || check.referenced !== check.found) {
        // Cannot happen after the steps above unless someone deletes dimension rows concurrently.
        throw new TotesError(`${table.name}: ${(check?.referenced ?? 0) - (check?.found ?? 0)} referenced ${dimension} rows are missing.`);
      }
    }
    // Every reference was checked and locked above, set-based: skip the per-row foreign-key
    // triggers for the rest of this transaction only (SET LOCAL).
    await client.query('SET LOCAL session_replication_role = replica');
  }
  const appended = await client.query(appendFactsSql(table));
  return { counts: { inserted: appended.rowCount ?? 0, updated: 0 }, inferredMembers, datesAdded: dates.rowCount ?? 0 };
}
