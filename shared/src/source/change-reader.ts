import type pg from 'pg';
import type { AmbiguousMember } from '../state/watermark-store';
import type { ConnectionLender } from './connections';
import { copyOut } from './copy-out';
import { CopyToJsonl, type CopyColumn, type JsonValueKind, type RowKey, type RowLayout } from './copy-to-jsonl';
import { checkSourceTable } from './schema-check';
import { quoteIdent, SOURCE_TABLES, type SourceColumnType, type SourceTableName } from './tables';

/**
 * Reads a source table's rows for the change-detector: one REPEATABLE READ READ ONLY transaction
 * per detection pass (so every page and the pass's clock and snapshot come from ONE snapshot), pages
 * in keyset order (last_updated, primary key), each page one `COPY (SELECT ... LIMIT n) TO STDOUT`
 * read by copy-out.ts and turned into JSON Lines by copy-to-jsonl.ts as the bytes arrive. Memory
 * holds one page (the COPY is bounded by its LIMIT; no row is ever a JS object).
 *
 * Parameters: COPY takes no bind parameters, and nothing is spliced into the SQL text instead.
 * Each page's values are set first with `set_config(name, $n, true)` (transaction-local custom
 * settings, allowed in a read-only transaction, passed as ordinary bind parameters) and the COPY
 * query reads them back as `(SELECT current_setting('totes.x')::type)`: an uncorrelated scalar
 * subquery is an InitPlan, evaluated once per query, so the index condition still gets a constant.
 * The only literals in the text are the page size, an integer checked here, and the two constant
 * bounds of the keyset's range (below). Identifiers come from the closed catalogue or the live
 * catalogue, always quoted.
 *
 * Transaction ids: the `xmin` system column is a 32-bit xid. It is compared with a snapshot's xmin
 * (xid8, 64-bit) through `age()`: for xids within 2^31 of each other (what wraparound protection
 * guarantees for rows that are not frozen) `xid >= X` ⇔ `age(xid) <= age(X)`, both ages taken in
 * this transaction, and age() is a cheap integer subtraction (a text round trip per row is not).
 * Where the full xid8 is needed (the rare flagged rows, the exclusion set, the visibility test of a
 * resumed pass) it is rebuilt from the epoch of this snapshot's xmax:
 * `((epoch - (xmin > low)) << 32) | xmin` (an xid above the low half of xmax is from the previous epoch).
 */
/**
 * The keyset and last_updated values it cannot carry. A row key travels in batch records, cursors
 * and batch-extracted messages as "YYYY-MM-DDTHH:MM:SS[.f]" (events/src/common.ts): years 1 to 9999.
 * A PostgreSQL timestamp can also be 'infinity', '-infinity', BC or after 9999, and a key made of
 * one could be recorded but never announced (the message would not validate), wedging the table.
 * So the keyset runs in two parts, in this order:
 * 1. rows with last_updated in [0001-01-01, 10000-01-01), in (last_updated, id) order on the
 *    (last_updated, id) index, keyed by (last_updated, id) as always;
 * 2. then the "off-range" rows (every other last_updated), in id order, each keyed by
 *    (OFF_RANGE_LAST_UPDATED, id). That time, 9999-12-31T24:00:00 (ISO 8601's end of the last
 *    day, the first instant after the range), sorts after every key of part 1 and is no row's
 *    last_updated, so keys stay increasing and a cursor says which part it is in.
 * Part 2 has no lower bound (an incremental pass's window does not apply: a BC row is below every
 * window, and would otherwise never be read again after an update); the transaction-id rules
 * (excludeBelow, exclude, visibleIn) apply to it as to part 1, so each off-range version is read
 * once. Its rows are written exactly as PostgreSQL's JSON renders them ("infinity",
 * "0044-03-15T00:00:00 BC", "12000-01-01T00:00:00"), which the transformer refuses as timestamps:
 * the row is quarantined there with table, id, column and reason, never dropped. Part 2 is read
 * only when part 1 has ended (a page short of its limit), so it costs one small query per pass.
 */
export const OFF_RANGE_LAST_UPDATED = '9999-12-31T24:00:00';
const KEYSET_FROM = `'0001-01-01 00:00:00'::timestamp`;
const KEYSET_UNTIL = `'10000-01-01 00:00:00'::timestamp`;

/** Whether a key is an off-range row's (part 2 of the keyset). */
export function isOffRangeKey(key: RowKey | null | undefined): boolean {
  return key?.lastUpdated === OFF_RANGE_LAST_UPDATED;
}

