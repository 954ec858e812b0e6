import type pg from 'pg';
import type { DatabaseConfig } from '../config';
import { ReusableConnection } from '../db/connect';

/**
 * Lends one source connection per concurrent detection. A Lambda container runs one invocation
 * at a time, so in AWS this keeps exactly one connection per container (reused while warm); the
 * local runtime runs several invocations of a function in one process, and a PostgreSQL connection
 * carries one transaction at a time, so each concurrent detection needs its own.
 */
export interface BorrowedConnection {
  readonly client: pg.Client;
  /** Return the connection; `broken` closes it instead (it may be mid-transaction or mid-COPY). */
  giveBack(broken?: boolean): void;
}

export interface ConnectionLender {
  borrow(): Promise<BorrowedConnection>;
}

export class ReusableConnectionLender implements ConnectionLender {
  private readonly idle: ReusableConnection[] = [];
  private readonly all = new Set<ReusableConnection>();

  constructor(private readonly config: DatabaseConfig) {}

  async borrow(): Promise<BorrowedConnection> {
    const connection = this.idle.pop() ?? new ReusableConnection(this.config);
    this.all.add(connection);
    let client: pg.Client;
    try {
      client = await connection.get();
    } catch (err) {
      this.idle.push(connection);
      throw err;
    }
    let returned = false;
    return {
      client,
      giveBack: (broken = false) => {
        if (returned) return;
        returned = true;
        if (broken) connection.discard();
        this.idle.push(connection);
      },
    };
  }

  async close(): Promise<void> {
    const all = [...this.all];
    this.all.clear();
    this.idle.length = 0;
    await Promise.all(all.map((c) => c.close()));
  }
}
