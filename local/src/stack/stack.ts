import fs from 'node:fs';
import path from 'node:path';
import { createAwsClients, type AwsClients } from '@totes/shared/aws/clients';
import { loadDatabaseConfig, type DatabaseConfig, type SslMode } from '@totes/shared/config/index';
import { TotesError } from '@totes/shared/errors';
import { startDurableFauxqs } from './fauxqs';
import { startDynalite } from './dynalite';
import { startEmbeddedPostgres, stopLeftoverPostgres, type RunningPostgres } from './postgres';
import { isProcessAlive, processCommandLine } from './process';
import { createStageResources, type StageResources } from './resources';

/**
 * The whole pipeline's infrastructure on one machine, in one process, on free ports: PostgreSQL
 * (source `totesys` and `warehouse` databases), SQS and S3 (fauxqs), DynamoDB (dynalite). All state
 * lives in the state directory, so a restart continues where the last run stopped.
 */
export const LOCAL_STAGE = 'local';
export const LOCAL_REGION = 'eu-west-2';
export const SOURCE_DATABASE = 'totesys';
export const WAREHOUSE_DATABASE = 'warehouse';

export interface LocalStackOptions {
  readonly stateDir: string;
  /** Delete the state directory's contents first. */
  readonly fresh?: boolean;
  /** Use this source database instead of the embedded one (never written to). */
  readonly sourceUrl?: string;
  /** Use this warehouse database instead of the embedded one. */
  readonly warehouseUrl?: string;
  readonly log: (line: string) => void;
}

export interface DatabaseEndpoint {
  readonly url: string;
  /** True when the database is the embedded one this tool created (and may write to). */
  readonly embedded: boolean;
  /** How the pipeline (and the CLI) connects to it: TLS off for the embedded databases only. */
  readonly config: DatabaseConfig;
}

/**
 * TLS for a database given by URL: as its `sslmode` says, and verify-full when it says nothing
 * (credentials never cross a network in clear by default). The embedded databases listen on
 * 127.0.0.1 only and have no certificate.
 */
export function sslModeFor(url: string, embedded: boolean): SslMode {
  if (embedded) return 'disable';
  const mode = new URL(url).searchParams.get('sslmode');
  if (mode === 'disable') return 'disable';
  if (mode === null || mode === 'verify-full' || mode === 'verify-ca') return 'verify-full';
  return 'require';
}

export function databaseEndpoint(name: 'source' | 'warehouse', url: string, embedded: boolean): DatabaseEndpoint {
  const prefix = name === 'source' ? 'TOTES_SOURCE' : 'TOTES_WAREHOUSE';
  return {
    url,
    embedded,
    config: loadDatabaseConfig(name, { [`${prefix}_URL`]: url, [`${prefix}_SSL`]: sslModeFor(url, embedded) }),
  };
}

export interface LocalStack {
  readonly stateDir: string;
  readonly stage: string;
  readonly region: string;
  readonly awsEndpoint: string;
  readonly dynamodbEndpoint: string;
  readonly source: DatabaseEndpoint;
  readonly warehouse: DatabaseEndpoint;
  readonly resources: StageResources;
  readonly clients: AwsClients;
  /** The environment the services' handlers read their configuration from. */
  readonly env: Readonly<Record<string, string>>;
  /** The embedded PostgreSQL cluster, when one runs. */
  readonly postgres: RunningPostgres | undefined;
  stop(): Promise<void>;
}

const LOCK_FILE = 'totes.pid';
export const STACK_FILE = 'stack.json';
/** Marks a directory as a totes state directory, so that --fresh never deletes anything else. */
export const MARKER_FILE = '.totes-state';
/** Everything the stack keeps in a state directory; --fresh deletes these and nothing else. */
const STATE_ENTRIES = ['postgres', 'sqs', 's3', 'dynamodb', 'logs', STACK_FILE] as const;

/** True when `dir` holds the state of an earlier run (marked, or laid out by one before markers). */
export function isStateDirectory(dir: string): boolean {
  if (fs.existsSync(path.join(dir, MARKER_FILE))) return true;
  return ['postgres', 'sqs', 'dynamodb'].every((entry) => fs.existsSync(path.join(dir, entry)));
}

/**
 * A state directory is either new (absent or empty) or one this tool made. Anything else (a
 * mistyped path, the repository itself) is refused before anything is written or deleted there.
 */
function claimStateDirectory(stateDir: string): void {
  const entries = fs.existsSync(stateDir) ? fs.readdirSync(stateDir).filter((e) => e !== LOCK_FILE) : [];
  if (entries.length > 0 && !isStateDirectory(stateDir)) {
    throw new TotesError(
      `${stateDir} is not empty and is not a totes state directory (it has no ${MARKER_FILE} file); choose another --state-dir or an empty one.`,
    );
  }
  fs.mkdirSync(stateDir, { recursive: true });
  fs.writeFileSync(path.join(stateDir, MARKER_FILE), 'This directory holds the local state of totes-etl (see README.md). `totes ... --fresh` empties it.\n');
}

/** What another command needs to attach to a running stack. */
export interface StackFile {
  readonly pid: number;
  readonly awsEndpoint: string;
  readonly dynamodbEndpoint: string;
  readonly sourceUrl: string;
  readonly warehouseUrl: string;
  readonly sourceEmbedded: boolean;
  readonly env: Record<string, string>;
}

