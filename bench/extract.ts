import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DeleteCommand } from '@aws-sdk/lib-dynamodb';
import pg from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import { S3ObjectStore } from '@totes/shared/aws/objects';
import { SqsMessageSender } from '@totes/shared/aws/queues';
import { PgChangeReader } from '@totes/shared/source/change-reader';
import { ReusableConnectionLender } from '@totes/shared/source/connections';
import { DynamoBatchStore } from '@totes/shared/state/batch-store';
import { DynamoLeaseStore } from '@totes/shared/state/lease-store';
import { DynamoWatermarkStore, watermarkPk } from '@totes/shared/state/watermark-store';
import { seedSource } from '../local/src/data/generator';
import { applySourceSchema } from '../local/src/data/source-setup';
import { startLocalStack, type LocalStack } from '../local/src/stack/stack';
import { detectTable } from '../services/change-detector/src/detect-table';
import type { DetectionPorts } from '../services/change-detector/src/ports';

/**
 * Benchmark (not a test): a full extraction of sales_order at scale 100 (~1.1M rows) by the
 * change-detector's own domain function and adapters (PostgreSQL → JSON Lines → gzip → fauxqs S3,
 * batch records in dynalite, messages on fauxqs SQS), in rows/s, beside the raw rate of
 * `COPY (SELECT * FROM sales_order) TO STDOUT` read by the same process, measured in the same run,
 * alternately. Goal: at least half the raw rate.
 *
 * The local stack (embedded PostgreSQL, fauxqs, dynalite) runs in this process, as `totes up` runs
 * it: the emulators' work (S3 writes, DynamoDB, SQS) is counted against the extraction, where in AWS
 * it would run on other machines.
 * Run alone: node -e "require('tsx/cjs'); require('./bench/extract.ts')"
 *   (TOTES_BENCH_SCALE, TOTES_BENCH_RUNS and TOTES_PAGE_SIZE override the defaults)
 */
export interface ExtractBenchmarkOptions {
  readonly scale?: number;
  readonly seed?: number;
  readonly pageSize?: number;
  /** How many times each of the two is measured (alternately); the best of each is reported. */
  readonly runs?: number;
  readonly log?: (line: string) => void;
}

export interface ExtractBenchmarkResult {
  readonly scale: number;
  readonly rows: number;
  readonly pageSize: number;
  readonly pages: number;
  /** Compressed bytes written to the raw zone by one extraction. */
  readonly rawZoneBytes: number;
  readonly extractSeconds: readonly number[];
  readonly copySeconds: readonly number[];
  readonly extractRowsPerSecond: number;
  readonly copyRowsPerSecond: number;
  /** extract rate / COPY rate */
  readonly ratio: number;
  readonly goalRatio: number;
  readonly metGoal: boolean;
}

export const EXTRACT_GOAL_RATIO = 0.5;

async function rawCopySeconds(url: string): Promise<{ seconds: number; rows: number }> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const started = process.hrtime.bigint();
    let rows = 0;
    const stream = client.query(copyTo('COPY (SELECT * FROM sales_order) TO STDOUT'));
    for await (const chunk of stream) {
      const buf = chunk as Buffer;
      for (let i = buf.indexOf(10); i !== -1; i = buf.indexOf(10, i + 1)) rows += 1;
    }
    return { seconds: Number(process.hrtime.bigint() - started) / 1e9, rows };
  } finally {
    await client.end();
  }
}

async function extractOnce(stack: LocalStack, pageSize: number): Promise<{ seconds: number; rows: number; pages: number; bytes: number }> {
  const { clients, resources } = stack;
  // Start from an empty watermark: every run is a full extraction (under a new pass id).
  await clients.dynamo.send(new DeleteCommand({ TableName: resources.stateTable, Key: { pk: watermarkPk('sales_order') } }));
  const lender = new ReusableConnectionLender({ name: 'source', source: { kind: 'url', url: stack.source.url }, ssl: 'disable', statementTimeoutMs: 120_000 });
  let bytes = 0;
  const objects = new S3ObjectStore(clients.s3);
  const ports: DetectionPorts = {
    source: new PgChangeReader(lender),
    objects: {
      putImmutable: async (bucket, key, body, options) => {
        if (key.startsWith('raw/')) bytes += body.byteLength;
        return objects.putImmutable(bucket, key, body, options);
      },
      get: (bucket, key) => objects.get(bucket, key),
      exists: (bucket, key) => objects.exists(bucket, key),
    },
    sender: new SqsMessageSender(clients.sqs, resources.queuePrefix),
    batches: new DynamoBatchStore(clients.dynamo, resources.stateTable),
    watermarks: new DynamoWatermarkStore(clients.dynamo, resources.stateTable),
    leases: new DynamoLeaseStore(clients.dynamo, resources.stateTable),
    metrics: { count: () => undefined },
    log: { info: () => undefined, warn: () => undefined, error: () => undefined },
  };
  try {
    const started = process.hrtime.bigint();
    const outcome = await detectTable(
      ports,
      { ingestionBucket: resources.ingestionBucket, pageSize, lookbackSeconds: 900, leaseSeconds: 600, owner: randomUUID() },
      'sales_order',
    );
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    if (outcome.status !== 'completed') throw new Error(`the extraction ended ${outcome.status}`);
    return { seconds, rows: outcome.rows, pages: outcome.pages, bytes };
  } finally {
    await lender.close();
  }
}

