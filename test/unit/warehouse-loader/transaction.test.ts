import type pg from 'pg';
import { inRetriedTransaction, isRetryable } from '../../../services/warehouse-loader/src/transaction';

/** A stand-in for pg.Client that records the transaction statements it is sent. */
function recordingClient(): { client: pg.Client; statements: string[] } {
  const statements: string[] = [];
  const client = { query: async (sql: string) => statements.push(sql) } as unknown as pg.Client;
  return { client, statements };
}

const deadlock = Object.assign(new Error('deadlock detected'), { code: '40P01' });
const serialization = Object.assign(new Error('could not serialize access'), { code: '40001' });
const policy = { attempts: 3, baseDelayMs: 1, maxDelayMs: 4 };

describe('the load transaction', () => {
  it('retries the whole transaction after a deadlock or a serialization failure, with backoff', async () => {
    const { client, statements } = recordingClient();
    const failures = [deadlock, serialization];
    const delays: number[] = [];
    const retried: number[] = [];
    const result = await inRetriedTransaction(
      client,
      async () => {
        const failure = failures.shift();
        if (failure) throw failure;
        return 'done';
      },
      { policy, onRetry: (attempt) => retried.push(attempt), sleep: async (ms) => void delays.push(ms) },
    );
    expect(result).toBe('done');
    expect(statements).toEqual(['BEGIN', 'ROLLBACK', 'BEGIN', 'ROLLBACK', 'BEGIN', 'COMMIT']);
    expect(retried).toEqual([1, 2]);
    expect(delays).toHaveLength(2);
    expect(delays[1]!).toBeLessThanOrEqual(policy.maxDelayMs);
  });

  it('gives up after the last attempt and throws the database error', async () => {
    const { client, statements } = recordingClient();
    await expect(inRetriedTransaction(client, async () => Promise.reject(deadlock), { policy, sleep: async () => undefined })).rejects.toBe(deadlock);
    expect(statements.filter((s) => s === 'BEGIN')).toHaveLength(3);
  });

  it('does not retry other errors: they roll back and fail the message at once', async () => {
    const { client, statements } = recordingClient();
    const lost = Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' });
    await expect(inRetriedTransaction(client, async () => Promise.reject(lost), { policy })).rejects.toBe(lost);
    expect(statements).toEqual(['BEGIN', 'ROLLBACK']);
    expect(isRetryable(lost)).toBe(false);
    expect(isRetryable(new Error('plain'))).toBe(false);
  });
});
