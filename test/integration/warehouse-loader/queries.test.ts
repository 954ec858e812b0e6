import fs from 'node:fs';
import path from 'node:path';
import { ALL_TABLES } from './fixtures';
import { LoaderHarness, createTestDatabase, withClient, type TestDatabase } from './harness';

/** The example queries of docs/queries.md: `<!-- query: id -->` followed by a ```sql block. */
function documentedQueries(): Map<string, string> {
  const text = fs.readFileSync(path.join(__dirname, '..', '..', '..', 'docs', 'queries.md'), 'utf8');
  const queries = new Map<string, string>();
  for (const m of text.matchAll(/<!-- query: ([a-z0-9-]+) -->(?:(?!<!-- query:)[\s\S])*?```sql\n([\s\S]*?)```/g)) queries.set(m[1] as string, m[2] as string);
  return queries;
}

describe('docs/queries.md', () => {
  let db: TestDatabase;
  const queries = documentedQueries();
  const results = new Map<string, Record<string, unknown>[]>();

  beforeAll(async () => {
    const harness = await LoaderHarness.create();
    db = await createTestDatabase('loader_queries');
    const warehouse = harness.warehouse(db);
    try {
      // Facts first: their inferred members are replaced by the real rows that follow.
      for (const [table, rows] of [...ALL_TABLES].reverse()) await harness.load(await harness.file(table, rows), warehouse);
    } finally {
      await warehouse.close();
    }
    await withClient(db, async (c) => {
      for (const [id, sql] of queries) results.set(id, (await c.query(sql)).rows);
    });
  });
  afterAll(async () => {
    await db.drop();
  });

  it('documents every query with an id, and every one runs against a loaded warehouse', () => {
    const blocks = (fs.readFileSync(path.join(__dirname, '..', '..', '..', 'docs', 'queries.md'), 'utf8').match(/```sql/g) ?? []).length;
    expect(queries.size).toBe(blocks);
    expect(queries.size).toBeGreaterThanOrEqual(15);
    expect([...results.keys()].sort()).toEqual([...queries.keys()].sort());
  });

  it('gives sales by month and currency from the latest version of each order', () => {
    expect(results.get('sales-by-month')).toEqual([
      { year: 2022, month: 11, month_name: 'November', currency_code: 'USD', orders: '1', units: '43000', sales_value: '169850.00' },
      { year: 2024, month: 3, month_name: 'March', currency_code: 'EUR', orders: '1', units: '65839', sales_value: '191591.49' },
    ]);
    expect(results.get('sales-by-weekday')).toEqual([
      { day_of_week: 4, day_name: 'Thursday', orders: '1', units: '43000' },
      { day_of_week: 7, day_name: 'Sunday', orders: '1', units: '65839' },
    ]);
  });

  it('finds late and outstanding payments, and payments paid late from the history', () => {
    expect(results.get('late-payments')?.map((r) => [r.payment_id, r.payment_amount])).toEqual([
      [2, '134075.69'],
      [3, '191596.489999'],
    ]);
    expect(results.get('payments-outstanding')).toEqual([
      { counterparty_legal_name: 'Leannon, Predovic and Morar', currency_code: 'EUR', payment_type_name: 'SALES_RECEIPT', payments: '1', amount_outstanding: '191596.489999' },
      { counterparty_legal_name: 'Fahey and Sons', currency_code: 'USD', payment_type_name: 'PURCHASE_PAYMENT', payments: '1', amount_outstanding: '134075.69' },
    ]);
    expect(results.get('paid-late')).toEqual([{ payment_id: 1, payment_date: expect.any(Date), paid_on: expect.any(Date), days_late: 2 }]);
  });

  it('gives purchase spend by supplier, order history and amended orders', () => {
    expect(results.get('purchase-spend-by-supplier')).toEqual([
      { counterparty_legal_name: 'Fahey and Sons', currency_code: 'USD', purchase_orders: '1', spend: '134075.69' },
    ]);
    expect(results.get('order-history')?.map((r) => r.units_sold)).toEqual([42972, 43000]);
    expect(results.get('amended-orders')?.map((r) => [r.sales_order_id, r.versions])).toEqual([[1, '2']]);
    expect(results.get('inferred-members')).toEqual([]);
  });
});
