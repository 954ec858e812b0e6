import { createHash } from 'node:crypto';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { serializeMessage, type BatchExtractedV1 } from '@totes/events';
import type { PageFilter, SourcePage, SourcePass } from '@totes/shared/source/change-reader';
import type { RowKey } from '@totes/shared/source/copy-to-jsonl';
import { StateConflictError } from '@totes/shared/errors';
import type { SourceTableName } from '@totes/shared/source/tables';
import type { BatchRecord, NewBatch } from '@totes/shared/state/batch-store';
import type { AmbiguousMember, CompletedPass, PassInProgress, Watermark, WatermarkChange, WatermarkContent } from '@totes/shared/state/watermark-store';
import {
  decodeMembers,
  encodeMembers,
  INLINE_AMBIGUOUS_LIMIT,
  keepForNextPass,
  loadAmbiguousSet,
  mergeMembers,
  storeAmbiguousSet,
} from './ambiguous-set';
import { SourceReplacedError } from './errors';
import { batchIdFor, pageAmbiguousKeyFor, pageAmbiguousKeyOfRawKey, passIdFor, rawKeyFor, shortDigest, transformQueueFor } from './naming';
import type { DetectionPorts, DetectionSettings } from './ports';
import { addMicros, addSeconds, canonicalTimestamp, maxTimestamp, toMicros } from './source-time';

/**
 * One detection pass over one source table (docs/change-detection.md is the long form).
 *
 * Which rows: everything on the first pass; afterwards the rows with last_updated in the look-back
 * window (above the previous pass's upper bound minus TOTES_LOOKBACK_SECONDS) minus the row versions
 * the previous pass already emitted: those from transactions below its snapshot's xmin (committed
 * before it, so it saw them) and those in its ambiguous set. All read in one REPEATABLE READ
 * snapshot, in pages in (last_updated, id) order.
 *
 * Per page, in this order: (1) the gzipped JSON Lines object, under a key derived from the batch id
 * and the bytes' digest (and, when the page has ambiguous rows, their list beside it); (2) the batch
 * record; (3) the batch-extracted message; (4) the pass's cursor, conditionally. The pass state is
 * written before the first page's object and only when there is a first page, so an idle pass
 * writes nothing. A crash between any two steps is repaired by the next attempt: it resumes the
 * recorded pass (same pass id, snapshot and window), re-sends and advances over any page already
 * recorded, and rereads the rest restricted to the pass's own snapshot, so nothing is lost and a
 * recorded batch is never replaced by a different one.
 */
const gzip = promisify(zlib.gzip);

/** The largest int4: (lower, INT_MAX) as a keyset bound means "last_updated above lower". */
const MAX_ID = 2_147_483_647;
const DEFAULT_RESERVE_MS = 30_000;

export type PassOutcome =
  | { readonly status: 'idle' }
  | {
      readonly status: 'completed' | 'paused';
      readonly passId: string;
      readonly pages: number;
      readonly rows: number;
      readonly lateRows: number;
      /** Batches this invocation wrote or re-sent. */
      readonly batches: number;
    };

interface PassPlan {
  readonly passId: string;
  readonly snapshot: string;
  readonly upper: string;
  readonly lower: string | null;
  readonly xmin: string;
  readonly startedAt: string;
}

export interface PassContext {
  readonly table: SourceTableName;
  readonly ports: DetectionPorts;
  readonly settings: DetectionSettings;
  /** Renew the table lease when due; throws when it was lost. */
  readonly keepLease: () => Promise<void>;
}

export function batchMessage(record: BatchRecord): BatchExtractedV1 {
  return {
    type: 'batch-extracted',
    version: 1,
    batchId: record.batchId,
    table: record.table,
    object: { bucket: record.rawBucket, key: record.rawKey, format: 'jsonl.gz', bytes: record.bytes, rows: record.rows },
    range: { from: record.range.from, to: record.range.to },
    extraColumns: [...(record.extraColumns ?? [])],
    lateRows: record.lateRows,
    extractedAt: record.extractedAt,
  };
}

export class DetectionPass {
  private readonly table: SourceTableName;
  private readonly ports: DetectionPorts;
  private readonly settings: DetectionSettings;
  private watermark: Watermark;
  private batchesThisInvocation = 0;

