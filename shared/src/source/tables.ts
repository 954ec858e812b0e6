/**
 * The totesys source tables (../shared/SPEC.md §1): the closed list every SQL identifier for the
 * source comes from. Column order is the real `SELECT *` order.
 */
export type SourceColumnType = 'int' | 'varchar' | 'numeric' | 'timestamp' | 'boolean';

export interface SourceColumn {
  readonly name: string;
  readonly type: SourceColumnType;
  readonly nullable: boolean;
}

export interface SourceTable {
  readonly name: SourceTableName;
  readonly primaryKey: string;
  readonly columns: readonly SourceColumn[];
}

export const SOURCE_TABLE_NAMES = [
  'address',
  'counterparty',
  'currency',
  'department',
  'design',
  'staff',
  'sales_order',
  'purchase_order',
  'payment_type',
  'transaction',
  'payment',
] as const;
export type SourceTableName = (typeof SOURCE_TABLE_NAMES)[number];

const c = (name: string, type: SourceColumnType, nullable = false): SourceColumn => ({ name, type, nullable });

export const SOURCE_TABLES = {
  address: {
    name: 'address',
    primaryKey: 'address_id',
    columns: [
      c('address_id', 'int'),
      c('address_line_1', 'varchar'),
      c('address_line_2', 'varchar', true),
      c('district', 'varchar', true),
      c('city', 'varchar'),
      c('postal_code', 'varchar'),
      c('country', 'varchar'),
      c('phone', 'varchar'),
      c('created_at', 'timestamp'),
      c('last_updated', 'timestamp'),
    ],
  },
  counterparty: {
    name: 'counterparty',
    primaryKey: 'counterparty_id',
    columns: [
      c('counterparty_id', 'int'),
      c('counterparty_legal_name', 'varchar'),
      c('legal_address_id', 'int'),
      c('commercial_contact', 'varchar', true),
      c('delivery_contact', 'varchar', true),
      c('created_at', 'timestamp'),
      c('last_updated', 'timestamp'),
    ],
  },
  currency: {
    name: 'currency',
    primaryKey: 'currency_id',
    columns: [c('currency_id', 'int'), c('currency_code', 'varchar'), c('created_at', 'timestamp'), c('last_updated', 'timestamp')],
  },
  department: {
    name: 'department',
    primaryKey: 'department_id',
    columns: [
      c('department_id', 'int'),
      c('department_name', 'varchar'),
      c('location', 'varchar', true),
      c('manager', 'varchar', true),
      c('created_at', 'timestamp'),
      c('last_updated', 'timestamp'),
    ],
  },
  design: {
    name: 'design',
    primaryKey: 'design_id',
    columns: [
      c('design_id', 'int'),
      c('created_at', 'timestamp'),
      c('last_updated', 'timestamp'),
      c('design_name', 'varchar'),
      c('file_location', 'varchar'),
      c('file_name', 'varchar'),
    ],
  },
  staff: {
    name: 'staff',
    primaryKey: 'staff_id',
    columns: [
      c('staff_id', 'int'),
      c('first_name', 'varchar'),
      c('last_name', 'varchar'),
      c('department_id', 'int'),
      c('email_address', 'varchar'),
      c('created_at', 'timestamp'),
      c('last_updated', 'timestamp'),
    ],
  },
  sales_order: {
    name: 'sales_order',
    primaryKey: 'sales_order_id',
    columns: [
      c('sales_order_id', 'int'),
      c('created_at', 'timestamp'),
      c('last_updated', 'timestamp'),
      c('design_id', 'int'),
      c('staff_id', 'int'),
      c('counterparty_id', 'int'),
      c('units_sold', 'int'),
      c('unit_price', 'numeric'),
      c('currency_id', 'int'),
      c('agreed_delivery_date', 'varchar'),
      c('agreed_payment_date', 'varchar'),
      c('agreed_delivery_location_id', 'int'),
    ],
  },
  purchase_order: {
    name: 'purchase_order',
    primaryKey: 'purchase_order_id',
    columns: [
      c('purchase_order_id', 'int'),
      c('created_at', 'timestamp'),
      c('last_updated', 'timestamp'),
      c('staff_id', 'int'),
      c('counterparty_id', 'int'),
      c('item_code', 'varchar'),
      c('item_quantity', 'int'),
      c('item_unit_price', 'numeric'),
      c('currency_id', 'int'),
      c('agreed_delivery_date', 'varchar'),
      c('agreed_payment_date', 'varchar'),
      c('agreed_delivery_location_id', 'int'),
    ],
  },
  payment_type: {
    name: 'payment_type',
    primaryKey: 'payment_type_id',
    columns: [c('payment_type_id', 'int'), c('payment_type_name', 'varchar'), c('created_at', 'timestamp'), c('last_updated', 'timestamp')],
  },
  transaction: {
    name: 'transaction',
    primaryKey: 'transaction_id',
    columns: [
      c('transaction_id', 'int'),
      c('transaction_type', 'varchar'),
      c('sales_order_id', 'int', true),
      c('purchase_order_id', 'int', true),
      c('created_at', 'timestamp'),
      c('last_updated', 'timestamp'),
    ],
  },
  payment: {
    name: 'payment',
    primaryKey: 'payment_id',
    columns: [
      c('payment_id', 'int'),
      c('created_at', 'timestamp'),
      c('last_updated', 'timestamp'),
      c('transaction_id', 'int'),
      c('counterparty_id', 'int'),
      c('payment_amount', 'numeric'),
      c('currency_id', 'int'),
      c('payment_type_id', 'int'),
      c('paid', 'boolean'),
      c('payment_date', 'varchar'),
      c('company_ac_number', 'int'),
      c('counterparty_ac_number', 'int'),
    ],
  },
} as const satisfies Record<SourceTableName, SourceTable>;

export function isSourceTableName(name: string): name is SourceTableName {
  return (SOURCE_TABLE_NAMES as readonly string[]).includes(name);
}

export function sourceTable(name: SourceTableName): SourceTable {
  return SOURCE_TABLES[name];
}

/** Quote an SQL identifier. Only ever called with names from a closed list or read from the catalogue. */
export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}
