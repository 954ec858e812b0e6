import { DeleteCommand, GetCommand, PutCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { SourceTableName } from '../source/tables';
import type { WarehouseTableName } from '../warehouse/tables';
import { isConditionFailure } from './conditions';

/**
 * The lifecycle of one extracted batch, in the state table (item `batch#<batchId>`):
 * extracted (by the change-detector) → transformed (by its transformer) → loaded (when the loader
 * has committed every file the transformer wrote). Every write is a single-item conditional write,
 * so redeliveries and retries never count twice and the state never moves backwards.
 */
export type BatchState = 'extracted' | 'transformed' | 'loaded';

export interface RowKeyRecord {
  readonly lastUpdated: string;
  readonly id: number;
}

export interface LoadCounts {
  readonly inserted: number;
  readonly updated: number;
  readonly skipped: number;
}

export interface BatchRecord {
  readonly batchId: string;
  readonly table: SourceTableName;
  readonly state: BatchState;
  readonly rows: number;
  readonly bytes: number;
  readonly rawBucket: string;
  readonly rawKey: string;
  readonly range: { readonly from: RowKeyRecord | null; readonly to: RowKeyRecord };
  readonly lateRows: number;
  readonly extractedAt: string;
  /** The pass's upper bound on the source clock (batch-extracted v2 `observedAt`); absent on batches recorded before it. */
  readonly observedAt?: string;
  /** Source columns the contract does not know, carried as text in the raw object (batch-extracted v1 `extraColumns`). */
  readonly extraColumns?: readonly string[];
  /** How the raw object's rows are written (batch-extracted v2 `object.layout`); absent: `objects` (recorded before v2). */
  readonly rawLayout?: 'objects' | 'arrays';
  /** Set by the transformer. */
  readonly transformedAt?: string;
  readonly quarantinedRows?: number;
  readonly files?: number;
  readonly outputs?: Partial<Record<WarehouseTableName, number>>;
  /** Set by the loader, per target table. */
  readonly loads: Partial<Record<WarehouseTableName, LoadCounts & { readonly loadedAt: string }>>;
  readonly filesLoaded?: number;
  readonly loadedAt?: string;
}

export type NewBatch = Omit<BatchRecord, 'state' | 'loads' | 'transformedAt' | 'quarantinedRows' | 'files' | 'outputs' | 'filesLoaded' | 'loadedAt'>;

export const batchPk = (batchId: string) => `batch#${batchId}`;

/** What discardUnannounced did: deleted the record, or found it changed (re-read: absent, or its current state). */
export type DiscardResult = { readonly discarded: true } | { readonly discarded: false; readonly current: BatchRecord | undefined };

export interface BatchStore {
  /** Record a new batch; if it is already recorded (a retry), return the recorded one unchanged. */
  recordExtracted(batch: NewBatch): Promise<{ record: BatchRecord; created: boolean }>;
  get(batchId: string): Promise<BatchRecord | undefined>;
  /** True when this call recorded the transformation; false when an earlier delivery already had (a redelivery). */
  recordTransformed(batchId: string, result: { files: number; quarantinedRows: number; outputs: Partial<Record<WarehouseTableName, number>> }): Promise<boolean>;
  /** Count one loaded file once; the batch becomes `loaded` when all its files are. */
  recordLoaded(batchId: string, targetTable: WarehouseTableName, counts: LoadCounts, filesInBatch: number): Promise<BatchRecord | undefined>;
  /**
   * Delete the record of a batch whose message was never sent (the change-detector's recovery, for
   * a record no message can be built from), so that its page can be read and recorded again under
   * the same batch id. Only while it is still `extracted` with this raw key: a record that moved on
   * or was replaced is left alone and returned as it now is.
   */
  discardUnannounced(batchId: string, rawKey: string): Promise<DiscardResult>;
}


export class DynamoBatchStore implements BatchStore {
  constructor(
    private readonly dynamo: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async recordExtracted(batch: NewBatch): Promise<{ record: BatchRecord; created: boolean }> {
    const record: BatchRecord = { ...batch, state: 'extracted', loads: {} };
    try {
      await this.dynamo.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { pk: batchPk(batch.batchId), kind: 'batch', ...record },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
      return { record, created: true };
    } catch (err) {
      if (!isConditionFailure(err)) throw err;
      const existing = await this.get(batch.batchId);
      if (!existing) throw err;
      return { record: existing, created: false };
    }
  }

  async get(batchId: string): Promise<BatchRecord | undefined> {
    const out = await this.dynamo.send(new GetCommand({ TableName: this.tableName, Key: { pk: batchPk(batchId) }, ConsistentRead: true }));
    if (!out.Item) return undefined;
    const { pk: _pk, kind: _kind, ...record } = out.Item;
    return record as BatchRecord;
  }

  async recordTransformed(
    batchId: string,
    result: { files: number; quarantinedRows: number; outputs: Partial<Record<WarehouseTableName, number>> },
  ): Promise<boolean> {
    try {
      await this.dynamo.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: batchPk(batchId) },
          // Only the first transformation of a batch is recorded; a retry computes the same result.
          UpdateExpression: 'SET #state = :transformed, transformedAt = :at, quarantinedRows = :q, files = :files, outputs = :outputs',
          ConditionExpression: 'attribute_exists(pk) AND #state = :extracted',
          ExpressionAttributeNames: { '#state': 'state' },
          ExpressionAttributeValues: {
            ':transformed': 'transformed',
            ':extracted': 'extracted',
            ':at': this.now().toISOString(),
            ':q': result.quarantinedRows,
            ':files': result.files,
            ':outputs': result.outputs,
          },
        }),
      );
      return true;
    } catch (err) {
      if (!isConditionFailure(err)) throw err;
      // Already transformed (or loaded): a redelivery. A missing record is not fine.
      if (!(await this.get(batchId))) throw new Error(`batch ${batchId} has no record in the state table`, { cause: err });
      return false;
    }
  }

  async recordLoaded(batchId: string, targetTable: WarehouseTableName, counts: LoadCounts, filesInBatch: number): Promise<BatchRecord | undefined> {
    let record: BatchRecord | undefined;
    try {
      const out = await this.dynamo.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: batchPk(batchId) },
          UpdateExpression: 'SET loads.#t = :counts ADD filesLoaded :one',
          ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(loads.#t)',
          ExpressionAttributeNames: { '#t': targetTable },
          ExpressionAttributeValues: { ':counts': { ...counts, loadedAt: this.now().toISOString() }, ':one': 1 },
          ReturnValues: 'ALL_NEW',
        }),
      );
      record = out.Attributes as BatchRecord | undefined;
    } catch (err) {
      if (!isConditionFailure(err)) throw err;
      record = await this.get(batchId);
      if (!record) return undefined; // a file whose batch was never recorded (e.g. loaded by hand)
    }
    if (record && record.state !== 'loaded' && (record.filesLoaded ?? 0) >= filesInBatch) {
      await this.dynamo
        .send(
          new UpdateCommand({
            TableName: this.tableName,
            Key: { pk: batchPk(batchId) },
            UpdateExpression: 'SET #state = :loaded, loadedAt = :at',
            ConditionExpression: '#state <> :loaded',
            ExpressionAttributeNames: { '#state': 'state' },
            ExpressionAttributeValues: { ':loaded': 'loaded', ':at': this.now().toISOString() },
          }),
        )
        .catch((err: unknown) => {
          if (!isConditionFailure(err)) throw err;
        });
      return this.get(batchId);
    }
    return record;
  }

  async discardUnannounced(batchId: string, rawKey: string): Promise<DiscardResult> {
    try {
      await this.dynamo.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: { pk: batchPk(batchId) },
          // Never a batch the transformer has seen, nor one another detection recorded afresh.
          ConditionExpression: 'attribute_exists(pk) AND #state = :extracted AND rawKey = :rawKey',
          ExpressionAttributeNames: { '#state': 'state' },
          ExpressionAttributeValues: { ':extracted': 'extracted', ':rawKey': rawKey },
        }),
      );
      return { discarded: true };
    } catch (err) {
      if (!isConditionFailure(err)) throw err;
      return { discarded: false, current: await this.get(batchId) };
    }
  }
}
