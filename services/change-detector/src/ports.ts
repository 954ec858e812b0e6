import type { ObjectStore } from '@totes/shared/aws/objects';
import type { MessageSender } from '@totes/shared/aws/queues';
import type { SourceReader } from '@totes/shared/source/change-reader';
import type { BatchStore } from '@totes/shared/state/batch-store';
import type { LeaseStore } from '@totes/shared/state/lease-store';
import type { WatermarkStore } from '@totes/shared/state/watermark-store';

/**
 * What a detection needs from the world, as narrow interfaces (house style 2): the handler passes
 * the real adapters, tests pass the same adapters on the local stack or wrappers that fail on cue.
 */
export const DETECTION_METRICS = ['RowsExtracted', 'BatchesExtracted', 'LateArrivals', 'DetectionErrors', 'DetectionsSkipped', 'ExtraColumns', 'DetectionPasses', 'RowsOffClock'] as const;
export type DetectionMetricName = (typeof DETECTION_METRICS)[number];

/** Counters, all per source table (the handler gives them the `table` dimension). */
export interface DetectionMetrics {
  count(name: DetectionMetricName, value: number): void;
}

export interface DetectionLog {
  info(message: string, attributes?: Record<string, unknown>): void;
  warn(message: string, attributes?: Record<string, unknown>): void;
  error(message: string, attributes?: Record<string, unknown>): void;
}

export interface DetectionPorts {
  readonly source: SourceReader;
  readonly objects: ObjectStore;
  readonly sender: MessageSender;
  readonly batches: BatchStore;
  readonly watermarks: WatermarkStore;
  readonly leases: LeaseStore;
  readonly metrics: DetectionMetrics;
  readonly log: DetectionLog;
  /** The pipeline's clock (extractedAt, lease times); the source's clock bounds the passes. */
  readonly now?: () => Date;
}

export interface DetectionSettings {
  /** The raw zone's bucket, where pages (and large ambiguous sets under state/) go. */
  readonly ingestionBucket: string;
  /** Rows per page (TOTES_PAGE_SIZE). */
  readonly pageSize: number;
  /** How far back a pass looks for rows whose transaction committed late (TOTES_LOOKBACK_SECONDS). */
  readonly lookbackSeconds: number;
  /** How long a detection holds its table's lease before another may take it over (TOTES_LEASE_SECONDS). */
  readonly leaseSeconds: number;
  /** Who this detection is, in the lease (unique per detection). */
  readonly owner: string;
  /** Time left in the invocation; a pass stops between pages (and is resumed later) when it runs short. */
  readonly remainingMs?: () => number;
  /** Leave at least this much of the invocation unused (default 30 s). */
  readonly reserveMs?: number;
  /** Ambiguous sets up to this size stay in the watermark item (default 1,000). */
  readonly inlineAmbiguousLimit?: number;
  /** gzip level of the raw pages (default 1: measured fastest here, a quarter of the JSON's size). */
  readonly gzipLevel?: number;
  /**
   * Recorded pages announced together: one SendMessageBatch for their messages and one cursor write
   * past them (1 to 10, default 10; fewer when the pass ends). Tests lower it to put a crash between
   * two announcements.
   */
  readonly messagesPerSend?: number;
}
