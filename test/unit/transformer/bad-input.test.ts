import { gzipSync } from 'node:zlib';
import { UnreadableBatchError } from '@totes/shared/errors';
import type { SourceTableName } from '@totes/shared/source/tables';
import { deriveBatch } from '../../../services/transformer/src/derive-batch';
import { MemorySourceImages, gen, gzipJsonLines, type Row, DERIVE } from './fixtures';

/** SPEC §5: a bad row is quarantined with table, id, column and reason while the rest proceeds; an unreadable batch fails. */
async function derive(table: SourceTableName, rows: readonly Row[], source: Partial<Record<SourceTableName, Row[]>> = {}) {
  const derived = await deriveBatch(table, gzipJsonLines(rows), new MemorySourceImages(source), DERIVE);
  const rowsOf = (target: string) => derived.targets.find((t) => t.target === target)?.rows ?? [];
  return { derived, rowsOf };
}

describe('bad rows are quarantined and the rest of the batch proceeds', () => {
  it('a text date that is not a date', async () => {
    const bad = gen.salesOrder(3, { agreed_delivery_date: '2022-02-30' });
    const { derived, rowsOf } = await derive('sales_order', [gen.salesOrder(2), bad, gen.salesOrder(4)]);
    expect(rowsOf('fact_sales_order').map((r) => r.sales_order_id)).toEqual([2, 4]);
    expect(derived.quarantined).toEqual([
      {
        table: 'sales_order',
        id: 3,
        column: 'agreed_delivery_date',
        reason: '2022-02-30 is not a date (a real calendar day written YYYY-MM-DD)',
        problems: [{ column: 'agreed_delivery_date', reason: '2022-02-30 is not a date (a real calendar day written YYYY-MM-DD)' }],
        row: bad,
        line: 2,
      },
    ]);
  });

  it('a quarantined fact adds no dates to dim_date', async () => {
    const { rowsOf } = await derive('payment', [gen.payment(1, { payment_date: 'soon', created_at: '2020-01-01T00:00:00', last_updated: '2020-01-01T00:00:00' })]);
    expect(rowsOf('dim_date')).toEqual([]);
    expect(rowsOf('fact_payment')).toEqual([]);
  });

  it('an unknown currency code', async () => {
    const { derived, rowsOf } = await derive('currency', [gen.currency(1, 'GBP'), gen.currency(4, 'ZZZ'), gen.currency(5, 'gbp'), gen.currency(6, 'XXX')]);
    expect(rowsOf('dim_currency').map((r) => r.currency_code)).toEqual(['GBP']);
    expect(derived.quarantined.map((q) => [q.table, q.id, q.column, q.reason])).toEqual([
      ['currency', 4, 'currency_code', '"ZZZ" is not an ISO 4217 currency code'],
      ['currency', 5, 'currency_code', '"gbp" is not an ISO 4217 currency code'],
      ['currency', 6, 'currency_code', '"XXX" is not an ISO 4217 currency code'],
    ]);
  });

  it('a department with a NULL location feeding dim_staff.location leaves its staff out, charged to the department', async () => {
    const nowhere = gen.department(4, 'Dispatch', null, { last_updated: '2024-11-15T11:00:00.000000' });
    const source = { department: [gen.department(1, 'Sales', 'Manchester'), nowhere], staff: [gen.staff(1, 1), gen.staff(2, 4), gen.staff(3, 4)] };
    const { derived, rowsOf } = await derive('department', [gen.department(1, 'Sales', 'Manchester'), nowhere], source);
    expect(rowsOf('dim_staff').map((r) => r.staff_id)).toEqual([1]);
    expect(derived.quarantined).toEqual([
      expect.objectContaining({
        table: 'department',
        id: 4,
        column: 'location',
        reason: 'NULL where dim_staff.location needs a value; staff 2 left out of dim_staff',
        problems: [
          { column: 'location', reason: 'NULL where dim_staff.location needs a value; staff 2 left out of dim_staff' },
          { column: 'location', reason: 'NULL where dim_staff.location needs a value; staff 3 left out of dim_staff' },
        ],
        row: nowhere,
      }),
    ]);
  });

  it('a staff member whose department has a NULL location is left out, naming the joined column', async () => {
    const source = { department: [gen.department(4, 'Dispatch', null)], staff: [gen.staff(2, 4)] };
    const { derived, rowsOf } = await derive('staff', [gen.staff(2, 4)], source);
    expect(rowsOf('dim_staff')).toEqual([]);
    expect(derived.quarantined.map((q) => [q.table, q.id, q.column, q.reason])).toEqual([['staff', 2, 'department.location', 'NULL where dim_staff.location needs a value']]);
  });

  it('a counterparty whose legal address does not exist', async () => {
    const source = { counterparty: [gen.counterparty(1, 99)], address: [] };
    const { derived } = await derive('counterparty', [gen.counterparty(1, 99)], source);
    expect(derived.quarantined.map((q) => [q.table, q.id, q.column, q.reason])).toEqual([
      ['counterparty', 1, 'legal_address_id', 'address 99 does not exist in the source; dim_counterparty needs it'],
    ]);
  });

  it('an address with a NULL city: its location and the counterparties on it are left out, in one quarantine line', async () => {
    const bad = gen.address(2, { city: null });
    const source = { address: [gen.address(1), bad], counterparty: [gen.counterparty(1, 1), gen.counterparty(2, 2)] };
    const { derived, rowsOf } = await derive('address', [gen.address(1), bad], source);
    expect(rowsOf('dim_location').map((r) => r.location_id)).toEqual([1]);
    expect(rowsOf('dim_counterparty').map((r) => r.counterparty_id)).toEqual([1]);
    expect(derived.quarantined).toHaveLength(1);
    expect(derived.quarantined[0]?.problems).toEqual([
      { column: 'city', reason: 'NULL where dim_location.city needs a value' },
      { column: 'city', reason: 'NULL where dim_counterparty.counterparty_legal_city needs a value; counterparty 2 left out of dim_counterparty' },
    ]);
  });

  it('a numeric with more decimals than its DECIMAL keeps is refused, never rounded', async () => {
    const { derived, rowsOf } = await derive('sales_order', [gen.salesOrder(2, { unit_price: '3.945' }), gen.salesOrder(3, { unit_price: '3.950' })]);
    expect(rowsOf('fact_sales_order').map((r) => [r.sales_order_id, r.unit_price])).toEqual([[3, 395n]]);
    expect(derived.quarantined.map((q) => [q.id, q.column, q.reason])).toEqual([
      [2, 'unit_price', '3.945 has 3 decimal places; DECIMAL(10,2) keeps 2 and a value is never rounded'],
    ]);
    const payments = await derive('payment', [gen.payment(1, { payment_amount: '1.0000001' }), gen.payment(2, { payment_amount: '1234567890123456789.5' })]);
    expect(payments.derived.quarantined.map((q) => [q.id, q.column])).toEqual([
      [1, 'payment_amount'],
      [2, 'payment_amount'],
    ]);
  });

  it('a NULL or mistyped value where a fact needs one, all problems of the row listed', async () => {
    const bad = gen.purchaseOrder(7, { staff_id: null, item_quantity: 'many', created_at: 'yesterday' });
    const { derived } = await derive('purchase_order', [bad]);
    expect(derived.quarantined[0]?.problems).toEqual([
      { column: 'created_at', reason: 'yesterday is not a timestamp (YYYY-MM-DDTHH:MM:SS[.ffffff])' },
      { column: 'staff_id', reason: 'NULL where fact_purchase_order.staff_id needs a value' },
      { column: 'item_quantity', reason: 'expected an integer, got many' },
    ]);
  });
});

