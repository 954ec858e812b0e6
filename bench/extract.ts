import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DeleteCommand } from '@aws-sdk/lib-dynamodb';
import pg from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import { createAwsClients, type AwsClients } from '@totes/shared/aws/clients';
import { S3ObjectStore } from '@totes/shared/aws/objects';
import { SqsMessageSender } from '@totes/shared/aws/queues';
import { PgChangeReader } from '@totes/shared/source/change-reader';
import { ReusableConnectionLender } from '@totes/shared/source/connections';
import { DynamoBatchStore } from '@totes/shared/state/batch-store';
import { DynamoLeaseStore } from '@totes/shared/state/lease-store';
import { DynamoWatermarkStore, watermarkPk } from '@totes/shared/state/watermark-store';
import { seedSource } from '../local/src/data/generator';
import { applySourceSchemaAt } from '../local/src/data/source-setup';
import { LOCAL_REGION, LOCAL_STAGE, startLocalStack } from '../local/src/stack/stack';
import { detectTable } from '../services/change-detector/src/detect-table';
import type { DetectionPorts } from '../services/change-detector/src/ports';
import { MemoryBatches, MemoryLeases, MemoryObjectStore, MemorySender, MemoryWatermarks } from '../test/helpers/memory-ports';

/**
 * Benchmark (not a test): a full extraction of sales_order at scale 100 (~1.1M rows) by the
 * change-detector's own domain function and adapters (PostgreSQL → JSON Lines → gzip → fauxqs S3,
 * batch records in dynalite, messages on fauxqs SQS), in rows/s, beside the raw rate of
 * `COPY (SELECT * FROM sales_order) TO STDOUT` read by the same process, measured in the same run,
 * alternately. Goal: at least half the raw rate.
 *
 * The local stack (embedded PostgreSQL, fauxqs, dynalite) runs in a child process by default (`stack:
 * 'child'`): in AWS, S3, DynamoDB and SQS do their work on other machines, so their emulators' CPU is
 * not the detector's; `stack: 'in-process'` runs them in this process, as `totes up` does, and so
 * also measures the emulators (on this two-core machine they compete with PostgreSQL for the cores
 * either way).
 *
 * Each run also extracts the table once more with the detector's state, lake and queue ports in
 * memory (test/helpers/memory-ports.ts): not the goal's measure (the pipeline needs S3, SQS and
 * DynamoDB), but it shows how much of the extraction's time its requests take on this machine.
 * Run alone: node -e "require('tsx/cjs'); require('./bench/extract.ts')"
 *   (TOTES_BENCH_SCALE, TOTES_BENCH_RUNS, TOTES_BENCH_STACK=child|in-process and TOTES_PAGE_SIZE
 *   override the defaults)
 */
export interface ExtractBenchmarkOptions {
  readonly scale?: number;
  readonly seed?: number;
  readonly pageSize?: number;
  /** How many times each of the two is measured (alternately); the best of each is reported. */
  readonly runs?: number;
  /** Where the local stack runs (default 'child'). */
  readonly stack?: 'child' | 'in-process';
  readonly log?: (line: string) => void;
}

/** CPU seconds: this process (the detector, or the COPY reader), PostgreSQL, the emulators (when in their own process). */
export interface CpuSeconds {
  readonly own: number;
  readonly postgres: number;
  readonly emulators: number;
}

export interface ExtractBenchmarkResult {
  readonly scale: number;
  readonly stack: 'child' | 'in-process';
  readonly rows: number;
  readonly pageSize: number;
  readonly pages: number;
  /** Compressed bytes written to the raw zone by one extraction. */
  readonly rawZoneBytes: number;
  readonly extractSeconds: readonly number[];
  readonly copySeconds: readonly number[];
  readonly extractRowsPerSecond: number;
  readonly copyRowsPerSecond: number;
  /** CPU of the fastest run of each. */
  readonly extractCpu: CpuSeconds;
  readonly copyCpu: CpuSeconds;
  /** extract rate / COPY rate */
  readonly ratio: number;
  /**
   * The same extraction with the state, lake and queue ports in memory (no S3, SQS or DynamoDB):
   * its times, and its rate over the COPY's. Not the goal's measure: it shows what the requests cost.
   */
  readonly inMemorySeconds: readonly number[];
  readonly inMemoryRatio: number;
  readonly goalRatio: number;
  readonly metGoal: boolean;
}

export const EXTRACT_GOAL_RATIO = 0.5;

