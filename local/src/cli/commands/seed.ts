import type { Output } from '../output';
import { openSession, type StackOptions } from '../session';
import { importSourceCsv, refuseExternalSource, seed, type SeedOptions } from '../source';
import { applySourceSchema } from '../../data';
import pg from 'pg';

/** `totes seed`: fill the embedded source with generated data, or with a folder of CSV files. */
export async function seedCommand(options: StackOptions & SeedOptions & { fromCsv?: string }, out: Output): Promise<number> {
  if (options.sourceUrl) throw refuseExternalSource(options.fromCsv ? 'import CSV files into the source' : 'seed the source');
  const session = await openSession(options, out);
  try {
    if (options.fromCsv) {
      await importSourceCsv(session, options.fromCsv, out);
    } else {
      const client = new pg.Client({ connectionString: session.stack.source.url });
      await client.connect();
      try {
        if (session.stack.source.embedded) await applySourceSchema(client);
      } finally {
        await client.end();
      }
      await seed(session, options, out);
    }
    return 0;
  } finally {
    await session.close();
  }
}