  constructor(
    private readonly context: PassContext,
    watermark: Watermark,
  ) {
    this.table = context.table;
    this.ports = context.ports;
    this.settings = context.settings;
    this.watermark = watermark;
  }

  get state(): Watermark {
    return this.watermark;
  }

  private now(): Date {
    return this.ports.now ? this.ports.now() : new Date();
  }

  private async save(next: WatermarkContent, change: WatermarkChange): Promise<void> {
    this.watermark = await this.ports.watermarks.save(next, this.watermark.version, change);
  }

  /** Remember which extra source columns were reported (through the pass, which keeps the stored version). */
  async saveExtraColumns(columns: readonly string[]): Promise<void> {
    await this.save({ ...this.watermark, extraColumns: [...columns] }, 'extra-columns');
  }

  /**
   * Before reading anything: pages of the pass in progress that were already recorded (a crash
   * after step 2 or 3) are re-sent and the cursor moved over them, never re-read.
   */
  async recoverRecordedPages(): Promise<void> {
    for (;;) {
      const current = this.watermark.current;
      if (!current) return;
      const batchId = batchIdFor(this.table, current.passId, current.page + 1);
      const record = await this.ports.batches.get(batchId);
      if (!record) return;
      const ambiguousKey = await this.findPageAmbiguousObject(record);
      await this.send(record);
      await this.advance(current, record, ambiguousKey);
      this.ports.log.info('recovered a recorded batch', { table: this.table, batchId, rows: record.rows });
    }
  }

  /**
   * Read and write the pages of the pass (new or resumed), then complete it.
   *
   * Pages are written through a pipeline (see writePage): while page n is recorded, announced and
   * the cursor moved past it, page n+1 is already compressed and uploaded and page n+2 read. The
   * order that recovery relies on is kept: records are created strictly in page order, a page's
   * message is sent only once it is recorded, and the cursor moves page by page, each time after
   * that page's message. So after a crash at any point the recorded pages form an unbroken run
   * after the cursor, which recoverRecordedPages re-sends and steps over.
   */
  async run(source: SourcePass, doneMembers: readonly AmbiguousMember[]): Promise<PassOutcome> {
    const done = this.watermark.done;
    const resumed = this.watermark.current;
    const plan = resumed ? planOfCurrent(resumed) : this.planNewPass(source);
    const lower = plan.lower;
    const base = {
      limit: this.settings.pageSize,
      flagFrom: plan.xmin,
      ...(done && lower !== null ? { since: { lower, excludeBelow: done.xmin, exclude: doneMembers, lateUpTo: done.upper } } : {}),
      // A resumed pass reads in a new transaction: only what its own snapshot could see.
      ...(resumed ? { visibleIn: resumed.snapshot } : {}),
    } satisfies Omit<PageFilter, 'after'>;

    const read = (after: RowKey | null) => {
      const p = source.readPage({ ...base, after });
      // Settled (awaited) below; this only stops an early failure being reported as unhandled.
      p.catch(() => undefined);
      return p;
    };
    const first: RowKey | null = resumed?.cursor ?? null;
    const writer = new PageWriter(this, plan, source.extraColumns, first ?? (plan.lower !== null ? { lastUpdated: plan.lower, id: MAX_ID } : null));
    let pending: Promise<SourcePage> | undefined = read(first);
    let paused = false;
    try {
      for (;;) {
        const page: SourcePage = await pending;
        pending = undefined;
        if (page.rows === 0 || !page.last) break;
        if (writer.pagesStarted > 0 && this.outOfTime()) {
          paused = true;
          break;
        }
        if (!this.watermark.current) await this.beginPass(plan);
        await writer.waitForRoom();
        // Read the next page while this one is written (the read is read-only).
        pending = read(page.last);
        writer.add(page);
      }
      await writer.drain();
    } finally {
      if (pending) await pending.catch(() => undefined);
      await writer.settle();
    }

    const current = this.watermark.current;
    if (paused && current) {
      this.ports.log.info('detection paused before the end of its invocation; the next one resumes it', { table: this.table, passId: current.passId, page: current.page });
      return { status: 'paused', passId: current.passId, pages: current.page, rows: current.rows, lateRows: current.lateRows, batches: this.batchesThisInvocation };
    }
    if (!current) {
      if (this.watermark.error) await this.save({ ...this.watermark, error: undefined }, 'clear-error');
      return { status: 'idle' };
    }
    return this.complete(doneMembers);
  }

