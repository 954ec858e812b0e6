import type pg from 'pg';
import { ContractError } from '@totes/shared/errors';
import { OFF_RANGE_LAST_UPDATED, type SourcePass, type SourceReader } from '@totes/shared/source/change-reader';
import type { SourceTableName } from '@totes/shared/source/tables';
import type { BatchExtractedV2 } from '@totes/events';
import type { DetectionPorts } from '../../../services/change-detector/src/ports';
import { DetectorHarness, InjectedCrash } from './harness';

/**
 * Source rows whose last_updated the batch-extracted contract cannot carry ('infinity', '-infinity',
 * a BC date, a year after 9999) or that is far ahead of the source clock. Such a row used to be
 * recorded as a batch whose message could not be built (its range key did not validate); the
 * detection then hung on its next read, and every retry re-sent the recorded batch and failed the
 * same way: the table was stuck for good. Now each such row version is extracted once, as
 * PostgreSQL's JSON renders it (the transformer quarantines what it cannot read, naming table, id,
 * column and reason: test/contract/change-detector-output.test.ts), in batches whose messages
 * validate, and reported by the detector (error log naming table, id, column and value;
 * RowsOffClock); the table goes on.
 */
let h: DetectorHarness;
const open: pg.Client[] = [];

beforeAll(async () => {
  h = await DetectorHarness.withPayments('cd_bad_timestamps', 8);
  expect(await h.detect('payment')).toMatchObject({ status: 'completed', rows: 8 });
  await h.drainMessages('payment');
});

afterAll(async () => {
  for (const c of open) await c.end().catch(() => undefined);
  await h?.close();
});

/** The real reader, with each page read through `readPage` (which gets the real pass). */
function withReadPage(real: SourceReader, readPage: (pass: SourcePass, filter: Parameters<SourcePass['readPage']>[0]) => ReturnType<SourcePass['readPage']>): SourceReader {
  return {
    open: async (table: SourceTableName, options) => {
      const pass = await real.open(table, options);
      return {
        table: pass.table,
        snapshot: pass.snapshot,
        extraColumns: pass.extraColumns,
        columns: pass.columns,
        close: () => pass.close(),
        readPage: (filter) => readPage(pass, filter),
      } satisfies SourcePass;
    },
  };
}

type Line = Record<string, unknown>;
const parse = (lines: readonly string[]) => lines.map((l) => JSON.parse(l) as Line);
const byId = (key: string) => (a: Line, b: Line) => Number(a[key]) - Number(b[key]);

/** Messages in batch order, checked: ranges chain, keys strictly increase, every key validates (drainMessages parsed them). */
function expectChainedRanges(messages: readonly BatchExtractedV2[]): void {
  const sorted = [...messages].sort((a, b) => a.batchId.localeCompare(b.batchId));
  for (let i = 1; i < sorted.length; i++) expect(sorted[i]?.range.from).toEqual(sorted[i - 1]?.range.to);
  const order = (k: { lastUpdated: string; id: number }) => `${k.lastUpdated}|${String(k.id).padStart(10, '0')}`;
  for (const m of sorted) if (m.range.from) expect(order(m.range.from) < order(m.range.to)).toBe(true);
}

/** The off-clock reports logged since `from`, as [id, value]. */
function reports(from: number, table: string): Array<[unknown, unknown]> {
  return h.captured.logs
    .slice(from)
    .filter((l) => l.level === 'error' && l.message.includes('off the source clock') && l.attributes.table === table)
    .map((l) => {
      expect(l.attributes).toMatchObject({ column: 'last_updated', reason: expect.any(String), batchId: expect.stringContaining(`${table}.`) });
      return [l.attributes.id, l.attributes.value];
    });
}

