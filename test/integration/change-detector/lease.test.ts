import type { MessageSender } from '@totes/shared/aws/queues';
import { DynamoLeaseStore, LeaseLostError } from '@totes/shared/state/lease-store';
import { DetectorHarness } from './harness';

/**
 * Two detections of one table never overlap (the table's lease in DynamoDB), and a detection that
 * died holding the lease blocks its table only until the lease expires.
 */
let h: DetectorHarness;
let leases: DynamoLeaseStore;

beforeAll(async () => {
  h = await DetectorHarness.create('cd_lease');
  await h.insertParents();
  await h.insertPayments(1, 200);
  leases = new DynamoLeaseStore(h.stage.clients.dynamo, h.stage.resources.stateTable);
});

afterAll(async () => {
  await h?.close();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('change-detector: one detection per table at a time', () => {
  it('a second detection while the first holds the lease is skipped, and together they extract every row once', async () => {
    let firstSendStarted!: () => void;
    const started = new Promise<void>((resolve) => (firstSendStarted = resolve));
    const real = h.ports().sender;
    const slowSender: MessageSender = {
      send: async (queue, bodies) => {
        firstSendStarted();
        await sleep(150);
        await real.send(queue, bodies);
      },
    };

    const first = h.detect('payment', { sender: slowSender });
    await started;
    const second = await h.detect('payment');
    const firstOutcome = await first;

    expect(second).toMatchObject({ status: 'skipped' });
    expect(firstOutcome).toMatchObject({ status: 'completed', rows: 200 });
    expect(h.metric('DetectionsSkipped')).toBe(1);
    expect(h.captured.logs.find((l) => l.message.startsWith('detection skipped'))?.attributes).toMatchObject({ table: 'payment', skipped: 1 });
    const lines = await h.rowsOf(await h.drainMessages('payment'));
    expect(lines).toEqual(await h.sourceJson('payment'));
  });

  it('a lease left by a crashed detection blocks the table until it expires, then the next detection proceeds', async () => {
    await h.source.query(`UPDATE payment SET paid = NOT paid, last_updated = localtimestamp WHERE payment_id = 9`);
    const crashed = await leases.acquire('payment', 'crashed-detection', 700);
    expect(crashed.acquired).toBe(true);

    const blocked = await h.detect('payment');
    await sleep(800);
    const resumed = await h.detect('payment');

    expect(blocked).toEqual({ status: 'skipped', holder: 'crashed-detection' });
    expect(resumed).toMatchObject({ status: 'completed', rows: 1 });
    expect(await h.drainMessages('payment')).toHaveLength(1);
  });

  it('a detection releases its lease when it ends, so the next one need not wait', async () => {
    await h.detect('payment');
    const attempt = await leases.acquire('payment', 'someone-else', 10_000);
    expect(attempt.acquired).toBe(true);
    if (attempt.acquired) await leases.release(attempt.lease);
  });

  it('only the owner renews or releases a lease; a lease taken over after expiry is lost to its first owner', async () => {
    const first = await leases.acquire('design', 'first', 300);
    if (!first.acquired) throw new Error('the first owner should get the free lease');
    await sleep(350);
    const second = await leases.acquire('design', 'second', 10_000);
    expect(second.acquired).toBe(true);

    await expect(leases.renew(first.lease, 10_000)).rejects.toThrow(LeaseLostError);
    await leases.release(first.lease); // not the owner any more: a no-op
    const third = await leases.acquire('design', 'third', 10_000);
    expect(third).toEqual({ acquired: false, holder: { owner: 'second', expiresAt: expect.any(Number) } });
  });
});
