import type { Output } from '../output';
import { openSession, type StackOptions } from '../session';
import { ensureSourceSchema, importSourceCsv, refuseExternalSource, seed, type SeedOptions } from '../source';

/** `totes seed`: fill the embedded source with generated data, or with a folder of CSV files. */
export async function seedCommand(options: StackOptions & SeedOptions & { fromCsv?: string }, out: Output): Promise<number> {
  if (options.sourceUrl) throw refuseExternalSource(options.fromCsv ? 'import CSV files into the source' : 'seed the source');
  const session = await openSession(options, out);
  try {
    if (options.fromCsv) {
      await importSourceCsv(session, options.fromCsv, out);
    } else {
      await ensureSourceSchema(session);
      await seed(session, options, out);
    }
    return 0;
  } finally {
    await session.close();
  }
}
