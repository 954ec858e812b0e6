import type { Socket } from 'node:net';
import type pg from 'pg';
import { version as installedPgVersion } from 'pg/package.json';
import { TotesError } from '../errors';

/**
 * `COPY (...) TO STDOUT` on a node-postgres client, handing each row's bytes to `onRow` where they
 * lie in the socket's buffer: no Buffer, string or message object per row.
 *
 * Why not pg-copy-streams (which this follows closely, and which the warehouse side uses): it slices
 * every CopyData message into its own Buffer and re-concatenates them into stream chunks; at a
 * million rows per extraction that allocation and the garbage it makes cost about as much as
 * converting the rows (measured here: 0.4 s of parsing plus most of 1.2 s of GC for 1.1M rows).
 *
 * Protocol (PostgreSQL docs, "Frontend/Backend Protocol", COPY Operations): after the query the
 * server sends CopyOutResponse, then one CopyData message per row ("messages sent from the backend
 * will always correspond to single data rows"), then CopyDone, CommandComplete and ReadyForQuery;
 * NoticeResponse, ParameterStatus and NotificationResponse may come in between. While the COPY
 * runs this reads the socket itself (node-postgres's own data handler is set aside); on CopyDone or
 * an ErrorResponse the handler is put back with the unread bytes, so node-postgres ends the query
 * (CommandComplete, ReadyForQuery, or the error) exactly as for any other query. `onRow` is called
 * synchronously as bytes arrive, so the socket is read only as fast as the rows are consumed.
 *
 * This reads node-postgres internals, so `pg` is pinned to an exact version (shared/package.json)
 * and an upgrade must be deliberate. Verified against pg 8.23.1 with pg-protocol 1.16.1, whose
 * behaviour it relies on:
 * - `client.query(submittable)` calls `submit(connection)` when the query's turn comes (an Error
 *   returned from submit is handed to `handleError`), then `handleError`, `handleCommandComplete`
 *   and `handleReadyForQuery` as the messages after the hand-back arrive;
 * - `connection.stream` is the socket the messages arrive on (after TLS negotiation, the TLS
 *   socket that replaced the plain one), and pg-protocol's `parse()` reads it through exactly one
 *   'data' listener, holding no partial message between queries.
 * Guarded by: test/unit/shared/copy-out-pin.test.ts (fails when the installed pg or pg-protocol is
 * not the verified one, or the pin is loosened) and test/integration/source/copy-out.test.ts (over
 * a plain and a TLS connection the rows are byte-identical to pg-copy-streams' COPY, and the
 * connection is usable afterwards). At each COPY, `pgInternalsProblem` checks that the internals are
 * there and fails the query with a TotesError naming pg's version instead of hanging on a socket
 * nobody reads.
 */
export const VERIFIED_PG_VERSION = '8.23.1';
export const VERIFIED_PG_PROTOCOL_VERSION = '1.16.1';

const ERROR_RESPONSE = 0x45; // E
const COPY_OUT_RESPONSE = 0x48; // H
const COPY_DATA = 0x64; // d
const COPY_DONE = 0x63; // c
const NOTICE_RESPONSE = 0x4e; // N
const PARAMETER_STATUS = 0x53; // S
const NOTIFICATION_RESPONSE = 0x41; // A

/** A row: buf[start, end), its trailing LF included. The bytes are only valid during the call. */
export type RowHandler = (buf: Buffer, start: number, end: number) => void;

interface Connection {
  readonly stream: Socket;
  query(text: string): void;
}

/**
 * Why the connection node-postgres handed to `submit` cannot be read the way this module reads it
 * (undefined when it can). Cheap: a few property checks and one listener count per COPY.
 */
export function pgInternalsProblem(connection: unknown): string | undefined {
  const c = connection as Partial<Connection> | undefined;
  if (typeof c?.query !== 'function') return 'the connection has no query(text) method';
  const stream = c.stream as Partial<Socket> | undefined;
  for (const method of ['listeners', 'removeListener', 'on', 'read', 'pause', 'resume'] as const) {
    if (typeof stream?.[method] !== 'function') return `connection.stream is not a readable socket (no ${method}())`;
  }
  const handlers = (stream as Socket).listeners('data').length;
  if (handlers !== 1) return `expected node-postgres's one 'data' listener on connection.stream, found ${handlers}`;
  return undefined;
}

function unsupportedPg(problem: string): TotesError {
  return new TotesError(
    `COPY TO STDOUT cannot run on this node-postgres (pg ${installedPgVersion}): ${problem}. shared/src/source/copy-out.ts reads pg's connection internals and was verified against pg ${VERIFIED_PG_VERSION}; install that version or re-verify the module against this one.`,
  );
}

class CopyOutRows {
  private connection: Connection | undefined;
  private pgDataHandler: ((chunk: Buffer) => void) | undefined;
  private pending: Buffer | undefined;
  private rows = 0;
  private failure: unknown;
  private settled = false;
  private readonly onReadable = () => this.drain();

