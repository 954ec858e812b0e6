import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isProcessAlive } from '../../../local/src/stack/process';

const child = path.join(__dirname, '..', '..', 'helpers', 'fixtures', 'stack-child.ts');
const repoRoot = path.join(__dirname, '..', '..', '..');

function runChild(
  mode: 'write' | 'read' | 'touch',
  stateDir: string,
  env: Record<string, string> = {},
): { status: number | null; signal: NodeJS.Signals | null; json: Record<string, unknown> } {
  const result = spawnSync(process.execPath, ['-e', `require('tsx/cjs'); require(${JSON.stringify(child)})`, mode, stateDir], {
    cwd: repoRoot,
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, ...env },
  });
  const line = result.stdout.trim().split('\n').at(-1) ?? '{}';
  if (!line.startsWith('{')) throw new Error(`child printed no result; stderr: ${result.stderr}`);
  return { status: result.status, signal: result.signal, json: JSON.parse(line) as Record<string, unknown> };
}

describe('local stack state directory', () => {
  let stateDir: string;
  beforeEach(() => {
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'totes-persist-'));
  });
  afterEach(() => {
    fs.rmSync(stateDir, { recursive: true, force: true });
  });

  it('survives SIGKILL: objects, queued and in-flight messages and committed rows come back; the orphaned postgres is stopped', async () => {
    const written = runChild('write', stateDir);
    expect(written.signal).toBe('SIGKILL');
    const orphan = Number(written.json.postgresPid);
    expect(orphan).toBeGreaterThan(0);
    expect(isProcessAlive(orphan)).toBe(true);

    const read = runChild('read', stateDir);
    expect(read.status).toBe(0);
    expect(read.json.object).toBe('kept');
    // The message in flight at the kill is visible again, as SQS makes it after its visibility timeout.
    expect(read.json.visible).toBe(2);
    expect(read.json.bodies).toEqual(['in-flight', 'waiting']);
    expect(read.json.marker).toEqual(['committed']);
    expect((read.json.logs as string[]).some((l) => l.includes(`left behind by an earlier run`))).toBe(true);
    expect(isProcessAlive(orphan)).toBe(false);
  });

  it('refuses a second process on the same state directory, naming the one that holds it', async () => {
    const holder = spawn(process.execPath, ['-e', `require('tsx/cjs'); require(${JSON.stringify(child)})`, 'hold', stateDir], { cwd: repoRoot });
    try {
      const firstLine = await new Promise<string>((resolve, reject) => {
        holder.stdout.once('data', (d: Buffer) => resolve(d.toString()));
        holder.once('exit', () => reject(new Error('holder exited early')));
      });
      const holderPid = (JSON.parse(firstLine) as { pid: number }).pid;
      const second = spawnSync(process.execPath, ['-e', `require('tsx/cjs'); require(${JSON.stringify(child)})`, 'touch', stateDir], {
        cwd: repoRoot,
        encoding: 'utf8',
        timeout: 60_000,
      });
      expect(second.status).toBe(1);
      expect(second.stderr).toContain(`Another totes process (pid ${holderPid}) is using the state directory`);
    } finally {
      holder.kill('SIGTERM');
      await new Promise((resolve) => holder.once('exit', resolve));
    }
  });

  it('--fresh empties the state it made and nothing else', () => {
    runChild('touch', stateDir);
    fs.writeFileSync(path.join(stateDir, 's3', 'an-object'), 'x');
    fs.writeFileSync(path.join(stateDir, 'notes.txt'), 'mine');
    const again = runChild('touch', stateDir, { TOTES_TEST_FRESH: '1' });
    expect(again.status).toBe(0);
    expect((again.json.logs as string[]).some((l) => l.startsWith('Starting afresh'))).toBe(true);
    expect(fs.existsSync(path.join(stateDir, 's3', 'an-object'))).toBe(false);
    expect(fs.readFileSync(path.join(stateDir, 'notes.txt'), 'utf8')).toBe('mine');
  });

  it('refuses a non-empty directory that is not a state directory, deleting nothing', () => {
    fs.writeFileSync(path.join(stateDir, 'important.txt'), 'keep me');
    const result = spawnSync(process.execPath, ['-e', `require('tsx/cjs'); require(${JSON.stringify(child)})`, 'touch', stateDir], {
      cwd: repoRoot,
      encoding: 'utf8',
      timeout: 60_000,
      env: { ...process.env, TOTES_TEST_FRESH: '1' },
    });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('is not empty and is not a totes state directory');
    expect(fs.readdirSync(stateDir)).toEqual(['important.txt']);
  });
});
