import { spawnSync } from 'node:child_process';
import path from 'node:path';

/** Runs the real `totes` command (bin/totes.cjs) and the stack-tool fixture as child processes. */
export const REPO_ROOT = path.join(__dirname, '..', '..');

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export function totes(args: readonly string[], timeoutMs = 180_000): CliResult {
  const result = spawnSync(process.execPath, [path.join(REPO_ROOT, 'bin', 'totes.cjs'), ...args], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
    timeout: timeoutMs,
    env: { ...process.env, TOTES_SOURCE_URL: '', TOTES_WAREHOUSE_URL: '' },
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

function tool(args: readonly string[]): unknown {
  const fixture = path.join(REPO_ROOT, 'test', 'helpers', 'fixtures', 'stack-tool.ts');
  const result = spawnSync(process.execPath, ['-e', `require('tsx/cjs'); require(${JSON.stringify(fixture)})`, ...args], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
    timeout: 60_000,
  });
  if (result.status !== 0) throw new Error(`stack-tool ${args[0]} failed: ${result.stderr}`);
  return JSON.parse(result.stdout.trim().split('\n').at(-1) ?? '[]');
}

export function sql<T = Record<string, unknown>>(stateDir: string, database: 'source' | 'warehouse', statement: string): T[] {
  return tool(['sql', stateDir, database, statement]) as T[];
}

export function sendMessage(stateDir: string, logicalQueue: string, body: string): void {
  tool(['send', stateDir, logicalQueue, body]);
}

/** The rows-now / rows-added table `totes run --once` prints, as numbers. */
export function summaryCounts(stdout: string): Map<string, { now: number; added: number }> {
  const counts = new Map<string, { now: number; added: number }>();
  for (const line of stdout.split('\n')) {
    const m = /^(dim_\w+|fact_\w+)\s+([\d,]+)\s+(-?[\d,]+)$/.exec(line.trim());
    if (m) counts.set(m[1]!, { now: Number(m[2]!.replaceAll(',', '')), added: Number(m[3]!.replaceAll(',', '')) });
  }
  return counts;
}