/** The stack another live totes process runs on this state directory, if any. */
export function runningStack(stateDir: string): StackFile | undefined {
  const file = path.join(stateDir, STACK_FILE);
  if (!fs.existsSync(file)) return undefined;
  try {
    const stack = JSON.parse(fs.readFileSync(file, 'utf8')) as StackFile;
    return stack.pid !== process.pid && isTotesProcess(stack.pid) ? stack : undefined;
  } catch {
    return undefined;
  }
}

function isTotesProcess(pid: number): boolean {
  if (!isProcessAlive(pid)) return false;
  const cmd = processCommandLine(pid);
  return cmd === undefined ? false : cmd === '' || /node|totes|jest/.test(cmd);
}

function takeLock(stateDir: string): () => void {
  const file = path.join(stateDir, LOCK_FILE);
  if (fs.existsSync(file)) {
    const pid = Number(fs.readFileSync(file, 'utf8').trim());
    if (Number.isInteger(pid) && pid !== process.pid && isTotesProcess(pid)) {
      throw new TotesError(
        `Another totes process (pid ${pid}) is using the state directory ${stateDir}; stop it first or pass another --state-dir.`,
      );
    }
  }
  fs.writeFileSync(file, String(process.pid));
  return () => {
    try {
      if (fs.readFileSync(file, 'utf8').trim() === String(process.pid)) fs.rmSync(file);
    } catch {
      // already gone
    }
  };
}

export async function startLocalStack(options: LocalStackOptions): Promise<LocalStack> {
  const stateDir = path.resolve(options.stateDir);
  const { log } = options;
  claimStateDirectory(stateDir);
  const releaseLock = takeLock(stateDir);
  const stops: Array<() => Promise<void>> = [];
  const stopAll = async () => {
    for (const stop of stops.reverse()) await stop().catch((err: unknown) => log(`while stopping: ${String(err)}`));
    stops.length = 0;
    fs.rmSync(path.join(stateDir, STACK_FILE), { force: true });
    releaseLock();
  };

  try {
    if (options.fresh) {
      await stopLeftoverPostgres(path.join(stateDir, 'postgres', 'data'), log);
      for (const entry of STATE_ENTRIES) fs.rmSync(path.join(stateDir, entry), { recursive: true, force: true });
      log(`Starting afresh in ${stateDir}.`);
    }

    let postgres: RunningPostgres | undefined;
    if (!options.sourceUrl || !options.warehouseUrl) {
      postgres = await startEmbeddedPostgres({ dir: path.join(stateDir, 'postgres'), log });
      const pgStop = postgres.stop;
      stops.push(() => pgStop());
    }
    let source: DatabaseEndpoint;
    if (options.sourceUrl) {
      source = databaseEndpoint('source', options.sourceUrl, false);
    } else {
      await postgres!.ensureDatabase(SOURCE_DATABASE);
      source = databaseEndpoint('source', postgres!.url(SOURCE_DATABASE), true);
    }
    let warehouse: DatabaseEndpoint;
    if (options.warehouseUrl) {
      warehouse = databaseEndpoint('warehouse', options.warehouseUrl, false);
    } else {
      await postgres!.ensureDatabase(WAREHOUSE_DATABASE);
      warehouse = databaseEndpoint('warehouse', postgres!.url(WAREHOUSE_DATABASE), true);
    }

    const fauxqs = await startDurableFauxqs({ dir: stateDir, log });
    stops.push(() => fauxqs.stop());
    const dynamo = await startDynalite({ dir: path.join(stateDir, 'dynamodb') });
    stops.push(() => dynamo.stop());

    const endpoints = { sqs: fauxqs.endpoint, s3: fauxqs.endpoint, dynamodb: dynamo.endpoint };
    const clients = createAwsClients({ stage: LOCAL_STAGE, region: LOCAL_REGION, endpoints });
    stops.push(async () => {
      clients.sqs.destroy();
      clients.s3.destroy();
      clients.dynamo.destroy();
    });
    const resources = await createStageResources(clients, LOCAL_STAGE);

    const env: Record<string, string> = {
      TOTES_STAGE: LOCAL_STAGE,
      AWS_REGION: LOCAL_REGION,
      TOTES_AWS_ENDPOINT: fauxqs.endpoint,
      TOTES_DYNAMODB_ENDPOINT: dynamo.endpoint,
      TOTES_STATE_TABLE: resources.stateTable,
      TOTES_INGESTION_BUCKET: resources.ingestionBucket,
      TOTES_PROCESSED_BUCKET: resources.processedBucket,
      TOTES_QUEUE_PREFIX: resources.queuePrefix,
      TOTES_SOURCE_URL: source.url,
      TOTES_SOURCE_SSL: source.config.ssl,
      TOTES_WAREHOUSE_URL: warehouse.url,
      TOTES_WAREHOUSE_SSL: warehouse.config.ssl,
    };
    const stackFile: StackFile = {
      pid: process.pid,
      awsEndpoint: fauxqs.endpoint,
      dynamodbEndpoint: dynamo.endpoint,
      sourceUrl: source.url,
      warehouseUrl: warehouse.url,
      sourceEmbedded: source.embedded,
      env,
    };
    fs.writeFileSync(path.join(stateDir, STACK_FILE), JSON.stringify(stackFile, null, 2), { mode: 0o600 });

    return {
      stateDir,
      stage: LOCAL_STAGE,
      region: LOCAL_REGION,
      awsEndpoint: fauxqs.endpoint,
      dynamodbEndpoint: dynamo.endpoint,
      source,
      warehouse,
      resources,
      clients,
      env,
      postgres,
      stop: stopAll,
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
