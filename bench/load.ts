import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Worker } from 'node:worker_threads';
import pg from 'pg';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import type { LoadRequestedV1 } from '../events/src/load-requested.v1';
import { MemoryObjectStore } from '../test/helpers/memory-ports';
import { loadDatabaseConfig } from '../shared/src/config';
import { ReusableConnection } from '../shared/src/db/connect';
import { createLogger, createMetrics, setLogSink } from '../shared/src/logging';
import type { BatchStore } from '../shared/src/state/batch-store';
import { topology } from '../shared/src/topology';
import { migrateWarehouse } from '../shared/src/warehouse/migrate';
import { WAREHOUSE_TABLES, type WarehouseTableName } from '../shared/src/warehouse/tables';
import { startEmbeddedPostgres } from '../local/src/stack/postgres';
import { loadFile } from '../services/warehouse-loader/src/load-file';
import { createStagingTableSql, stagingTable } from '../services/warehouse-loader/src/merge-sql';
import { openParquet } from '../services/warehouse-loader/src/parquet-file';
import { stageFile } from '../services/warehouse-loader/src/stage-file';
import { stagingColumns } from '../services/warehouse-loader/src/staging-columns';
import { LoaderWarehouse, type ForeignKeyChecksSetting } from '../services/warehouse-loader/src/warehouse-session';
import type { FromWorker, ToWorker, WorkerData } from './load-worker';
import { writeContractParquet, writeRawContractParquet, type ContractRow } from '../test/unit/warehouse-loader/contract-parquet';

/**
 * Benchmark (not a test): load fact_sales_order at scale-100 volume (~1.1M rows) from Parquet files
 * of 10,000 rows, as the transformer writes them, through the loader's own loadFile (exact Parquet
 * read, binary COPY into staging, locked version-guarded append, dim_date extension, foreign keys),
 * and beside it, in the same run and on the same server, a raw COPY of the same rows (PostgreSQL's
 * own COPY text of them, file by file) into an empty table with no index. Goal: the loader at least
 * half the raw rate. For reference, the same rows as binary COPY (what the loader sends) are timed
 * too, into the same empty table.
 * The loader runs as the load queue's maximum concurrency of containers, each a worker thread with
 * its own connection (bench/load-worker.ts). Objects are served from memory: S3 latency is not the
 * loader's work.
 * Run alone: node -e "require('tsx/cjs'); require('./bench/load.ts')"
 *   TOTES_BENCH_ROWS (default 1,100,000), TOTES_BENCH_CONCURRENCY (default: the load queue's maximum
 *   concurrency), TOTES_BENCH_FK (auto, set-based or trigger), TOTES_BENCH_ROUNDS (default 3: each
 *   measurement is repeated, alternating, and the median reported).
 */
export interface LoadBenchmarkOptions {
  readonly rows?: number;
  readonly fileRows?: number;
  /** Loads at once, each on its own connection (a Lambda container each). */
  readonly concurrency?: number;
  readonly foreignKeyChecks?: ForeignKeyChecksSetting;
  /** Measurements of each kind, alternating, the median reported (a shared machine is noisy). */
  readonly rounds?: number;
  /** An empty database to use; by default a fresh embedded PostgreSQL is started. */
  readonly url?: string;
  readonly log?: (line: string) => void;
}

export interface Rate {
  readonly rows: number;
  /** The median over the rounds. */
  readonly seconds: number;
  readonly rowsPerSecond: number;
  /** Every round's seconds, in order. */
  readonly rounds: readonly number[];
}

export interface LoadBenchmarkResult {
  readonly files: number;
  readonly concurrency: number;
  readonly foreignKeyChecks: string;
  readonly loader: Rate;
  /** COPY of the rows' text into an empty heap without indexes: the goal's yardstick. */
  readonly rawCopy: Rate;
  /** COPY of the same rows in binary format into an empty heap without indexes (for reference). */
  readonly rawCopyBinary: Rate;
  /** COPY of the same text into an empty copy of fact_sales_order with its indexes (no foreign keys). */
  readonly rawCopyIndexed: Rate;
  /** The same in binary format (for reference: the least a load into the indexed table can cost). */
  readonly rawCopyIndexedBinary: Rate;
  /** loader / rawCopy. */
  readonly ratio: number;
  /** loader / rawCopyBinary. */
  readonly ratioBinary: number;
  /** loader / rawCopyIndexed. */
  readonly ratioIndexed: number;
  readonly metGoal: boolean;
}

