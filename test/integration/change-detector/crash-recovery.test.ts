import type { ObjectStore } from '@totes/shared/aws/objects';
import type { MessageSender } from '@totes/shared/aws/queues';
import type { BatchStore } from '@totes/shared/state/batch-store';
import type { WatermarkStore } from '@totes/shared/state/watermark-store';
import type { DetectionPorts } from '../../../services/change-detector/src/ports';
import { DetectorHarness, InjectedCrash } from './harness';

/**
 * A crash can fall between any two side effects of a page. After one, the next detection must
 * lose nothing, emit no row version twice, and never replace a batch already recorded.
 */
type CrashPoint = {
  readonly name: string;
  readonly ports: (h: DetectorHarness) => Partial<DetectionPorts>;
  /** Pages announced together (one send, one cursor write): 1 puts a crash point between every page's steps. */
  readonly messagesPerSend?: number;
};

/** Let the wrapped call happen, then "crash" once, when `when` says so. */
function crashOnce<T extends object>(target: T, method: keyof T & string, when: (...args: unknown[]) => boolean): T {
  let armed = true;
  return new Proxy(target, {
    get(obj, prop) {
      const value = Reflect.get(obj, prop, obj) as unknown;
      if (typeof value !== 'function') return value;
      const fn = value as (...args: unknown[]) => Promise<unknown>;
      if (prop !== method) return fn.bind(obj);
      return async (...args: unknown[]) => {
        const result = await fn.apply(obj, args);
        if (armed && when(...args)) {
          armed = false;
          throw new InjectedCrash(`${method}(${String(args[0]).slice(0, 80)})`);
        }
        return result;
      };
    },
  });
}

const onPage = (page: string) => (key: unknown) => typeof key === 'string' && key.startsWith('raw/') && key.includes(`.${page}.`);
let sends = 0;

const CRASH_POINTS: CrashPoint[] = [
  { name: 'the pass state is first written', ports: (h) => ({ watermarks: crashOnce<WatermarkStore>(h.watermarks, 'save', (_n, _v, change) => change === 'begin-pass') }) },
  { name: 'the object of page 2 is written', ports: (h) => ({ objects: crashOnce<ObjectStore>(h.objects, 'putImmutable', (_b, key) => onPage('p0002')(key)) }) },
  {
    name: 'page 2 is recorded',
    ports: (h) => ({ batches: crashOnce<BatchStore>(h.batches, 'recordExtracted', (batch) => (batch as { batchId: string }).batchId.endsWith('.p0002')) }),
  },
  {
    name: 'the message of page 2 is sent',
    messagesPerSend: 1,
    ports: (h) => ({ sender: crashOnce<MessageSender>(h.ports().sender, 'send', () => ++sends === 2) }),
  },
  {
    name: 'the cursor moves past page 2',
    messagesPerSend: 1,
    ports: (h) => ({ watermarks: crashOnce<WatermarkStore>(h.watermarks, 'save', (next, _v, change) => change === 'advance' && (next as { current?: { page: number } }).current?.page === 2) }),
  },
  {
    name: 'the messages of pages 1 and 2 are sent in one request',
    messagesPerSend: 2,
    ports: (h) => ({ sender: crashOnce<MessageSender>(h.ports().sender, 'send', (_queue, bodies) => (bodies as string[]).length === 2 && ++sends === 1) }),
  },
  {
    name: 'the cursor moves past pages 1 and 2 in one write',
    messagesPerSend: 2,
    ports: (h) => ({ watermarks: crashOnce<WatermarkStore>(h.watermarks, 'save', (next, _v, change) => change === 'advance' && (next as { current?: { page: number } }).current?.page === 2) }),
  },
  {
    name: 'the cursor moves past the last page',
    ports: (h) => ({ watermarks: crashOnce<WatermarkStore>(h.watermarks, 'save', (next, _v, change) => change === 'advance' && (next as { current?: { page: number } }).current?.page === 5) }),
  },
  { name: 'the pass completes', ports: (h) => ({ watermarks: crashOnce<WatermarkStore>(h.watermarks, 'save', (_n, _v, change) => change === 'complete-pass') }) },
];

type PaymentLine = { payment_id: number; last_updated: string };
const parse = (lines: readonly string[]) => lines.map((l) => JSON.parse(l) as PaymentLine);

describe.each(CRASH_POINTS)('change-detector: a crash right after $name', ({ ports, messagesPerSend }) => {
  let h: DetectorHarness;

  beforeAll(async () => {
    h = await DetectorHarness.withPayments('cd_crash', 230);
    sends = 0;
  });

  afterAll(async () => {
    await h?.close();
  });

  it('is repaired by the next detection: every row version once, recorded batches unchanged', async () => {
    // Prepare: a full pass that crashes, then rows change before the retry (one already extracted
    // on page 1, one not yet, on page 3).
    await expect(h.detect('payment', ports(h), messagesPerSend === undefined ? {} : { messagesPerSend })).rejects.toThrow(InjectedCrash);
    const recordedAtCrash = await h.batchRecords('payment');
    await h.source.query(`UPDATE payment SET paid = NOT paid, last_updated = localtimestamp WHERE payment_id IN (3, 120)`);

    // Act: detections as the schedule would run them, until nothing is left.
    const outcomes = [await h.detect('payment'), await h.detect('payment'), await h.detect('payment')];

    // Assert
    expect(outcomes.at(-1)).toEqual({ status: 'idle' });
    const messages = await h.drainMessages('payment');
    const rows = parse(await h.rowsOf(messages));
    const versions = rows.map((r) => `${r.payment_id}@${r.last_updated}`);
    expect(new Set(versions).size).toBe(versions.length);
    // The newest version of every row is extracted, and it is the source's.
    const latest = new Map<number, string>();
    for (const line of await h.rowsOf(messages)) latest.set((JSON.parse(line) as PaymentLine).payment_id, line);
    expect([...latest.values()].sort()).toEqual((await h.sourceJson('payment')).sort());
    // Every untouched row exactly once, in its one version.
    const untouched = rows.filter((r) => r.payment_id !== 3 && r.payment_id !== 120);
    expect(untouched).toHaveLength(228);
    // Batches recorded before the crash are still exactly as they were, and each is announced.
    const after = await h.batchRecords('payment');
    for (const before of recordedAtCrash) expect(after.find((r) => r.batchId === before.batchId)).toEqual(before);
    expect(new Set(messages.map((m) => m.batchId))).toEqual(new Set(after.map((r) => r.batchId)));
    for (const r of after) expect(messages.find((m) => m.batchId === r.batchId)?.object.key).toBe(r.rawKey);
    expect((await h.watermark('payment')).current).toBeUndefined();
  });
});
