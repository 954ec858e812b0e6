import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { serializeMessage } from '@totes/events';
import { ContractError } from '@totes/shared/errors';
import { OFF_RANGE_LAST_UPDATED } from '@totes/shared/source/change-reader';
import { batchPk, type BatchRecord } from '@totes/shared/state/batch-store';
import type { MessageSender } from '@totes/shared/aws/queues';
import { batchMessage } from '../../../services/change-detector/src/detection-pass';
import { DetectorHarness, InjectedCrash } from './harness';

/**
 * A deployment upgraded from a detector before the range check (55cea7a) can hold a recorded batch
 * whose range ends at last_updated 'infinity': a key no batch-extracted message can carry, so its
 * message was never sent, and recovery re-sent it on every detection and failed (ContractError):
 * the table was wedged. Recovery now discards such a record (conditionally) and the page is read
 * again with the keyset that keys such rows validly.
 */
let h: DetectorHarness;

beforeAll(async () => {
  h = await DetectorHarness.create('cd_unannounceable');
});

afterAll(async () => {
  await h?.close();
});

/** Write a record exactly as given (as an older detector left it), bypassing recordExtracted. */
async function putRecord(record: BatchRecord): Promise<void> {
  await h.stage.clients.dynamo.send(new PutCommand({ TableName: h.stage.resources.stateTable, Item: { pk: batchPk(record.batchId), kind: 'batch', ...record } }));
}

describe('change-detector: a recorded batch no message can announce (left by a detector before the range check)', () => {
  it('is discarded by recovery: the page is read again, announced with a valid range, and the table goes on', async () => {
    // Prepare: three payments, the third at 'infinity'. A full pass in pages of two, whose second
    // page (the 'infinity' row) is recorded but never sent: the state the old detector left, except
    // that it recorded that page's range as (…, 'infinity') under a key dated "infinity".
    await h.insertParents();
    await h.insertPayments(1, 3);
    await h.source.query(`UPDATE payment SET last_updated = 'infinity' WHERE payment_id = 3`);
    const real = h.ports().sender;
    const refusesOffRange: MessageSender = {
      send: async (queue, bodies) => {
        if (bodies.some((b) => b.includes(OFF_RANGE_LAST_UPDATED))) throw new InjectedCrash('recording the off-range page');
        return real.send(queue, bodies);
      },
    };
    await expect(h.detect('payment', { sender: refusesOffRange }, { pageSize: 2, messagesPerSend: 1 })).rejects.toThrow(InjectedCrash);
    const current = (await h.watermark('payment')).current;
    expect(current).toMatchObject({ page: 1 });
    const [first, recorded, ...rest] = await h.batchRecords('payment');
    expect(rest).toEqual([]);
    expect(first?.range.to).toEqual({ lastUpdated: expect.not.stringContaining('9999') as unknown, id: 2 });
    if (!recorded) throw new Error('the second page was not recorded');
    const oldKey = recorded.rawKey.replace(/date=[^/]+/, 'date=infinity');
    await h.objects.putImmutable(recorded.rawBucket, oldKey, await h.objects.get(recorded.rawBucket, recorded.rawKey), { contentType: 'application/gzip' });
    const wedged: BatchRecord = { ...recorded, rawKey: oldKey, range: { from: recorded.range.from, to: { lastUpdated: 'infinity', id: 3 } } };
    await putRecord(wedged);
    // The record really is one no message can announce.
    expect(() => serializeMessage('batch-extracted', batchMessage(wedged))).toThrow(ContractError);
    const firstMessages = await h.drainMessages('payment');
    expect(firstMessages.map((m) => m.batchId)).toEqual([first?.batchId]);
    const logsFrom = h.captured.logs.length;

    // Act
    const outcome = await h.detect('payment', {}, { pageSize: 2 });
    const next = await h.detect('payment', {}, { pageSize: 2 });

    // Assert: the pass completes and the row is announced, under the same batch id, by a message
    // that validates (drainMessages parses every one).
    expect(outcome).toMatchObject({ status: 'completed', pages: 2, rows: 3 });
    expect(next).toEqual({ status: 'idle' });
    const messages = await h.drainMessages('payment');
    expect(messages.map((m) => [m.batchId, m.range.to])).toEqual([[recorded.batchId, { lastUpdated: OFF_RANGE_LAST_UPDATED, id: 3 }]]);
    expect(messages[0]?.object.key).not.toBe(oldKey);
    const rows = (await h.rowsOf([...firstMessages, ...messages])).map((l) => JSON.parse(l) as { payment_id: number });
    expect(rows.map((r) => r.payment_id)).toEqual([1, 2, 3]);
    expect(await h.rowsOf(messages)).toEqual(await h.sourceJson('payment', 'payment_id = 3'));
    // No record keeps the bad range; the batch's record names the object its message names.
    const records = await h.batchRecords('payment');
    expect(records.map((r) => r.batchId)).toEqual([first?.batchId, recorded.batchId]);
    for (const r of records) expect(JSON.stringify(r.range)).not.toContain('infinity');
    expect(records[1]?.rawKey).toBe(messages[0]?.object.key);
    // Logged as a warning naming table, batch and reason; the old object stays, an orphan.
    const warnings = h.captured.logs.slice(logsFrom).filter((l) => l.level === 'warn');
    expect(warnings).toEqual([
      {
        level: 'warn',
        message: expect.stringContaining('discarded') as unknown,
        attributes: { table: 'payment', batchId: recorded.batchId, reason: expect.stringContaining('range.to.lastUpdated') as unknown, orphanKey: oldKey },
      },
    ]);
    expect(await h.objects.exists(recorded.rawBucket, oldKey)).toBe(true);
    const watermark = await h.watermark('payment');
    expect(watermark.current).toBeUndefined();
    expect(watermark.done).toMatchObject({ rows: 3, pages: 2 });
  });
});

