import type { LoadRequestedV1 } from '@totes/events';
import type { ObjectStore } from '@totes/shared/aws/objects';
import { LoadFileError, TotesError, describeError } from '@totes/shared/errors';
import { MetricUnit, type Logger, type Metrics } from '@totes/shared/logging';
import type { BatchStore, LoadCounts } from '@totes/shared/state/batch-store';
import { VERSION_COLUMN, WAREHOUSE_TABLES, type DimensionTable, type DimensionTableName, type FactTable, type WarehouseTable } from '@totes/shared/warehouse/tables';
import {
  EXTEND_DIM_DATE_SQL,
  advanceCurrentVersionSql,
  FIND_LOADED_FILE_SQL,
  RECORD_LOADED_FILE_SQL,
  appendFactsSql,
  appendFirstVersionsSql,
  checkReferencesSql,
  inferMembersSql,
  mergeDimensionSql,
  openCriticalSectionSql,
  referencedDimensions,
  referencingColumns,
} from './merge-sql';
import { openParquet, type ParquetContents } from './parquet-file';
import { ensureStagingTable, stageFile } from './stage-file';
import { stagingColumns } from './staging-columns';
import { DEFAULT_RETRY_POLICY, RetryTransactionError, inRetriedTransaction, type RetryPolicy } from './transaction';
import type { LoaderSession, Warehouse } from './warehouse-session';

