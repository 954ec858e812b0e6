import { DeleteCommand, GetCommand, PutCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { StateConflictError } from '../errors';
import { isConditionFailure } from './conditions';

/**
 * Named leases in the state table (item `lease#<name>`), so that two workers never do the same
 * job at once and a crashed worker blocks it for at most the lease duration.
 *
 * Taken with one conditional put: the item does not exist, or its `expiresAt` has passed. Expiry is
 * checked in the condition, not left to DynamoDB TTL: TTL deletes lazily (hours later) in AWS and
 * dynalite has none. Renewed and released only by the owner (conditional on `owner`). Times are
 * epoch milliseconds of the caller's clock; the lease duration is minutes, far above clock skew.
 */
export interface Lease {
  readonly name: string;
  readonly owner: string;
  readonly expiresAt: number;
}

export interface LeaseHolder {
  readonly owner: string;
  readonly expiresAt: number;
}

export type LeaseAttempt = { readonly acquired: true; readonly lease: Lease } | { readonly acquired: false; readonly holder: LeaseHolder | undefined };

export interface LeaseStore {
  /** Take the lease unless another owner holds it and it has not expired. */
  acquire(name: string, owner: string, durationMs: number): Promise<LeaseAttempt>;
  /** Extend a lease still held; throws LeaseLostError if it was lost (expired and taken over). */
  renew(lease: Lease, durationMs: number): Promise<Lease>;
  /** Give the lease up; a lease already lost is not an error (someone else holds it now). */
  release(lease: Lease): Promise<void>;
}

/** The lease expired and another owner took it: the work done under it must stop. */
export class LeaseLostError extends StateConflictError {}

export const leasePk = (name: string) => `lease#${name}`;


export class DynamoLeaseStore implements LeaseStore {
  constructor(
    private readonly dynamo: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly now: () => number = () => Date.now(),
  ) {}

  async acquire(name: string, owner: string, durationMs: number): Promise<LeaseAttempt> {
    const now = this.now();
    const lease: Lease = { name, owner, expiresAt: now + durationMs };
    try {
      await this.dynamo.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { pk: leasePk(name), kind: 'lease', owner, expiresAt: lease.expiresAt, acquiredAt: new Date(now).toISOString() },
          ConditionExpression: 'attribute_not_exists(pk) OR expiresAt < :now',
          ExpressionAttributeValues: { ':now': now },
        }),
      );
      return { acquired: true, lease };
    } catch (err) {
      if (!isConditionFailure(err)) throw err;
      const out = await this.dynamo.send(new GetCommand({ TableName: this.tableName, Key: { pk: leasePk(name) }, ConsistentRead: true }));
      const item = out.Item as { owner?: string; expiresAt?: number } | undefined;
      return {
        acquired: false,
        holder: item?.owner !== undefined && item.expiresAt !== undefined ? { owner: item.owner, expiresAt: item.expiresAt } : undefined,
      };
    }
  }

  async renew(lease: Lease, durationMs: number): Promise<Lease> {
    const now = this.now();
    const renewed: Lease = { ...lease, expiresAt: now + durationMs };
    try {
      await this.dynamo.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: leasePk(lease.name) },
          UpdateExpression: 'SET expiresAt = :expires',
          // Still ours and not yet expired: an expired lease may already be someone else's.
          ConditionExpression: '#owner = :owner AND expiresAt >= :now',
          ExpressionAttributeNames: { '#owner': 'owner' },
          ExpressionAttributeValues: { ':owner': lease.owner, ':now': now, ':expires': renewed.expiresAt },
        }),
      );
      return renewed;
    } catch (err) {
      if (!isConditionFailure(err)) throw err;
      throw new LeaseLostError(`The lease ${lease.name} held by ${lease.owner} expired and was lost before it could be renewed.`, { cause: err });
    }
  }

  async release(lease: Lease): Promise<void> {
    try {
      await this.dynamo.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: { pk: leasePk(lease.name) },
          ConditionExpression: '#owner = :owner',
          ExpressionAttributeNames: { '#owner': 'owner' },
          ExpressionAttributeValues: { ':owner': lease.owner },
        }),
      );
    } catch (err) {
      if (!isConditionFailure(err)) throw err;
    }
  }
}
