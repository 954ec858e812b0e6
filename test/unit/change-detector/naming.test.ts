import { batchId } from '@totes/events/common';
import { SOURCE_TABLE_NAMES } from '@totes/shared/source/tables';
import {
  batchIdFor,
  pageAmbiguousKeyFor,
  pageAmbiguousKeyOfRawKey,
  passAmbiguousKeyFor,
  passIdFor,
  rawKeyFor,
} from '../../../services/change-detector/src/naming';

describe('deterministic names', () => {
  it('names a pass after its upper bound', () => {
    expect(passIdFor('2024-11-15T14:40:00.123456')).toBe('20241115t144000123456');
    expect(() => passIdFor('2024-11-15T14:40:00')).toThrow(TypeError);
  });

  it('batch ids are valid contract batch ids for every table, up to page numbers beyond 9999', () => {
    for (const table of SOURCE_TABLE_NAMES) {
      for (const page of [1, 42, 9999, 10000]) expect(batchId.safeParse(batchIdFor(table, '20241115t144000123456', page)).success).toBe(true);
    }
    expect(batchIdFor('sales_order', '20241115t144000123456', 7)).toBe('sales_order.20241115t144000123456.p0007');
  });

  it('raw keys partition by the date of the page’s last row and end with the digest of the bytes', () => {
    expect(rawKeyFor('payment', '2024-11-15T23:59:59.999', 'payment.20241116t000100000000.p0001', 'abcdef012345')).toBe(
      'raw/payment/date=2024-11-15/payment.20241116t000100000000.p0001.abcdef012345.jsonl.gz',
    );
  });

  it('a page’s ambiguous rows are found again from its recorded raw key', () => {
    const key = rawKeyFor('payment', '2024-11-15T10:00:00', 'payment.20241116t000100000000.p0003', '0123456789ab');
    expect(pageAmbiguousKeyOfRawKey('payment', key)).toBe(pageAmbiguousKeyFor('payment', 'payment.20241116t000100000000.p0003', '0123456789ab'));
    expect(pageAmbiguousKeyOfRawKey('payment', 'raw/payment/elsewhere.jsonl.gz')).toBeUndefined();
    expect(passAmbiguousKeyFor('staff', '20241116t000100000000', '0123456789ab')).toBe('state/staff/20241116t000100000000.0123456789ab.ambiguous.json');
  });
});
