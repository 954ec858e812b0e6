import { loadDatabaseConfig, type DatabaseConfig } from '../../../shared/src/config';
import { OFF_RANGE_LAST_UPDATED } from '../../../shared/src/source/change-reader';
import type { SourceTableName } from '../../../shared/src/source/tables';
import type { CompletedPass, DetectionProblem, PassInProgress } from '../../../shared/src/state/watermark-store';
import { extractedTo, gatherStatus, summariseBatches, type StatusSnapshot } from '../../../local/src/runtime/status';
import { DetectorHarness } from '../change-detector/harness';

/**
 * `totes status`'s "behind": how long the oldest change not yet extracted has waited, on the source
 * clock, measured from the detector's watermark (the last completed pass's upper bound, and how far a
 * pass in progress has got), against a real source database and the watermark items in dynalite,
 * some written by real detections.
 */
let h: DetectorHarness;
let source: DatabaseConfig;

beforeAll(async () => {
  h = await DetectorHarness.create('status_source');
  source = loadDatabaseConfig('source', { TOTES_SOURCE_URL: h.db.url, TOTES_SOURCE_SSL: 'disable' });
});

afterAll(async () => {
  await h?.close();
});

/** The source clock moved by `seconds`, as the detector writes times ("YYYY-MM-DDTHH:MM:SS.ffffff"). */
async function sourceTime(seconds: number): Promise<string> {
  const r = await h.source.query<{ t: string }>(`SELECT to_char(localtimestamp + make_interval(secs => $1), 'YYYY-MM-DD"T"HH24:MI:SS.US') AS t`, [seconds]);
  return r.rows[0]?.t ?? '';
}

function completedPass(upper: string): CompletedPass {
  return {
    passId: upper.replace(/[-:.]/g, '').toLowerCase(),
    upper,
    lower: null,
    xmin: '1',
    snapshot: '1:1:',
    pages: 1,
    rows: 1,
    lateRows: 0,
    ambiguous: { count: 0 },
    startedAt: '2024-01-01T00:00:00.000Z',
    completedAt: '2024-01-01T00:00:00.000Z',
  };
}

function passInProgress(upper: string, cursor: PassInProgress['cursor']): PassInProgress {
  return { passId: 'p', snapshot: '1:1:', upper, lower: null, xmin: '1', cursor, page: 1, rows: 1, lateRows: 0, ambiguousObjects: [], startedAt: '2024-01-01T00:00:00.000Z' };
}

/** Replace a table's watermark (written as the detector writes it: conditional on its version). */
async function setWatermark(table: SourceTableName, content: { done?: CompletedPass; current?: PassInProgress; error?: DetectionProblem }): Promise<void> {
  const now = await h.watermarks.get(table);
  await h.watermarks.save({ table, ...content }, now.version, 'advance');
}

async function status(): Promise<StatusSnapshot> {
  return gatherStatus({
    sqs: h.stage.clients.sqs,
    dynamo: h.stage.clients.dynamo,
    stateTable: h.stage.resources.stateTable,
    queues: h.stage.resources.queues,
    warehouse: undefined,
    source,
  });
}

async function behind(table: SourceTableName): Promise<number | undefined> {
  return (await status()).tables.find((t) => t.table === table)?.behindSeconds;
}

