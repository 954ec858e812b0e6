import type { MessageSender } from '@totes/shared/aws/queues';
import { DynamoLeaseStore, LeaseLostError } from '@totes/shared/state/lease-store';
import type { DetectionPorts } from '../../../services/change-detector/src/ports';
import { DetectorHarness } from './harness';

/**
 * Two detections of one table never overlap (the table's lease in DynamoDB), and a detection that
 * died holding the lease blocks its table only until the lease expires. Expiry is driven by an
 * injected clock (the lease store's and the detection's), not by waiting: dynalite still evaluates
 * the conditional writes, against the times the clock gives.
 */
let h: DetectorHarness;

beforeAll(async () => {
  h = await DetectorHarness.withPayments('cd_lease', 200);
});

afterAll(async () => {
  await h?.close();
});

/** A clock that moves only when told, from now. */
function manualClock() {
  let ms = Date.now();
  const leases = () => new DynamoLeaseStore(h.stage.clients.dynamo, h.stage.resources.stateTable, () => ms);
  return {
    advance: (by: number) => void (ms += by),
    /** A lease store reading this clock. */
    leases,
    /** Detection ports reading this clock: the lease store and the pipeline's `now`. */
    ports: (): Partial<DetectionPorts> => ({ leases: leases(), now: () => new Date(ms) }),
  };
}

describe('change-detector: one detection per table at a time', () => {
  it('a second detection while the first holds the lease is skipped, and together they extract every row once', async () => {
    // The first detection is held at its first send, under its lease, until the second has ended.
    let firstSendStarted!: () => void;
    const started = new Promise<void>((resolve) => (firstSendStarted = resolve));
    let letFirstGoOn!: () => void;
    const secondEnded = new Promise<void>((resolve) => (letFirstGoOn = resolve));
    const real = h.ports().sender;
    const heldSender: MessageSender = {
      send: async (queue, bodies) => {
        firstSendStarted();
        await secondEnded;
        await real.send(queue, bodies);
      },
    };

    const first = h.detect('payment', { sender: heldSender });
    await started;
    const second = await h.detect('payment');
    letFirstGoOn();
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
    const clock = manualClock();
    const crashed = await clock.leases().acquire('payment', 'crashed-detection', 600_000);
    expect(crashed.acquired).toBe(true);

    const blocked = await h.detect('payment', clock.ports());
    clock.advance(600_000); // the lease's last instant: still held
    const stillBlocked = await h.detect('payment', clock.ports());
    clock.advance(1);
    const resumed = await h.detect('payment', clock.ports());

    expect(blocked).toEqual({ status: 'skipped', holder: 'crashed-detection' });
    expect(stillBlocked).toEqual({ status: 'skipped', holder: 'crashed-detection' });
    expect(resumed).toMatchObject({ status: 'completed', rows: 1 });
    expect(await h.drainMessages('payment')).toHaveLength(1);
  });

  it('a detection releases its lease when it ends, so the next one need not wait', async () => {
    const leases = manualClock().leases();
    await h.detect('payment');
    const attempt = await leases.acquire('payment', 'someone-else', 10_000);
    expect(attempt.acquired).toBe(true);
    if (attempt.acquired) await leases.release(attempt.lease);
  });

  it('only the owner renews or releases a lease; a lease taken over after expiry is lost to its first owner', async () => {
    const clock = manualClock();
    const leases = clock.leases();
    const first = await leases.acquire('design', 'first', 300);
    if (!first.acquired) throw new Error('the first owner should get the free lease');
    const tooEarly = await leases.acquire('design', 'second', 10_000);
    clock.advance(301);
    const second = await leases.acquire('design', 'second', 10_000);
    expect(tooEarly).toEqual({ acquired: false, holder: { owner: 'first', expiresAt: first.lease.expiresAt } });
    expect(second.acquired).toBe(true);

    await expect(leases.renew(first.lease, 10_000)).rejects.toThrow(LeaseLostError);
    await leases.release(first.lease); // not the owner any more: a no-op
    const third = await leases.acquire('design', 'third', 10_000);
    expect(third).toEqual({ acquired: false, holder: { owner: 'second', expiresAt: expect.any(Number) } });
  });
});