/** CPU seconds used so far, from /proc (Linux): utime + stime, plus reaped children's when asked. */
function procCpuSeconds(pid: number, withReapedChildren = false): number {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // After the command: state(0) ppid(1) … utime(11) stime(12) cutime(13) cstime(14), in clock ticks.
    const ticks = Number(fields[11]) + Number(fields[12]) + (withReapedChildren ? Number(fields[13]) + Number(fields[14]) : 0);
    return ticks / 100;
  } catch {
    return 0;
  }
}

/** The CPU of a PostgreSQL cluster: its postmaster, every live backend, and the backends it has reaped. */
function clusterCpuSeconds(postmasterPid: number): number {
  let total = procCpuSeconds(postmasterPid, true);
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === postmasterPid) total += procCpuSeconds(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return total;
}

/** CPU seconds of this process, PostgreSQL and the emulators' process while `work` runs. */
async function measured<T>(target: Target, work: () => Promise<T>): Promise<{ result: T; seconds: number; cpu: CpuSeconds }> {
  // A backend caught between closing its socket and being reaped by the postmaster is in neither
  // the live list nor the reaped total: its whole CPU would be missed in one window and counted in
  // the next (seen: "postgres 0.00 s" for a COPY that closes its connection, then "postgres 2.13 s"
  // for a 0.95 s COPY). So PostgreSQL's CPU is read only once such backends are gone (it is idle
  // meanwhile), outside the timed span; this process's and the emulators' are read at its end.
  const settle = () => new Promise((resolve) => setTimeout(resolve, 250));
  await settle();
  const before = { own: process.cpuUsage(), pg: clusterCpuSeconds(target.postmasterPid), emulators: target.emulatorsCpu() };
  const started = process.hrtime.bigint();
  const result = await work();
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const own = process.cpuUsage(before.own);
  const emulators = target.emulatorsCpu() - before.emulators;
  await settle();
  return {
    result,
    seconds,
    cpu: { own: (own.user + own.system) / 1e6, postgres: clusterCpuSeconds(target.postmasterPid) - before.pg, emulators },
  };
}

/** The raw rate's reference: the whole table through COPY, read by pg-copy-streams, bytes counted. */
async function rawCopy(url: string): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    let bytes = 0;
    const stream = client.query(copyTo('COPY (SELECT * FROM sales_order) TO STDOUT'));
    for await (const chunk of stream) bytes += (chunk as Buffer).length;
    return bytes;
  } finally {
    await client.end();
  }
}

/** What the detector talks to: the source and the stage's resources. */
interface Target {
  readonly sourceUrl: string;
  readonly postmasterPid: number;
  /** CPU seconds the emulators have used (0 when they run in this process: counted as its own). */
  emulatorsCpu(): number;
  readonly clients: AwsClients;
  readonly stateTable: string;
  readonly ingestionBucket: string;
  readonly queuePrefix: string;
  stop(): Promise<void>;
}

function postmasterPid(stateDir: string): number {
  return Number(fs.readFileSync(path.join(stateDir, 'postgres', 'data', 'postmaster.pid'), 'utf8').split('\n')[0]);
}

async function inProcessTarget(stateDir: string): Promise<Target> {
  const stack = await startLocalStack({ stateDir, log: () => undefined });
  const { resources } = stack;
  return {
    sourceUrl: stack.source.url,
    postmasterPid: postmasterPid(stateDir),
    emulatorsCpu: () => 0,
    clients: stack.clients,
    stateTable: resources.stateTable,
    ingestionBucket: resources.ingestionBucket,
    queuePrefix: resources.queuePrefix,
    stop: () => stack.stop(),
  };
}

