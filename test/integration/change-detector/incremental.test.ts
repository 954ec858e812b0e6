import type pg from 'pg';
import { DetectorHarness } from './harness';

/**
 * After the first pass, each pass extracts exactly the row versions committed since the previous
 * one, each once, however late its writer commits (up to the look-back).
 */
let h: DetectorHarness;
const open: pg.Client[] = [];

beforeAll(async () => {
  h = await DetectorHarness.withPayments('cd_incremental', 120);
  expect(await h.detect('payment')).toMatchObject({ status: 'completed', rows: 120 });
  await h.drainMessages('payment');
});

afterAll(async () => {
  for (const c of open) await c.end().catch(() => undefined);
  await h?.close();
});

async function writer(): Promise<pg.Client> {
  const c = await h.writer();
  open.push(c);
  return c;
}

const ids = (lines: readonly string[]) => lines.map((l) => (JSON.parse(l) as { payment_id: number }).payment_id);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('change-detector: incremental passes', () => {
  it('extracts exactly the rows changed since the last pass, each new version once', async () => {
    await h.source.query(`UPDATE payment SET paid = NOT paid, last_updated = localtimestamp WHERE payment_id IN (3, 60, 117)`);
    await h.insertPayments(121, 5, null);

    const outcome = await h.detect('payment');

    expect(outcome).toMatchObject({ status: 'completed', rows: 8, lateRows: 0 });
    const lines = await h.rowsOf(await h.drainMessages('payment'));
    expect(lines).toEqual(await h.sourceJson('payment', 'payment_id IN (3, 60, 117) OR payment_id > 120'));
    expect(await h.detect('payment')).toEqual({ status: 'idle' });
    expect(await h.drainMessages('payment')).toEqual([]);
  });

  it('a writer whose transaction is open across a pass is extracted once, by the next pass, and counted late', async () => {
    const w = await writer();
    await w.query('BEGIN');
    await h.insertPayments(200, 1, null, w); // last_updated = the writer's start
    await h.source.query(`UPDATE payment SET paid = NOT paid, last_updated = localtimestamp WHERE payment_id = 5`);
    await sleep(20);

    const during = await h.detect('payment');
    await w.query('COMMIT');
    const after = await h.detect('payment');
    const idle = await h.detect('payment');

    expect(during).toMatchObject({ status: 'completed', rows: 1, lateRows: 0 });
    expect(after).toMatchObject({ status: 'completed', rows: 1, lateRows: 1 });
    expect(idle).toEqual({ status: 'idle' });
    const messages = await h.drainMessages('payment');
    expect(ids(await h.rowsOf(messages))).toEqual([5, 200]);
    expect(messages.find((m) => m.lateRows === 1)?.object.rows).toBe(1);
    expect(h.metric('LateArrivals')).toBe(1);
    const records = await h.batchRecords('payment');
    expect(records.filter((r) => r.lateRows === 1)).toHaveLength(1);
  });

  it('the same with the row written inside a savepoint (its xid is a subtransaction’s)', async () => {
    const w = await writer();
    await w.query('BEGIN');
    await w.query('SELECT 1');
    await w.query('SAVEPOINT a');
    await h.insertPayments(300, 1, null, w);
    await w.query('RELEASE SAVEPOINT a');
    await w.query('SAVEPOINT b');
    await w.query(`UPDATE payment SET paid = NOT paid, last_updated = localtimestamp WHERE payment_id = 7`);
    await h.source.query(`UPDATE payment SET paid = NOT paid, last_updated = localtimestamp WHERE payment_id = 8`);
    await sleep(20);

    const during = await h.detect('payment');
    await w.query('COMMIT');
    const after = await h.detect('payment');
    const idle = await h.detect('payment');

    expect(during).toMatchObject({ status: 'completed', rows: 1, lateRows: 0 });
    expect(after).toMatchObject({ status: 'completed', rows: 2, lateRows: 2 });
    expect(idle).toEqual({ status: 'idle' });
    expect(ids(await h.rowsOf(await h.drainMessages('payment')))).toEqual([8, 7, 300]);
  });

  it('rows committed while an older writer stays open over several passes are extracted once each (the ambiguous set carries forward)', async () => {
    const w = await writer();
    await w.query('BEGIN');
    await h.insertPayments(400, 1, null, w);
    await h.insertPayments(401, 1, null); // committed after the writer took its xid: ambiguous while it is open
    const passes = [];
    passes.push(await h.detect('payment'));
    passes.push(await h.detect('payment'));
    await h.insertPayments(402, 1, null);
    passes.push(await h.detect('payment'));
    passes.push(await h.detect('payment'));
    await w.query('COMMIT');
    passes.push(await h.detect('payment'));
    passes.push(await h.detect('payment'));

    expect(passes.map((p) => (p.status === 'completed' ? p.rows : p.status))).toEqual([1, 'idle', 1, 'idle', 1, 'idle']);
    expect(ids(await h.rowsOf(await h.drainMessages('payment')))).toEqual([401, 402, 400]);
    const done = (await h.watermark('payment')).done;
    // With no writer open any more, nothing is ambiguous.
    expect(done?.ambiguous.count).toBe(0);
  });

  it('the previous pass’s ambiguous rows are kept in the watermark while a writer is open', async () => {
    const w = await writer();
    await w.query('BEGIN');
    await h.insertPayments(500, 1, null, w);
    await h.insertPayments(501, 3, null);

    await h.detect('payment');

    const done = (await h.watermark('payment')).done;
    expect(done?.ambiguous.members?.map((m) => m.id)).toEqual([501, 502, 503]);
    expect(BigInt(done?.ambiguous.members?.[0]?.xid ?? '0')).toBeGreaterThanOrEqual(BigInt(done?.xmin ?? '0'));
    await w.query('COMMIT');
    await h.detect('payment');
    expect(ids(await h.rowsOf(await h.drainMessages('payment')))).toEqual([501, 502, 503, 500]);
  });
});
