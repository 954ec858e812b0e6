import { VERSION_COLUMN, WAREHOUSE_TABLES, type WarehouseTableName } from '@totes/shared/warehouse/tables';
import type { Cell, OutputRow } from './parquet-file';

/**
 * The rows of one target file, deduplicated and put in a canonical order so that a file depends
 * only on the set of rows, not on the order they arrived in:
 * - a dimension holds one row per key, the one with the newest `_version`, of equal ones the later (the loader could not
 *   upsert two rows of one key in one statement, and the older one would lose anyway);
 * - a fact holds one row per version (natural id, last_updated): the same version twice is the
 *   same row, and the warehouse never appends a version twice;
 * rows are sorted by key (facts: natural id, then last_updated).
 */
function compareCells(a: Cell, b: Cell): number {
  if (a === b) return 0;
  if (a === null) return -1;
  if (b === null) return 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

export class OutputTable {
  private readonly byKey = new Map<string, OutputRow>();
  private readonly sortColumns: readonly string[];
  private readonly keyColumns: readonly string[];
  private readonly isDimension: boolean;

  constructor(readonly target: WarehouseTableName) {
    const table = WAREHOUSE_TABLES[target];
    this.isDimension = table.kind === 'dimension';
    this.keyColumns = table.kind === 'dimension' ? [table.key] : [table.naturalKey, 'last_updated_date', 'last_updated_time'];
    this.sortColumns = this.keyColumns;
  }

  add(row: OutputRow): void {
    const key = this.keyColumns.map((c) => String(row[c])).join('|');
    const existing = this.byKey.get(key);
    if (!existing) {
      this.byKey.set(key, row);
      return;
    }
    // Equal stamps (one batch observes every row at once): the later line, which comes later in
    // the raw object's (last_updated, id) order.
    if (this.isDimension && compareCells(row[VERSION_COLUMN] ?? null, existing[VERSION_COLUMN] ?? null) >= 0) this.byKey.set(key, row);
  }

  get size(): number {
    return this.byKey.size;
  }

  rows(): OutputRow[] {
    return [...this.byKey.values()].sort((a, b) => {
      for (const c of this.sortColumns) {
        const order = compareCells(a[c] ?? null, b[c] ?? null);
        if (order !== 0) return order;
      }
      return 0;
    });
  }
}