  private outOfTime(): boolean {
    const remaining = this.settings.remainingMs?.();
    return remaining !== undefined && remaining < (this.settings.reserveMs ?? DEFAULT_RESERVE_MS);
  }

  private planNewPass(source: SourcePass): PassPlan {
    const done = this.watermark.done;
    if (done && BigInt(done.xmin) > BigInt(source.snapshot.xmax)) {
      throw new SourceReplacedError(
        this.table,
        `The source's transaction ids are behind the last detection of ${this.table} (its snapshot xmin ${done.xmin}, the source's next id now ${source.snapshot.xmax}): the database was restored or replaced. Detection of ${this.table} is stopped; delete its watermark (watermark#${this.table} in the state table) to extract it afresh.`,
      );
    }
    let upper = canonicalTimestamp(source.snapshot.clock);
    if (done && toMicros(upper) <= toMicros(done.upper)) {
      // The source clock went back (or stood still): keep pass bounds, and so pass ids, increasing.
      this.ports.log.warn('the source clock is not after the last pass; the pass bound is moved forward', {
        table: this.table,
        clock: upper,
        lastUpper: done.upper,
      });
      upper = addMicros(done.upper, 1n);
    }
    const lower = done ? (done.lower === null ? windowLower(done.upper, this.settings) : maxTimestamp(windowLower(done.upper, this.settings), done.lower)) : null;
    return { passId: passIdFor(upper), snapshot: source.snapshot.snapshot, upper, lower, xmin: source.snapshot.xmin, startedAt: this.now().toISOString() };
  }

  private async beginPass(plan: PassPlan): Promise<void> {
    const current: PassInProgress = {
      passId: plan.passId,
      snapshot: plan.snapshot,
      upper: plan.upper,
      lower: plan.lower,
      xmin: plan.xmin,
      cursor: null,
      page: 0,
      rows: 0,
      lateRows: 0,
      ambiguousObjects: [],
      startedAt: plan.startedAt,
    };
    await this.save({ ...this.watermark, current }, 'begin-pass');
    this.ports.log.info('detection pass started', { table: this.table, passId: plan.passId, full: plan.lower === null, lower: plan.lower, upper: plan.upper });
  }

  /** Step (1): compress the page and write its object (and its ambiguous rows beside it). */
  async uploadPage(plan: PassPlan, pageNo: number, page: SourcePage): Promise<UploadedPage> {
    const last = page.last as RowKey;
    const batchId = batchIdFor(this.table, plan.passId, pageNo);
    const bucket = this.settings.ingestionBucket;
    // 1 MiB output chunks: one hop to the zlib thread per page instead of one per 16 KiB.
    const body = await gzip(page.body, { level: this.settings.gzipLevel ?? 1, chunkSize: 1 << 20 });
    const digest = shortDigest(createHash('sha256').update(body).digest('hex'));
    const rawKey = rawKeyFor(this.table, last.lastUpdated, batchId, digest);
    await this.ports.objects.putImmutable(bucket, rawKey, body, { contentType: 'application/gzip', metadata: { batchid: batchId, rows: String(page.rows) } });
    let ambiguousKey: string | undefined;
    // Before the record, so that a recorded batch's list can always be found from its key.
    if (page.flagged.length > 0) {
      ambiguousKey = pageAmbiguousKeyFor(this.table, batchId, digest);
      await this.ports.objects.putImmutable(bucket, ambiguousKey, encodeMembers(page.flagged), { contentType: 'application/json' });
    }
    return { batchId, rawKey, bytes: body.length, ambiguousKey };
  }

  /**
   * Step (2): record the batch. If it is recorded already with other bytes, another detection is
   * writing this pass (it took over an expired lease): this one stops, and its object is an orphan
   * no message names; the retry resumes from the recorded state.
   */
  async recordPage(page: SourcePage, from: RowKey | null, uploaded: UploadedPage, extraColumns: readonly string[]): Promise<{ record: BatchRecord; created: boolean }> {
    const batch: NewBatch = {
      batchId: uploaded.batchId,
      table: this.table,
      rows: page.rows,
      bytes: uploaded.bytes,
      rawBucket: this.settings.ingestionBucket,
      rawKey: uploaded.rawKey,
      range: { from, to: page.last as RowKey },
      lateRows: page.lateRows,
      extractedAt: this.now().toISOString(),
      extraColumns: [...extraColumns],
    };
    const result = await this.ports.batches.recordExtracted(batch);
    if (!result.created && result.record.rawKey !== uploaded.rawKey) {
      this.ports.log.warn('the batch was already recorded with other content; this detection stops', {
        table: this.table,
        batchId: uploaded.batchId,
        recordedKey: result.record.rawKey,
        orphanKey: uploaded.rawKey,
      });
      throw new StateConflictError(`The batch ${uploaded.batchId} was recorded by another detection of ${this.table} with other content; this one stops.`);
    }
    return result;
  }