export async function runExtractBenchmark(options: ExtractBenchmarkOptions = {}): Promise<ExtractBenchmarkResult> {
  const scale = options.scale ?? 100;
  const pageSize = options.pageSize ?? 10_000;
  const runs = options.runs ?? 3;
  const log = options.log ?? ((line: string) => console.log(line));
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'totes-bench-extract-'));
  const stack = await startLocalStack({ stateDir, log: () => undefined });
  try {
    const url = stack.source.url;
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      await applySourceSchema(client);
    } finally {
      await client.end();
    }
    log(`seeding scale ${scale} …`);
    const seeded = await seedSource({ url, scale, seed: options.seed ?? 1 });
    log(`  ${seeded.rows.sales_order.toLocaleString('en-GB')} sales orders`);
    await rawCopySeconds(url); // warm the cache: both measurements then read from memory

    const copySeconds: number[] = [];
    const extractSeconds: number[] = [];
    let last: Awaited<ReturnType<typeof extractOnce>> | undefined;
    for (let run = 1; run <= runs; run++) {
      const copy = await rawCopySeconds(url);
      if (copy.rows !== seeded.rows.sales_order) throw new Error(`COPY read ${copy.rows} rows, not ${seeded.rows.sales_order}`);
      copySeconds.push(copy.seconds);
      last = await extractOnce(stack, pageSize);
      if (last.rows !== seeded.rows.sales_order) throw new Error(`the extraction read ${last.rows} rows, not ${seeded.rows.sales_order}`);
      extractSeconds.push(last.seconds);
      log(`  run ${run}: COPY ${copy.seconds.toFixed(2)} s, extraction ${last.seconds.toFixed(2)} s (${last.pages} pages)`);
    }
    const rows = seeded.rows.sales_order;
    const copyRowsPerSecond = rows / Math.min(...copySeconds);
    const extractRowsPerSecond = rows / Math.min(...extractSeconds);
    const ratio = extractRowsPerSecond / copyRowsPerSecond;
    return {
      scale,
      rows,
      pageSize,
      pages: last?.pages ?? 0,
      rawZoneBytes: last?.bytes ?? 0,
      extractSeconds,
      copySeconds,
      extractRowsPerSecond,
      copyRowsPerSecond,
      ratio,
      goalRatio: EXTRACT_GOAL_RATIO,
      metGoal: ratio >= EXTRACT_GOAL_RATIO,
    };
  } finally {
    await stack.stop();
    fs.rmSync(stateDir, { recursive: true, force: true });
  }
}

export function formatExtractBenchmark(r: ExtractBenchmarkResult): string {
  const n = (v: number) => Math.round(v).toLocaleString('en-GB');
  return [
    `extract sales_order, scale ${r.scale}: ${n(r.rows)} rows in ${r.pages} pages of ${n(r.pageSize)}, ${(r.rawZoneBytes / 1e6).toFixed(1)} MB gzipped`,
    `  extraction (best of ${r.extractSeconds.length}): ${Math.min(...r.extractSeconds).toFixed(2)} s, ${n(r.extractRowsPerSecond)} rows/s`,
    `  COPY (SELECT * FROM sales_order) TO STDOUT (best of ${r.copySeconds.length}): ${Math.min(...r.copySeconds).toFixed(2)} s, ${n(r.copyRowsPerSecond)} rows/s`,
    `  ratio ${r.ratio.toFixed(2)}; goal: at least ${r.goalRatio} of the raw rate: ${r.metGoal ? 'met' : 'NOT met'}`,
  ].join('\n');
}

// Run when this file is the program or required from `node -e` (no main module); not when a bench
// runner imports runExtractBenchmark.
if (require.main === module || require.main === undefined) {
  runExtractBenchmark({
    scale: Number(process.env.TOTES_BENCH_SCALE ?? 100),
    runs: Number(process.env.TOTES_BENCH_RUNS ?? 3),
    pageSize: Number(process.env.TOTES_PAGE_SIZE ?? 10_000),
  })
    .then((r) => console.log(formatExtractBenchmark(r)))
    .catch((err: unknown) => {
      console.error(err instanceof Error ? err.message : String(err));
      process.exitCode = 1;
    });
}