describe('a batch that cannot be read at all fails', () => {
  const cases: [string, Uint8Array][] = [
    ['not gzip', new TextEncoder().encode('{"design_id":1}\n')],
    ['empty object', new Uint8Array()],
    ['truncated gzip', gzipJsonLines([gen.design(1), gen.design(2)]).slice(0, 30)],
    ['not JSON lines', new Uint8Array(gzipSync('design_id,design_name\n1,Wooden\n'))],
    ['a line that is not an object', new Uint8Array(gzipSync('[1,"Wooden"]\n'))],
    ['a blank line between rows', new Uint8Array(gzipSync(`${JSON.stringify(gen.design(1))}\n\n${JSON.stringify(gen.design(2))}\n`))],
    ['a row missing a required column', gzipJsonLines([gen.design(1), (({ file_name: _f, ...rest }) => rest)(gen.design(2))])],
    ['a primary key that is not an integer', gzipJsonLines([gen.design(1, { design_id: '1' })])],
  ];
  it.each(cases)('%s', async (_name, body) => {
    await expect(deriveBatch('design', body, new MemorySourceImages({}), DERIVE)).rejects.toBeInstanceOf(UnreadableBatchError);
  });

  it('says which line and column is missing', async () => {
    const body = gzipJsonLines([gen.design(1), (({ file_name: _f, ...rest }) => rest)(gen.design(2))]);
    await expect(deriveBatch('design', body, new MemorySourceImages({}), DERIVE)).rejects.toThrow('line 2 has no file_name column, which every design row must carry');
  });
});
