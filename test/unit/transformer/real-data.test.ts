import { SOURCE_TABLE_NAMES, type SourceTableName } from '@totes/shared/source/tables';
import { deriveBatch, type DerivedBatch } from '../../../services/transformer/src/derive-batch';
import { encodeParquet } from '../../../services/transformer/src/parquet-file';
import { readWithDuckDB } from './duckdb-reader';
import { HAS_REAL_DATA, MemorySourceImages, REAL_DATA_DIR, gzipJsonLines, inExtractOrder, realRows, type Row, DERIVE } from './fixtures';

/**
 * SPEC §3 on real totesys rows (the 2024-11-15 snapshot), when ../shared/data holds it. The
 * project does not depend on the folder: without it this block is skipped, and says why.
 */
const describeReal = HAS_REAL_DATA ? describe : describe.skip;
const title = HAS_REAL_DATA
  ? `derivation rules on real totesys rows (${REAL_DATA_DIR})`
  : 'derivation rules on real totesys rows: SKIPPED because ../shared/data/totesys-2024-11-15 is absent';

describeReal(title, () => {
  const tables = {} as Record<SourceTableName, Row[]>;
  const derived = {} as Record<SourceTableName, DerivedBatch>;
  const read = async (table: SourceTableName, target: string) => {
    const t = derived[table].targets.find((x) => x.target === target)!;
    return (await readWithDuckDB(encodeParquet(t.target, t.rows))).rows;
  };

  beforeAll(async () => {
    for (const table of SOURCE_TABLE_NAMES) tables[table] = inExtractOrder(table, realRows(table));
    const images = new MemorySourceImages(tables);
    for (const table of SOURCE_TABLE_NAMES) derived[table] = await deriveBatch(table, gzipJsonLines(tables[table]), images, DERIVE);
  });

  it('transforms every real row of every table, quarantining none', () => {
    for (const table of SOURCE_TABLE_NAMES) {
      expect({ table, rows: derived[table].rows, quarantined: derived[table].quarantined.length }).toEqual({ table, rows: tables[table].length, quarantined: 0 });
    }
    expect(derived.sales_order.targets.find((t) => t.target === 'fact_sales_order')?.rows).toHaveLength(tables.sales_order.length);
  });

  it('a counterparty takes its legal address and phone', async () => {
    const addresses = new Map(tables.address.map((a) => [a.address_id, a]));
    const rows = await read('counterparty', 'dim_counterparty');
    expect(rows).toHaveLength(tables.counterparty.length);
    for (const c of tables.counterparty) {
      const a = addresses.get(c.legal_address_id)!;
      expect(rows.find((r) => r.counterparty_id === String(c.counterparty_id))).toEqual(
        expect.objectContaining({
          counterparty_legal_name: c.counterparty_legal_name,
          counterparty_legal_address_line_1: a.address_line_1,
          counterparty_legal_address_line_2: a.address_line_2,
          counterparty_legal_district: a.district,
          counterparty_legal_city: a.city,
          counterparty_legal_postal_code: a.postal_code,
          counterparty_legal_country: a.country,
          counterparty_legal_phone_number: a.phone,
        }),
      );
    }
  });

  it("staff of the department located 'Leds' keep 'Leds'", async () => {
    const leds = tables.department.filter((d) => d.location === 'Leds').map((d) => d.department_id);
    expect(leds.length).toBeGreaterThan(0);
    const members = tables.staff.filter((s) => leds.includes(s.department_id)).map((s) => String(s.staff_id));
    expect(members.length).toBeGreaterThan(0);
    const rows = await read('staff', 'dim_staff');
    expect(rows.filter((r) => r.location === 'Leds').map((r) => r.staff_id).sort()).toEqual(members.sort());
  });

  it('a department edit re-derives each of its staff; an address edit every counterparty on it', () => {
    const staffRows = derived.department.targets[0]!.rows;
    expect(staffRows.map((r) => r.staff_id).sort()).toEqual(tables.staff.map((s) => s.staff_id).sort());
    const counterpartyRows = derived.address.targets.find((t) => t.target === 'dim_counterparty')!.rows;
    expect(counterpartyRows.map((r) => r.counterparty_id).sort()).toEqual(tables.counterparty.map((c) => c.counterparty_id).sort());
  });

  it('dim_currency names GBP, USD and EUR in ISO 4217 words', async () => {
    expect((await read('currency', 'dim_currency')).map((r) => r.currency_name)).toEqual(['Pound Sterling', 'US Dollar', 'Euro']);
  });

  it('facts keep every amount exactly, split timestamps and cast text dates', async () => {
    // The source text with its fraction padded to the DECIMAL's scale is what DuckDB must print.
    const atScale = (text: string, scale: number) => {
      const [integer, fraction = ''] = text.split('.');
      return `${integer}.${fraction.padEnd(scale, '0')}`;
    };
    const time = (ts: unknown) => String(ts).slice(11).replace(/\.?0+$/, '');
    const sales = await read('sales_order', 'fact_sales_order');
    const expectedSales = [...tables.sales_order]
      .sort((a, b) => (a.sales_order_id as number) - (b.sales_order_id as number))
      .map((s) => [String(s.sales_order_id), atScale(s.unit_price as string, 2), String(s.created_at).slice(0, 10), time(s.created_at), s.agreed_delivery_date, s.agreed_payment_date, String(s.staff_id)]);
    expect(sales.map((r) => [r.sales_order_id, r.unit_price, r.created_date, r.created_time, r.agreed_delivery_date, r.agreed_payment_date, r.sales_staff_id])).toEqual(expectedSales);

    const payments = await read('payment', 'fact_payment');
    const expectedPayments = [...tables.payment]
      .sort((a, b) => (a.payment_id as number) - (b.payment_id as number))
      .map((p) => [String(p.payment_id), atScale(p.payment_amount as string, 6), p.payment_date, String(p.paid)]);
    expect(payments.map((r) => [r.payment_id, r.payment_amount, r.payment_date, r.paid])).toEqual(expectedPayments);

    const purchases = await read('purchase_order', 'fact_purchase_order');
    const expectedPurchases = [...tables.purchase_order]
      .sort((a, b) => (a.purchase_order_id as number) - (b.purchase_order_id as number))
      .map((p) => [String(p.purchase_order_id), atScale(p.item_unit_price as string, 6), String(p.staff_id)]);
    expect(purchases.map((r) => [r.purchase_order_id, r.item_unit_price, r.staff_id])).toEqual(expectedPurchases);
  });

  it('dim_date holds every date the real facts reference: 2022-11-03 is a Thursday, ISO day 4; 2024-03-31 is in quarter 1', async () => {
    const dates = await read('sales_order', 'dim_date');
    const referenced = new Set(tables.sales_order.flatMap((s) => [String(s.created_at).slice(0, 10), String(s.last_updated).slice(0, 10), s.agreed_delivery_date, s.agreed_payment_date]));
    expect(new Set(dates.map((d) => d.date_id))).toEqual(referenced);
    expect(dates.find((d) => d.date_id === '2022-11-03')).toMatchObject({ day_of_week: '4', day_name: 'Thursday', quarter: '4' });
    expect(dates.find((d) => d.date_id === '2024-03-31')).toMatchObject({ year: '2024', month: '3', day: '31', quarter: '1', month_name: 'March', day_of_week: '7', day_name: 'Sunday' });
    const paymentDates = await read('payment', 'dim_date');
    const paymentReferenced = new Set(tables.payment.flatMap((p) => [String(p.created_at).slice(0, 10), String(p.last_updated).slice(0, 10), p.payment_date]));
    expect(new Set(paymentDates.map((d) => d.date_id))).toEqual(paymentReferenced);
  });
});
