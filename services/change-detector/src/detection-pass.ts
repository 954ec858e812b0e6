import { createHash } from 'node:crypto';
import zlib from 'node:zlib';
import { RAW_FORMAT_V2, rawHeaderLine, rowKey, serializeMessage, type BatchExtractedV2 } from '@totes/events';
import type { PageFilter, SourcePage, SourcePass } from '@totes/shared/source/change-reader';
import type { RowKey } from '@totes/shared/source/copy-to-jsonl';
import { ContractError, StateConflictError } from '@totes/shared/errors';
import { SOURCE_TABLES, type SourceTableName } from '@totes/shared/source/tables';
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
import { clockLimit, findOffClockRows, mayHoldOffClockRows, type OffClockRow, type OffClockScan } from './off-clock';
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
 *
 * A page's range (from, to] is checked against the batch-extracted contract before step (1), so a
 * batch that could not be announced is never recorded (recovery would re-send it, and fail, on
 * every attempt: the table would be stuck). A detector before this check could record one; recovery
 * discards such a record, whose message was therefore never sent, and the page is read again under
 * the same batch id (discardUnannounceable): the one case where a recorded batch is replaced. The
 * reader keys rows whose last_updated the contract cannot write (infinity, BC, after 9999) so that
 * this holds (change-reader.ts, "off-range"); rows whose last_updated is off the source clock are
 * extracted as they are and reported (off-clock.ts).
 */
/** The row layout the detector writes (batch-extracted v2 `object.layout`). */
export const RAW_LAYOUT = 'arrays' as const;

/** The largest int4: (lower, INT_MAX) as a keyset bound means "last_updated above lower". */
const MAX_ID = 2_147_483_647;
const DEFAULT_RESERVE_MS = 30_000;
/** Off-clock rows logged one by one per page; more are counted in one line (the metric counts all). */
const LOGGED_OFF_CLOCK_ROWS = 50;

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

export function batchMessage(record: BatchRecord): BatchExtractedV2 {
  return {
    type: 'batch-extracted',
    version: 2,
    batchId: record.batchId,
    table: record.table,
    // A batch recorded before raw layout v2 (no rawLayout) holds objects; re-sent, it says so.
    object: { bucket: record.rawBucket, key: record.rawKey, format: 'jsonl.gz', layout: record.rawLayout ?? 'objects', bytes: record.bytes, rows: record.rows },
    range: { from: record.range.from, to: record.range.to },
    extraColumns: [...(record.extraColumns ?? [])],
    lateRows: record.lateRows,
    // A batch recorded before observedAt was: the consumer reads it from the batch id (observedAtOf).
    ...(record.observedAt !== undefined ? { observedAt: record.observedAt } : {}),
    extractedAt: record.extractedAt,
  };
}

/**
 * Why no batch-extracted message can be built from `record` (the contract's complaint), or
 * undefined when one can. Only a ContractError is such a reason; anything else is a fault.
 */
