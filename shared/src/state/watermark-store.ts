import { GetCommand, PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { StateConflictError } from '../errors';
import type { SourceTableName } from '../source/tables';
import type { RowKeyRecord } from './batch-store';
import { isConditionFailure } from './conditions';

/**
 * The change-detector's progress per source table, one item `watermark#<table>` in the state table
 * (docs/change-detection.md explains every field and why the detection needs it).
 *
 * `done` is the last completed detection pass, `current` a pass in progress (present only between
 * its first page and its completion, so that a crashed pass is resumed, never restarted). Every
 * write replaces the whole item conditionally on its `version`, so the watermark only moves by
 * steps that started from the state they read: two writers can never interleave (dynalite has no
 * transactions; a single-item condition is all that is needed here).
 */

/** A row version a pass emitted while an older writer was still open (see change-detection.md). */
export interface AmbiguousMember {
  readonly id: number;
  readonly lastUpdated: string;
  /** The version's inserting transaction, xid8 as decimal text. */
  readonly xid: string;
}

/** Small sets live in the item; large ones in an S3 object (a DynamoDB item is at most 400 KB). */
export interface AmbiguousSet {
  readonly count: number;
  readonly members?: readonly AmbiguousMember[];
  readonly object?: { readonly bucket: string; readonly key: string };
}

export interface CompletedPass {
  readonly passId: string;
  /** The pass's upper bound: the source's clock (localtimestamp) in its snapshot, µs, "YYYY-MM-DDTHH:MM:SS.ffffff". */
  readonly upper: string;
  /** Rows with last_updated above this were read; null for a full extraction. */
  readonly lower: string | null;
  /** pg_snapshot_xmin of the pass's snapshot, xid8 decimal text. */
  readonly xmin: string;
  /** pg_current_snapshot() of the pass, as text. */
  readonly snapshot: string;
  readonly pages: number;
  readonly rows: number;
  readonly lateRows: number;
  readonly ambiguous: AmbiguousSet;
  readonly startedAt: string;
  readonly completedAt: string;
}

export interface PassInProgress {
  readonly passId: string;
  readonly snapshot: string;
  readonly upper: string;
  readonly lower: string | null;
  readonly xmin: string;
  /** The key of the last row of the last page written; null before the first. */
  readonly cursor: RowKeyRecord | null;
  /** Pages written so far (the next page is page + 1). */
  readonly page: number;
  readonly rows: number;
  readonly lateRows: number;
  /** S3 keys (ingestion bucket) of the ambiguous members of this pass's pages that had any. */
  readonly ambiguousObjects: readonly string[];
  readonly startedAt: string;
}

export interface DetectionProblem {
  readonly message: string;
  readonly column?: string;
  readonly at: string;
}

export interface Watermark {
  readonly table: SourceTableName;
  /** 0 when the item does not exist yet. */
  readonly version: number;
  readonly done?: CompletedPass;
  readonly current?: PassInProgress;
  /** Why detection of this table is stopped (a source schema problem); shown by `totes status`. */
  readonly error?: DetectionProblem;
  /** The extra source columns last reported (reported once per set). */
  readonly extraColumns?: readonly string[];
  readonly updatedAt?: string;
}

export type WatermarkChange = 'begin-pass' | 'advance' | 'complete-pass' | 'record-error' | 'clear-error' | 'extra-columns';

export type WatermarkContent = Omit<Watermark, 'version' | 'updatedAt'>;

export interface WatermarkStore {
  /** The table's watermark (version 0 and nothing else when it has none yet). */
  get(table: SourceTableName): Promise<Watermark>;
  /**
   * Replace the watermark if it is still at `expectedVersion`; returns the stored one. Throws
   * StateConflictError when someone else moved it first. `change` says why (logs, fault injection).
   */
  save(next: WatermarkContent, expectedVersion: number, change: WatermarkChange): Promise<Watermark>;
}

export const watermarkPk = (table: string) => `watermark#${table}`;


export class DynamoWatermarkStore implements WatermarkStore {
  constructor(
    private readonly dynamo: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async get(table: SourceTableName): Promise<Watermark> {
    const out = await this.dynamo.send(new GetCommand({ TableName: this.tableName, Key: { pk: watermarkPk(table) }, ConsistentRead: true }));
    if (!out.Item) return { table, version: 0 };
    const { pk: _pk, kind: _kind, ...item } = out.Item;
    return item as Watermark;
  }

  async save(next: WatermarkContent, expectedVersion: number, change: WatermarkChange): Promise<Watermark> {
    const stored: Watermark = { ...next, version: expectedVersion + 1, updatedAt: this.now().toISOString() };
    try {
      await this.dynamo.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { pk: watermarkPk(next.table), kind: 'watermark', ...stored, lastChange: change },
          ...(expectedVersion === 0
            ? { ConditionExpression: 'attribute_not_exists(pk)' }
            : { ConditionExpression: 'version = :expected', ExpressionAttributeValues: { ':expected': expectedVersion } }),
        }),
      );
      return stored;
    } catch (err) {
      if (!isConditionFailure(err)) throw err;
      throw new StateConflictError(
        `The watermark of ${next.table} moved while this detection held it (expected version ${expectedVersion}, change ${change}); another detection wrote it.`,
        { cause: err },
      );
    }
  }
}