export interface SourceSnapshot {
  /** The source's clock in this transaction (localtimestamp), "YYYY-MM-DDTHH:MM:SS.ffffff". */
  readonly clock: string;
  /** pg_current_snapshot() as text. */
  readonly snapshot: string;
  /** Its xmin and xmax, xid8 decimal text. */
  readonly xmin: string;
  readonly xmax: string;
}

export interface IncrementalFilter {
  /** Only rows with last_updated above this ("YYYY-MM-DDTHH:MM:SS[.f]"). */
  readonly lower: string;
  /** Skip row versions whose transaction is below this xid8: the previous pass saw them. */
  readonly excludeBelow: string;
  /** Skip these versions (id and xid): the previous passes emitted them. */
  readonly exclude: readonly AmbiguousMember[];
  /** Count rows with last_updated at or below this as late. */
  readonly lateUpTo: string;
}

export interface PageFilter {
  /** Start after this key; null from the beginning of the range. */
  readonly after: RowKey | null;
  readonly limit: number;
  /** Absent for a full extraction. */
  readonly since?: IncrementalFilter;
  /** A resumed pass: only versions whose transaction is visible in this (the pass's own) snapshot. */
  readonly visibleIn?: string;
  /** Report the id and xid of row versions from transactions at or above this xid8. */
  readonly flagFrom: string;
}

export interface SourcePage {
  /** JSON Lines in the pass's row layout (events/src/batch-extracted.v2.ts), one line per row. */
  readonly body: Buffer;
  readonly rows: number;
  /** The key of the last row: (last_updated, id), or (OFF_RANGE_LAST_UPDATED, id) for an off-range row. */
  readonly last: RowKey | undefined;
  readonly lateRows: number;
  /** The rows flagged by `flagFrom`. */
  readonly flagged: readonly AmbiguousMember[];
  /**
   * The caller is done with `body`: its memory may be reused for a later page of the pass. Optional
   * (an unreleased page is simply garbage collected); `body` must not be read after it.
   */
  release(): void;
}

export interface SourcePass {
  readonly table: SourceTableName;
  readonly snapshot: SourceSnapshot;
  /** Source columns the contract does not know, carried as text. */
  readonly extraColumns: readonly string[];
  /** Every column of a row, in the order of its values (the catalogue's, then the extra ones). */
  readonly columns: readonly string[];
  readPage(filter: PageFilter): Promise<SourcePage>;
  /** End the transaction and return the connection. Safe to call more than once. */
  close(): Promise<void>;
}

export interface PassOptions {
  /** How each row is written: a JSON object keyed by column name, or a JSON array of the values in `columns` order. */
  readonly layout: RowLayout;
}

export interface SourceReader {
  /** Begin a pass over `table`; checks the table against the catalogue (SourceSchemaError). */
  open(table: SourceTableName, options: PassOptions): Promise<SourcePass>;
}

const KIND: Readonly<Record<SourceColumnType, JsonValueKind>> = {
  int: 'int',
  varchar: 'text',
  numeric: 'numeric',
  timestamp: 'timestamp',
  boolean: 'boolean',
};

/** The converter's columns for a table: the catalogue's, in order, then the extra ones as text. */
export function copyColumnsFor(table: SourceTableName, extraColumns: readonly string[] = []): CopyColumn[] {
  return [...SOURCE_TABLES[table].columns.map((c) => ({ name: c.name, kind: KIND[c.type] })), ...extraColumns.map((name) => ({ name, kind: 'text' as const }))];
}

const XID8 = /^\d{1,20}$/;
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d{1,6})?$/;
const SNAPSHOT = /^\d{1,20}:\d{1,20}:(\d{1,20}(,\d{1,20})*)?$/;

function checked(pattern: RegExp, what: string, value: string): string {
  if (!pattern.test(value)) throw new TypeError(`${what} ${JSON.stringify(value.slice(0, 60))} is malformed`);
  return value;
}

const setting = (name: string, type: string) => `(SELECT current_setting('totes.${name}')::${type})`;

/** The row version's xid8, rebuilt from the 32-bit xmin and the epoch of this snapshot's xmax. */
const XID8_OF_ROW = `(((${setting('epoch', 'bigint')} - (t.xmin::text::bigint > ${setting('low', 'bigint')})::int) << 32) | t.xmin::text::bigint)`;

/**
 * The meta column (copy-to-jsonl.ts): NULL for an ordinary row, else `<late 0|1>:<xid8 or empty>`.
 * Absent when neither condition is given.
 */