export function messageProblem(record: BatchRecord): string | undefined {
  try {
    serializeMessage('batch-extracted', batchMessage(record));
    return undefined;
  } catch (err) {
    if (err instanceof ContractError) return err.message;
    throw err;
  }
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
   *
   * Except a recorded page no batch-extracted message can be built from (a detector before the
   * range check recorded a page ending at last_updated 'infinity', BC or after 9999): re-sending it
   * would fail on every attempt and wedge the table, so its record is discarded and the page is
   * read again from the cursor (discardUnannounceable).
   */
  async recoverRecordedPages(): Promise<void> {
    for (;;) {
      const current = this.watermark.current;
      if (!current) return;
      const batchId = batchIdFor(this.table, current.passId, current.page + 1);
      const record = await this.ports.batches.get(batchId);
      if (!record) return;
      const problem = messageProblem(record);
      if (problem !== undefined) {
        // Then the loop looks again: normally nothing is recorded after the cursor any more.
        await this.discardUnannounceable(current, record, problem);
        continue;
      }
      const ambiguousKey = await this.findPageAmbiguousObject(record);
      await this.send([record]);
      await this.advance(current, [{ record, ambiguousKey }]);
      this.ports.log.info('recovered a recorded batch', { table: this.table, batchId, rows: record.rows });
    }
  }

  /**
   * A recorded page whose message cannot be built (`reason`: the contract's complaint) was never
   * announced: every detector has built a record's message from the record alone and validated it
   * before sending it (serializeMessage), and the contract has never become stricter about what a
   * record holds (version 2 only added what the record implies and optional fields). So
   * nothing downstream has the batch, and dropping its record loses nothing: the page is read
   * again from the cursor, with the keyset that keys such rows validly, and recorded afresh under
   * the same batch id (batchIdFor(table, pass, page)). The old raw object stays, an orphan no
   * record or message names.
   *
   * Later pages of the pass cannot have been announced either (messages are sent in page order, and
   * this one never was), and a detector before the range check could not even have recorded one:
   * reading after a key like 'infinity' failed. Any that exist are discarded too (their pages will
   * be cut differently by the re-read, and one left behind would make the re-read's record of that
   * page conflict), last page first, so that after a crash in here the recorded pages after the
   * cursor are still an unbroken run starting at this one, and the next attempt does the same.
   *
   * Every delete is conditional (still `extracted`, still this raw key). A record found changed
   * was re-recorded by another detection (recovery then looks at it afresh) or deleted already;
   * one that moved on downstream contradicts the above, and the detection stops naming it.
   */
  private async discardUnannounceable(current: PassInProgress, record: BatchRecord, reason: string): Promise<void> {
    const later: BatchRecord[] = [];
    for (let page = current.page + 2; ; page++) {
      const next = await this.ports.batches.get(batchIdFor(this.table, current.passId, page));
      if (!next) break;
      later.push(next);
    }
    for (const next of later.reverse()) {
      const result = await this.ports.batches.discardUnannounced(next.batchId, next.rawKey);
      if (!result.discarded) {
        if (!result.current) continue; // gone already
        throw new StateConflictError(
          `The batch ${next.batchId} of ${this.table} follows the batch ${record.batchId}, which no message can announce, but it changed while it was being discarded (now ${result.current.state}, ${result.current.rawKey}); this detection stops.`,
        );
      }
      this.ports.log.warn('a recorded batch after one that cannot be announced is discarded; its rows are read again', {
        table: this.table,
        batchId: next.batchId,
        reason: `it follows the batch ${record.batchId}, whose message cannot be built`,
        orphanKey: next.rawKey,
      });
    }
    const result = await this.ports.batches.discardUnannounced(record.batchId, record.rawKey);
    if (result.discarded) {
      this.ports.log.warn('a recorded batch that no message can announce is discarded; its page is read again', {
        table: this.table,
        batchId: record.batchId,
        reason,
        orphanKey: record.rawKey,
      });
      return;
    }
    if (!result.current || result.current.rawKey !== record.rawKey) return;
    throw new StateConflictError(
      `The batch ${record.batchId} of ${this.table} cannot be announced (${reason}), yet it is ${result.current.state}, so something processed it; it is not discarded and detection of ${this.table} cannot go on past it: it needs a person.`,
    );
  }

  /**
   * Read and write the pages of the pass (new or resumed), then complete it.
   *
   * Pages are written through a pipeline (PageWriter): while pages are compressed, uploaded and
   * recorded, the next one is read; recorded pages are announced ten at a time. The order that
   * recovery relies on is kept: records are created strictly in page order, a page's message is
   * sent only once it is recorded, and the cursor moves only past pages whose messages are sent.
   * So after a crash at any point the recorded pages form an unbroken run after the cursor, which
   * recoverRecordedPages re-sends and steps over.
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
    const header = rawObjectHeader(this.table, source.columns);
    const offClock: OffClockScan = {
      lastUpdatedIndex: source.columns.indexOf('last_updated'),
      idIndex: source.columns.indexOf(SOURCE_TABLES[this.table].primaryKey),
      upper: plan.upper,
      lookbackSeconds: this.settings.lookbackSeconds,
    };
    const writer = new PageWriter(
      this,
      plan,
      header,
      source.extraColumns,
      first ?? (plan.lower !== null ? { lastUpdated: plan.lower, id: MAX_ID } : null),
      this.settings.messagesPerSend,
      offClock,
    );
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
        // Also renewed after each announcement; here too, since ten slow pages can take a while.
        await this.context.keepLease();
        // Read the next page while this one is written (the read is read-only).
        pending = read(page.last);
        writer.add(page);
      }
      await writer.drain();
    } catch (err) {
      // Pages recorded but not announced yet stay for recovery; their slots are failed here so
      // that settle() does not wait for an announcement that will never come (a failed read would
      // otherwise hang the detection until its invocation timed out).
      writer.abort(err);
      throw err;
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

  batchIdOf(plan: PassPlan, pageNo: number): string {
    return batchIdFor(this.table, plan.passId, pageNo);
  }

  /**
   * Before step (1): the page's range as its message will carry it. A key the contract cannot carry
   * stops the detection here, before anything of the page is written (the reader never makes one:
   * this is the invariant's last guard, not a way rows are handled).
   */
  checkRange(batchId: string, from: RowKey | null, to: RowKey | undefined): void {
    for (const [end, key] of [['from', from], ['to', to]] as const) {
      if (end === 'from' && key === null) continue;
      if (!rowKey.safeParse(key).success) {
        throw new ContractError(
          `The page ${batchId} of ${this.table} has the range ${end} ${JSON.stringify(key ?? null)}, which a batch-extracted message cannot carry; nothing of the page was written.`,
        );
      }
    }
  }

  /** Rows of a page whose last_updated is off the source clock (off-clock.ts): logged and counted. */
  reportOffClock(batchId: string, rows: readonly OffClockRow[]): void {
    if (rows.length === 0) return;
    this.ports.metrics.count('RowsOffClock', rows.length);
    for (const row of rows.slice(0, LOGGED_OFF_CLOCK_ROWS)) {
      this.ports.log.error(
        "a source row's last_updated is off the source clock; the row is extracted as it is (the transformer quarantines a value it cannot read as a timestamp): correct it in the source",
        { table: this.table, id: row.id, column: row.column, value: row.value, reason: row.reason, batchId },
      );
    }
    if (rows.length > LOGGED_OFF_CLOCK_ROWS) {
      this.ports.log.error('more rows of the page have a last_updated off the source clock', { table: this.table, batchId, more: rows.length - LOGGED_OFF_CLOCK_ROWS });
    }
  }

  /**
   * Step (1): compress the page (after the object's header line) and write its object, and its
   * ambiguous rows beside it. The page's JSON is released as soon as it is compressed.
   */
  async uploadPage(plan: PassPlan, pageNo: number, page: SourcePage, header: Uint8Array): Promise<UploadedPage> {
    const last = page.last as RowKey;
    const batchId = batchIdFor(this.table, plan.passId, pageNo);
    const bucket = this.settings.ingestionBucket;
    let body: Buffer;
    try {
      body = await gzipParts([header, page.body], this.settings.gzipLevel ?? 1);
    } finally {
      page.release();
    }
    const sha256 = createHash('sha256').update(body).digest();
    const digest = shortDigest(sha256.toString('hex'));
    const rawKey = rawKeyFor(this.table, last.lastUpdated, batchId, digest);
    await this.ports.objects.putImmutable(bucket, rawKey, body, { contentType: 'application/gzip', metadata: { batchid: batchId, rows: String(page.rows) }, sha256 });
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
  async recordPage(page: SourcePage, from: RowKey | null, uploaded: UploadedPage, extraColumns: readonly string[], observedAt: string): Promise<{ record: BatchRecord; created: boolean }> {
    const batch: NewBatch = {
      batchId: uploaded.batchId,
      table: this.table,
      rows: page.rows,
      bytes: uploaded.bytes,
      rawBucket: this.settings.ingestionBucket,
      rawKey: uploaded.rawKey,
      rawLayout: RAW_LAYOUT,
      range: { from, to: page.last as RowKey },
      lateRows: page.lateRows,
      observedAt,
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

  /**
   * Step (4) for a run of consecutive pages whose messages are sent, in page order: the cursor moves
   * past the last of them in one conditional write; then metrics, a log line per page, the lease.
   */
  async advancePast(pages: readonly RecordedPage[]): Promise<void> {
    const current = this.watermark.current as PassInProgress;
    await this.advance(current, pages);
    for (const { record, created, ambiguousKey, flagged } of pages) {
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
        ...(ambiguousKey ? { ambiguousKey } : {}),
      });
    }
    await this.context.keepLease();
  }

  /** Step (3): the records' messages, in page order, in as few requests as SQS allows (ten a request). */
  async send(records: readonly BatchRecord[]): Promise<void> {
    await this.ports.sender.send(
      transformQueueFor(this.table),
      records.map((record) => serializeMessage('batch-extracted', batchMessage(record))),
    );
    this.batchesThisInvocation += records.length;
  }

  private async advance(current: PassInProgress, pages: readonly Pick<RecordedPage, 'record' | 'ambiguousKey'>[]): Promise<void> {
    const last = pages.at(-1);
    if (!last) return;
    const next: PassInProgress = {
      ...current,
      cursor: last.record.range.to,
      page: current.page + pages.length,
      rows: current.rows + pages.reduce((n, p) => n + p.record.rows, 0),
      lateRows: current.lateRows + pages.reduce((n, p) => n + p.record.lateRows, 0),
      ambiguousObjects: [...current.ambiguousObjects, ...pages.flatMap((p) => (p.ambiguousKey ? [p.ambiguousKey] : []))],
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

/** A page whose batch is recorded (step 2), on its way to its message and the cursor. */
interface RecordedPage {
  readonly record: BatchRecord;
  readonly created: boolean;
  readonly ambiguousKey: string | undefined;
  /** Rows of the page in the ambiguous set (for the log line). */
  readonly flagged: number;
}

/** Pages being compressed, uploaded or recorded at once, at most (each holds its JSON or compressed bytes). */
const PAGES_IN_FLIGHT = 4;
/** Messages sent in one request, at most (SQS SendMessageBatch takes ten): also the pages one cursor write moves past. */
const MAX_MESSAGES_PER_SEND = 10;

interface PageSlot {
  readonly recorded: Promise<RecordedPage>;
  /** Set once `recorded` has resolved. */
  value: RecordedPage | undefined;
  /** Settles when the page's message is sent and the cursor is past it (or the pipeline failed). */
  readonly done: Promise<void>;
  settled: boolean;
  resolve(): void;
  reject(err: unknown): void;
}

/**
 * The page pipeline of one run. For page n: upload(n) (compress and put) starts at once; record(n)
 * waits for upload(n) and record(n-1). Recorded pages are then announced in page order, ten at a
 * time (or fewer when the run ends): one SendMessageBatch for their messages, then one conditional
 * write moving the cursor past the last of them. So records are created in page order, a page's
 * message follows its record, and the cursor follows the messages, while a long pass makes a tenth
 * of the SQS and DynamoDB requests it would make page by page (each costs about as much CPU here as
 * converting a thousand rows). After a crash the recorded pages after the cursor are an unbroken
 * run, re-sent by recoverRecordedPages, as before.
 *
 * A failure anywhere fails everything after it (no later record after a failed record; no send or
 * cursor move after any failure), and `settle` waits until nothing is in flight any more.
 */
class PageWriter {
  pagesStarted = 0;
  private pageNo: number;
  private from: RowKey | null;
  private lastRecorded: Promise<unknown> = Promise.resolve();
  /** Pages not recorded yet, in page order (what waitForRoom waits on). */
  private readonly unrecorded: PageSlot[] = [];
  /** Pages whose messages are not sent yet, in page order. */
  private readonly unsent: PageSlot[] = [];
  /** Every page not done yet (message sent, cursor past it), in page order (what drain waits on). */
  private readonly inFlight: PageSlot[] = [];
  private readonly all: Promise<unknown>[] = [];
  private sending = false;
  /** Set by drain: announce what is recorded without waiting for ten. */
  private flushing = false;
  private failure: { readonly err: unknown } | undefined;
  private readonly perSend: number;
  /** The latest last_updated on the source clock for this pass (off-clock.ts), µs. */
  private readonly clock: bigint;

  constructor(
    private readonly pass: DetectionPass,
    private readonly plan: PassPlan,
    private readonly header: Uint8Array,
    private readonly extraColumns: readonly string[],
    from: RowKey | null,
    messagesPerSend: number | undefined,
    private readonly offClock: OffClockScan,
  ) {
    this.clock = clockLimit(offClock);
    this.pageNo = (pass.state.current?.page ?? 0) + 1;
    this.from = from;
    this.perSend = Math.min(MAX_MESSAGES_PER_SEND, Math.max(1, Math.trunc(messagesPerSend ?? MAX_MESSAGES_PER_SEND)));
  }

  add(page: SourcePage): void {
    const batchId = this.pass.batchIdOf(this.plan, this.pageNo);
    this.pass.checkRange(batchId, this.from, page.last);
    // Before the upload (which reuses the page's buffer once compressed). A page whose last key is
    // on the clock holds no off-clock row, so ordinary pages are not scanned.
    if (mayHoldOffClockRows(page.last?.lastUpdated, this.clock)) this.pass.reportOffClock(batchId, findOffClockRows(page.body, this.offClock));
    const pageNo = this.pageNo++;
    const from = this.from;
    this.from = page.last ?? null;
    this.pagesStarted += 1;
    const previousRecord = this.lastRecorded;
    const uploaded = this.pass.uploadPage(this.plan, pageNo, page, this.header);
    const recorded = (async (): Promise<RecordedPage> => {
      const u = await uploaded;
      await previousRecord;
      if (this.failure) throw this.failure.err;
      const r = await this.pass.recordPage(page, from, u, this.extraColumns, this.plan.upper);
      return { ...r, ambiguousKey: u.ambiguousKey, flagged: page.flagged.length };
    })();
    this.lastRecorded = recorded;
    let resolve!: () => void;
    let reject!: (err: unknown) => void;
    const done = new Promise<void>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    const slot: PageSlot = {
      recorded,
      value: undefined,
      settled: false,
      done,
      resolve: () => {
        slot.settled = true;
        resolve();
      },
      reject: (err) => {
        slot.settled = true;
        reject(err);
      },
    };
    // Pages already done need no more waiting for.
    while (this.inFlight[0]?.settled) this.inFlight.shift();
    for (const p of [uploaded, recorded, done]) {
      // Every one is awaited (by its successor, the sender, drain or settle); this only keeps a
      // failure from being reported as unhandled while the loop is busy reading.
      p.catch(() => undefined);
      this.all.push(p);
    }
    if (this.failure) {
      slot.reject(this.failure.err);
      return;
    }
    this.unrecorded.push(slot);
    this.unsent.push(slot);
    this.inFlight.push(slot);
    recorded.then(
      (value) => {
        slot.value = value;
        const at = this.unrecorded.indexOf(slot);
        if (at !== -1) this.unrecorded.splice(at, 1);
        this.announce();
      },
      (err: unknown) => this.fail(err),
    );
  }

  /**
   * Whether a full announcement (ten pages) is recorded, or, once the run has read its last page,
   * all that is left (records complete in page order, so the last one recorded means all are).
   */
  private ready(): boolean {
    return !this.failure && Boolean(this.unsent[this.perSend - 1]?.value || (this.flushing && this.unsent.at(-1)?.value));
  }

  /** Start the sender if an announcement is ready. */
  private announce(): void {
    if (this.sending || !this.ready()) return;
    this.sending = true;
    this.all.push(this.sendInOrder());
  }

  /** The sender: one request (and one cursor write) at a time, in page order. */
  private async sendInOrder(): Promise<void> {
    try {
      while (this.ready()) {
        const group: PageSlot[] = [];
        const pages: RecordedPage[] = [];
        for (let next = this.unsent[0]; next?.value && group.length < this.perSend; next = this.unsent[0]) {
          group.push(next);
          pages.push(next.value);
          this.unsent.shift();
        }
        try {
          await this.pass.send(pages.map((p) => p.record));
          await this.pass.advancePast(pages);
        } catch (err) {
          for (const slot of group) slot.reject(err);
          this.fail(err);
          return;
        }
        for (const slot of group) slot.resolve();
      }
    } finally {
      this.sending = false;
    }
    // Records may have completed while the last request was out.
    this.announce();
  }

  /** The run failed outside the writer (a read): nothing more is announced; what is recorded waits for recovery. */
  abort(err: unknown): void {
    this.fail(err);
  }

  private fail(err: unknown): void {
    this.failure ??= { err };
    for (const slot of this.unsent.splice(0)) slot.reject(this.failure.err);
    this.unrecorded.length = 0;
  }

  private throwIfFailed(): void {
    if (this.failure) throw this.failure.err;
  }

  /** Wait until fewer than PAGES_IN_FLIGHT pages are being compressed, uploaded or recorded; throws the first failure. */
  async waitForRoom(): Promise<void> {
    while (this.unrecorded.length >= PAGES_IN_FLIGHT) await (this.unrecorded[0] as PageSlot).recorded;
    // Recorded pages wait for their announcement; at most two requests' worth of them.
    while (this.unsent.length >= 2 * this.perSend) await (this.unsent[0] as PageSlot).done;
    this.throwIfFailed();
  }

  /** Announce every page; throws the first failure. */
  async drain(): Promise<void> {
    this.flushing = true;
    this.announce();
    while (this.inFlight.length > 0) await this.inFlight.shift()?.done;
    this.throwIfFailed();
  }

  /** Wait until nothing is in flight, whatever happened. */
  async settle(): Promise<void> {
    while (this.all.length > 0) await Promise.allSettled(this.all.splice(0));
  }
}

/** The first line of every raw object the detector writes (layout `arrays`): which columns, in which order. */
export function rawObjectHeader(table: SourceTableName, columns: readonly string[]): Buffer {
  return Buffer.from(rawHeaderLine({ format: RAW_FORMAT_V2, table, columns: [...columns] }), 'utf8');
}

/** gzip (on libuv's thread pool) of `parts` one after the other, as one member. */
export function gzipParts(parts: readonly Uint8Array[], level: number): Promise<Buffer> {
  const input = parts.reduce((n, p) => n + p.byteLength, 0);
  // About what one page compresses to (a quarter to a third of its JSON), so the output is nearly
  // always one chunk: no concatenation, one allocation per page.
  const chunkSize = Math.min(1 << 22, Math.max(1 << 16, 2 ** Math.ceil(Math.log2(input / 2.5))));
  return new Promise((resolve, reject) => {
    const stream = zlib.createGzip({ level, chunkSize });
    const chunks: Buffer[] = [];
    let length = 0;
    stream.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      length += chunk.length;
    });
    stream.once('error', reject);
    stream.once('end', () => resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, length)));
    for (const part of parts.slice(0, -1)) stream.write(part);
    stream.end(parts.at(-1));
  });
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
