import type pg from 'pg';

/**
 * Runs `work` in one transaction on `client`: COMMIT when it returns, ROLLBACK when it throws (the
 * error is thrown on). The ROLLBACK is best effort: on a lost connection it fails too, and the
 * caller, which sees the original error, discards the connection.
 */
export async function inTransaction<T>(client: Pick<pg.ClientBase, 'query'>, work: () => Promise<T>): Promise<T> {
  await client.query('BEGIN');
  try {
    const result = await work();
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}
