import type { Readable } from 'node:stream';
import type pg from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import { TotesError } from '@totes/shared/errors';
import { copyOut, VERIFIED_PG_VERSION } from '@totes/shared/source/copy-out';
import { startTlsPostgres, type TlsPostgres } from '../../helpers/tls-postgres';

/**
 * copyOut reads node-postgres's socket itself while a COPY runs (shared/src/source/copy-out.ts). In
 * AWS the source is reached over TLS, where that socket is the TLS socket that replaced the plain one
 * and data arrives in TLS records: these tests prove that over TLS (a server of its own, with a
 * verified self-signed certificate) the rows come back byte for byte as a plain COPY read by
 * pg-copy-streams gives them, that the client is usable afterwards, and that a node-postgres whose
 * internals differ fails the COPY clearly instead of hanging.
 */
const SMALL_ROWS = 20_000;
const COPY_ALL = 'COPY (SELECT * FROM sample ORDER BY id) TO STDOUT';

let server: TlsPostgres;
let tls: pg.Client;
let plain: pg.Client;

beforeAll(async () => {
  server = await startTlsPostgres();
  tls = server.tlsClient();
  plain = server.plainClient();
  await tls.connect();
  await plain.connect();
  // Every kind of value and of escape COPY's text format writes, multi-byte UTF-8, NULLs, and rows far
  // larger than a TLS record (16 kB) and than a socket read, so messages straddle every boundary.
  await plain.query(`
    CREATE TABLE sample (id int PRIMARY KEY, label text, amount numeric, at timestamp, flag boolean);
    INSERT INTO sample
    SELECT i,
           CASE i % 4 WHEN 0 THEN 'plain ' || i WHEN 1 THEN E'tab\\there, new\\nline, back\\\\slash ' || i WHEN 2 THEN 'é ü 日本 🙂 ' || i END,
           i * 12345.678901 / 7, timestamp '2024-01-01 00:00:00' + i * interval '1.000001 second', i % 3 = 0
      FROM generate_series(1, ${SMALL_ROWS}) AS i;
    INSERT INTO sample VALUES
      (${SMALL_ROWS + 1}, repeat('x', 100000), 1, NULL, NULL),
      (${SMALL_ROWS + 2}, repeat('日本🙂', 30000), 2, NULL, true),
      (${SMALL_ROWS + 3}, '', NULL, NULL, false);
  `);
});

afterAll(async () => {
  await tls?.end();
  await plain?.end();
  await server?.stop();
});

async function usesTls(client: pg.Client): Promise<boolean> {
  const r = await client.query<{ ssl: boolean }>('SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()');
  return r.rows[0]?.ssl ?? false;
}

/** The reference: the whole COPY output as pg-copy-streams reads it. */
async function referenceCopy(client: pg.Client, sql: string): Promise<Buffer> {
  const stream = client.query(copyTo(sql)) as unknown as Readable;
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** copyOut's rows, each copied out of the socket buffer (they are valid only during the call). */
async function copyOutRows(client: pg.Client, sql: string): Promise<{ bytes: Buffer; rows: number; seen: number }> {
  const parts: Buffer[] = [];
  const rows = await copyOut(client, sql, (buf, start, end) => {
    parts.push(Buffer.from(buf.subarray(start, end)));
  });
  return { bytes: Buffer.concat(parts), rows, seen: parts.length };
}

function firstDifference(a: Buffer, b: Buffer): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? -1 : n;
}

describe('copyOut over TLS', () => {
  it('uses a verified TLS connection for copyOut and a plain one for the reference', async () => {
    expect(await usesTls(tls)).toBe(true);
    expect(await usesTls(plain)).toBe(false);
  });

  it('returns every row byte-identical to a plain COPY read by pg-copy-streams, and leaves the client usable', async () => {
    const expected = await referenceCopy(plain, COPY_ALL);

    const got = await copyOutRows(tls, COPY_ALL);
    const after = await tls.query<{ n: number }>('SELECT count(*)::int AS n FROM sample');

    expect(expected.length).toBeGreaterThan(1_000_000); // many TLS records, many socket reads
    expect(got.rows).toBe(SMALL_ROWS + 3);
    expect(got.seen).toBe(SMALL_ROWS + 3);
    expect(got.bytes.length).toBe(expected.length);
    expect(firstDifference(got.bytes, expected)).toBe(-1);
    expect(after.rows).toEqual([{ n: SMALL_ROWS + 3 }]);
  });

  it("fails with the server's error when the COPY breaks off after some rows, and the client goes on", async () => {
    const seen: number[] = [];

    const failed = copyOut(tls, 'COPY (SELECT id, 1 / (id - 15000) FROM sample ORDER BY id) TO STDOUT', () => {
      seen.push(1);
    });

    await expect(failed).rejects.toThrow(/division by zero/);
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.length).toBeLessThan(15_000);
    expect((await tls.query<{ one: number }>('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
  });

  it("fails the COPY with a TotesError naming pg's version when node-postgres does not read its socket the expected way", async () => {
    // As a pg whose parser read the socket differently would look: not exactly one 'data' listener.
    const stream = (tls as unknown as { connection: { stream: NodeJS.EventEmitter } }).connection.stream;
    const extra = () => undefined;
    stream.on('data', extra);
    let outcome: unknown;
    try {
      outcome = await copyOut(tls, COPY_ALL, () => undefined).catch((err: unknown) => err);
    } finally {
      stream.removeListener('data', extra);
    }

    expect(outcome).toBeInstanceOf(TotesError);
    expect((outcome as Error).message).toContain(`pg ${VERIFIED_PG_VERSION}`);
    expect((outcome as Error).message).toMatch(/expected node-postgres's one 'data' listener on connection\.stream, found 2/);
    expect((await tls.query<{ one: number }>('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
  });
});
