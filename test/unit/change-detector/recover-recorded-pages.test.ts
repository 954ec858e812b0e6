import { parseMessage } from '@totes/events';
import { StateConflictError } from '@totes/shared/errors';
import type { BatchRecord } from '@totes/shared/state/batch-store';
import type { PassInProgress } from '@totes/shared/state/watermark-store';
import { DetectionPass } from '../../../services/change-detector/src/detection-pass';
import { batchIdFor } from '../../../services/change-detector/src/naming';
import type { DetectionPorts } from '../../../services/change-detector/src/ports';
import { MemoryBatches, MemoryWatermarks } from '../../helpers/memory-ports';

/**
 * DetectionPass.recoverRecordedPages with in-memory state: a recorded page whose message can be
 * built is re-sent and stepped over, as always; one whose message cannot be built (a range key like
 * 'infinity', left by a detector before the range check) was never sent, and is discarded so that
 * its page is read again. (Against dynalite and PostgreSQL: test/integration/change-detector/
 * unannounceable-recovery.test.ts.)
 */
const PASS = '20241115t144000123456';
const id = (page: number) => batchIdFor('payment', PASS, page);

const current: PassInProgress = {
  passId: PASS,
  snapshot: '100:100:',
  upper: '2024-11-15T14:40:00.123456',
  lower: null,
  xmin: '100',
  cursor: { lastUpdated: '2024-11-15T10:00:00', id: 10 },
  page: 1,
  rows: 10,
  lateRows: 0,
  ambiguousObjects: [],
  startedAt: '2024-11-15T14:40:01.000Z',
};

function record(page: number, to: { lastUpdated: string; id: number }, from: { lastUpdated: string; id: number } | null = current.cursor): BatchRecord {
  return {
    batchId: id(page),
    table: 'payment',
    state: 'extracted',
    rows: 5,
    bytes: 100,
    rawBucket: 'ingestion',
    rawKey: `raw/payment/date=${to.lastUpdated.slice(0, 10)}/${id(page)}.0123456789ab.jsonl.gz`,
    rawLayout: 'arrays',
    range: { from, to },
    lateRows: 0,
    observedAt: current.upper,
    extractedAt: '2024-11-15T14:40:02.000Z',
    extraColumns: [],
    loads: {},
  };
}

function setUp(records: readonly BatchRecord[]) {
  const batches = new MemoryBatches();
  for (const r of records) batches.records.set(r.batchId, r);
  const watermarks = new MemoryWatermarks({ table: 'payment', version: 3, current });
  const sent: string[] = [];
  const warnings: Array<Record<string, unknown>> = [];
  const unused = () => {
    throw new Error('not used by recovery');
  };
  const ports: DetectionPorts = {
    source: { open: unused },
    objects: { putImmutable: unused, get: unused, exists: async () => false },
    sender: { send: async (_queue, bodies) => void sent.push(...bodies) },
    batches,
    watermarks,
    leases: { acquire: unused, renew: unused, release: unused },
    metrics: { count: () => undefined },
    log: { info: () => undefined, warn: (_m, attributes = {}) => void warnings.push(attributes), error: () => undefined },
  };
  const pass = new DetectionPass(
    { table: 'payment', ports, settings: { ingestionBucket: 'ingestion', pageSize: 5, lookbackSeconds: 900, leaseSeconds: 600, owner: 'me' }, keepLease: async () => undefined },
    watermarks.stored,
  );
  return { pass, batches, watermarks, sent, warnings };
}

describe('DetectionPass.recoverRecordedPages', () => {
  it('re-sends a recorded page whose message can be built and moves the cursor past it; nothing is discarded', async () => {
    const page2 = record(2, { lastUpdated: '2024-11-15T11:00:00', id: 15 });
    const { pass, batches, watermarks, sent, warnings } = setUp([page2]);

    await pass.recoverRecordedPages();

    expect(sent.map((b) => parseMessage('batch-extracted', b))).toMatchObject([{ batchId: page2.batchId, range: page2.range }]);
    expect(watermarks.stored.current).toMatchObject({ page: 2, cursor: page2.range.to, rows: 15 });
    expect(batches.discards).toEqual([]);
    expect(batches.records.get(page2.batchId)).toEqual(page2);
    expect(warnings).toEqual([]);
  });

  it('discards a page whose range no message can carry, and any page recorded after it (last first); sends nothing and keeps the cursor', async () => {
    const bad = record(2, { lastUpdated: 'infinity', id: 15 });
    const after = record(3, { lastUpdated: 'infinity', id: 20 }, bad.range.to);
    const { pass, batches, watermarks, sent, warnings } = setUp([bad, after]);

    await pass.recoverRecordedPages();

    expect(sent).toEqual([]);
    expect(batches.discards).toEqual([after.batchId, bad.batchId]);
    expect(watermarks.stored.current).toEqual(current);
    expect(warnings).toEqual([
      expect.objectContaining({ table: 'payment', batchId: after.batchId, reason: expect.stringContaining(bad.batchId) as unknown }),
      expect.objectContaining({ table: 'payment', batchId: bad.batchId, reason: expect.stringContaining('range.to.lastUpdated') as unknown, orphanKey: bad.rawKey }),
    ]);
  });

  it('stops, naming the batch, when such a record has moved on downstream (it is not discarded)', async () => {
    const bad: BatchRecord = { ...record(2, { lastUpdated: 'infinity', id: 15 }), state: 'transformed' };
    const { pass, batches, sent } = setUp([bad]);

    const failure = await pass.recoverRecordedPages().catch((err: unknown) => err);

    expect(failure).toBeInstanceOf(StateConflictError);
    expect((failure as Error).message).toContain(bad.batchId);
    expect(batches.records.get(bad.batchId)).toEqual(bad);
    expect(sent).toEqual([]);
  });
});
