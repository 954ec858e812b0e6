import type { ObjectStore } from '@totes/shared/aws/objects';
import type { MessageSender } from '@totes/shared/aws/queues';
import { StateConflictError } from '@totes/shared/errors';
import type { BatchRecord, BatchStore, DiscardResult, NewBatch } from '@totes/shared/state/batch-store';
import type { Lease, LeaseAttempt, LeaseStore } from '@totes/shared/state/lease-store';
import type { Watermark, WatermarkContent, WatermarkStore } from '@totes/shared/state/watermark-store';

/**
 * In-memory versions of the pipeline's ports, for unit tests of domain logic and for benchmarks that
 * measure a stage without S3, SQS or DynamoDB. Integration tests use the real adapters on the local
 * stack instead. Each keeps what it holds in public fields for the tests to look at.
 */

export class MemoryObjectStore implements ObjectStore {
  readonly objects = new Map<string, Uint8Array>();

  async putImmutable(bucket: string, key: string, body: Uint8Array): Promise<boolean> {
    const k = `${bucket}/${key}`;
    if (this.objects.has(k)) return false;
    this.objects.set(k, body);
    return true;
  }

  async get(bucket: string, key: string): Promise<Uint8Array> {
    const body = this.objects.get(`${bucket}/${key}`);
    if (!body) throw Object.assign(new Error(`NoSuchKey: ${bucket}/${key}`), { name: 'NoSuchKey' });
    return body;
  }

  async exists(bucket: string, key: string): Promise<boolean> {
    return this.objects.has(`${bucket}/${key}`);
  }
}

export class MemorySender implements MessageSender {
  readonly sent: { queue: string; body: string }[] = [];

  async send(logicalQueue: string, bodies: readonly string[]): Promise<void> {
    for (const body of bodies) this.sent.push({ queue: logicalQueue, body });
  }
}

/** The change-detector's side of the batch store (the transformer's and loader's calls are refused). */
export class MemoryBatches implements BatchStore {
  readonly records = new Map<string, BatchRecord>();
  readonly discards: string[] = [];

  async recordExtracted(batch: NewBatch): Promise<{ record: BatchRecord; created: boolean }> {
    const existing = this.records.get(batch.batchId);
    if (existing) return { record: existing, created: false };
    const record: BatchRecord = { ...batch, state: 'extracted', loads: {} };
    this.records.set(batch.batchId, record);
    return { record, created: true };
  }
  async get(batchId: string): Promise<BatchRecord | undefined> {
    return this.records.get(batchId);
  }
  async recordTransformed(): Promise<boolean> {
    throw new Error('not used');
  }
  async recordLoaded(): Promise<BatchRecord | undefined> {
    throw new Error('not used');
  }
  async discardUnannounced(batchId: string, rawKey: string): Promise<DiscardResult> {
    const record = this.records.get(batchId);
    if (!record || record.state !== 'extracted' || record.rawKey !== rawKey) return { discarded: false, current: record };
    this.records.delete(batchId);
    this.discards.push(batchId);
    return { discarded: true };
  }
}

/** One table's watermark, conditional on its version as DynamoWatermarkStore is. */
export class MemoryWatermarks implements WatermarkStore {
  constructor(public stored: Watermark) {}
  async get(): Promise<Watermark> {
    return this.stored;
  }
  async save(next: WatermarkContent, expectedVersion: number): Promise<Watermark> {
    if (expectedVersion !== this.stored.version) throw new StateConflictError('moved');
    this.stored = { ...next, version: expectedVersion + 1 };
    return this.stored;
  }
}

/** Leases for one detection at a time: always granted. */
export class MemoryLeases implements LeaseStore {
  async acquire(name: string, owner: string, durationMs: number): Promise<LeaseAttempt> {
    return { acquired: true, lease: { name, owner, expiresAt: Date.now() + durationMs } };
  }
  async renew(lease: Lease, durationMs: number): Promise<Lease> {
    return { ...lease, expiresAt: Date.now() + durationMs };
  }
  async release(): Promise<void> {}
}