  /** Step (4) for a page whose message is sent, in page order; then metrics, the log line and the lease. */
  async advancePast(record: BatchRecord, created: boolean, ambiguousKey: string | undefined, flagged: number): Promise<void> {
    const current = this.watermark.current as PassInProgress;
    await this.advance(current, record, ambiguousKey);
    if (created) {
      this.ports.metrics.count('BatchesExtracted', 1);
      this.ports.metrics.count('RowsExtracted', record.rows);
      if (record.lateRows > 0) this.ports.metrics.count('LateArrivals', record.lateRows);
    }
    this.ports.log.info('batch extracted', {
      table: this.table,
      batchId: record.batchId,
      rows: record.rows,
      bytes: record.bytes,
      lateRows: record.lateRows,
      key: record.rawKey,
      ambiguousRows: flagged,
    });
    await this.context.keepLease();
  }

  async send(record: BatchRecord): Promise<void> {
    await this.ports.sender.send(transformQueueFor(this.table), [serializeMessage('batch-extracted', batchMessage(record))]);
    this.batchesThisInvocation += 1;
  }

  private async advance(current: PassInProgress, record: BatchRecord, ambiguousKey: string | undefined): Promise<void> {
    const next: PassInProgress = {
      ...current,
      cursor: record.range.to,
      page: current.page + 1,
      rows: current.rows + record.rows,
      lateRows: current.lateRows + record.lateRows,
      ambiguousObjects: ambiguousKey ? [...current.ambiguousObjects, ambiguousKey] : current.ambiguousObjects,
    };
    if (toKeyOrder(next.cursor) < toKeyOrder(current.cursor)) {
      throw new Error(`the cursor of ${this.table} would move backwards (${JSON.stringify(current.cursor)} → ${JSON.stringify(next.cursor)})`);
    }
    await this.save({ ...this.watermark, current: next }, 'advance');
  }

  private async findPageAmbiguousObject(record: BatchRecord): Promise<string | undefined> {
    const key = pageAmbiguousKeyOfRawKey(this.table, record.rawKey);
    if (!key) return undefined;
    return (await this.ports.objects.exists(record.rawBucket, key)) ? key : undefined;
  }

  private async complete(doneMembers: readonly AmbiguousMember[]): Promise<PassOutcome> {
    const current = this.watermark.current as PassInProgress;
    const nextLower = current.lower === null ? windowLower(current.upper, this.settings) : maxTimestamp(windowLower(current.upper, this.settings), current.lower);
    const pageMembers: AmbiguousMember[] = [];
    for (const key of current.ambiguousObjects) {
      const bytes = await this.ports.objects.get(this.settings.ingestionBucket, key);
      pageMembers.push(...decodeMembers(bytes, `s3://${this.settings.ingestionBucket}/${key}`));
    }
    const members = mergeMembers(keepForNextPass(doneMembers, current.xmin, nextLower), keepForNextPass(pageMembers, current.xmin, nextLower));
    const ambiguous = await storeAmbiguousSet(
      members,
      { table: this.table, passId: current.passId, bucket: this.settings.ingestionBucket, inlineLimit: this.settings.inlineAmbiguousLimit ?? INLINE_AMBIGUOUS_LIMIT },
      this.ports.objects,
    );
    const done: CompletedPass = {
      passId: current.passId,
      upper: current.upper,
      lower: current.lower,
      xmin: current.xmin,
      snapshot: current.snapshot,
      pages: current.page,
      rows: current.rows,
      lateRows: current.lateRows,
      ambiguous,
      startedAt: current.startedAt,
      completedAt: this.now().toISOString(),
    };
    await this.save({ ...this.watermark, done, current: undefined, error: undefined }, 'complete-pass');
    this.ports.log.info('detection pass completed', {
      table: this.table,
      passId: done.passId,
      pages: done.pages,
      rows: done.rows,
      lateRows: done.lateRows,
      ambiguousRows: ambiguous.count,
    });
    return { status: 'completed', passId: done.passId, pages: done.pages, rows: done.rows, lateRows: done.lateRows, batches: this.batchesThisInvocation };
  }
}