describe('status: how far extraction trails the source', () => {
  it('a table with off-clock rows extracted still shows a later change as behind, and their extraction does not count as waiting', async () => {
    // Prepare: a real detection extracts rows stamped 'infinity' and ten years ahead; the newest key
    // extracted (what status used to take as "extracted up to") is then the off-range key for good.
    await h.source.query(`INSERT INTO currency VALUES
      (1, 'GBP', '2022-11-03 14:20:49.962', '2022-11-03 14:20:49.962'),
      (2, 'USD', '2022-11-03 14:20:49.962', 'infinity'),
      (3, 'EUR', '2022-11-03 14:20:49.962', localtimestamp + interval '10 years')`);
    expect(await h.detect('currency')).toMatchObject({ status: 'completed', rows: 3 });
    expect((await h.batchRecords('currency')).at(-1)?.range.to.lastUpdated).toBe(OFF_RANGE_LAST_UPDATED);
    const caughtUp = await behind('currency');

    // Act: a change stamped by its writer after that pass, left waiting for over a second.
    await h.source.query(`INSERT INTO currency VALUES (4, 'CHF', localtimestamp, localtimestamp)`);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const waiting = await behind('currency');
    expect(await h.detect('currency')).toMatchObject({ status: 'completed', rows: 1 });
    const extracted = await behind('currency');

    // Assert
    expect(caughtUp).toBe(0);
    expect(waiting).toBeGreaterThanOrEqual(1);
    expect(waiting).toBeLessThan(300);
    expect(extracted).toBe(0);
  });

  it('an idle table is caught up however old its last extracting pass; a change after that pass is behind by its age', async () => {
    // Prepare: department's last pass that extracted anything was two days ago (an idle pass writes
    // nothing, so its watermark stays there) and nothing changed since; design's last pass was five
    // minutes ago and one row changed 90 s ago.
    const twoDaysAgo = await sourceTime(-2 * 86_400);
    await h.source.query(`INSERT INTO department VALUES (1, 'Sales', 'Leeds', 'Ann', $1::timestamp - interval '1 hour', $1::timestamp - interval '1 hour')`, [twoDaysAgo]);
    await setWatermark('department', { done: completedPass(twoDaysAgo) });
    await h.source.query(`INSERT INTO design VALUES
      (1, '2022-11-03 14:20:49.962', localtimestamp - interval '10 minutes', 'Wooden', '/usr', 'wooden.json'),
      (2, '2022-11-03 14:20:49.962', localtimestamp - interval '90 seconds', 'Steel', '/usr', 'steel.json')`);
    await setWatermark('design', { done: completedPass(await sourceTime(-300)) });
    // And a table whose detection is stopped: its problem is read from the same watermark items.
    await setWatermark('staff', { done: completedPass(twoDaysAgo), error: { message: 'staff.email_address is missing', column: 'email_address', at: twoDaysAgo } });

    // Act
    const snapshot = await status();

    // Assert
    const of = (table: string) => snapshot.tables.find((t) => t.table === table);
    expect(of('department')?.behindSeconds).toBe(0);
    expect(of('design')?.behindSeconds).toBeGreaterThanOrEqual(90);
    expect(of('design')?.behindSeconds).toBeLessThan(150);
    expect(of('staff')).toMatchObject({ error: 'staff.email_address is missing', behindSeconds: 0 });
    expect(of('department')?.error).toBeUndefined();
  });

  it('a pass in progress counts its rows up to its cursor as extracted, and no further than its upper bound', async () => {
    // Prepare: passes' bounds ten minutes ago (completed) and ten seconds ago (in progress); rows 300
    // and 200 s old, two with the same stamp, the cursor between those two.
    await h.source.query(`INSERT INTO payment_type VALUES
      (1, 'SALES_RECEIPT', '2022-11-03 14:20:49.962', localtimestamp - interval '300 seconds'),
      (2, 'SALES_REFUND', '2022-11-03 14:20:49.962', localtimestamp - interval '200 seconds'),
      (3, 'PURCHASE_PAYMENT', '2022-11-03 14:20:49.962', localtimestamp - interval '200 seconds')`);
    const r = await h.source.query<{ t: string }>(`SELECT to_char(last_updated, 'YYYY-MM-DD"T"HH24:MI:SS.US') AS t FROM payment_type WHERE payment_type_id = 2`);
    const stampOf2 = r.rows[0]?.t ?? '';
    const done = completedPass(await sourceTime(-600));
    const upper = await sourceTime(-10);

    // Act: the cursor at row 2 (row 3 not read yet), then in the off-range part (part 1 all read).
    await setWatermark('payment_type', { done, current: passInProgress(upper, { lastUpdated: stampOf2, id: 2 }) });
    const atRow2 = await behind('payment_type');
    await setWatermark('payment_type', { done, current: passInProgress(upper, { lastUpdated: OFF_RANGE_LAST_UPDATED, id: 9 }) });
    const pastTheClock = await behind('payment_type');
    await setWatermark('payment_type', { done, current: passInProgress(upper, null) });
    const beforeItsFirstPage = await behind('payment_type');

    // Assert
    expect(atRow2).toBeGreaterThanOrEqual(200);
    expect(atRow2).toBeLessThan(260);
    expect(pastTheClock).toBe(0);
    expect(beforeItsFirstPage).toBeGreaterThanOrEqual(300);
    expect(beforeItsFirstPage).toBeLessThan(360);
  });

  it('with nothing extracted, every row on the clock waits and rows off it neither count nor break the query', async () => {
    // Prepare: address has no watermark; rows at -infinity, BC, infinity, after 9999 and a year ahead.
    const address = (id: number, lastUpdated: string) => `(${id}, '1 Road', NULL, NULL, 'Leeds', 'LS1', 'UK', '0113', '2022-11-03 14:20:49.962', ${lastUpdated})`;
    await h.source.query(
      `INSERT INTO address VALUES ${[
        address(1, `'-infinity'`),
        address(2, `'0044-03-15 BC'`),
        address(3, `'infinity'`),
        address(4, `'12000-01-01'`),
        address(5, `localtimestamp + interval '1 year'`),
      ].join(', ')}`,
    );
    const offClockOnly = await status();

    // Act
    await h.source.query(`INSERT INTO address VALUES ${address(6, `localtimestamp - interval '60 seconds'`)}`);
    const onClock = await behind('address');

    // Assert
    expect(offClockOnly.tables.find((t) => t.table === 'address')?.behindSeconds).toBe(0);
    // An empty table with nothing extracted: nothing waits.
    expect(offClockOnly.tables.find((t) => t.table === 'sales_order')?.behindSeconds).toBe(0);
    expect(onClock).toBeGreaterThanOrEqual(60);
    expect(onClock).toBeLessThan(120);
  });

  it('extractedTo: the later of the completed pass and the cursor of a pass in progress, the cursor capped at that pass upper bound', () => {
    const done = { upper: '2024-01-01T10:00:00.000000' };
    const upper = '2024-01-01T11:00:00.000000';
    expect(extractedTo({})).toBeUndefined();
    expect(extractedTo({ done })).toEqual({ lastUpdated: done.upper, id: 2_147_483_647 });
    expect(extractedTo({ done, current: { upper, cursor: null } })).toEqual({ lastUpdated: done.upper, id: 2_147_483_647 });
    expect(extractedTo({ current: { upper, cursor: null } })).toBeUndefined();
    // A cursor still inside the window below done.upper (a pass re-reads the look-back).
    expect(extractedTo({ done, current: { upper, cursor: { lastUpdated: '2024-01-01T09:50:00', id: 7 } } })).toEqual({ lastUpdated: done.upper, id: 2_147_483_647 });
    expect(extractedTo({ done, current: { upper, cursor: { lastUpdated: '2024-01-01T10:30:00.5', id: 7 } } })).toEqual({ lastUpdated: '2024-01-01T10:30:00.5', id: 7 });
    // Past the pass's own clock: future-stamped and off-range rows.
    expect(extractedTo({ done, current: { upper, cursor: { lastUpdated: '2034-01-01T00:00:00', id: 7 } } })).toEqual({ lastUpdated: upper, id: 2_147_483_647 });
    expect(extractedTo({ current: { upper, cursor: { lastUpdated: OFF_RANGE_LAST_UPDATED, id: 7 } } })).toEqual({ lastUpdated: upper, id: 2_147_483_647 });
  });

  it('summarises batch records per table: loaded, pending, quarantined, late, newest extracted', () => {
    const tables = summariseBatches([
      { table: 'payment', state: 'loaded', rows: 10, quarantinedRows: 1, lateRows: 2, extractedAt: '2024-01-01T00:00:01Z', range: { to: { lastUpdated: '2024-01-01T00:00:00' } } },
      { table: 'payment', state: 'transformed', rows: 5, extractedAt: '2024-01-01T00:00:02Z', range: { to: { lastUpdated: '2024-01-02T00:00:00' } } },
    ]);
    expect(tables.find((t) => t.table === 'payment')).toMatchObject({
      batches: 2,
      rowsExtracted: 15,
      loaded: 1,
      pending: 1,
      quarantined: 1,
      lateRows: 2,
      lastExtractedAt: '2024-01-01T00:00:02Z',
      extractedUpTo: '2024-01-02T00:00:00',
    });
    expect(tables).toHaveLength(11);
  });
});