  constructor(
    private readonly text: string,
    private readonly onRow: RowHandler,
    private readonly settle: (err: unknown, rows: number) => void,
  ) {}

  /**
   * node-postgres calls this when the query's turn comes. An Error returned here is given to
   * handleError (the query fails, the client goes on with its queue); a thrown one would escape
   * from whichever callback started the query and leave the client waiting forever.
   */
  submit(connection: Connection): Error | undefined {
    const problem = pgInternalsProblem(connection);
    if (problem !== undefined) return unsupportedPg(problem);
    this.connection = connection;
    const stream = connection.stream;
    this.pgDataHandler = stream.listeners('data')[0] as (chunk: Buffer) => void;
    stream.removeListener('data', this.pgDataHandler as (chunk: Buffer) => void);
    stream.pause();
    stream.on('readable', this.onReadable);
    connection.query(this.text);
    return undefined;
  }

  private drain(): void {
    const stream = this.connection?.stream;
    if (!stream) return;
    let chunk: Buffer | null;
    while (this.connection && (chunk = stream.read() as Buffer | null) !== null) this.parse(chunk);
  }

  private parse(chunk: Buffer): void {
    let from = 0;
    if (this.pending) {
      // Complete the one message that straddles the chunks, without copying the rest of the chunk.
      const pending = this.pending;
      const need = pending.length >= 5 ? 1 + pending.readUInt32BE(1) - pending.length : 5 - pending.length;
      if (chunk.length < need) {
        this.pending = Buffer.concat([pending, chunk]);
        return;
      }
      this.pending = undefined;
      if (pending.length < 5) {
        this.parse(Buffer.concat([pending, chunk.subarray(0, need)]));
        if (!this.connection) return this.handBackAfter(chunk, need);
        return this.parse(chunk.subarray(need));
      }
      const message = Buffer.concat([pending, chunk.subarray(0, need)]);
      this.parseMessages(message, 0);
      if (!this.connection) return this.handBackAfter(chunk, need);
      from = need;
    }
    this.parseMessages(chunk, from);
  }

  /** After the COPY ended inside a completed straddling message: the rest goes to node-postgres. */
  private handBackAfter(chunk: Buffer, used: number): void {
    if (used < chunk.length && this.pgDataHandler) this.pgDataHandler(chunk.subarray(used));
  }

  private parseMessages(buf: Buffer, start: number): void {
    let i = start;
    while (buf.length - i >= 5) {
      const code = buf[i] as number;
      if (code === ERROR_RESPONSE) return this.handBack(buf.subarray(i));
      const length = buf.readUInt32BE(i + 1);
      const end = i + 1 + length;
      if (end > buf.length) break;
      if (code === COPY_DATA) {
        // Once onRow has failed the rest of the COPY is still read (and dropped), so the
        // connection ends the query normally; the failure is reported when it has.
        if (this.failure === undefined) {
          try {
            this.onRow(buf, i + 5, end);
            this.rows += 1;
          } catch (err) {
            this.failure = err;
          }
        }
      } else if (code === COPY_DONE) {
        return this.handBack(buf.subarray(end));
      } else if (code !== COPY_OUT_RESPONSE && code !== NOTICE_RESPONSE && code !== PARAMETER_STATUS && code !== NOTIFICATION_RESPONSE) {
        // Anything else ends copy-out mode: node-postgres deals with it.
        return this.handBack(buf.subarray(i));
      }
      i = end;
    }
    if (i < buf.length) this.pending = Buffer.from(buf.subarray(i));
  }

  /** Give the socket back to node-postgres, with the bytes it has not seen. */
  private handBack(rest: Buffer): void {
    const connection = this.connection;
    const handler = this.pgDataHandler;
    if (!connection || !handler) return;
    this.connection = undefined;
    const stream = connection.stream;
    stream.removeListener('readable', this.onReadable);
    stream.on('data', handler);
    if (rest.length > 0) handler(rest);
    // As pg-copy-streams does: resume after the handler has run (it may itself pause the stream).
    process.nextTick(() => stream.resume());
  }

  /**
   * The server's error, or a lost connection (then no ReadyForQuery follows): fail now. A query
   * the caller sends next (ROLLBACK) waits in node-postgres's queue until the server is ready.
   */
  handleError(err: Error): void {
    this.finish(err);
  }

  handleCommandComplete(): void {}

  handleReadyForQuery(): void {
    this.finish(this.failure);
  }

  private finish(err: unknown): void {
    if (this.settled) return;
    this.settled = true;
    this.settle(err, this.rows);
  }
}

/** Run `sql` (a COPY ... TO STDOUT) and call `onRow` for each row; resolves with the row count. */
export function copyOut(client: pg.Client, sql: string, onRow: RowHandler): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const submittable = new CopyOutRows(sql, onRow, (err, rows) => (err === undefined ? resolve(rows) : reject(err)));
    // A Submittable: node-postgres queues it like any query and calls submit() in turn.
    void (client.query as unknown as (s: CopyOutRows) => unknown).call(client, submittable);
  });
}
