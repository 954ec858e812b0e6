import { VERSION_COLUMN, type WarehouseColumnType, type WarehouseTable } from '@totes/shared/warehouse/tables';

/**
 * The columns a processed file carries for its target table (THE PARQUET CONTRACT): the
 * catalogue's columns in catalogue order, plus the version stamp for dimensions. The staging table
 * has exactly these columns, so the file, the staging table and the merge SQL cannot disagree.
 */
export type StagingColumnType = WarehouseColumnType | 'timestamp';

export interface StagingColumn {
  readonly name: string;
  readonly type: StagingColumnType;
  readonly nullable: boolean;
}

export function stagingColumns(table: WarehouseTable): readonly StagingColumn[] {
  const columns: StagingColumn[] = table.columns.map((c) => ({ name: c.name, type: c.type, nullable: c.nullable }));
  if (table.kind === 'dimension') columns.push({ name: VERSION_COLUMN, type: 'timestamp', nullable: false });
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