const TABLE: WarehouseTableName = 'fact_sales_order';
const FIRST_DAY = Date.UTC(2022, 10, 3) / 86_400_000;
const V = '2022-11-03 14:20:49.962';

/** Deterministic scale-100-like sales facts, in the contract's raw representations. */
function salesFile(first: number, count: number, total: number): Uint8Array {
  const col = <T>(f: (i: number) => T) => Array.from({ length: count }, (_, k) => f(first + k));
  const day = (i: number) => FIRST_DAY + Math.floor((i * 730) / total);
  // Office hours, millisecond timestamps like the source.
  const time = (i: number) => (8n * 3_600_000n + BigInt((i * 7_919_993) % 39_600_000)) * 1000n;
  return writeRawContractParquet(TABLE, {
    sales_order_id: col((i) => i + 1),
    created_date: col(day),
    created_time: col(time),
    last_updated_date: col(day),
    last_updated_time: col(time),
    sales_staff_id: col((i) => 1 + (i % 20)),
    counterparty_id: col((i) => 1 + ((i * 7) % 20)),
    units_sold: col((i) => 1000 + ((i * 104_729) % 99_001)),
    unit_price: col((i) => 200n + BigInt((i * 31) % 201)),
    currency_id: col((i) => 1 + (i % 3)),
    design_id: col((i) => 1 + ((i * 13) % 470)),
    agreed_payment_date: col((i) => day(i) + 1 + (i % 7)),
    agreed_delivery_date: col((i) => day(i) + 2 + (i % 9)),
    agreed_delivery_location_id: col((i) => 1 + ((i * 11) % 30)),
    // When the detection pass observed the file's rows: one stamp per file, after its last last_updated.
    _version: col(() => BigInt(day(first + count - 1)) * 86_400_000_000n + 86_399_000_000n),
  });
}

function dimensionRows(): Array<[WarehouseTableName, ContractRow[]]> {
  const n = (count: number) => Array.from({ length: count }, (_, i) => i + 1);
  return [
    ['dim_staff', n(20).map((id) => ({ staff_id: id, first_name: `First${id}`, last_name: `Last${id}`, department_name: 'Sales', location: 'Leeds', email_address: `s${id}@terrifictotes.com`, _version: V }))],
    ['dim_location', n(30).map((id) => ({ location_id: id, address_line_1: `${id} Road`, address_line_2: null, district: null, city: 'Leeds', postal_code: 'LS1', country: 'UK', phone: '0113', _version: V }))],
    ['dim_currency', [1, 2, 3].map((id) => ({ currency_id: id, currency_code: ['GBP', 'USD', 'EUR'][id - 1]!, currency_name: ['Pound Sterling', 'US Dollar', 'Euro'][id - 1]!, _version: V }))],
    ['dim_design', n(470).map((id) => ({ design_id: id, design_name: `Design${id}`, file_location: '/usr', file_name: `d${id}.json`, _version: V }))],
    [
      'dim_counterparty',
      n(20).map((id) => ({
        counterparty_id: id,
        counterparty_legal_name: `Counterparty ${id}`,
        counterparty_legal_address_line_1: `${id} Street`,
        counterparty_legal_address_line_2: null,
        counterparty_legal_district: null,
        counterparty_legal_city: 'Leeds',
        counterparty_legal_postal_code: 'LS1',
        counterparty_legal_country: 'UK',
        counterparty_legal_phone_number: '0113',
        _version: V,
      })),
    ],
  ];
}

const noBatchStore: Pick<BatchStore, 'recordLoaded'> = { recordLoaded: async () => undefined };

function message(table: WarehouseTableName, index: number, body: Uint8Array, rows: number): LoadRequestedV1 {
  const batchId = `bench.${table}.${String(index).padStart(5, '0')}`;
  return {
    type: 'load-requested',
    version: 1,
    fileId: `${batchId}/${table}`,
    batchId,
    sourceTable: 'sales_order',
    targetTable: table,
    object: { bucket: 'bench', key: `processed/${table}/${batchId}.parquet`, format: 'parquet', bytes: body.byteLength, rows },
    filesInBatch: 1,
    createdAt: new Date().toISOString(),
  };
}

/**
 * The yardstick's input: each file's rows as PostgreSQL's own COPY text, and as its binary COPY,
 * of the table's own columns (the version stamp, which only the loader's staging has, left out):
 * each file is staged as the loader stages it, then copied out.
 */
