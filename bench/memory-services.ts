import type { ObjectStore } from '@totes/shared/aws/objects';
import type { MessageSender } from '@totes/shared/aws/queues';
import { StateConflictError } from '@totes/shared/errors';
import type { SourceTableName } from '@totes/shared/source/tables';
import type { BatchRecord, BatchStore, NewBatch } from '@totes/shared/state/batch-store';
import type { Lease, LeaseStore } from '@totes/shared/state/lease-store';
import type { Watermark, WatermarkContent, WatermarkStore } from '@totes/shared/state/watermark-store';

/**
 * For bench/extract.ts only: the detector's state, lake and queue ports kept in this process's
 * memory, so that a full extraction can be measured without S3, SQS or DynamoDB (no SDK request, no
 * emulator), beside the same extraction on the local stack. The difference between the two is what
 * the requests cost on this machine. Just enough for one detection at a time over an empty
 * watermark: what the transformer and loader use of the batch store is refused.
 */
export interface MemoryServices {
  readonly objects: ObjectStore;
  readonly sender: MessageSender;
  readonly batches: BatchStore;
  readonly watermarks: WatermarkStore;
  readonly leases: LeaseStore;
  /** Bytes written under raw/ (the benchmark reports them). */
  readonly written: { rawBytes: number };
}

export function memoryServices(): MemoryServices {
  const objects = new Map<string, Uint8Array>();
  const records = new Map<string, BatchRecord>();
  const watermarks = new Map<SourceTableName, Watermark>();
  const written = { rawBytes: 0 };
  const notForTheDetector = (what: string) => () => Promise.reject(new Error(`${what} is not part of a detection (bench/memory-services.ts)`));
  return {
    written,
    objects: {
      async putImmutable(bucket, key, body) {
        const id = `${bucket}/${key}`;
        if (objects.has(id)) return false;
        objects.set(id, body);
        if (key.startsWith('raw/')) written.rawBytes += body.byteLength;
        return true;
      },
      async get(bucket, key) {
        const body = objects.get(`${bucket}/${key}`);
        if (!body) throw new Error(`no object s3://${bucket}/${key}`);
        return body;
      },
      async exists(bucket, key) {
        return objects.has(`${bucket}/${key}`);
      },
    },
    sender: {
      async send() {},
    },
    batches: {
      async recordExtracted(batch: NewBatch) {
        const existing = records.get(batch.batchId);
        if (existing) return { record: existing, created: false };
        const record: BatchRecord = { ...batch, state: 'extracted', loads: {} };
        records.set(batch.batchId, record);
        return { record, created: true };
      },
      async get(batchId) {
        return records.get(batchId);
      },
      recordTransformed: notForTheDetector('recordTransformed'),
      recordLoaded: notForTheDetector('recordLoaded'),
      discardUnannounced: notForTheDetector('discardUnannounced'),
    },
    watermarks: {
      async get(table) {
        return watermarks.get(table) ?? { table, version: 0 };
      },
      async save(next: WatermarkContent, expectedVersion: number) {
        const current = watermarks.get(next.table)?.version ?? 0;
        if (current !== expectedVersion) throw new StateConflictError(`the watermark of ${next.table} moved (version ${current}, expected ${expectedVersion})`);
        const saved: Watermark = { ...next, version: expectedVersion + 1 };
        watermarks.set(next.table, saved);
        return saved;
      },
    },
    leases: {
      async acquire(name, owner, durationMs) {
        return { acquired: true, lease: { name, owner, expiresAt: Date.now() + durationMs } };
      },
      async renew(lease: Lease, durationMs) {
        return { ...lease, expiresAt: Date.now() + durationMs };
      },
      async release() {},
    },
  };
}
