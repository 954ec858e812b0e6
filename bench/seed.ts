import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { seedSource } from '../local/src/data/generator';
import { applySourceSchemaAt } from '../local/src/data/source-setup';
import { startEmbeddedPostgres } from '../local/src/stack/postgres';

/**
 * Benchmark (not a test): seed scale 100 (~1.1M sales orders, ~4.7M rows) into a fresh database
 * of a fresh embedded PostgreSQL and report rows, seconds and rows/s against the 60 s goal.
 * Run alone: node -e "require('tsx/cjs'); require('./bench/seed.ts')"   (TOTES_BENCH_SCALE overrides the scale)
 */
export interface SeedBenchmarkOptions {
  readonly scale?: number;
  readonly seed?: number;
  /** A database URL to seed into (it must be empty); by default a fresh embedded PostgreSQL is started. */
  readonly url?: string;
  readonly log?: (line: string) => void;
}

export interface SeedBenchmarkResult {
  readonly scale: number;
  readonly rows: number;
  readonly salesOrders: number;
  readonly seconds: number;
  readonly rowsPerSecond: number;
  readonly goalSeconds: number;
  readonly metGoal: boolean;
}

export const SEED_GOAL_SECONDS = 60;

async function seedAndTime(url: string, scale: number, seed: number, log: (line: string) => void): Promise<SeedBenchmarkResult> {
  await applySourceSchemaAt(url);
  const started = process.hrtime.bigint();
  const elapsed = () => (Number(process.hrtime.bigint() - started) / 1e9).toFixed(1).padStart(6);
  let lastPhase = '';
  const loaded = new Set<string>();
  const result = await seedSource({
    url,
    scale,
    seed,
    onProgress: (p) => {
      if (p.phase === 'load' && p.table && p.rows === p.totalRows && p.totalRows > 1000 && !loaded.has(p.table)) {
        loaded.add(p.table);
        log(`  ${elapsed()} s  ${p.table} loaded (${p.rows.toLocaleString('en-GB')} rows)`);
      }
      if (p.phase !== 'load' && p.phase !== lastPhase) log(`  ${elapsed()} s  ${p.phase === 'constraints' ? 'validating foreign keys' : 'swapping into place'}`);
      lastPhase = p.phase;
    },
  });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return {
    scale,
    rows: result.totalRows,
    salesOrders: result.rows.sales_order,
    seconds,
    rowsPerSecond: result.totalRows / seconds,
    goalSeconds: SEED_GOAL_SECONDS,
    metGoal: seconds < SEED_GOAL_SECONDS,
  };
}

export async function runSeedBenchmark(options: SeedBenchmarkOptions = {}): Promise<SeedBenchmarkResult> {
  const scale = options.scale ?? 100;
  const seed = options.seed ?? 1;
  const log = options.log ?? ((line: string) => console.log(line));
  if (options.url) return seedAndTime(options.url, scale, seed, log);

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'totes-bench-seed-'));
  const postgres = await startEmbeddedPostgres({ dir, log: () => undefined });
  try {
    await postgres.ensureDatabase('bench_seed');
    return await seedAndTime(postgres.url('bench_seed'), scale, seed, log);
  } finally {
    await postgres.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export function formatSeedBenchmark(r: SeedBenchmarkResult): string {
  return [
    `seed scale ${r.scale}: ${r.rows.toLocaleString('en-GB')} rows (${r.salesOrders.toLocaleString('en-GB')} sales orders)`,
    `  ${r.seconds.toFixed(1)} s, ${Math.round(r.rowsPerSecond).toLocaleString('en-GB')} rows/s`,
    `  goal: under ${r.goalSeconds} s: ${r.metGoal ? 'met' : 'NOT met'}`,
  ].join('\n');
}

// Run when this file is the program (`node bench/seed.ts` through tsx) or required from `node -e`,
// where there is no main module; not when the lead's bench runner imports runSeedBenchmark.
if (require.main === module || require.main === undefined) {
  const scale = Number(process.env.TOTES_BENCH_SCALE ?? 100);
  runSeedBenchmark({ scale })
    .then((r) => console.log(formatSeedBenchmark(r)))
    .catch((err: unknown) => {
      console.error(err instanceof Error ? err.message : String(err));
      process.exitCode = 1;
    });
}
