import { connect } from '@totes/shared/db/connect';
import { databaseEndpoint } from '../../stack/stack';
import { migrateWarehouse } from '@totes/shared/warehouse/migrate';
import type { Output } from '../output';
import { openSession, type StackOptions } from '../session';

/** `totes migrate`: bring a warehouse (the embedded one, or --warehouse-url) to the latest schema. */
export async function migrateCommand(options: StackOptions, out: Output): Promise<number> {
  if (options.warehouseUrl) {
    const client = await connect(databaseEndpoint('warehouse', options.warehouseUrl, false).config);
    try {
      report(await migrateWarehouse(client), out);
    } finally {
      await client.end();
    }
    return 0;
  }
  const session = await openSession(options, out);
  try {
    report(await session.migrate(), out);
    return 0;
  } finally {
    await session.close();
  }
}

function report(result: { applied: readonly string[]; current: number }, out: Output): void {
  if (result.applied.length === 0) out.info(`The warehouse schema is up to date (migration ${result.current}).`);
  else out.info(`Applied ${result.applied.length} migration(s): ${result.applied.join(', ')}.`);
}