/**
 * Loads one processed file into the warehouse, exactly once in effect:
 *  1. a file already recorded in pipeline.loaded_file is a no-op (a redelivery or duplicate);
 *  2. the Parquet file is read exactly and checked against its table's catalogue;
 *  3. in ONE transaction: its rows are COPYed into a temporary staging table; then, under advisory
 *     locks on every table the load touches (taken in catalogue order, so concurrent loads never
 *     wait in a cycle; see merge-sql.ts for their modes), dimensions are upserted where the file's
 *     version is newer, or facts get dim_date days and inferred members for the keys they reference
 *     that are missing and every version not yet present is appended; and the file is recorded in
 *     pipeline.loaded_file;
 *  4. after COMMIT, the batch's DynamoDB record counts the file (idempotent).
 * A serialization failure or deadlock retries the transaction (with backoff, a few times); any other
 * database error discards the connection and fails the message (SQS retries it, then the DLQ holds
 * it). A delivery of a file that a concurrent delivery loaded first rolls back and is a no-op too.
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
  /** Days added to the dim_date calendar (fact and dim_date files). */
  readonly datesAdded: number;
  /** Transactions retried (a serialization failure, a deadlock, a referenced row gone meanwhile). */
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
  // A fact file's referenced dimension keys are gathered while its rows stream into staging (and a
  // dim_date file's days, whose years the calendar then holds whole).
  // And a fact file's source ids and stamps, to know whether it holds first versions only.
  const keyColumns =
    table.kind === 'fact'
      ? [table.naturalKey, VERSION_COLUMN, ...table.columns.filter((c) => c.references).map((c) => c.name)]
      : table.name === 'dim_date'
        ? [table.key]
        : [];
  const contents = openParquet(bytes, stagingColumns(table), label, keyColumns);
  if (contents.rows !== message.object.rows) {
    throw new LoadFileError(`${label} holds ${contents.rows} rows but its load message says ${message.object.rows}.`);
  }

  let retries = 0;
  const merged = await onConnection(deps, async () => {
    await ensureStagingTable(session, table);
    try {
      // Kept across attempts, so a retry can only widen what the load holds or falls back to.
      const plan: LoadPlan = { writes: new Set(), mergeVersions: false };
      return await inRetriedTransaction(session.client, () => merge(session, table, message, contents, plan), {
        policy: deps.retry ?? DEFAULT_RETRY_POLICY,
        ...(deps.sleep ? { sleep: deps.sleep } : {}),
        onRetry: (attempt, err) => {
          retries++;
          deps.metrics.addMetric('LoadRetries', MetricUnit.Count, 1);
          deps.logger.warn('load transaction retried', { ...context, attempt, reason: describeError(err) });
        },
      });
    } catch (err) {
      if (!(err instanceof ConcurrentDuplicate)) throw err;
      // Rolled back: the same file's other delivery committed first.
      const recorded = await findLoadedFile(session, message.fileId);
      if (!recorded) throw new TotesError(`The file ${message.fileId} was recorded by a concurrent load that is not there any more.`);
      return { alreadyLoaded: recorded, counts: recorded, inferredMembers: 0, datesAdded: 0 };
    }
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

/** Thrown inside the transaction to roll it back: another delivery of the file committed first. */
class ConcurrentDuplicate extends Error {}

/** What a load's transaction holds and does, widened by a retry. */
interface LoadPlan {
  /** The dimensions the load writes (missing dates or members): held exclusively. */
  readonly writes: Set<DimensionTableName>;
  /** Append through ON CONFLICT and the current-version pointers even when the file looks like first versions. */
  mergeVersions: boolean;
}

type TableOutcome = Omit<MergeOutcome, 'counts'> & { counts: Omit<LoadCounts, 'skipped'>; recorded?: boolean };

async function merge(session: LoaderSession, table: WarehouseTable, message: LoadRequestedV1, contents: ParquetContents, plan: LoadPlan): Promise<MergeOutcome> {
  const { client } = session;
  // Staged before the locks are taken: other loads' critical sections run meanwhile.
  const staged = await stageFile(session, table, contents);
  let outcome: TableOutcome;
  if (table.kind === 'dimension') {
    await client.query(openCriticalSectionSql(table, false));
    outcome = await mergeDimension(session, table, contents);
  } else {
    const keys = referencedKeys(table, contents);
    // The dimensions this load must write (missing dates or members) decide which locks it holds
    // exclusively: looked up before locking, and checked again under the locks.
    for (const dimension of (await missingReferences(session, keys)).keys()) plan.writes.add(dimension);
    await client.query(openCriticalSectionSql(table, session.foreignKeyChecks === 'set-based', plan.writes));
    outcome = await appendFacts(session, table, keys, plan, contents, message);
  }
  const counts: LoadCounts = { ...outcome.counts, skipped: staged - outcome.counts.inserted - outcome.counts.updated };
  const recorded =
    outcome.recorded ??
    ((
      await client.query(RECORD_LOADED_FILE_SQL, [
        message.fileId,
        message.batchId,
        message.sourceTable,
        table.name,
        counts.inserted,
        counts.updated,
        counts.skipped,
      ])
    ).rowCount ?? 0) > 0;
  // Under the same locks, so the other delivery's writes were all seen: this one changed nothing.
  if (!recorded) throw new ConcurrentDuplicate();
  return { ...outcome, counts };
}

async function mergeDimension(session: LoaderSession, table: DimensionTable, contents: ParquetContents): Promise<TableOutcome> {
  const { rows } = await session.client.query<{ inserted: number; updated: number }>(mergeDimensionSql(table), [table.name]);
  const row = rows[0] ?? { inserted: 0, updated: 0 };
  // The calendar holds whole years, whichever of a dim_date file or a fact referencing its days
  // comes first (so the warehouse does not depend on the order files arrive in).
  const datesAdded = table.name === 'dim_date' ? ((await session.client.query(EXTEND_DIM_DATE_SQL, [contents.distinct(table.key)])).rowCount ?? 0) : 0;
  return { counts: { inserted: row.inserted, updated: row.updated }, inferredMembers: 0, datesAdded };
}

/**
 * The file's first versions, when it holds nothing else: its ids, which no row of the table and no
 * earlier first-version range may meet (checked under the locks), one version per id and one
 * observation stamp on every row (what a detection pass of new orders or payments writes).
 */
function firstVersionIds(table: FactTable, contents: ParquetContents): { min: number; max: number } | undefined {
  const ids = contents.bounds(table.naturalKey);
  const oneVersionPerId = contents.distinctCount(table.naturalKey) === contents.rows;
  const oneStamp = contents.nullCount(VERSION_COLUMN) === 0 && contents.distinctCount(VERSION_COLUMN) === 1;
  return ids && oneVersionPerId && oneStamp ? ids : undefined;
}

/** The distinct keys of each dimension the staged facts reference, gathered while they streamed. */
function referencedKeys(table: FactTable, contents: ParquetContents): Map<DimensionTableName, string[]> {
  return new Map(
    referencedDimensions(table).map((dimension) => {
      const values = new Set<string>();
      for (const column of referencingColumns(table, dimension)) for (const v of contents.distinct(column.name)) values.add(v);
      return [dimension, [...values]] as const;
    }),
  );
}

/**
 * Append the staged facts and keep the current versions (migration 0005), under the locks. A file
 * of first versions (firstVersionIds) is appended, its range and the file recorded in one statement
 * (appendFirstVersionsSql). Otherwise ON CONFLICT DO NOTHING appends what is new and the
 * current-version pointers of the file's ids move to the version observed last. A unique violation
 * on the plain append (a version written meanwhile by something outside the pipeline's locks) rolls
 * back and retries the file that second way.
 */
async function appendFacts(
  session: LoaderSession,
  table: FactTable,
  keys: ReadonlyMap<DimensionTableName, readonly string[]>,
  plan: LoadPlan,
  contents: ParquetContents,
  message: LoadRequestedV1,
): Promise<TableOutcome> {
  const { client } = session;
  // Under the locks: the dimensions this load writes are its own, the others cannot lose a row
  // (checking foreign keys set-based, the SHARE locks keep every writer outside the pipeline out
  // until the commit). So a row found here stays, and a row missing here is inserted by this
  // transaction: every fact's references hold, as PostgreSQL's per-row trigger would make sure.
  const firstVersions = plan.mergeVersions ? undefined : firstVersionIds(table, contents);
  const { missing, overlaps } = await checkReferences(session, keys, firstVersions && { table, ids: firstVersions });
  const unexpected = [...missing.keys()].filter((d) => !plan.writes.has(d));
  // A row that was there a moment ago is gone (deleted outside the pipeline): start again, this
  // time holding that dimension to ourselves.
  if (unexpected.length > 0) throw new RetryTransactionError(`${unexpected.join(', ')} lost referenced rows while the load waited for its locks`);
  let datesAdded = 0;
  let inferredMembers = 0;
  for (const dimension of missing.keys()) {
    const referenced = keys.get(dimension) ?? [];
    if (dimension === 'dim_date') datesAdded += (await client.query(EXTEND_DIM_DATE_SQL, [referenced])).rowCount ?? 0;
    else inferredMembers += (await client.query(inferMembersSql(dimension), [dimension, referenced])).rowCount ?? 0;
  }
  if (firstVersions && !overlaps) {
    const rows = contents.rows;
    try {
      const { rowCount } = await client.query(appendFirstVersionsSql(table), [
        message.fileId,
        message.batchId,
        message.sourceTable,
        table.name,
        rows,
        0,
        0,
        firstVersions.min,
        firstVersions.max,
      ]);
      return { counts: { inserted: rows, updated: 0 }, inferredMembers, datesAdded, recorded: (rowCount ?? 0) > 0 };
    } catch (err) {
      if ((err as { code?: string }).code !== UNIQUE_VIOLATION) throw err;
      plan.mergeVersions = true;
      throw new RetryTransactionError(`a version of ${table.name} in ids ${firstVersions.min}-${firstVersions.max} was written while the load held its locks`);
    }
  }
  const inserted = (await client.query(appendFactsSql(table))).rowCount ?? 0;
  await client.query(advanceCurrentVersionSql(table));
  return { counts: { inserted, updated: 0 }, inferredMembers, datesAdded };
}

const UNIQUE_VIOLATION = '23505';

/** The dimensions some of whose referenced keys are missing, with how many are missing. */
async function missingReferences(session: LoaderSession, keys: ReadonlyMap<DimensionTableName, readonly string[]>): Promise<Map<DimensionTableName, number>> {
  return (await checkReferences(session, keys)).missing;
}

/**
 * The dimensions some of whose referenced keys are missing (with how many), and, given a fact
 * table and the file's ids, whether any of those ids is loaded already (checkReferencesSql): one
 * round trip.
 */
async function checkReferences(
  session: LoaderSession,
  keys: ReadonlyMap<DimensionTableName, readonly string[]>,
  ids?: { table: FactTable; ids: { min: number; max: number } },
): Promise<{ missing: Map<DimensionTableName, number>; overlaps: boolean }> {
  const dimensions = [...keys.keys()];
  const parameters: unknown[] = dimensions.map((d) => keys.get(d));
  if (ids) parameters.push(ids.ids.min, ids.ids.max);
  const { rows } = await session.client.query<Record<string, number | boolean>>(checkReferencesSql(dimensions, ids?.table), parameters);
  const found = rows[0] ?? {};
  const missing = new Map<DimensionTableName, number>();
  for (const d of dimensions) {
    const count = (keys.get(d)?.length ?? 0) - Number(found[d] ?? 0);
    if (count > 0) missing.set(d, count);
  }
  return { missing, overlaps: found.overlaps === true };
}
