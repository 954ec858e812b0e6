/**
 * `npm run bench`: every benchmark, one after the other, each on its own fresh embedded
 * PostgreSQL, printing figures (never asserting). Options:
 *   --only seed,extract,transform,load   run a subset
 *   --scale N                            source scale for seed/extract/transform (default 100)
 * Run as a main module (node -r tsx/cjs bench/run.ts): the benchmark files run themselves only
 * when they are the entry point.
 */
import '../local/src/node-warnings';
import { formatExtractBenchmark, runExtractBenchmark } from './extract';
import { formatLoadBenchmark, runLoadBenchmark } from './load';
import { formatSeedBenchmark, runSeedBenchmark } from './seed';
import { formatTransformBenchmark, runTransformBenchmark } from './transform';

const BENCHMARKS = ['seed', 'extract', 'transform', 'load'] as const;
type Benchmark = (typeof BENCHMARKS)[number];

function argument(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

async function main(): Promise<number> {
  const only = argument('only')?.split(',').map((s) => s.trim());
  const unknown = only?.filter((b) => !(BENCHMARKS as readonly string[]).includes(b)) ?? [];
  if (unknown.length > 0) {
    console.error(`Unknown benchmark(s): ${unknown.join(', ')}; choose from ${BENCHMARKS.join(', ')}.`);
    return 1;
  }
  const scale = Number(argument('scale') ?? 100);
  if (!Number.isFinite(scale) || scale <= 0) {
    console.error(`--scale must be a positive number, not "${argument('scale')}".`);
    return 1;
  }
  const selected = BENCHMARKS.filter((b) => !only || only.includes(b));
  const log = (line: string) => console.log(`  ${line}`);
  const summary: string[] = [];
  const run: Record<Benchmark, () => Promise<string>> = {
    seed: async () => {
      const r = await runSeedBenchmark({ scale, log });
      summary.push(`seed       scale ${scale}: ${r.seconds.toFixed(1)} s (goal < ${r.goalSeconds} s) ${r.metGoal ? 'met' : 'MISSED'}`);
      return formatSeedBenchmark(r);
    },
    extract: async () => {
      const r = await runExtractBenchmark({ scale, log });
      summary.push(
        `extract    ${Math.round(r.extractRowsPerSecond).toLocaleString('en-GB')} rows/s = ${(r.ratio * 100).toFixed(1)}% of raw COPY (goal ≥ ${r.goalRatio * 100}%) ${r.metGoal ? 'met' : 'MISSED'}`,
      );
      return formatExtractBenchmark(r);
    },
    transform: async () => {
      const r = await runTransformBenchmark({ scale, log });
      summary.push(`transform  ${formatTransformBenchmark(r).split('\n')[0]}`);
      return formatTransformBenchmark(r);
    },
    load: async () => {
      const r = await runLoadBenchmark({ rows: Math.round(11_000 * scale), log });
      summary.push(`load       ${formatLoadBenchmark(r).split('\n')[0]}`);
      return formatLoadBenchmark(r);
    },
  };
  for (const name of selected) {
    console.log(`\n== ${name} ==`);
    const started = Date.now();
    console.log(await run[name]());
    console.log(`  (${((Date.now() - started) / 1000).toFixed(1)} s including set-up)`);
  }
  console.log('\n== summary ==');
  for (const line of summary) console.log(line);
  return 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    console.error(`A benchmark failed: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  },
);
