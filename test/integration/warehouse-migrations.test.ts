import pg from 'pg';
import { migrateWarehouse } from '../../shared/src/warehouse/migrate';
import { MIGRATIONS } from '../../shared/src/warehouse/migrations';
import { WAREHOUSE_TABLES } from '../../shared/src/warehouse/tables';
import { createTestDatabase, type TestDatabase } from '../helpers/stack';

describe('warehouse migrations', () => {
  let db: TestDatabase;
  let client: pg.Client;
  beforeAll(async () => {
    db = await createTestDatabase('migrations');
    client = new pg.Client({ connectionString: db.url });
    await client.connect();
  });
  afterAll(async () => {
    await client.end();
    await db.drop();
  });

  it('creates all 11 warehouse tables with the columns the catalogue names', async () => {
    const result = await migrateWarehouse(client);
    expect(result.applied).toHaveLength(MIGRATIONS.length);
    for (const table of Object.values(WAREHOUSE_TABLES)) {
      const { rows } = await client.query<{ column_name: string }>(
        `SELECT column_name FROM information_schema.columns WHERE table_schema = 'public' AND table_name = $1 ORDER BY ordinal_position`,
        [table.name],
      );
      const expected = table.kind === 'fact' ? [table.recordId, ...table.columns.map((c) => c.name)] : table.columns.map((c) => c.name);
      expect(rows.map((r) => r.column_name)).toEqual(expected);
    }
  });

  it('is a no-op when run again, including from two connections at once', async () => {
    const other = new pg.Client({ connectionString: db.url });
    await other.connect();
    try {
      const [a, b] = await Promise.all([migrateWarehouse(client), migrateWarehouse(other)]);
      expect(a.applied).toEqual([]);
      expect(b.applied).toEqual([]);
    } finally {
      await other.end();
    }
  });

  it('refuses to run when an applied migration was edited, naming it', async () => {
    const edited = MIGRATIONS.map((m) => (m.id === 2 ? { ...m, sql: `${m.sql}\n-- edited` } : m));
    await expect(migrateWarehouse(client, edited)).rejects.toThrow('0002-fact-version-uniqueness was changed after it was applied');
  });
});