function metaColumn(late: string | undefined, flagged: string | undefined): string {
  if (late === undefined && flagged === undefined) return '';
  return (
    `, CASE WHEN ${[late, flagged].filter(Boolean).join(' OR ')} THEN ` +
    `${late ? `(CASE WHEN ${late} THEN '1' ELSE '0' END)` : `'0'`} || ':' || ` +
    `${flagged ? `(CASE WHEN ${flagged} THEN ${XID8_OF_ROW}::text ELSE '' END)` : `''`} END`
  );
}

export class PgChangeReader implements SourceReader {
  constructor(private readonly connections: ConnectionLender) {}

  async open(table: SourceTableName, options: PassOptions): Promise<SourcePass> {
    const borrowed = await this.connections.borrow();
    const { client } = borrowed;
    let inTransaction = false;
    try {
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      inTransaction = true;
      // COPY renders timestamps in the session's DateStyle: ISO is "YYYY-MM-DD HH:MM:SS[.ffffff]".
      await client.query("SET LOCAL DateStyle = 'ISO, YMD'");
      // The first query takes the transaction's snapshot; localtimestamp is the transaction's start,
      // so the clock read here is never later than the snapshot (what the look-back relies on).
      const shape = await checkSourceTable(client, table);
      const snap = await client.query<SourceSnapshot & PlannerSettings>(
        `SELECT to_char(localtimestamp, 'YYYY-MM-DD"T"HH24:MI:SS.US') AS clock, s::text AS snapshot,
                pg_snapshot_xmin(s)::text AS xmin, pg_snapshot_xmax(s)::text AS xmax,
                current_setting('enable_seqscan') AS "enableSeqscan", current_setting('enable_indexscan') AS "enableIndexscan"
           FROM pg_current_snapshot() AS s`,
      );
      const row = snap.rows[0];
      if (!row) throw new Error('pg_current_snapshot() returned no row');
      const { enableSeqscan, enableIndexscan, ...snapshot } = row;
      return new PgSourcePass(table, client, borrowed.giveBack, snapshot, shape.extraColumns.map((c) => c.name), options.layout, { enableSeqscan, enableIndexscan });
    } catch (err) {
      if (inTransaction) {
        const ok = await client.query('ROLLBACK').then(
          () => true,
          () => false,
        );
        borrowed.giveBack(!ok);
      } else {
        borrowed.giveBack(true);
      }
      throw err;
    }
  }
}

/** The session's planner settings that reading part 2 of the keyset changes (and puts back). */
interface PlannerSettings {
  readonly enableSeqscan: string;
  readonly enableIndexscan: string;
}

/** Output buffers kept for reuse per pass: a page being read plus the pages the caller is writing. */
const SPARE_BUFFERS = 6;

class PgSourcePass implements SourcePass {
  private closed = false;
  private lastPageBytes = 0;
  private readonly copyColumns: CopyColumn[];
  readonly columns: readonly string[];
  /**
   * Page buffers given back by the caller. Reusing them keeps a full extraction from allocating
   * (and the garbage collector from tracking) a new multi-megabyte buffer per page: measured here,
   * that churn of external memory set off a full collection every few pages.
   */
  private readonly spare: Buffer[] = [];
  private readonly selectList: string;
  private readonly epoch: bigint;
  private readonly low: bigint;
  /** Set while the planner settings are the ones part 2 reads with. */
  private plannerNudged = false;

  constructor(
    readonly table: SourceTableName,
    private readonly client: pg.Client,
    private readonly giveBack: (broken?: boolean) => void,
    readonly snapshot: SourceSnapshot,
    readonly extraColumns: readonly string[],
    private readonly layout: RowLayout,
    private readonly planner: PlannerSettings,
  ) {
    const known = SOURCE_TABLES[table].columns;
    this.copyColumns = copyColumnsFor(table, extraColumns);
    this.columns = this.copyColumns.map((c) => c.name);
    // Known columns as stored (COPY's text output is already exact: numeric_out, ISO timestamps);
    // unknown ones as text, whatever their type.
    this.selectList = [...known.map((c) => `t.${quoteIdent(c.name)}`), ...extraColumns.map((name) => `t.${quoteIdent(name)}::text`)].join(', ');
    const xmax = BigInt(checked(XID8, 'xmax', snapshot.xmax));
    this.epoch = xmax >> 32n;
    this.low = xmax & 0xffffffffn;
  }

  async readPage(filter: PageFilter): Promise<SourcePage> {
    if (this.closed) throw new Error(`the detection pass over ${this.table} is closed`);
    if (!Number.isSafeInteger(filter.limit) || filter.limit < 1) throw new TypeError(`page size ${filter.limit} is not a positive integer`);
    return this.read(filter);
  }

