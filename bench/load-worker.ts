import { parentPort, workerData } from 'node:worker_threads';
import type { LoadRequestedV1 } from '../events/src/load-requested.v1';
import { loadDatabaseConfig } from '../shared/src/config';
import { ReusableConnection } from '../shared/src/db/connect';
import { createLogger, createMetrics, setLogSink } from '../shared/src/logging';
import { loadFile } from '../services/warehouse-loader/src/load-file';
import { LoaderWarehouse, type ForeignKeyChecksSetting } from '../services/warehouse-loader/src/warehouse-session';

/**
 * One loader "container" of the load benchmark (bench/load.ts), in a worker thread of its own as a
 * Lambda container is a process of its own: its own event loop and its own connection. It asks the
 * benchmark for a file, loads it with loadFile, and asks again until there is none left.
 */
export interface WorkerData {
  readonly url: string;
  readonly foreignKeyChecks: ForeignKeyChecksSetting;
}

export type ToWorker = { readonly kind: 'file'; readonly message: LoadRequestedV1; readonly body: Uint8Array } | { readonly kind: 'done' };
export type FromWorker = { readonly kind: 'ready'; readonly foreignKeyChecks: string } | { readonly kind: 'next' } | { readonly kind: 'finished' } | { readonly kind: 'failed'; readonly reason: string };

async function run(port: NonNullable<typeof parentPort>, data: WorkerData): Promise<void> {
  setLogSink({ write: () => undefined });
  const config = loadDatabaseConfig('warehouse', { TOTES_WAREHOUSE_URL: data.url, TOTES_WAREHOUSE_SSL: 'disable', TOTES_STATEMENT_TIMEOUT_MS: '600000' });
  const warehouse = new LoaderWarehouse(new ReusableConnection(config), { foreignKeyChecks: data.foreignKeyChecks, statementTimeoutMs: 600_000 });
  let body: Uint8Array | undefined;
  const objects = { get: async () => body ?? new Uint8Array() };
  const logger = createLogger('warehouse-loader');
  // Metrics per load, as the handler's flush clears them per record.
  const deps = () => ({ objects, batches: { recordLoaded: async () => undefined }, warehouse, logger, metrics: createMetrics('warehouse-loader') });
  const send = (m: FromWorker) => port.postMessage(m);
  send({ kind: 'ready', foreignKeyChecks: (await warehouse.session()).foreignKeyChecks });
  port.on('message', (m: ToWorker) => {
    if (m.kind === 'done') {
      void warehouse.close().then(() => send({ kind: 'finished' }));
      return;
    }
    body = m.body;
    loadFile(m.message, deps()).then(
      () => send({ kind: 'next' }),
      (err: unknown) => send({ kind: 'failed', reason: err instanceof Error ? err.message : String(err) }),
    );
  });
}

if (parentPort) {
  const port = parentPort;
  run(port, workerData as WorkerData).catch((err: unknown) => port.postMessage({ kind: 'failed', reason: err instanceof Error ? err.message : String(err) } satisfies FromWorker));
}