async function childTarget(stateDir: string): Promise<Target> {
  const child: ChildProcess = spawn(
    process.execPath,
    ['-e', `require('tsx/cjs'); require(${JSON.stringify(path.join(__dirname, 'extract-stack-child.ts'))})`, stateDir],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const line = await new Promise<string>((resolve, reject) => {
    let text = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      text += chunk.toString('utf8');
      const end = text.indexOf('\n');
      if (end !== -1) resolve(text.slice(0, end));
    });
    child.once('exit', (code) => reject(new Error(`the stack process exited (${code}) before it was ready`)));
  });
  const { env, sourceUrl } = JSON.parse(line) as { env: Record<string, string>; sourceUrl: string };
  const endpoint = env.TOTES_AWS_ENDPOINT as string;
  const clients = createAwsClients({ stage: LOCAL_STAGE, region: LOCAL_REGION, endpoints: { sqs: endpoint, s3: endpoint, dynamodb: env.TOTES_DYNAMODB_ENDPOINT as string } });
  return {
    sourceUrl,
    postmasterPid: postmasterPid(stateDir),
    emulatorsCpu: () => (child.pid ? procCpuSeconds(child.pid) : 0),
    clients,
    stateTable: env.TOTES_STATE_TABLE as string,
    ingestionBucket: env.TOTES_INGESTION_BUCKET as string,
    queuePrefix: env.TOTES_QUEUE_PREFIX as string,
    stop: async () => {
      clients.sqs.destroy();
      clients.s3.destroy();
      clients.dynamo.destroy();
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/**
 * Where the detector's state, lake and queue ports go: the local stack's S3, SQS and DynamoDB (the
 * measurement), or memory (test/helpers/memory-ports.ts: the same extraction without any request, to
 * show what the requests cost).
 */
type Services = 'stack' | 'memory';

async function extractOnce(target: Target, pageSize: number, services: Services): Promise<{ seconds: number; cpu: CpuSeconds; rows: number; pages: number; bytes: number }> {
  const { clients } = target;
  const lender = new ReusableConnectionLender({ name: 'source', source: { kind: 'url', url: target.sourceUrl }, ssl: 'disable', statementTimeoutMs: 120_000 });
  let rest: Pick<DetectionPorts, 'objects' | 'sender' | 'batches' | 'watermarks' | 'leases'>;
  let rawBytes: () => number;
  if (services === 'memory') {
    const objects = new MemoryObjectStore();
    rest = { objects, sender: new MemorySender(), batches: new MemoryBatches(), watermarks: new MemoryWatermarks({ table: 'sales_order', version: 0 }), leases: new MemoryLeases() };
    rawBytes = () => [...objects.objects].reduce((n, [key, body]) => (key.startsWith(`${target.ingestionBucket}/raw/`) ? n + body.byteLength : n), 0);
  } else {
    let bytes = 0;
    rawBytes = () => bytes;
    // Start from an empty watermark: every run is a full extraction (under a new pass id).
    await clients.dynamo.send(new DeleteCommand({ TableName: target.stateTable, Key: { pk: watermarkPk('sales_order') } }));
    const objects = new S3ObjectStore(clients.s3);
    rest = {
      objects: {
        putImmutable: async (bucket, key, body, options) => {
          if (key.startsWith('raw/')) bytes += body.byteLength;
          return objects.putImmutable(bucket, key, body, options);
        },
        get: (bucket, key) => objects.get(bucket, key),
        exists: (bucket, key) => objects.exists(bucket, key),
      },
      sender: new SqsMessageSender(clients.sqs, target.queuePrefix),
      batches: new DynamoBatchStore(clients.dynamo, target.stateTable),
      watermarks: new DynamoWatermarkStore(clients.dynamo, target.stateTable),
      leases: new DynamoLeaseStore(clients.dynamo, target.stateTable),
    };
  }
  const ports: DetectionPorts = {
    source: new PgChangeReader(lender),
    ...rest,
    metrics: { count: () => undefined },
    log: { info: () => undefined, warn: () => undefined, error: () => undefined },
  };
  try {
    const { result: outcome, seconds, cpu } = await measured(target, () =>
      detectTable(ports, { ingestionBucket: target.ingestionBucket, pageSize, lookbackSeconds: 900, leaseSeconds: 600, owner: randomUUID() }, 'sales_order'),
    );
    if (outcome.status !== 'completed') throw new Error(`the extraction ended ${outcome.status}`);
    return { seconds, cpu, rows: outcome.rows, pages: outcome.pages, bytes: rawBytes() };
  } finally {
    await lender.close();
  }
}

export async function runExtractBenchmark(options: ExtractBenchmarkOptions = {}): Promise<ExtractBenchmarkResult> {
  const scale = options.scale ?? 100;
  const pageSize = options.pageSize ?? 10_000;
  const runs = options.runs ?? 3;
  const log = options.log ?? ((line: string) => console.log(line));
  const where = options.stack ?? 'child';
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'totes-bench-extract-'));
  const target = where === 'child' ? await childTarget(stateDir) : await inProcessTarget(stateDir);
  try {
    const url = target.sourceUrl;
    await applySourceSchemaAt(url);
    log(`seeding scale ${scale} …`);
    const seeded = await seedSource({ url, scale, seed: options.seed ?? 1 });
    log(`  ${seeded.rows.sales_order.toLocaleString('en-GB')} sales orders`);
    await rawCopy(url); // warm the cache: both measurements then read from memory

    const copies: Array<{ seconds: number; cpu: CpuSeconds }> = [];
    const extractions: Array<Awaited<ReturnType<typeof extractOnce>>> = [];
    const inMemory: Array<Awaited<ReturnType<typeof extractOnce>>> = [];
    const extract = async (services: Services) => {
      const extraction = await extractOnce(target, pageSize, services);
      if (extraction.rows !== seeded.rows.sales_order) throw new Error(`the extraction read ${extraction.rows} rows, not ${seeded.rows.sales_order}`);
      return extraction;
    };
    for (let run = 1; run <= runs; run++) {
      const copy = await measured(target, () => rawCopy(url));
      copies.push(copy);
      const extraction = await extract('stack');
      extractions.push(extraction);
      const reference = await extract('memory');
      inMemory.push(reference);
      log(
        `  run ${run}: COPY ${copy.seconds.toFixed(2)} s (cpu ${cpuText(copy.cpu)}), extraction ${extraction.seconds.toFixed(2)} s (cpu ${cpuText(extraction.cpu)}), ${extraction.pages} pages; ` +
          `in memory ${reference.seconds.toFixed(2)} s (cpu ${cpuText(reference.cpu)})`,
      );
    }
    const copySeconds = copies.map((c) => c.seconds);
    const extractSeconds = extractions.map((e) => e.seconds);
    const inMemorySeconds = inMemory.map((e) => e.seconds);
    const bestCopy = copies.reduce((a, b) => (b.seconds < a.seconds ? b : a));
    const last = extractions.reduce((a, b) => (b.seconds < a.seconds ? b : a));
    const rows = seeded.rows.sales_order;
    const copyRowsPerSecond = rows / Math.min(...copySeconds);
    const extractRowsPerSecond = rows / Math.min(...extractSeconds);
    const ratio = extractRowsPerSecond / copyRowsPerSecond;
    return {
      scale,
      stack: where,
      rows,
      pageSize,
      pages: last.pages,
      rawZoneBytes: last.bytes,
      extractSeconds,
      copySeconds,
      extractCpu: last.cpu,
      copyCpu: bestCopy.cpu,
      inMemorySeconds,
      inMemoryRatio: Math.min(...copySeconds) / Math.min(...inMemorySeconds),
      extractRowsPerSecond,
      copyRowsPerSecond,
      ratio,
      goalRatio: EXTRACT_GOAL_RATIO,
      metGoal: ratio >= EXTRACT_GOAL_RATIO,
    };
  } finally {
    await target.stop();
    fs.rmSync(stateDir, { recursive: true, force: true });
  }
}