describe('change-detector: last_updated values the contract cannot carry, or off the source clock', () => {
  it('an incremental pass extracts them once, in batches whose messages validate, reports each, and the table goes on', async () => {
    await h.source.query(`
      UPDATE payment SET last_updated = 'infinity' WHERE payment_id = 2;
      UPDATE payment SET last_updated = '0044-03-15 BC' WHERE payment_id = 3;
      UPDATE payment SET last_updated = '12000-01-01' WHERE payment_id = 4;
      UPDATE payment SET last_updated = '-infinity' WHERE payment_id = 5;
      UPDATE payment SET last_updated = localtimestamp + interval '10 years' WHERE payment_id = 6;
      UPDATE payment SET created_at = 'infinity', last_updated = localtimestamp WHERE payment_id = 7;
    `);
    const logsFrom = h.captured.logs.length;
    const offClockBefore = h.metric('RowsOffClock');

    const outcome = await h.detect('payment', {}, { pageSize: 3 });
    const idle = await h.detect('payment', {}, { pageSize: 3 });

    expect(outcome).toMatchObject({ status: 'completed', rows: 6, pages: 2 });
    expect(idle).toEqual({ status: 'idle' });
    const messages = (await h.drainMessages('payment')).sort((a, b) => a.batchId.localeCompare(b.batchId));
    expect(messages).toHaveLength(2);
    expectChainedRanges(messages);
    // Part 1 of the keyset (7, then 6 ten years ahead), then the off-range rows in id order.
    expect(messages.map((m) => m.range.to)).toEqual([
      { lastUpdated: OFF_RANGE_LAST_UPDATED, id: 2 },
      { lastUpdated: OFF_RANGE_LAST_UPDATED, id: 5 },
    ]);
    expect(messages[1]?.object.key).toMatch(/^raw\/payment\/date=9999-12-31\//);
    // Every value as PostgreSQL's own JSON renders it.
    expect(parse(await h.rowsOf(messages)).sort(byId('payment_id'))).toEqual(parse(await h.sourceJson('payment', 'payment_id BETWEEN 2 AND 7')).sort(byId('payment_id')));
    expect(parse(await h.rowsOf(messages)).find((r) => r.payment_id === 3)?.last_updated).toBe('0044-03-15T00:00:00 BC');
    // Reported once each, naming table, id, column and value; the row with only a bad created_at is
    // on the clock (the transformer quarantines it).
    const reported = reports(logsFrom, 'payment').sort((a, b) => Number(a[0]) - Number(b[0]));
    expect(reported.map(([id]) => id)).toEqual([2, 3, 4, 5, 6]);
    expect(reported.slice(0, 4).map(([, value]) => value)).toEqual(['infinity', '0044-03-15T00:00:00 BC', '12000-01-01T00:00:00', '-infinity']);
    expect(h.metric('RowsOffClock') - offClockBefore).toBe(5);
  });

  it('a later change to such a row is extracted, whether it stays off the range (no window applies) or is corrected', async () => {
    await h.source.query(`
      UPDATE payment SET paid = NOT paid WHERE payment_id = 3;
      UPDATE payment SET last_updated = localtimestamp WHERE payment_id = 2;
    `);

    const outcome = await h.detect('payment');

    expect(outcome).toMatchObject({ status: 'completed', rows: 2 });
    const messages = await h.drainMessages('payment');
    expect(parse(await h.rowsOf(messages)).sort(byId('payment_id'))).toEqual(parse(await h.sourceJson('payment', 'payment_id IN (2, 3)')).sort(byId('payment_id')));
    expect(await h.detect('payment')).toEqual({ status: 'idle' });
  });

  it('a full extraction in one-page invocations reads both parts of the keyset, resuming inside each, every row once', async () => {
    await h.source.query(`
      INSERT INTO design VALUES
        (2, localtimestamp, '-infinity', 'B', '/b', 'b.json'),
        (3, localtimestamp, '0001-01-01 00:00:00 BC', 'C', '/c', 'c.json'),
        (4, localtimestamp, '2023-05-01 10:00:00', 'D', '/d', 'd.json'),
        (5, localtimestamp, 'infinity', 'E', '/e', 'e.json'),
        (6, localtimestamp, '12000-01-01', 'F', '/f', 'f.json'),
        (7, localtimestamp, '0044-03-15 12:00:00.5', 'G', '/g', 'g.json'),
        (8, '-infinity', '2024-01-01 00:00:00', 'H', '/h', 'h.json');
    `);
    const outcomes: string[] = [];

    for (let i = 0; i < 10 && outcomes.at(-1) !== 'completed'; i++) {
      const outcome = await h.detect('design', {}, { pageSize: 2, remainingMs: () => 10_000, reserveMs: 30_000 });
      outcomes.push(outcome.status);
    }

    // Eight rows in four pages of two, one page per invocation.
    expect(outcomes).toEqual(['paused', 'paused', 'paused', 'completed']);
    const messages = (await h.drainMessages('design')).sort((a, b) => a.batchId.localeCompare(b.batchId));
    expectChainedRanges(messages);
    expect(messages.map((m) => m.range.to)).toEqual([
      { lastUpdated: '2022-11-03T14:20:49.962', id: 1 },
      { lastUpdated: '2024-01-01T00:00:00', id: 8 },
      { lastUpdated: OFF_RANGE_LAST_UPDATED, id: 3 },
      { lastUpdated: OFF_RANGE_LAST_UPDATED, id: 6 },
    ]);
    const ids = parse(await h.rowsOf(messages)).map((r) => r.design_id);
    expect(ids).toEqual([7, 1, 4, 8, 2, 3, 5, 6]);
    expect(parse(await h.rowsOf(messages)).sort(byId('design_id'))).toEqual(parse(await h.sourceJson('design')).sort(byId('design_id')));
    expect(await h.detect('design')).toEqual({ status: 'idle' });
  });

  it('an off-range version emitted while an older writer holds the snapshot xmin back is not emitted again (ambiguous set)', async () => {
    expect(await h.detect('address')).toMatchObject({ status: 'completed', rows: 1 });
    const w = await h.writer();
    open.push(w);
    await w.query('BEGIN');
    await w.query(`INSERT INTO address VALUES (10, '10 Road', NULL, NULL, 'Hull', 'HU1', 'UK', '0148', localtimestamp, localtimestamp)`);
    await h.source.query(`UPDATE address SET last_updated = 'infinity' WHERE address_id = 1`);

    const during = await h.detect('address');
    const again = await h.detect('address');
    await w.query('COMMIT');
    const after = await h.detect('address');

    expect(during).toMatchObject({ status: 'completed', rows: 1 });
    expect(again).toEqual({ status: 'idle' });
    expect(after).toMatchObject({ status: 'completed', rows: 1, lateRows: 1 });
    const rows = parse(await h.rowsOf(await h.drainMessages('address')));
    expect(rows.map((r) => [r.address_id, r.last_updated])).toEqual([
      [1, '2022-11-03T14:20:49.962'],
      [1, 'infinity'],
      [10, expect.any(String)],
    ]);
  });

  it('a page whose range the contract cannot carry is refused before anything of it is written', async () => {
    await h.insertPayments(100, 3, null);
    const recordsBefore = (await h.batchRecords('payment')).length;
    const real = h.ports().source;
    // A reader that reports a key no message can carry (the real one never does).
    const badKeys = withReadPage(real, async (pass, filter) => {
      const page = await pass.readPage(filter);
      return page.last ? { ...page, last: { ...page.last, lastUpdated: 'infinity' } } : page;
    });

    const refused = await h.detect('payment', { source: badKeys }).catch((err: unknown) => err);
    const retried = await h.detect('payment');

    expect(refused).toBeInstanceOf(ContractError);
    expect((refused as Error).message).toMatch(/payment.*cannot carry/);
    expect(retried).toMatchObject({ status: 'completed', rows: 3 });
    expect(await h.batchRecords('payment')).toHaveLength(recordsBefore + 1);
    expect((await h.drainMessages('payment')).map((m) => m.object.rows)).toEqual([3]);
  });

  it('a read failing after a page is recorded fails the detection at once (no hang); the retry loses nothing', async () => {
    await h.insertPayments(200, 5, null);
    const real = h.ports().source;
    let reads = 0;
    const failingSecondRead: Partial<DetectionPorts> = {
      source: withReadPage(real, (pass, filter) => (++reads === 2 ? Promise.reject(new InjectedCrash('the second read')) : pass.readPage(filter))),
    };

    const failed = await h.detect('payment', failingSecondRead, { pageSize: 2 }).catch((err: unknown) => err);
    const retried = await h.detect('payment', {}, { pageSize: 2 });

    expect(failed).toBeInstanceOf(InjectedCrash);
    expect(retried).toMatchObject({ status: 'completed', rows: 5 });
    const messages = await h.drainMessages('payment');
    expect(parse(await h.rowsOf(messages)).map((r) => r.payment_id)).toEqual([200, 201, 202, 203, 204]);
  }, 15_000);
});
