import type { SourceTableName } from '@totes/shared/source/tables';
import { deriveBatch } from '../../../services/transformer/src/derive-batch';
import { encodeParquet } from '../../../services/transformer/src/parquet-file';
import { readWithDuckDB } from './duckdb-reader';
import { MemorySourceImages, gen, gzipJsonLines, type Row, DERIVE } from './fixtures';

/**
 * Every rule of SPEC §3 on generated rows, checked on the Parquet files as an independent reader
 * (DuckDB) sees them.
 */
async function transform(table: SourceTableName, rows: readonly Row[], source: Partial<Record<SourceTableName, Row[]>> = {}) {
  const images = new MemorySourceImages(source);
  const derived = await deriveBatch(table, gzipJsonLines(rows), images, DERIVE);
  const files: Record<string, Record<string, string | null>[]> = {};
  for (const t of derived.targets) files[t.target] = (await readWithDuckDB(encodeParquet(t.target, t.rows))).rows;
  return { derived, files, images };
}

const world = {
  address: [gen.address(1), gen.address(2, { address_line_2: 'Flat 2', district: 'Avon' }), gen.address(3)],
  counterparty: [gen.counterparty(1, 2), gen.counterparty(2, 2), gen.counterparty(3, 3)],
  department: [gen.department(1, 'Sales', 'Manchester'), gen.department(4, 'Dispatch', 'Leds', { last_updated: '2023-01-05T09:00:00.000000' })],
  staff: [gen.staff(1, 1), gen.staff(2, 4), gen.staff(3, 4, { last_updated: '2023-02-01T10:00:00.500000' })],
};

