import { VERSION_COLUMN, type WarehouseColumnType, type WarehouseTable } from '@totes/shared/warehouse/tables';

/**
 * The columns a processed file carries for its target table (THE PARQUET CONTRACT): the
 * catalogue's columns in catalogue order, plus the version stamp. The staging table has exactly
 * these columns, so the file, the staging table and the merge SQL cannot disagree. A fact file
 * written before facts carried the stamp lacks it: staged as NULL, the loader then falls back to
 * the version's last_updated (what ordered fact versions before).
 */
export type StagingColumnType = WarehouseColumnType | 'timestamp';

export interface StagingColumn {
  readonly name: string;
  readonly type: StagingColumnType;
  readonly nullable: boolean;
  /** A file may lack the column; it is then staged as NULL. */
  readonly optional?: boolean;
}

export function stagingColumns(table: WarehouseTable): readonly StagingColumn[] {
  const columns: StagingColumn[] = table.columns.map((c) => ({ name: c.name, type: c.type, nullable: c.nullable }));
  columns.push(table.kind === 'dimension' ? { name: VERSION_COLUMN, type: 'timestamp', nullable: false } : { name: VERSION_COLUMN, type: 'timestamp', nullable: true, optional: true });
  return columns;
}

/** The PostgreSQL type of a staging column: the target column's own type, so COPY does the casts. */
export function sqlType(type: StagingColumnType): string {
  switch (type) {
    case 'int':
      return 'int';
    case 'varchar':
      return 'varchar';
    // Staged unconstrained, so the staging table holds the file's exact value and the one cast into
    // the target column (which fails on overflow) is the only check.
    case 'numeric':
    case 'numeric(10,2)':
      return 'numeric';
    case 'date':
      return 'date';
    case 'time':
      return 'time(6)';
    case 'boolean':
      return 'boolean';
    case 'timestamp':
      return 'timestamp(6)';
  }
}
