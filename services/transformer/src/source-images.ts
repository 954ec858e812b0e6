import { SOURCE_TABLES, quoteIdent, type SourceTableName } from '@totes/shared/source/tables';
import type { RawRow } from './source-values';

/**
 * The joined dimensions (dim_staff = staff ⋈ department, dim_counterparty = counterparty ⋈ address)
 * are derived from the CURRENT joined image of the affected keys, read from the source in one
 * REPEATABLE READ READ ONLY snapshot (ARCHITECTURE decision 3), never from the batch rows alone: an
 * edit to either side then yields rows built from both sides as they stood together at one instant.
 *
 * Each row is stamped with WHEN it was read (the source clock at the start of the read's
 * transaction), not with its parts' last_updated: a writer that stamps last_updated when its
 * transaction starts and commits late writes an older stamp over a newer one, so "greatest
 * last_updated wins" would keep the image from before its commit for good. The loader keeps the
 * newest stamp per key, so duplicates, out-of-order delivery and two transformers at once settle on
 * the image read last. Two reads that start within the same instants may take their snapshots in
 * the other order; if a commit falls between those snapshots, the earlier-stamped read holds the
 * newer image and loses. That commit changed a staff, department, counterparty or address row, so
 * the detector extracts it and its transformation reads the image again, in a transaction that
 * starts after the commit: a later stamp than both, holding the newest image. So the dimension
 * always ends on the current image.
 *
 * Images come back in the raw zone's value format (timestamps as "YYYY-MM-DDTHH:MM:SS.ffffff"
 * text, rendered by PostgreSQL itself so microseconds are exact and no client time zone applies),
 * so the same strict readers check them as check a batch.
 */
export const JOINS = {
  staff: { main: 'staff', joined: 'department', foreignKey: 'department_id' },
  counterparty: { main: 'counterparty', joined: 'address', foreignKey: 'legal_address_id' },
} as const satisfies Record<string, { main: SourceTableName; joined: SourceTableName; foreignKey: string }>;

export type JoinName = keyof typeof JOINS;

/** One joined image: the main row (staff, counterparty) and its joined row (department, address) if it exists. */
export interface JoinedImage {
  readonly main: RawRow;
  readonly joined: RawRow | null;
}

/** The images of one read, and when it was made. */
export interface ImageRead {
  /** The source clock at the start of the read's transaction, "YYYY-MM-DDTHH:MM:SS.ffffff": the rows' version stamp. */
  readonly readAt: string;
  readonly images: JoinedImage[];
}

export interface SourceImages {
  /**
   * The images of the main rows whose primary key (`by: 'main'`) or foreign key (`by: 'joined'`:
   * every staff of these departments, every counterparty whose legal address is one of these) is
   * in `ids`, ordered by the main key.
   */
  read(join: JoinName, by: 'main' | 'joined', ids: readonly number[]): Promise<ImageRead>;
}

/** The narrow slice of a pg client the reader uses. */
export interface SqlClient {
  query(text: string, values?: unknown[]): Promise<{ rows: Record<string, unknown>[] }>;
}

export interface SqlConnection {
  get(): Promise<SqlClient>;
  /** The connection may be mid-transaction after an error: do not reuse it. */
  discard(): void;
}

const TIMESTAMP_TEXT = `'YYYY-MM-DD"T"HH24:MI:SS.US'`;

function selectList(table: SourceTableName, alias: string): string {
  return SOURCE_TABLES[table].columns
    .map((c) => {
      const ref = `${alias}.${quoteIdent(c.name)}`;
      const value = c.type === 'timestamp' ? `to_char(${ref}, ${TIMESTAMP_TEXT})` : c.type === 'numeric' ? `${ref}::text` : ref;
      return `${value} AS ${quoteIdent(`${alias}.${c.name}`)}`;
    })
    .join(', ');
}

/** The image query of a join, built from the closed source catalogue only. */
export function imageQuery(join: JoinName, by: 'main' | 'joined'): string {
  const { main, joined, foreignKey } = JOINS[join];
  const mainKey = quoteIdent(SOURCE_TABLES[main].primaryKey);
  const joinedKey = quoteIdent(SOURCE_TABLES[joined].primaryKey);
  const filter = by === 'main' ? `m.${mainKey}` : `m.${quoteIdent(foreignKey)}`;
  return (
    `SELECT ${selectList(main, 'm')}, j.${joinedKey} IS NOT NULL AS "found", ${selectList(joined, 'j')} ` +
    `FROM ${quoteIdent(main)} AS m LEFT JOIN ${quoteIdent(joined)} AS j ON j.${joinedKey} = m.${quoteIdent(foreignKey)} ` +
    `WHERE ${filter} = ANY($1::int[]) ORDER BY m.${mainKey}`
  );
}

function pick(row: Record<string, unknown>, table: SourceTableName, alias: string): RawRow {
  return Object.fromEntries(SOURCE_TABLES[table].columns.map((c) => [c.name, row[`${alias}.${c.name}`] ?? null]));
}

/**
 * Reads images over one reused connection. Calls are serialised: a pg client runs one transaction
 * at a time, and the local runtime invokes this handler for several queues concurrently in one
 * process (in Lambda an instance handles one invocation at a time, so the queue is always empty).
 */
export class PgSourceImages implements SourceImages {
  private tail: Promise<unknown> = Promise.resolve();

  constructor(private readonly connection: SqlConnection) {}

  read(join: JoinName, by: 'main' | 'joined', ids: readonly number[]): Promise<ImageRead> {
    const run = this.tail.then(
      () => this.readNow(join, by, ids),
      () => this.readNow(join, by, ids),
    );
    this.tail = run.catch(() => undefined);
    return run;
  }

  private async readNow(join: JoinName, by: 'main' | 'joined', ids: readonly number[]): Promise<ImageRead> {
    const { main, joined } = JOINS[join];
    const client = await this.connection.get();
    try {
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      // The first statement takes the snapshot; localtimestamp is the transaction's start, before it.
      const clock = await client.query(`SELECT to_char(localtimestamp, ${TIMESTAMP_TEXT}) AS "readAt"`);
      const result = await client.query(imageQuery(join, by), [[...ids]]);
      await client.query('COMMIT');
      const readAt = clock.rows[0]?.readAt;
      if (typeof readAt !== 'string') throw new Error('the source did not say what time it is');
      return { readAt, images: result.rows.map((row) => ({ main: pick(row, main, 'm'), joined: row.found === true ? pick(row, joined, 'j') : null })) };
    } catch (err) {
      // A failed statement leaves the transaction aborted; a fresh connection is simpler than a
      // ROLLBACK that may itself fail on a broken socket.
      this.connection.discard();
      throw err;
    }
  }
}