describe('derivation rules (SPEC §3) on generated rows', () => {
  it('dim_location: location_id = address_id, address columns copied, NULLs stay NULL', async () => {
    const { files } = await transform('address', [gen.address(1), gen.address(2, { address_line_2: 'Flat 2' })], world);
    expect(files.dim_location).toEqual([
      {
        location_id: '1',
        address_line_1: '1 Herzog Via',
        address_line_2: null,
        district: null,
        city: 'New Patienceburgh',
        postal_code: '28441',
        country: 'Turkey',
        phone: '1803 637401',
        _version: '2024-11-15 14:40:00.123456',
      },
      expect.objectContaining({ location_id: '2', address_line_2: 'Flat 2', district: 'Avon' }),
    ]);
  });

  it('dim_counterparty: a counterparty takes its legal address and phone, contacts dropped', async () => {
    const { files, images } = await transform('counterparty', [gen.counterparty(3, 3)], world);
    expect(images.calls).toEqual([{ join: 'counterparty', by: 'main', ids: [3] }]);
    expect(files.dim_counterparty).toEqual([
      {
        counterparty_id: '3',
        counterparty_legal_name: 'Fahey and Sons 3',
        counterparty_legal_address_line_1: '3 Herzog Via',
        counterparty_legal_address_line_2: null,
        counterparty_legal_district: null,
        counterparty_legal_city: 'New Patienceburgh',
        counterparty_legal_postal_code: '28443',
        counterparty_legal_country: 'Turkey',
        counterparty_legal_phone_number: '1803 637403',
        _version: '2024-11-15 14:40:01.5',
      },
    ]);
  });

  it('an address edit re-derives every counterparty on it, stamped with when the image was read', async () => {
    const edited = gen.address(2, { city: 'Leeds', phone: '0113 000000', last_updated: '2024-11-15T10:00:00.123456' });
    const source = { ...world, address: [world.address[0]!, edited, world.address[2]!] };
    const { files, images } = await transform('address', [edited], source);
    expect(images.calls).toEqual([{ join: 'counterparty', by: 'joined', ids: [2] }]);
    expect(files.dim_location).toEqual([expect.objectContaining({ location_id: '2', city: 'Leeds', _version: '2024-11-15 14:40:00.123456' })]);
    expect(files.dim_counterparty?.map((r) => [r.counterparty_id, r.counterparty_legal_city, r.counterparty_legal_phone_number, r._version])).toEqual([
      ['1', 'Leeds', '0113 000000', '2024-11-15 14:40:01.5'],
      ['2', 'Leeds', '0113 000000', '2024-11-15 14:40:01.5'],
    ]);
  });

  it('dim_staff: names and email from staff, department_name and location from department; staff of Leds keep Leds', async () => {
    const { files } = await transform('staff', [gen.staff(2, 4), gen.staff(1, 1)], world);
    expect(files.dim_staff).toEqual([
      {
        staff_id: '1',
        first_name: 'First1',
        last_name: 'Last1',
        department_name: 'Sales',
        location: 'Manchester',
        email_address: 'first1.last1@terrifictotes.com',
        _version: '2024-11-15 14:40:01.5',
      },
      expect.objectContaining({ staff_id: '2', department_name: 'Dispatch', location: 'Leds', _version: '2024-11-15 14:40:01.5' }),
    ]);
  });

  it('a department edit re-derives each of its staff from the source', async () => {
    const moved = gen.department(4, 'Dispatch', 'Leeds', { last_updated: '2024-11-15T11:00:00.000000' });
    const { files, images } = await transform('department', [moved], { ...world, department: [world.department[0]!, moved] });
    expect(images.calls).toEqual([{ join: 'staff', by: 'joined', ids: [4] }]);
    expect(files.dim_staff?.map((r) => [r.staff_id, r.location, r._version])).toEqual([
      ['2', 'Leeds', '2024-11-15 14:40:01.5'],
      ['3', 'Leeds', '2024-11-15 14:40:01.5'],
    ]);
  });

  it('a joined row is stamped with when its image was read, whatever its parts\' last_updated', async () => {
    // A late commit: staff 3's current row carries an older last_updated than the department's.
    const late = gen.staff(3, 4, { first_name: 'Late', last_updated: '2022-12-01T09:00:00.000000' });
    const images = new MemorySourceImages({ ...world, staff: [world.staff[0]!, world.staff[1]!, late] }, '2024-11-16T08:30:00.000042');
    const derived = await deriveBatch('staff', gzipJsonLines([late]), images, DERIVE);
    const rows = (await readWithDuckDB(encodeParquet('dim_staff', derived.targets[0]!.rows))).rows;
    expect(rows.map((r) => [r.staff_id, r.first_name, r._version])).toEqual([['3', 'Late', '2024-11-16 08:30:00.000042']]);
  });

  it('simple dimensions and facts are stamped with when their batch was observed, not with last_updated', async () => {
    const observedAt = '2024-11-15T14:45:00.000007';
    const derive = (table: SourceTableName, rows: readonly Row[]) => deriveBatch(table, gzipJsonLines(rows), new MemorySourceImages({}), { ...DERIVE, observedAt });
    const design = await derive('design', [gen.design(8, { last_updated: '2025-01-01T00:00:00.000000' })]);
    const order = await derive('sales_order', [gen.salesOrder(2, { last_updated: '2022-11-03T14:20:52.186000' })]);
    const read = async (target: (typeof design)['targets'][number]) => (await readWithDuckDB(encodeParquet(target.target, target.rows))).rows.map((r) => r._version);
    expect(await read(design.targets[0]!)).toEqual(['2024-11-15 14:45:00.000007']);
    expect(await read(order.targets.find((t) => t.target === 'fact_sales_order')!)).toEqual(['2024-11-15 14:45:00.000007']);
  });

  it('dim_currency: currency_name is the ISO 4217 name', async () => {
    const { files } = await transform('currency', [gen.currency(1, 'GBP'), gen.currency(2, 'USD'), gen.currency(3, 'EUR')]);
    expect(files.dim_currency?.map((r) => [r.currency_id, r.currency_code, r.currency_name])).toEqual([
      ['1', 'GBP', 'Pound Sterling'],
      ['2', 'USD', 'US Dollar'],
      ['3', 'EUR', 'Euro'],
    ]);
  });

  it('dim_design, dim_payment_type, dim_transaction: columns copied, timestamps dropped', async () => {
    const design = await transform('design', [gen.design(8)]);
    expect(design.files.dim_design).toEqual([{ design_id: '8', design_name: 'Wooden', file_location: '/usr', file_name: 'wooden-8.json', _version: '2024-11-15 14:40:00.123456' }]);
    const paymentType = await transform('payment_type', [gen.paymentType(1, 'SALES_RECEIPT')]);
    expect(paymentType.files.dim_payment_type).toEqual([{ payment_type_id: '1', payment_type_name: 'SALES_RECEIPT', _version: '2024-11-15 14:40:00.123456' }]);
    const transaction = await transform('transaction', [gen.transaction(1), gen.transaction(2, { transaction_type: 'PURCHASE', sales_order_id: null, purchase_order_id: 7 })]);
    expect(transaction.files.dim_transaction).toEqual([
      { transaction_id: '1', transaction_type: 'SALE', sales_order_id: '1', purchase_order_id: null, _version: '2024-11-15 14:40:00.123456' },
      { transaction_id: '2', transaction_type: 'PURCHASE', sales_order_id: null, purchase_order_id: '7', _version: '2024-11-15 14:40:00.123456' },
    ]);
  });

  it('fact_sales_order: timestamps split (microseconds kept), staff_id → sales_staff_id, text dates cast, unit_price exact', async () => {
    const { files } = await transform('sales_order', [gen.salesOrder(2, { last_updated: '2024-03-31T08:00:00.000001' })]);
    expect(files.fact_sales_order).toEqual([
      {
        sales_order_id: '2',
        created_date: '2022-11-03',
        created_time: '14:20:52.186',
        last_updated_date: '2024-03-31',
        last_updated_time: '08:00:00.000001',
        sales_staff_id: '19',
        counterparty_id: '8',
        units_sold: '42972',
        unit_price: '3.94',
        currency_id: '2',
        design_id: '3',
        agreed_payment_date: '2022-11-08',
        agreed_delivery_date: '2022-11-07',
        agreed_delivery_location_id: '8',
        _version: '2024-11-15 14:40:00.123456',
      },
    ]);
  });

  it('dim_date: one row per date the facts reference, with ISO weekday, English names and quarter', async () => {
    const { files } = await transform('sales_order', [gen.salesOrder(2, { last_updated: '2024-03-31T08:00:00.000000' })]);
    expect(files.dim_date).toEqual([
      { date_id: '2022-11-03', year: '2022', month: '11', day: '3', day_of_week: '4', day_name: 'Thursday', month_name: 'November', quarter: '4', _version: '1970-01-01 00:00:00' },
      expect.objectContaining({ date_id: '2022-11-07', day_of_week: '1', day_name: 'Monday' }),
      expect.objectContaining({ date_id: '2022-11-08' }),
      { date_id: '2024-03-31', year: '2024', month: '3', day: '31', day_of_week: '7', day_name: 'Sunday', month_name: 'March', quarter: '1', _version: '1970-01-01 00:00:00' },
    ]);
  });

  it('fact_purchase_order: the same split and casts; staff_id keeps its name; item_unit_price exact', async () => {
    const { files } = await transform('purchase_order', [gen.purchaseOrder(1, { item_unit_price: '999.123456' })]);
    expect(files.fact_purchase_order).toEqual([
      {
        purchase_order_id: '1',
        created_date: '2022-11-03',
        created_time: '14:20:52.187',
        last_updated_date: '2022-11-03',
        last_updated_time: '14:20:52.187',
        staff_id: '12',
        counterparty_id: '11',
        item_code: 'ZDOI5EA',
        item_quantity: '371',
        item_unit_price: '999.123456',
        currency_id: '2',
        agreed_delivery_date: '2022-11-09',
        agreed_payment_date: '2022-11-07',
        agreed_delivery_location_id: '6',
        _version: '2024-11-15 14:40:00.123456',
      },
    ]);
    expect(files.dim_date?.map((r) => r.date_id)).toEqual(['2022-11-03', '2022-11-07', '2022-11-09']);
  });

  it('fact_payment: the same split, payment_date cast, both account numbers dropped', async () => {
    const { files } = await transform('payment', [gen.payment(2, { paid: true, last_updated: '2022-11-04T09:00:00.000000' })]);
    expect(files.fact_payment).toEqual([
      {
        payment_id: '2',
        created_date: '2022-11-03',
        created_time: '14:20:52.187',
        last_updated_date: '2022-11-04',
        last_updated_time: '09:00:00',
        transaction_id: '2',
        counterparty_id: '15',
        payment_amount: '552548.620000',
        currency_id: '2',
        payment_type_id: '3',
        paid: 'true',
        payment_date: '2022-11-04',
        _version: '2024-11-15 14:40:00.123456',
      },
    ]);
    expect(files.dim_date?.map((r) => r.date_id)).toEqual(['2022-11-03', '2022-11-04']);
  });

  it('keeps one fact row per source row version, and the same version once', async () => {
    const v1 = gen.payment(5);
    const v2 = gen.payment(5, { paid: true, last_updated: '2022-11-05T10:00:00.000000' });
    const { files } = await transform('payment', [v1, v2, v1]);
    expect(files.fact_payment?.map((r) => [r.payment_id, r.last_updated_date, r.paid])).toEqual([
      ['5', '2022-11-03', 'false'],
      ['5', '2022-11-05', 'true'],
    ]);
  });

  it('keeps the later line of a dimension key that appears twice in a batch (one pass never writes that; lines run in last_updated order)', async () => {
    const { files } = await transform('design', [gen.design(8, { design_name: 'Older' }), gen.design(8, { design_name: 'Newer', last_updated: '2024-01-01T00:00:00.000000' })]);
    expect(files.dim_design?.map((r) => [r.design_id, r.design_name])).toEqual([['8', 'Newer']]);
  });

  it('writes every target file of the table, even one with no rows', async () => {
    const { derived } = await transform('department', [gen.department(9, 'Empty', 'Leeds')], world);
    expect(derived.targets).toEqual([{ target: 'dim_staff', rows: [] }]);
    const sales = await transform('sales_order', []);
    expect(sales.derived.targets.map((t) => [t.target, t.rows.length])).toEqual([
      ['dim_date', 0],
      ['fact_sales_order', 0],
    ]);
  });

  it('ignores columns the contract does not know (extra columns carried as text)', async () => {
    const { files, derived } = await transform('design', [gen.design(8, { colour: 'blue' })]);
    expect(derived.quarantined).toEqual([]);
    expect(Object.keys(files.dim_design?.[0] ?? {})).toEqual(['design_id', 'design_name', 'file_location', 'file_name', '_version']);
  });

  it('derives well-formed joined batches without quarantining anything', async () => {
    for (const [table, rows] of [
      ['address', world.address],
      ['counterparty', world.counterparty],
      ['staff', world.staff],
      ['department', world.department],
    ] as const) {
      const { derived } = await transform(table, rows, world);
      expect({ table, quarantined: derived.quarantined }).toEqual({ table, quarantined: [] });
    }
  });
});