interface UploadedPage {
  readonly batchId: string;
  readonly rawKey: string;
  readonly bytes: number;
  readonly ambiguousKey: string | undefined;
}

/** Pages written at once, at most (each holds its JSON and gzip bytes until it is done). */
const PAGES_IN_FLIGHT = 3;

/**
 * The page pipeline of one run. For page n: upload(n) starts at once; record(n) waits for
 * upload(n) and record(n-1); send(n) waits for record(n); advance(n) waits for send(n) and
 * advance(n-1). A failure anywhere fails everything after it (a later record never runs after an
 * earlier one failed), and `settle` waits until nothing is in flight any more.
 */
class PageWriter {
  pagesStarted = 0;
  private pageNo: number;
  private from: RowKey | null;
  private lastRecorded: Promise<unknown> = Promise.resolve();
  private lastAdvanced: Promise<unknown> = Promise.resolve();
  private readonly inFlight: Promise<unknown>[] = [];
  private readonly all: Promise<unknown>[] = [];

  constructor(
    private readonly pass: DetectionPass,
    private readonly plan: PassPlan,
    private readonly extraColumns: readonly string[],
    from: RowKey | null,
  ) {
    this.pageNo = (pass.state.current?.page ?? 0) + 1;
    this.from = from;
  }

  add(page: SourcePage): void {
    const pageNo = this.pageNo++;
    const from = this.from;
    this.from = page.last ?? null;
    this.pagesStarted += 1;
    const previousRecord = this.lastRecorded;
    const previousAdvance = this.lastAdvanced;
    const uploaded = this.pass.uploadPage(this.plan, pageNo, page);
    const recorded = (async () => {
      const u = await uploaded;
      await previousRecord;
      return { ...(await this.pass.recordPage(page, from, u, this.extraColumns)), ambiguousKey: u.ambiguousKey };
    })();
    const sent = (async () => {
      const r = await recorded;
      await this.pass.send(r.record);
      return r;
    })();
    const advanced = (async () => {
      const r = await sent;
      await previousAdvance;
      await this.pass.advancePast(r.record, r.created, r.ambiguousKey, page.flagged.length);
    })();
    this.lastRecorded = recorded;
    this.lastAdvanced = advanced;
    for (const p of [uploaded, recorded, sent, advanced]) {
      // Every one is awaited (by its successor, drain or settle); this only keeps a failure from
      // being reported as unhandled while the loop is busy reading.
      p.catch(() => undefined);
      this.all.push(p);
    }
    this.inFlight.push(advanced);
  }

  /** Wait until fewer than PAGES_IN_FLIGHT pages are being written; throws the first failure. */
  async waitForRoom(): Promise<void> {
    while (this.inFlight.length >= PAGES_IN_FLIGHT) await this.inFlight.shift();
  }

  /** Wait for every page; throws the first failure. */
  async drain(): Promise<void> {
    while (this.inFlight.length > 0) await this.inFlight.shift();
  }

  /** Wait until nothing is in flight, whatever happened. */
  async settle(): Promise<void> {
    await Promise.allSettled(this.all);
  }
}

export async function loadDoneMembers(watermark: Watermark, ports: DetectionPorts): Promise<AmbiguousMember[]> {
  return loadAmbiguousSet(watermark.done?.ambiguous, ports.objects);
}

function planOfCurrent(current: PassInProgress): PassPlan {
  return { passId: current.passId, snapshot: current.snapshot, upper: current.upper, lower: current.lower, xmin: current.xmin, startedAt: current.startedAt };
}

function windowLower(upper: string, settings: DetectionSettings): string {
  return addSeconds(upper, -settings.lookbackSeconds);
}

/** A sortable form of a keyset position (null: before everything). */
function toKeyOrder(key: RowKey | null): bigint {
  if (!key) return -(1n << 120n);
  return (toMicros(key.lastUpdated) << 40n) + BigInt(key.id) + (1n << 39n);
}
