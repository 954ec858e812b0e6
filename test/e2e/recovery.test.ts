import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REPO_ROOT, sql, summaryCounts, totes } from '../helpers/cli';

/**
 * What a demanding operator does to the pipeline: kill it mid-pass, break the source's schema.
 * Each time the next `totes run --once` either finishes the work (nothing lost, nothing doubled)
 * or says what is wrong and exits 1.
 */
describe('totes run --once after trouble', () => {
  let stateDir: string;
  beforeEach(() => {
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'totes-recovery-'));
  });
  afterEach(() => {
    fs.rmSync(stateDir, { recursive: true, force: true });
  });

  const count = (database: 'source' | 'warehouse', statement: string) => Number(sql<{ n: string }>(stateDir, database, statement)[0]?.n);

  it('finishes, exactly, the pass of a run killed with SIGKILL while it was detecting', async () => {
    const logFile = path.join(stateDir, 'logs', 'pipeline.jsonl');
    const first = spawn(process.execPath, [path.join(REPO_ROOT, 'bin', 'totes.cjs'), 'run', '--once', '--state-dir', stateDir, '--scale', '1'], {
      cwd: REPO_ROOT,
      stdio: 'ignore',
    });
    const exited = new Promise<NodeJS.Signals | null>((resolve) => first.once('exit', (_code, signal) => resolve(signal)));
    // Kill as soon as a detection has written its first batch: the pass is half done, leases held.
    const deadline = Date.now() + 90_000;
    while (!(fs.existsSync(logFile) && fs.readFileSync(logFile, 'utf8').includes('"batch extracted"'))) {
      if (Date.now() > deadline) throw new Error('the first run never extracted a batch');
      await new Promise((r) => setTimeout(r, 20));
    }
    first.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');

    const second = totes(['run', '--once', '--state-dir', stateDir]);
    expect(second.stderr).toBe('');
    expect(second.code).toBe(0);
    for (const [table, sourceTable] of [
      ['fact_sales_order', 'sales_order'],
      ['fact_purchase_order', 'purchase_order'],
      ['fact_payment', 'payment'],
      ['dim_transaction', '"transaction"'],
      ['dim_design', 'design'],
    ] as const) {
      expect({ table, rows: count('warehouse', `SELECT count(*) AS n FROM ${table}`) }).toEqual({
        table,
        rows: count('source', `SELECT count(*) AS n FROM ${sourceTable}`),
      });
    }
  });

  it('exits 1 naming the table and column when the source schema breaks, and resumes once it is fixed', () => {
    expect(totes(['run', '--once', '--state-dir', stateDir, '--scale', '0.02']).code).toBe(0);
    sql(stateDir, 'source', 'ALTER TABLE design RENAME COLUMN file_name TO file_name_v2');
    sql(stateDir, 'source', `UPDATE design SET design_name = 'Renamed', last_updated = now() WHERE design_id = (SELECT min(design_id) FROM design)`);
    const broken = totes(['run', '--once', '--state-dir', stateDir]);
    expect(broken.code).toBe(1);
    expect(broken.stderr).toMatch(/the detection of design is stopped: .*file_name/);

    sql(stateDir, 'source', 'ALTER TABLE design RENAME COLUMN file_name_v2 TO file_name');
    const fixed = totes(['run', '--once', '--state-dir', stateDir]);
    expect(fixed.stderr).toBe('');
    expect(fixed.code).toBe(0);
    expect(summaryCounts(fixed.stdout).get('dim_design')?.added).toBe(0);
    expect(count('warehouse', `SELECT count(*) AS n FROM dim_design WHERE design_name = 'Renamed'`)).toBe(1);
  });
});
