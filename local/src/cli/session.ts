import fs from 'node:fs';
import path from 'node:path';
import { connect } from '@totes/shared/db/connect';
import { setLogSink } from '@totes/shared/logging';
import { migrateWarehouse, type MigrationResult } from '@totes/shared/warehouse/migrate';
import { startLocalStack, type LocalStack } from '../stack/stack';
import { releaseOrphanedLeases } from '../runtime/recovery';
import type { Output } from './output';

/**
 * A CLI session on the local stack: starts it, points the handlers' configuration at it (the
 * handlers read TOTES_* variables, exactly as in Lambda), sends their JSON logs to
 * <state-dir>/logs/pipeline.jsonl and stops everything on Ctrl-C or SIGTERM.
 */
export interface StackOptions {
  readonly stateDir: string;
  readonly fresh?: boolean;
  readonly sourceUrl?: string;
  readonly warehouseUrl?: string;
}

export interface Session {
  readonly stack: LocalStack;
  readonly logFile: string;
  migrate(): Promise<MigrationResult>;
  close(): Promise<void>;
}

const MAX_LOG_BYTES = 50 * 1024 * 1024;

function openLogSink(stateDir: string): { file: string; close(): Promise<void> } {
  const dir = path.join(stateDir, 'logs');
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'pipeline.jsonl');
  // One generation of history is kept; the live file never grows past 50 MB between runs.
  if (fs.existsSync(file) && fs.statSync(file).size > MAX_LOG_BYTES) fs.renameSync(file, `${file}.1`);
  const stream = fs.createWriteStream(file, { flags: 'a' });
  setLogSink({ write: (line) => stream.write(`${line}\n`) });
  return {
    file,
    close: () =>
      new Promise<void>((resolve) => {
        setLogSink(undefined);
        stream.end(resolve);
      }),
  };
}

export async function openSession(options: StackOptions, out: Output): Promise<Session> {
  const stack = await startLocalStack({
    stateDir: options.stateDir,
    ...(options.fresh ? { fresh: true } : {}),
    ...(options.sourceUrl ? { sourceUrl: options.sourceUrl } : {}),
    ...(options.warehouseUrl ? { warehouseUrl: options.warehouseUrl } : {}),
    log: (line) => out.detail(line),
  });
  // The handlers run in this process and read their configuration from the environment, as in Lambda.
  Object.assign(process.env, stack.env);
  const sink = openLogSink(stack.stateDir);
  const released = await releaseOrphanedLeases(stack.clients.dynamo, stack.resources.stateTable);
  if (released.length > 0) out.info(`Released the leases of a run that was killed: ${released.join(', ')}.`);
  return {
    stack,
    logFile: sink.file,
    async migrate() {
      const client = await connect(stack.warehouse.config);
      try {
        return await migrateWarehouse(client);
      } finally {
        await client.end();
      }
    },
    async close() {
      await stack.stop();
      await sink.close();
    },
  };
}

/**
 * Resolves when the user asks to stop (Ctrl-C or SIGTERM). A second Ctrl-C exits at once:
 * everything acknowledged is already on disk, so a forced exit loses nothing.
 */
export function stopRequested(out: Output): { promise: Promise<string>; dispose(): void } {
  let resolveStop: (signal: string) => void = () => undefined;
  const promise = new Promise<string>((resolve) => {
    resolveStop = resolve;
  });
  let asked = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (asked) {
      out.error('Stopping at once.');
      process.exit(130);
    }
    asked = true;
    out.info(`\n${signal === 'SIGINT' ? 'Ctrl-C' : signal}: stopping cleanly (press Ctrl-C again to force)…`);
    resolveStop(signal);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    promise,
    dispose() {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}