async function rawCopyInputs(client: pg.Client, bodies: readonly Uint8Array[]): Promise<{ texts: Buffer[]; binaries: Buffer[] }> {
  const table = WAREHOUSE_TABLES[TABLE];
  const columns = table.columns.map((c) => c.name).join(', ');
  const copyOut = async (sql: string) => {
    const chunks: Buffer[] = [];
    const stream = client.query(copyTo(sql));
    for await (const chunk of stream) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  };
  await client.query(createStagingTableSql(table));
  const texts: Buffer[] = [];
  const binaries: Buffer[] = [];
  for (const body of bodies) {
    await client.query('BEGIN');
    await stageFile({ client, foreignKeyChecks: 'trigger', stagingTables: new Set() }, table, openParquet(body, stagingColumns(table), 'bench'));
    texts.push(await copyOut(`COPY (SELECT ${columns} FROM ${stagingTable(TABLE)}) TO STDOUT`));
    binaries.push(await copyOut(`COPY (SELECT ${columns} FROM ${stagingTable(TABLE)}) TO STDOUT WITH (FORMAT binary)`));
    await client.query('COMMIT');
  }
  return { texts, binaries };
}

async function timeRawCopy(client: pg.Client, table: string, inputs: readonly Buffer[], format: 'text' | 'binary' = 'text'): Promise<number> {
  const columns = WAREHOUSE_TABLES[TABLE].columns.map((c) => c.name).join(', ');
  const started = process.hrtime.bigint();
  for (const input of inputs) await pipeline(Readable.from([input]), client.query(copyFrom(`COPY ${table} (${columns}) FROM STDIN WITH (FORMAT ${format})`)));
  return Number(process.hrtime.bigint() - started) / 1e9;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

function rateOf(rows: number, rounds: readonly number[]): Rate {
  const seconds = median(rounds);
  return { rows, seconds, rowsPerSecond: rows / seconds, rounds };
}

/**
 * Load the files with `concurrency` loader containers, each a worker thread (bench/load-worker.ts)
 * with its own event loop and connection, pulling files from one queue as Lambda's event source
 * mapping hands out messages. Returns the wall-clock seconds from the first file to the last commit.
 */
async function loadInWorkers(
  url: string,
  foreignKeyChecks: ForeignKeyChecksSetting,
  concurrency: number,
  messages: readonly LoadRequestedV1[],
  objects: MemoryObjectStore,
): Promise<{ seconds: number; mode: string }> {
  const queue = [...messages];
  const workers = Array.from(
    { length: concurrency },
    () =>
      new Worker(path.join(__dirname, 'load-worker.ts'), {
        workerData: { url, foreignKeyChecks } satisfies WorkerData,
        execArgv: ['--require', require.resolve('tsx/cjs')],
      }),
  );
  let mode = 'unknown';
  try {
    await Promise.all(
      workers.map(
        (worker) =>
          new Promise<void>((resolve, reject) => {
            worker.once('message', (m: FromWorker) => {
              if (m.kind === 'ready') {
                mode = m.foreignKeyChecks;
                resolve();
              } else reject(new Error(m.kind === 'failed' ? m.reason : `unexpected ${m.kind}`));
            });
            worker.once('error', reject);
          }),
      ),
    );
    const started = process.hrtime.bigint();
    await Promise.all(
      workers.map(
        (worker) =>
          new Promise<void>((resolve, reject) => {
            const next = () => {
              const message = queue.shift();
              if (!message) return worker.postMessage({ kind: 'done' } satisfies ToWorker);
              const body = objects.objects.get(`bench/${message.object.key}`) as Uint8Array;
              worker.postMessage({ kind: 'file', message, body } satisfies ToWorker);
            };
            worker.on('message', (m: FromWorker) => {
              if (m.kind === 'next') next();
              else if (m.kind === 'finished') resolve();
              else if (m.kind === 'failed') reject(new Error(m.reason));
            });
            worker.once('error', reject);
            next();
          }),
      ),
    );
    return { seconds: Number(process.hrtime.bigint() - started) / 1e9, mode };
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}

async function benchmark(url: string, options: LoadBenchmarkOptions, log: (line: string) => void): Promise<LoadBenchmarkResult> {
  const total = options.rows ?? 1_100_000;
  const fileRows = options.fileRows ?? 10_000;
  const concurrency = options.concurrency ?? topology.queues.load?.maxConcurrency ?? 4;
  const foreignKeyChecks = options.foreignKeyChecks ?? 'auto';
  setLogSink({ write: () => undefined });

  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  try {
    await migrateWarehouse(admin);
    const objects = new MemoryObjectStore();
    const config = loadDatabaseConfig('warehouse', { TOTES_WAREHOUSE_URL: url, TOTES_WAREHOUSE_SSL: 'disable', TOTES_STATEMENT_TIMEOUT_MS: '600000' });
    const newWarehouse = () => new LoaderWarehouse(new ReusableConnection(config), { foreignKeyChecks, statementTimeoutMs: 600_000 });
    const deps = (warehouse: LoaderWarehouse) => ({
      objects,
      batches: noBatchStore,
      warehouse,
      logger: createLogger('warehouse-loader'),
      metrics: createMetrics('warehouse-loader'),
    });

    // The dimensions are loaded first, untimed: the steady state, where facts find their members.
    const dimWarehouse = newWarehouse();
    let index = 0;
    for (const [table, rows] of dimensionRows()) {
      const body = writeContractParquet(table, rows);
      const m = message(table, index++, body, rows.length);
      objects.objects.set(`bench/${m.object.key}`, body);
      await loadFile(m, deps(dimWarehouse));
    }
    await dimWarehouse.close();

    log(`writing ${total.toLocaleString('en-GB')} ${TABLE} rows as Parquet files of ${fileRows.toLocaleString('en-GB')} rows…`);
    const messages: LoadRequestedV1[] = [];
    const bodies: Uint8Array[] = [];
    for (let first = 0; first < total; first += fileRows) {
      const count = Math.min(fileRows, total - first);
      const body = salesFile(first, count, total);
      const m = message(TABLE, index++, body, count);
      objects.objects.set(`bench/${m.object.key}`, body);
      messages.push(m);
      bodies.push(body);
    }
    const { texts, binaries } = await rawCopyInputs(admin, bodies);

    const columns = WAREHOUSE_TABLES[TABLE].columns.map((c) => c.name).join(', ');
    const rounds = options.rounds ?? 3;
    const raw: number[] = [];
    const rawBinary: number[] = [];
    const rawIndexed: number[] = [];
    const rawIndexedBinary: number[] = [];
    const loaded: number[] = [];
    let mode = 'unknown';
    for (let round = 1; round <= rounds; round++) {
      // Each measurement starts from empty tables and a checkpoint, so none pays for another's writes.
      await admin.query(`CREATE TABLE bench_raw AS SELECT ${columns} FROM ${TABLE} WITH NO DATA`);
      await admin.query(`CREATE TABLE bench_raw_indexed (LIKE ${TABLE} INCLUDING ALL)`);
      await admin.query('CHECKPOINT');
      log(`round ${round}/${rounds}: raw COPY into an empty table…`);
      raw.push(await timeRawCopy(admin, 'bench_raw', texts));
      await admin.query('TRUNCATE bench_raw');
      await admin.query('CHECKPOINT');
      log(`round ${round}/${rounds}: raw binary COPY into an empty table…`);
      rawBinary.push(await timeRawCopy(admin, 'bench_raw', binaries, 'binary'));
      await admin.query('CHECKPOINT');
      log(`round ${round}/${rounds}: raw COPY into an empty copy of ${TABLE} with its indexes…`);
      rawIndexed.push(await timeRawCopy(admin, 'bench_raw_indexed', texts));
      await admin.query('TRUNCATE bench_raw_indexed');
      await admin.query('CHECKPOINT');
      log(`round ${round}/${rounds}: raw binary COPY into an empty copy of ${TABLE} with its indexes…`);
      rawIndexedBinary.push(await timeRawCopy(admin, 'bench_raw_indexed', binaries, 'binary'));
      await admin.query('DROP TABLE bench_raw, bench_raw_indexed');
      // The loader starts from an empty fact table and calendar, as on the first load of a warehouse.
      await admin.query(`TRUNCATE fact_sales_order, fact_purchase_order, fact_payment, dim_date, pipeline.fact_sales_order_current_version, pipeline.fact_purchase_order_current_version, pipeline.fact_payment_current_version, pipeline.fact_first_version_range`);
      await admin.query(`DELETE FROM pipeline.loaded_file WHERE target_table = $1`, [TABLE]);
      await admin.query('CHECKPOINT');
      log(`round ${round}/${rounds}: loader, ${concurrency} loads at once…`);
      const run = await loadInWorkers(url, foreignKeyChecks, concurrency, messages, objects);
      mode = run.mode;
      loaded.push(run.seconds);
      const { rows } = await admin.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${TABLE}`);
      if (rows[0]?.n !== total) throw new Error(`the loader left ${rows[0]?.n} rows in ${TABLE}, not ${total}`);
    }

    const loader = rateOf(total, loaded);
    const rawCopy = rateOf(total, raw);
    const rawCopyBinary = rateOf(total, rawBinary);
    const rawCopyIndexed = rateOf(total, rawIndexed);
    const rawCopyIndexedBinary = rateOf(total, rawIndexedBinary);
    const ratio = loader.rowsPerSecond / rawCopy.rowsPerSecond;
    return {
      files: messages.length,
      concurrency,
      foreignKeyChecks: mode,
      loader,
      rawCopy,
      rawCopyBinary,
      rawCopyIndexed,
      rawCopyIndexedBinary,
      ratio,
      ratioBinary: loader.rowsPerSecond / rawCopyBinary.rowsPerSecond,
      ratioIndexed: loader.rowsPerSecond / rawCopyIndexed.rowsPerSecond,
      metGoal: ratio >= 0.5,
    };
  } finally {
    await admin.end();
  }
}

export async function runLoadBenchmark(options: LoadBenchmarkOptions = {}): Promise<LoadBenchmarkResult> {
  const log = options.log ?? ((line: string) => console.log(line));
  if (options.url) return benchmark(options.url, options, log);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'totes-bench-load-'));
  const postgres = await startEmbeddedPostgres({ dir, log: () => undefined });
  try {
    await postgres.ensureDatabase('bench_load');
    return await benchmark(postgres.url('bench_load'), options, log);
  } finally {
    await postgres.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const rate = (r: Rate) =>
  `${Math.round(r.rowsPerSecond).toLocaleString('en-GB').padStart(9)} rows/s (median ${r.seconds.toFixed(1)} s; rounds ${r.rounds.map((x) => x.toFixed(1)).join(', ')} s)`;

export function formatLoadBenchmark(r: LoadBenchmarkResult): string {
  return [
    `${TABLE} ${Math.round(r.loader.rowsPerSecond).toLocaleString('en-GB')} rows/s = ${(r.ratio * 100).toFixed(0)}% of raw COPY (goal ≥ 50%) ${r.metGoal ? 'met' : 'MISSED'}; ${(r.ratioIndexed * 100).toFixed(0)}% of raw COPY into an indexed copy`,
    `  ${r.loader.rows.toLocaleString('en-GB')} rows in ${r.files} files, ${r.concurrency} loads at once (worker threads, own connections), foreign keys checked ${r.foreignKeyChecks}`,
    `  loader:                              ${rate(r.loader)}`,
    `  raw COPY, empty table:               ${rate(r.rawCopy)}`,
    `  raw binary COPY, empty table:        ${rate(r.rawCopyBinary)} (loader = ${(r.ratioBinary * 100).toFixed(0)}% of it)`,
    `  raw COPY, empty copy with indexes:   ${rate(r.rawCopyIndexed)}`,
    `  raw binary COPY, copy with indexes:  ${rate(r.rawCopyIndexedBinary)}`,
  ].join('\n');
}

// Run when this file is the program, or required from `node -e` (no main module); not when imported.
if (require.main === module || require.main === undefined) {
  const env = process.env;
  runLoadBenchmark({
    ...(env.TOTES_BENCH_ROWS ? { rows: Number(env.TOTES_BENCH_ROWS) } : {}),
    ...(env.TOTES_BENCH_CONCURRENCY ? { concurrency: Number(env.TOTES_BENCH_CONCURRENCY) } : {}),
    ...(env.TOTES_BENCH_FK ? { foreignKeyChecks: env.TOTES_BENCH_FK as ForeignKeyChecksSetting } : {}),
    ...(env.TOTES_BENCH_ROUNDS ? { rounds: Number(env.TOTES_BENCH_ROUNDS) } : {}),
  })
    .then((r) => console.log(formatLoadBenchmark(r)))
    .catch((err: unknown) => {
      console.error(err instanceof Error ? err.message : String(err));
      process.exitCode = 1;
    });
}
