import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { applySourceSchemaAt, seedSource } from '../../local/src/data';
import { createTestDatabase, type TestDatabase } from './stack';

/**
 * A source and a warehouse the CLI did not create (`--source-url`, `--warehouse-url`): two private
 * databases on the test cluster, the source with the totesys schema and seeded, and a state
 * directory. `dispose` removes all three.
 */
export interface ExternalDatabases {
  readonly source: TestDatabase;
  readonly warehouse: TestDatabase;
  readonly stateDir: string;
  /** `totes` options pointing at them (the test cluster has no certificate: sslmode=disable). */
  readonly options: readonly string[];
  dispose(): Promise<void>;
}

export async function createExternalDatabases(name: string, seed: { scale: number; seed: number }): Promise<ExternalDatabases> {
  const source = await createTestDatabase(`${name}_source`);
  const warehouse = await createTestDatabase(`${name}_warehouse`);
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), `totes-${name}-`));
  await applySourceSchemaAt(source.url);
  await seedSource({ url: source.url, ...seed });
  return {
    source,
    warehouse,
    stateDir,
    options: ['--state-dir', stateDir, '--source-url', `${source.url}?sslmode=disable`, '--warehouse-url', `${warehouse.url}?sslmode=disable`],
    async dispose() {
      fs.rmSync(stateDir, { recursive: true, force: true });
      await source.drop();
      await warehouse.drop();
    },
  };
}