describe('DynamoBatchStore.discardUnannounced', () => {
  const batch = (batchId: string) => ({
    batchId,
    table: 'currency' as const,
    rows: 1,
    bytes: 10,
    rawBucket: 'b',
    rawKey: `raw/currency/date=2024-01-01/${batchId}.aaaaaaaaaaaa.jsonl.gz`,
    range: { from: null, to: { lastUpdated: '2024-01-01T00:00:00', id: 1 } },
    lateRows: 0,
    extractedAt: '2024-01-01T00:00:00.000Z',
  });

  it('deletes an extracted record with that raw key, so the same batch id can be recorded again', async () => {
    const b = batch('currency.20240101t000000000000.p0001');
    await h.batches.recordExtracted(b);

    const result = await h.batches.discardUnannounced(b.batchId, b.rawKey);
    const again = await h.batches.recordExtracted({ ...b, rawKey: b.rawKey.replace('aaaa', 'bbbb') });

    expect(result).toEqual({ discarded: true });
    expect(again).toMatchObject({ created: true, record: { rawKey: b.rawKey.replace('aaaa', 'bbbb'), state: 'extracted' } });
  });

  it('leaves a record that moved on or names another object, and returns it as it now is', async () => {
    const moved = batch('currency.20240101t000000000000.p0002');
    const replaced = batch('currency.20240101t000000000000.p0003');
    await h.batches.recordExtracted(moved);
    await h.batches.recordTransformed(moved.batchId, { files: 1, quarantinedRows: 0, outputs: {} });
    await h.batches.recordExtracted(replaced);

    const movedResult = await h.batches.discardUnannounced(moved.batchId, moved.rawKey);
    const replacedResult = await h.batches.discardUnannounced(replaced.batchId, 'raw/currency/other.jsonl.gz');
    const absentResult = await h.batches.discardUnannounced('currency.20240101t000000000000.p0009', 'raw/x');

    expect(movedResult).toMatchObject({ discarded: false, current: { batchId: moved.batchId, state: 'transformed' } });
    expect(replacedResult).toMatchObject({ discarded: false, current: { batchId: replaced.batchId, rawKey: replaced.rawKey, state: 'extracted' } });
    expect(absentResult).toEqual({ discarded: false, current: undefined });
    expect(await h.batches.get(moved.batchId)).toMatchObject({ state: 'transformed' });
    expect(await h.batches.get(replaced.batchId)).toMatchObject({ state: 'extracted' });
  });
});
