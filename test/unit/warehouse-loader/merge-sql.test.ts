import {
  inferMembersSql,
  loadLocks,
  openCriticalSectionSql,
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

  it('holds exclusively what a load writes and shares what it only references, in lock order', () => {
    const payment = openCriticalSectionSql(WAREHOUSE_TABLES.fact_payment, true, new Set(['dim_date'])).split(';\n');
    expect(payment).toEqual([
      ...(['dim_date', 'dim_currency', 'dim_counterparty', 'dim_payment_type', 'dim_transaction', 'fact_payment'] as const).map(
        (t) => `SELECT ${t === 'dim_date' || t === 'fact_payment' ? 'pg_advisory_xact_lock' : 'pg_advisory_xact_lock_shared'}(1953461349, ${tableLockKey(t)})`,
      ),
      'LOCK TABLE "dim_date", "dim_currency", "dim_counterparty", "dim_payment_type", "dim_transaction" IN SHARE MODE',
      'SET LOCAL session_replication_role = replica',
    ]);
    expect(openCriticalSectionSql(WAREHOUSE_TABLES.fact_payment, false).split(';\n')).toHaveLength(6);
    expect(openCriticalSectionSql(WAREHOUSE_TABLES.dim_staff, true)).toBe(`SELECT pg_advisory_xact_lock(1953461349, ${tableLockKey('dim_staff')})`);
    expect(loadLocks(WAREHOUSE_TABLES.fact_sales_order).map((l) => l.mode)).toEqual(['shared', 'shared', 'shared', 'shared', 'shared', 'shared', 'exclusive']);
  });

  it('can build an inferred member for every dimension a fact references (NOT NULL text is Unknown, nullable is NULL)', () => {
    for (const fact of FACT_TABLE_NAMES) {
      for (const dimension of referencedDimensions(WAREHOUSE_TABLES[fact])) {
        if (dimension === 'dim_date') continue;
        expect(() => inferMembersSql(dimension)).not.toThrow();
      }
    }
    expect(placeholderValue({ name: 'city', type: 'varchar', nullable: false })).toBe("'Unknown'");
    expect(placeholderValue({ name: 'district', type: 'varchar', nullable: true })).toBe('NULL');
    expect(() => placeholderValue({ name: 'n', type: 'int', nullable: false })).toThrow(/No placeholder/);
  });
});
