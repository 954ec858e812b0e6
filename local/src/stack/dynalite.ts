import type { AddressInfo } from 'node:net';
import dynalite from 'dynalite';

/**
 * DynamoDB from dynalite, in this process, stored in LevelDB under the state directory.
 * dynalite has no TransactWriteItems, PartiQL or TTL: the pipeline uses single-item conditional
 * writes and checks expiry in code, which behaves the same in AWS.
 */
export interface RunningDynalite {
  readonly endpoint: string;
  stop(): Promise<void>;
}

export async function startDynalite(options: { dir: string }): Promise<RunningDynalite> {
  const server = dynalite({ path: options.dir, createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}