  private async read(filter: PageFilter): Promise<SourcePage> {
    const table = SOURCE_TABLES[this.table];
    const pk = `t.${quoteIdent(table.primaryKey)}`;
    const settings: Array<[string, string]> = [
      ['epoch', String(this.epoch)],
      ['low', String(this.low)],
    ];
    // Ages of the xids compared with each row, taken in this transaction (see the module comment).
    const ages: Array<[string, string]> = [];
    // Conditions of both parts of the keyset (which row versions), then of each part (where in the keyset).
    const where: string[] = [];
    const inRange: string[] = [`t.last_updated >= ${KEYSET_FROM}`, `t.last_updated < ${KEYSET_UNTIL}`];
    const offRange: string[] = [`(t.last_updated < ${KEYSET_FROM} OR t.last_updated >= ${KEYSET_UNTIL})`];
    const flagFrom = BigInt(checked(XID8, 'flagFrom', filter.flagFrom));
    // No visible version can come from a transaction at or above this snapshot's xmax.
    const flag = flagFrom < BigInt(this.snapshot.xmax);
    if (flag) ages.push(['flag_age', String(flagFrom & 0xffffffffn)]);
    const { since } = filter;
    if (since) {
      settings.push(['lower', checked(TIMESTAMP, 'lower', since.lower)], ['late_up_to', checked(TIMESTAMP, 'lateUpTo', since.lateUpTo)]);
      inRange.push(`t.last_updated > ${setting('lower', 'timestamp')}`);
      const below = BigInt(checked(XID8, 'excludeBelow', since.excludeBelow));
      if (below < BigInt(this.snapshot.xmax)) {
        ages.push(['exclude_age', String(below & 0xffffffffn)]);
        where.push(`age(t.xmin) <= ${setting('exclude_age', 'int')}`);
      } else {
        // Every visible version is below the snapshot's xmax, so below excludeBelow: all were seen.
        // (The detection refuses a pass whose previous xmin is above xmax: the source was replaced.)
        where.push('false');
      }
      if (since.exclude.length > 0) {
        const ids = since.exclude.map((m) => String(m.id));
        const xids = since.exclude.map((m) => checked(XID8, 'exclude xid', m.xid));
        if (ids.some((id) => !/^-?\d{1,10}$/.test(id))) throw new TypeError('an excluded id is not an integer');
        settings.push(['exclude_ids', `{${ids.join(',')}}`], ['exclude_xids', `{${xids.join(',')}}`]);
        // NOT IN over a subquery without NULLs: PostgreSQL hashes the set once (hashed SubPlan).
        where.push(
          `(${pk}, ${XID8_OF_ROW}) NOT IN (SELECT e.id, e.xid FROM unnest(${setting('exclude_ids', 'int[]')}, ${setting('exclude_xids', 'bigint[]')}) AS e(id, xid))`,
        );
      }
    }
    if (filter.visibleIn !== undefined) {
      settings.push(['visible_in', checked(SNAPSHOT, 'snapshot', filter.visibleIn)]);
      where.push(`pg_visible_in_snapshot(${XID8_OF_ROW}::text::xid8, ${setting('visible_in', 'pg_snapshot')})`);
    }
    // A cursor in part 2 skips part 1 altogether; one in part 1 (or none) reads part 2 from its start.
    const inPartTwo = isOffRangeKey(filter.after);
    if (filter.after) {
      settings.push(['after_id', String(Math.trunc(filter.after.id))]);
      if (inPartTwo) {
        // `+ 0`: no index serves it, so it cannot lure the planner onto the primary key (readOffRange).
        offRange.push(`(${pk} + 0) > ${setting('after_id', 'int')}`);
      } else {
        settings.push(['after_lu', checked(TIMESTAMP, 'cursor', filter.after.lastUpdated)]);
        inRange.push(`(t.last_updated, ${pk}) > (${setting('after_lu', 'timestamp')}, ${setting('after_id', 'int')})`);
      }
    }
    const late = since ? `t.last_updated <= ${setting('late_up_to', 'timestamp')}` : undefined;
    const flagged = flag ? `age(t.xmin) <= ${setting('flag_age', 'int')}` : undefined;
    const hasMeta = late !== undefined || flagged !== undefined;

    const values: string[] = [];
    const calls: string[] = [];
    for (const [name, value] of settings) {
      values.push(value);
      calls.push(`set_config('totes.${name}', $${values.length}, true)`);
    }
    for (const [name, xid] of ages) {
      values.push(xid);
      calls.push(`set_config('totes.${name}', age($${values.length}::xid)::text, true)`);
    }
    if (this.plannerNudged && !inPartTwo) {
      // Part 1 plans as it always has: the session's own settings back (see readOffRange).
      values.push(this.planner.enableSeqscan, this.planner.enableIndexscan);
      calls.push(`set_config('enable_seqscan', $${values.length - 1}, true)`, `set_config('enable_indexscan', $${values.length}, true)`);
      this.plannerNudged = false;
    }
    await this.client.query(`SELECT ${calls.join(', ')}`, values);

    let lateRows = 0;
    let offRangeRows = false;
    const flaggedRows: AmbiguousMember[] = [];
    const converter = new CopyToJsonl(
      {
        columns: this.copyColumns,
        lastUpdatedIndex: this.columns.indexOf('last_updated'),
        idIndex: this.columns.indexOf(table.primaryKey),
        hasMeta,
        layout: this.layout,
        onMeta: (m) => {
          if (m.late) lateRows += 1;
          const key = offRangeRows ? { lastUpdated: OFF_RANGE_LAST_UPDATED, id: m.key.id } : m.key;
          if (m.xid !== undefined) flaggedRows.push({ id: key.id, lastUpdated: key.lastUpdated, xid: m.xid });
        },
      },
      this.outputBuffer(),
    );
    const select = (part: readonly string[], meta: string, order: string, limit: number) =>
      `COPY (SELECT ${this.selectList}${meta} FROM ${quoteIdent(this.table)} AS t WHERE ${[...where, ...part].join(' AND ')} ORDER BY ${order} LIMIT ${limit}) TO STDOUT`;
    // Rows are converted as they arrive; a conversion error is reported once the COPY has ended
    // (copyOut keeps reading to its end), so the connection stays usable.
    const onRow = (buf: Buffer, start: number, end: number) => converter.pushRow(buf, start, end);
    if (!inPartTwo) {
      await copyOut(this.client, select(inRange, metaColumn(late, flagged), `t.last_updated, ${pk}`, filter.limit), onRow);
    }
    const fromPartOne = converter.rowCount;
    if (fromPartOne < filter.limit) {
      offRangeRows = true;
      // Lateness is measured on the clock, which off-range rows are not on: never late.
      await this.readOffRange(select(offRange, metaColumn(late === undefined ? undefined : 'false', flagged), pk, filter.limit - fromPartOne), onRow);
    }
    const out = converter.finish();
    this.lastPageBytes = out.body.length;
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      if (!this.closed && this.spare.length < SPARE_BUFFERS) this.spare.push(out.buffer);
    };
    const last = out.last && out.rows > fromPartOne ? { lastUpdated: OFF_RANGE_LAST_UPDATED, id: out.last.id } : out.last;
    return { body: out.body, rows: out.rows, last, lateRows, flagged: flaggedRows, release };
  }

  /**
   * Part 2 of the keyset (see OFF_RANGE_LAST_UPDATED): normally no row, and it must cost nothing.
   * Its condition is two ranges of the (last_updated, id) index, but ordered by id the planner may
   * instead walk the primary key and filter every row (it does on a table with no statistics,
   * taking a third of the rows for each range: measured on 200,000 rows, 24-36 ms and every row
   * removed by the filter, against 0.03 ms for a bitmap scan of the two ranges). With sequential and
   * plain index scans turned off for this query, and the cursor's id condition written so that no
   * index serves it, the bitmap scan of the two last_updated ranges is the only plan left, whatever
   * the statistics (checked with EXPLAIN with and without ANALYZE). The next part-1 read puts the
   * session's settings back (set_config(..., true) also ends with the transaction).
   */
  private async readOffRange(sql: string, onRow: (buf: Buffer, start: number, end: number) => void): Promise<void> {
    if (!this.plannerNudged) {
      await this.client.query(`SELECT set_config('enable_seqscan', 'off', true), set_config('enable_indexscan', 'off', true)`);
      this.plannerNudged = true;
    }
    await copyOut(this.client, sql, onRow);
  }

  /** A spare buffer big enough for a page like the previous one, else a new one of that size. */
  private outputBuffer(): Buffer {
    // Sized after the previous page, so that a page's output is (nearly always) written without growing.
    const wanted = Math.max(1 << 16, Math.ceil(this.lastPageBytes * 1.125));
    for (let candidate = this.spare.pop(); candidate; candidate = this.spare.pop()) {
      if (candidate.length >= wanted) return candidate;
      // Too small since the pages grew: dropped (the next ones will be the larger size).
    }
    return Buffer.allocUnsafe(wanted);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.spare.length = 0;
    // A read-only transaction has nothing to commit; ROLLBACK also clears an aborted one.
    const ok = await this.client.query('ROLLBACK').then(
      () => true,
      () => false,
    );
    this.giveBack(!ok);
  }
}
