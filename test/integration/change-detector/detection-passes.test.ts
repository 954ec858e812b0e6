import type { ObjectStore } from '@totes/shared/aws/objects';
import type { DetectionMetricName, DetectionPorts } from '../../../services/change-detector/src/ports';
import { DetectorHarness, InjectedCrash } from './harness';

/**
 * `DetectionPasses`, the heartbeat the per-table freshness alarm watches (it fires when the count
 * stays below 1): counted once by every detection that ends (completed, idle, or paused after
 * making progress), never by one that fails, stops on a schema problem or is skipped.
 */
let h: DetectorHarness;

beforeAll(async () => {
  h = await DetectorHarness.withPayments('cd_passes', 120);
});

afterAll(async () => {
  await h?.close();
});

/** One detection of `table` with metrics of its own; returns its outcome (or error) and its counts. */
async function detectCounting(table: Parameters<DetectorHarness['detect']>[0], ports: Partial<DetectionPorts> = {}, settings: Parameters<DetectorHarness['detect']>[2] = {}) {
  const counts = new Map<DetectionMetricName, number>();
  const metrics = { count: (name: DetectionMetricName, value: number) => counts.set(name, (counts.get(name) ?? 0) + value) };
  const outcome = await h.detect(table, { metrics, ...ports }, settings).catch((err: unknown) => err);
  return { outcome, passes: counts.get('DetectionPasses') ?? 0, counts };
}

describe('change-detector: DetectionPasses', () => {
  it('is 1 for a pass that extracts rows and 1 for an idle pass that finds nothing', async () => {
    const withRows = await detectCounting('payment');
    const idle = await detectCounting('payment');

    expect(withRows.outcome).toMatchObject({ status: 'completed', rows: 120 });
    expect(withRows.passes).toBe(1);
    expect(idle.outcome).toEqual({ status: 'idle' });
    expect(idle.passes).toBe(1);
    await h.drainMessages('payment');
  });

  it('is 1 for a pass paused after writing a page (progress), and 1 again when it completes', async () => {
    await h.insertPayments(200, 120, null);

    const paused = await detectCounting('payment', {}, { remainingMs: () => 10_000, reserveMs: 30_000 });
    const resumed = await detectCounting('payment');

    expect(paused.outcome).toMatchObject({ status: 'paused', pages: 1 });
    expect(paused.passes).toBe(1);
    expect(resumed.outcome).toMatchObject({ status: 'completed', rows: 120 });
    expect(resumed.passes).toBe(1);
    await h.drainMessages('payment');
  });

  it('is absent when the detection fails (it is retried), and the retry that succeeds counts it', async () => {
    await h.insertPayments(400, 3, null);
    const failingObjects: ObjectStore = {
      get: (bucket, key) => h.objects.get(bucket, key),
      exists: (bucket, key) => h.objects.exists(bucket, key),
      putImmutable: () => Promise.reject(new InjectedCrash('S3 unavailable')),
    };

    const failed = await detectCounting('payment', { objects: failingObjects });
    const retried = await detectCounting('payment');

    expect(failed.outcome).toBeInstanceOf(InjectedCrash);
    expect(failed.passes).toBe(0);
    expect(failed.counts.get('DetectionErrors')).toBe(1);
    expect(retried.outcome).toMatchObject({ status: 'completed', rows: 3 });
    expect(retried.passes).toBe(1);
    await h.drainMessages('payment');
  });

  it('is absent while the table’s schema is broken (the detection stops), so its freshness alarm fires', async () => {
    await h.source.query(`ALTER TABLE design DROP COLUMN file_name`);

    const stopped = await detectCounting('design');

    expect(stopped.outcome).toMatchObject({ status: 'schema-error', column: 'file_name' });
    expect(stopped.passes).toBe(0);
    expect(stopped.counts.get('DetectionErrors')).toBe(1);
  });

  it('is absent for a detection skipped because another holds the lease (the holder counts its own)', async () => {
    const held = await h.ports().leases.acquire('currency', 'someone-else', 60_000);
    expect(held.acquired).toBe(true);

    const skipped = await detectCounting('currency');

    expect(skipped.outcome).toMatchObject({ status: 'skipped', holder: 'someone-else' });
    expect(skipped.passes).toBe(0);
  });
});
