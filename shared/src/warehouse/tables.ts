/**
 * The warehouse tables (../shared/SPEC.md §2), the closed list every warehouse identifier comes
 * from. `columns` are the columns the pipeline writes, in ERD order, without the serial record id
 * of the facts (the database assigns it). The processed zone's Parquet files carry exactly these
 * columns (plus the version stamp, see `VERSION_COLUMN`).
 */
export type WarehouseColumnType = 'int' | 'varchar' | 'numeric' | 'numeric(10,2)' | 'date' | 'time' | 'boolean';

export interface WarehouseColumn {
  readonly name: string;
  readonly type: WarehouseColumnType;
  readonly nullable: boolean;
  /** The dimension this column references (foreign key), if any. */
  readonly references?: DimensionTableName;
}

export const DIMENSION_TABLE_NAMES = [
  'dim_date',
  'dim_staff',
  'dim_location',
  'dim_currency',
  'dim_design',
  'dim_counterparty',
  'dim_payment_type',
  'dim_transaction',
] as const;
export const FACT_TABLE_NAMES = ['fact_sales_order', 'fact_purchase_order', 'fact_payment'] as const;
export const WAREHOUSE_TABLE_NAMES = [...DIMENSION_TABLE_NAMES, ...FACT_TABLE_NAMES] as const;

export type DimensionTableName = (typeof DIMENSION_TABLE_NAMES)[number];
export type FactTableName = (typeof FACT_TABLE_NAMES)[number];
export type WarehouseTableName = (typeof WAREHOUSE_TABLE_NAMES)[number];

export interface DimensionTable {
  readonly kind: 'dimension';
  readonly name: DimensionTableName;
  readonly key: string;
  readonly columns: readonly WarehouseColumn[];
}

export interface FactTable {
  readonly kind: 'fact';
  readonly name: FactTableName;
  /** The serial surrogate key the database assigns. */
  readonly recordId: string;
  /** The source row's id: with last_updated it identifies one fact version. */
  readonly naturalKey: string;
  readonly columns: readonly WarehouseColumn[];
}

export type WarehouseTable = DimensionTable | FactTable;

/**
 * Rows in Parquet carry this extra TIMESTAMP column, their version stamp on the source clock: when
 * the source rows they derive from were observed (the detection pass's upper bound; for the joined
 * dimensions, when the transformer read the joined image). Of two versions of one key, the one
 * with the newer stamp is the newer (a later observation of the source), whatever their
 * last_updated say. The loader keeps, per dimension key, the row with the newest stamp, and per
 * fact, points the current view at the version with the newest stamp.
 */
export const VERSION_COLUMN = '_version';

const col = (name: string, type: WarehouseColumnType, nullable = false, references?: DimensionTableName): WarehouseColumn =>
  references ? { name, type, nullable, references } : { name, type, nullable };