function cpuText(c: CpuSeconds): string {
  return `own ${c.own.toFixed(2)} s + postgres ${c.postgres.toFixed(2)} s${c.emulators > 0 ? ` + emulators ${c.emulators.toFixed(2)} s` : ''}`;
}

export function formatExtractBenchmark(r: ExtractBenchmarkResult): string {
  const n = (v: number) => Math.round(v).toLocaleString('en-GB');
  return [
    `extract sales_order, scale ${r.scale}: ${n(r.rows)} rows in ${r.pages} pages of ${n(r.pageSize)}, ${(r.rawZoneBytes / 1e6).toFixed(1)} MB gzipped (local stack: ${r.stack})`,
    `  extraction (best of ${r.extractSeconds.length}): ${Math.min(...r.extractSeconds).toFixed(2)} s, ${n(r.extractRowsPerSecond)} rows/s; cpu ${cpuText(r.extractCpu)}`,
    `  COPY (SELECT * FROM sales_order) TO STDOUT (best of ${r.copySeconds.length}): ${Math.min(...r.copySeconds).toFixed(2)} s, ${n(r.copyRowsPerSecond)} rows/s; cpu ${cpuText(r.copyCpu)}`,
    `  ratio ${r.ratio.toFixed(3)}; goal: at least ${r.goalRatio} of the raw rate: ${r.metGoal ? 'met' : 'NOT met'}`,
    `  for reference, the same extraction with state, lake and queues in memory (no S3, SQS or DynamoDB request; best of ${r.inMemorySeconds.length}): ${Math.min(...r.inMemorySeconds).toFixed(2)} s, ratio ${r.inMemoryRatio.toFixed(2)}`,
  ].join('\n');
}

// Run when this file is the program or required from `node -e` (no main module); not when a bench
// runner imports runExtractBenchmark.
if (require.main === module || require.main === undefined) {
  runExtractBenchmark({
    scale: Number(process.env.TOTES_BENCH_SCALE ?? 100),
    runs: Number(process.env.TOTES_BENCH_RUNS ?? 3),
    pageSize: Number(process.env.TOTES_PAGE_SIZE ?? 10_000),
    stack: process.env.TOTES_BENCH_STACK === 'in-process' ? 'in-process' : 'child',
  })
    .then((r) => console.log(formatExtractBenchmark(r)))
    .catch((err: unknown) => {
      console.error(err instanceof Error ? err.message : String(err));
      process.exitCode = 1;
    });
}
