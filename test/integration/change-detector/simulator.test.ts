import { ChangeMaker, seedSource } from '../../../local/src/data';
import { SOURCE_TABLE_NAMES, SOURCE_TABLES } from '@totes/shared/source/tables';
import { DetectorHarness } from './harness';

/**
 * On generated totesys data and the change simulator's edits: the first passes extract every table
 * as it is, later passes exactly the changes, so replaying all batches rebuilds each table.
 */
let h: DetectorHarness;

beforeAll(async () => {
  h = await DetectorHarness.create('cd_simulated');
  await seedSource({ url: h.db.url, scale: 0.02, seed: 11 });
});

afterAll(async () => {
  await h?.close();
});

async function detectAll(): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  for (const table of SOURCE_TABLE_NAMES) {
    const outcome = await h.detect(table, {}, { pageSize: 500 });
    expect(['completed', 'idle']).toContain(outcome.status);
    out.set(table, await h.rowsOf(await h.drainMessages(table)));
  }
  return out;
}

describe('change-detector: generated data and simulated changes', () => {
  it('extracts every table whole, then exactly the changed rows; all batches replayed rebuild each table', async () => {
    const first = await detectAll();
    for (const table of SOURCE_TABLE_NAMES) expect(first.get(table)).toEqual(await h.sourceJson(table));

    const maker = new ChangeMaker(h.source, 5);
    const changed = new Map<string, Set<number>>();
    for (let i = 0; i < 40; i++) {
      const change = await maker.next();
      for (const row of change.rows) changed.set(row.table, (changed.get(row.table) ?? new Set()).add(row.id));
    }
    const second = await detectAll();

    for (const table of SOURCE_TABLE_NAMES) {
      const pk = SOURCE_TABLES[table].primaryKey;
      const idOf = (line: string) => (JSON.parse(line) as Record<string, number>)[pk] as number;
      // The second pass holds exactly the rows the simulator wrote, in their current version.
      const ids = [...(changed.get(table) ?? [])];
      expect((second.get(table) ?? []).map(idOf).sort((a, b) => a - b)).toEqual(ids.sort((a, b) => a - b));
      // Replaying both passes, newest version per key, gives the table as it is now.
      const latest = new Map<number, string>();
      for (const line of [...(first.get(table) ?? []), ...(second.get(table) ?? [])]) latest.set(idOf(line), line);
      expect([...latest.values()].sort()).toEqual((await h.sourceJson(table)).sort());
    }
  });
});