export const WAREHOUSE_TABLES = {
  dim_date: {
    kind: 'dimension',
    name: 'dim_date',
    key: 'date_id',
    columns: [
      col('date_id', 'date'),
      col('year', 'int'),
      col('month', 'int'),
      col('day', 'int'),
      col('day_of_week', 'int'),
      col('day_name', 'varchar'),
      col('month_name', 'varchar'),
      col('quarter', 'int'),
    ],
  },
  dim_staff: {
    kind: 'dimension',
    name: 'dim_staff',
    key: 'staff_id',
    columns: [
      col('staff_id', 'int'),
      col('first_name', 'varchar'),
      col('last_name', 'varchar'),
      col('department_name', 'varchar'),
      col('location', 'varchar'),
      col('email_address', 'varchar'),
    ],
  },
  dim_location: {
    kind: 'dimension',
    name: 'dim_location',
    key: 'location_id',
    columns: [
      col('location_id', 'int'),
      col('address_line_1', 'varchar'),
      col('address_line_2', 'varchar', true),
      col('district', 'varchar', true),
      col('city', 'varchar'),
      col('postal_code', 'varchar'),
      col('country', 'varchar'),
      col('phone', 'varchar'),
    ],
  },
  dim_currency: {
    kind: 'dimension',
    name: 'dim_currency',
    key: 'currency_id',
    columns: [col('currency_id', 'int'), col('currency_code', 'varchar'), col('currency_name', 'varchar')],
  },
  dim_design: {
    kind: 'dimension',
    name: 'dim_design',
    key: 'design_id',
    columns: [col('design_id', 'int'), col('design_name', 'varchar'), col('file_location', 'varchar'), col('file_name', 'varchar')],
  },
  dim_counterparty: {
    kind: 'dimension',
    name: 'dim_counterparty',
    key: 'counterparty_id',
    columns: [
      col('counterparty_id', 'int'),
      col('counterparty_legal_name', 'varchar'),
      col('counterparty_legal_address_line_1', 'varchar'),
      col('counterparty_legal_address_line_2', 'varchar', true),
      col('counterparty_legal_district', 'varchar', true),
      col('counterparty_legal_city', 'varchar'),
      col('counterparty_legal_postal_code', 'varchar'),
      col('counterparty_legal_country', 'varchar'),
      col('counterparty_legal_phone_number', 'varchar'),
    ],
  },
  dim_payment_type: {
    kind: 'dimension',
    name: 'dim_payment_type',
    key: 'payment_type_id',
    columns: [col('payment_type_id', 'int'), col('payment_type_name', 'varchar')],
  },
  dim_transaction: {
    kind: 'dimension',
    name: 'dim_transaction',
    key: 'transaction_id',
    columns: [
      col('transaction_id', 'int'),
      col('transaction_type', 'varchar'),
      col('sales_order_id', 'int', true),
      col('purchase_order_id', 'int', true),
    ],
  },
  fact_sales_order: {
    kind: 'fact',
    name: 'fact_sales_order',
    recordId: 'sales_record_id',
    naturalKey: 'sales_order_id',
    columns: [
      col('sales_order_id', 'int'),
      col('created_date', 'date', false, 'dim_date'),
      col('created_time', 'time'),
      col('last_updated_date', 'date', false, 'dim_date'),
      col('last_updated_time', 'time'),
      col('sales_staff_id', 'int', false, 'dim_staff'),
      col('counterparty_id', 'int', false, 'dim_counterparty'),
      col('units_sold', 'int'),
      col('unit_price', 'numeric(10,2)'),
      col('currency_id', 'int', false, 'dim_currency'),
      col('design_id', 'int', false, 'dim_design'),
      col('agreed_payment_date', 'date', false, 'dim_date'),
      col('agreed_delivery_date', 'date', false, 'dim_date'),
      col('agreed_delivery_location_id', 'int', false, 'dim_location'),
    ],
  },
  fact_purchase_order: {
    kind: 'fact',
    name: 'fact_purchase_order',
    recordId: 'purchase_record_id',
    naturalKey: 'purchase_order_id',
    columns: [
      col('purchase_order_id', 'int'),
      col('created_date', 'date', false, 'dim_date'),
      col('created_time', 'time'),
      col('last_updated_date', 'date', false, 'dim_date'),
      col('last_updated_time', 'time'),
      col('staff_id', 'int', false, 'dim_staff'),
      col('counterparty_id', 'int', false, 'dim_counterparty'),
      col('item_code', 'varchar'),
      col('item_quantity', 'int'),
      col('item_unit_price', 'numeric'),
      col('currency_id', 'int', false, 'dim_currency'),
      col('agreed_delivery_date', 'date', false, 'dim_date'),
      col('agreed_payment_date', 'date', false, 'dim_date'),
      col('agreed_delivery_location_id', 'int', false, 'dim_location'),
    ],
  },
  fact_payment: {
    kind: 'fact',
    name: 'fact_payment',
    recordId: 'payment_record_id',
    naturalKey: 'payment_id',
    columns: [
      col('payment_id', 'int'),
      col('created_date', 'date', false, 'dim_date'),
      col('created_time', 'time'),
      col('last_updated_date', 'date', false, 'dim_date'),
      col('last_updated_time', 'time'),
      col('transaction_id', 'int', false, 'dim_transaction'),
      col('counterparty_id', 'int', false, 'dim_counterparty'),
      col('payment_amount', 'numeric'),
      col('currency_id', 'int', false, 'dim_currency'),
      col('payment_type_id', 'int', false, 'dim_payment_type'),
      col('paid', 'boolean'),
      col('payment_date', 'date', false, 'dim_date'),
    ],
  },
} as const satisfies { [K in DimensionTableName]: DimensionTable & { name: K } } & { [K in FactTableName]: FactTable & { name: K } };

export function isWarehouseTableName(name: string): name is WarehouseTableName {
  return (WAREHOUSE_TABLE_NAMES as readonly string[]).includes(name);
}

export function warehouseTable(name: WarehouseTableName): WarehouseTable {
  return WAREHOUSE_TABLES[name];
}
