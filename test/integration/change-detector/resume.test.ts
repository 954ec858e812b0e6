import { DetectorHarness } from './harness';

/**
 * A pass that would outrun its invocation stops between pages and leaves its state; the next
 * detection resumes the same pass (same pass id, snapshot and window) from its cursor.
 */
let h: DetectorHarness;

beforeAll(async () => {
  h = await DetectorHarness.withPayments('cd_resume', 130);
});

afterAll(async () => {
  await h?.close();
});

describe('change-detector: a pass longer than its invocation', () => {
  it('stops between pages when the invocation runs short, and the next detection resumes the same pass', async () => {
    const short = await h.detect('payment', {}, { remainingMs: () => 10_000, reserveMs: 30_000 });
    const state = await h.watermark('payment');
    // A row not yet extracted changes between the two invocations: the resumed pass keeps to its
    // own snapshot (the old version is no longer there to read, the new one is not in it), and the
    // next pass extracts the new version.
    await h.source.query(`UPDATE payment SET paid = NOT paid, last_updated = localtimestamp WHERE payment_id = 100`);
    const rest = await h.detect('payment');
    const next = await h.detect('payment');

    expect(short).toMatchObject({ status: 'paused', pages: 1, rows: 50 });
    expect(state.current).toMatchObject({ page: 1, rows: 50, cursor: { id: 50 } });
    expect(rest).toMatchObject({ status: 'completed', passId: state.current?.passId, pages: 3, rows: 129 });
    expect(next).toMatchObject({ status: 'completed', rows: 1 });
    const messages = await h.drainMessages('payment');
    expect(messages.map((m) => m.batchId.split('.').slice(1).join('.'))).toEqual([
      `${state.current?.passId}.p0001`,
      `${state.current?.passId}.p0002`,
      `${state.current?.passId}.p0003`,
      expect.stringMatching(/^\d{8}t\d{12}\.p0001$/),
    ]);
    const lines = await h.rowsOf(messages);
    const ids = lines.map((l) => (JSON.parse(l) as { payment_id: number }).payment_id);
    expect(ids).toHaveLength(130);
    expect(new Set(ids).size).toBe(130);
    expect(lines.at(-1)).toEqual((await h.sourceJson('payment', 'payment_id = 100'))[0]);
  });
});
