import type pg from 'pg';
import { inTransaction } from '@totes/shared/db/transaction';

/**
 * Runs `work` in one transaction, retrying the whole transaction with exponential backoff and jitter
 * when PostgreSQL aborts it for a serialization failure (40001) or a deadlock (40P01): both mean
 * "nothing was written, try again" (as does a RetryTransactionError from `work`). Any other error
 * rolls back and is thrown.
 */
export interface RetryPolicy {
  /** Attempts in all, the first included. */
  readonly attempts: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { attempts: 5, baseDelayMs: 50, maxDelayMs: 2_000 };

const RETRYABLE_CODES = new Set(['40001', '40P01']);

/** Thrown by the transaction's own work to roll back and try again (after changing its plan). */
export class RetryTransactionError extends Error {}

export function isRetryable(err: unknown): boolean {
  if (err instanceof RetryTransactionError) return true;
  return typeof err === 'object' && err !== null && RETRYABLE_CODES.has(String((err as { code?: unknown }).code));
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export async function inRetriedTransaction<T>(
  client: pg.Client,
  work: () => Promise<T>,
  options: { policy: RetryPolicy; onRetry?: (attempt: number, err: unknown) => void; sleep?: (ms: number) => Promise<void> },
): Promise<T> {
  const { policy } = options;
  for (let attempt = 1; ; attempt++) {
    try {
      return await inTransaction(client, work);
    } catch (err) {
      if (!isRetryable(err) || attempt >= policy.attempts) throw err;
      options.onRetry?.(attempt, err);
      const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
      await (options.sleep ?? sleep)(ceiling / 2 + Math.random() * (ceiling / 2));
    }
  }
}
