import {
  inferMembersSql,
  placeholderValue,
  referencedDimensions,
  tableLockKey,
  tablesTouched,
} from '../../../services/warehouse-loader/src/merge-sql';
import { DIMENSION_TABLE_NAMES, FACT_TABLE_NAMES, WAREHOUSE_TABLES, WAREHOUSE_TABLE_NAMES } from '../../../shared/src/warehouse/tables';

describe('the loader SQL built from the catalogue', () => {
  it('locks dimensions before facts, each load in ascending catalogue order, so loads never wait in a cycle', () => {
    for (const name of WAREHOUSE_TABLE_NAMES) {
      const keys = tablesTouched(WAREHOUSE_TABLES[name]).map(tableLockKey);
      expect(keys).toEqual([...keys].sort((a, b) => a - b));
      expect(new Set(keys).size).toBe(keys.length);
    }
    expect(Math.max(...DIMENSION_TABLE_NAMES.map(tableLockKey))).toBeLessThan(Math.min(...FACT_TABLE_NAMES.map(tableLockKey)));
  });

  it('has a fact load lock every dimension the fact references, and dim_date', () => {
    expect(tablesTouched(WAREHOUSE_TABLES.fact_sales_order)).toEqual([
      'dim_date',
      'dim_staff',
      'dim_location',
      'dim_currency',
      'dim_design',
      'dim_counterparty',
      'fact_sales_order',
    ]);
    expect(referencedDimensions(WAREHOUSE_TABLES.fact_payment)).toEqual(['dim_date', 'dim_currency', 'dim_counterparty', 'dim_payment_type', 'dim_transaction']);
    expect(tablesTouched(WAREHOUSE_TABLES.dim_staff)).toEqual(['dim_staff']);
  });

  it('can build an inferred member for every dimension a fact references (NOT NULL text is Unknown, nullable is NULL)', () => {
    for (const fact of FACT_TABLE_NAMES) {
      for (const dimension of referencedDimensions(WAREHOUSE_TABLES[fact])) {
        if (dimension === 'dim_date') continue;
        expect(() => inferMembersSql(WAREHOUSE_TABLES[fact], dimension)).not.toThrow();
      }
    }
    expect(placeholderValue({ name: 'city', type: 'varchar', nullable: false })).toBe("'Unknown'");
    expect(placeholderValue({ name: 'district', type: 'varchar', nullable: true })).toBe('NULL');
    expect(() => placeholderValue({ name: 'n', type: 'int', nullable: false })).toThrow(/No placeholder/);
  });
});
