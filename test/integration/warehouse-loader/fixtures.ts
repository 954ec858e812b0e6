import type { WarehouseTableName } from '../../../shared/src/warehouse/tables';
import type { ContractRow } from '../../unit/warehouse-loader/contract-parquet';

/**
 * A small warehouse's worth of rows for every table, in the shapes SPEC §2 and §3 give them, with
 * the awkward cases on purpose: NULL address parts, the 'Leds' typo, microsecond times, money that
 * no double holds, several versions of one order and of one payment (the paid flip).
 */
export const V1 = '2022-11-03 14:20:49.962000';
export const V2 = '2023-05-01 09:00:00.000001';

export const locations: ContractRow[] = [
  { location_id: 1, address_line_1: '6826 Herzog Via', address_line_2: null, district: 'Avon', city: 'New Patienceburgh', postal_code: '28441', country: 'Turkey', phone: '1803 637401', _version: V1 },
  { location_id: 2, address_line_1: '179 Alexie Cliffs', address_line_2: null, district: null, city: 'Aliso Viejo', postal_code: '99305-7380', country: 'San Marino', phone: '9621 880720', _version: V1 },
  { location_id: 3, address_line_1: '148 Sincere Fort', address_line_2: 'Flat\t2\\b', district: null, city: 'Lake Charles', postal_code: '89360', country: 'Samoa', phone: '0730 783349', _version: V1 },
];

export const counterparties: ContractRow[] = [
  {
    counterparty_id: 1,
    counterparty_legal_name: 'Fahey and Sons',
    counterparty_legal_address_line_1: '605 Haskell Trafficway',
    counterparty_legal_address_line_2: 'Axel Freeway',
    counterparty_legal_district: null,
    counterparty_legal_city: 'East Bobbie',
    counterparty_legal_postal_code: '88253-4257',
    counterparty_legal_country: 'Heard Island and McDonald Islands',
    counterparty_legal_phone_number: '9687 937447',
    _version: V1,
  },
  {
    counterparty_id: 2,
    counterparty_legal_name: "Leannon, Predovic and Morar",
    counterparty_legal_address_line_1: '079 Horacio Landing',
    counterparty_legal_address_line_2: null,
    counterparty_legal_district: null,
    counterparty_legal_city: 'Utica',
    counterparty_legal_postal_code: '93045',
    counterparty_legal_country: 'Austria',
    counterparty_legal_phone_number: '7772 084705',
    _version: V1,
  },
];

export const currencies: ContractRow[] = [
  { currency_id: 1, currency_code: 'GBP', currency_name: 'Pound Sterling', _version: V1 },
  { currency_id: 2, currency_code: 'USD', currency_name: 'US Dollar', _version: V1 },
  { currency_id: 3, currency_code: 'EUR', currency_name: 'Euro', _version: V1 },
];

export const staff: ContractRow[] = [
  { staff_id: 1, first_name: 'Jeremie', last_name: 'Franey', department_name: 'Purchasing', location: 'Manchester', email_address: 'jeremie.franey@terrifictotes.com', _version: V1 },
  { staff_id: 2, first_name: 'Deron', last_name: 'Beier', department_name: 'Production', location: 'Leds', email_address: 'deron.beier@terrifictotes.com', _version: V1 },
];

export const designs: ContractRow[] = [
  { design_id: 1, design_name: 'Wooden', file_location: '/usr', file_name: 'wooden-20220717-npgz.json', _version: V1 },
  { design_id: 2, design_name: 'Bronze', file_location: '/private', file_name: 'bronze-20221024-4dds.json', _version: V1 },
];

export const paymentTypes: ContractRow[] = [
  { payment_type_id: 1, payment_type_name: 'SALES_RECEIPT', _version: V1 },
  { payment_type_id: 2, payment_type_name: 'SALES_REFUND', _version: V1 },
  { payment_type_id: 3, payment_type_name: 'PURCHASE_PAYMENT', _version: V1 },
  { payment_type_id: 4, payment_type_name: 'PURCHASE_REFUND', _version: V1 },
];

export const transactions: ContractRow[] = [
  { transaction_id: 1, transaction_type: 'SALE', sales_order_id: 1, purchase_order_id: null, _version: V1 },
  { transaction_id: 2, transaction_type: 'PURCHASE', sales_order_id: null, purchase_order_id: 1, _version: V1 },
  { transaction_id: 3, transaction_type: 'SALE', sales_order_id: 2, purchase_order_id: null, _version: V1 },
];

export const dates: ContractRow[] = [
  { date_id: '2022-11-03', year: 2022, month: 11, day: 3, day_of_week: 4, day_name: 'Thursday', month_name: 'November', quarter: 4, _version: V1 },
  { date_id: '2024-03-31', year: 2024, month: 3, day: 31, day_of_week: 7, day_name: 'Sunday', month_name: 'March', quarter: 1, _version: V1 },
];

export const salesOrders: ContractRow[] = [
  {
    sales_order_id: 1,
    created_date: '2022-11-03',
    created_time: '14:20:52.186',
    last_updated_date: '2022-11-03',
    last_updated_time: '14:20:52.186',
    sales_staff_id: 1,
    counterparty_id: 1,
    units_sold: 42972,
    unit_price: '3.94',
    currency_id: 2,
    design_id: 2,
    agreed_payment_date: '2022-11-08',
    agreed_delivery_date: '2022-11-07',
    agreed_delivery_location_id: 3,
  },
  {
    sales_order_id: 1,
    created_date: '2022-11-03',
    created_time: '14:20:52.186',
    last_updated_date: '2022-11-04',
    last_updated_time: '09:15:00.000001',
    sales_staff_id: 1,
    counterparty_id: 1,
    units_sold: 43000,
    unit_price: '3.95',
    currency_id: 2,
    design_id: 2,
    agreed_payment_date: '2022-11-09',
    agreed_delivery_date: '2022-11-07',
    agreed_delivery_location_id: 3,
  },
  {
    sales_order_id: 2,
    created_date: '2024-03-31',
    created_time: '08:00:00',
    last_updated_date: '2024-03-31',
    last_updated_time: '08:00:00',
    sales_staff_id: 2,
    counterparty_id: 2,
    units_sold: 65839,
    unit_price: '2.91',
    currency_id: 3,
    design_id: 1,
    agreed_payment_date: '2024-04-02',
    agreed_delivery_date: '2024-04-01',
    agreed_delivery_location_id: 1,
  },
];

export const purchaseOrders: ContractRow[] = [
  {
    purchase_order_id: 1,
    created_date: '2022-11-03',
    created_time: '14:20:52.187',
    last_updated_date: '2022-11-03',
    last_updated_time: '14:20:52.187',
    staff_id: 2,
    counterparty_id: 1,
    item_code: 'ZDOI5EA',
    item_quantity: 371,
    item_unit_price: '361.39',
    currency_id: 2,
    agreed_delivery_date: '2022-11-09',
    agreed_payment_date: '2022-11-07',
    agreed_delivery_location_id: 2,
  },
];

export const payments: ContractRow[] = [
  {
    payment_id: 1,
    created_date: '2022-11-03',
    created_time: '14:20:52.186',
    last_updated_date: '2022-11-03',
    last_updated_time: '14:20:52.186',
    transaction_id: 1,
    counterparty_id: 1,
    payment_amount: '169309.68',
    currency_id: 2,
    payment_type_id: 1,
    paid: false,
    payment_date: '2022-11-08',
  },
  {
    payment_id: 1,
    created_date: '2022-11-03',
    created_time: '14:20:52.186',
    last_updated_date: '2022-11-10',
    last_updated_time: '10:00:00.5',
    transaction_id: 1,
    counterparty_id: 1,
    payment_amount: '169309.68',
    currency_id: 2,
    payment_type_id: 1,
    paid: true,
    payment_date: '2022-11-08',
  },
  {
    payment_id: 2,
    created_date: '2022-11-03',
    created_time: '14:20:52.187',
    last_updated_date: '2022-11-03',
    last_updated_time: '14:20:52.187',
    transaction_id: 2,
    counterparty_id: 1,
    payment_amount: '134075.69',
    currency_id: 2,
    payment_type_id: 3,
    paid: false,
    payment_date: '2022-11-07',
  },
  {
    payment_id: 3,
    created_date: '2024-03-31',
    created_time: '08:00:00',
    last_updated_date: '2024-03-31',
    last_updated_time: '08:00:00',
    transaction_id: 3,
    counterparty_id: 2,
    // No double holds this exactly: the loader must not pass it through one.
    payment_amount: '191596.489999',
    currency_id: 3,
    payment_type_id: 1,
    paid: false,
    payment_date: '2024-04-02',
  },
];

/** Every table's rows, dimensions first (the order a healthy pipeline tends to deliver them). */
export const ALL_TABLES: ReadonlyArray<readonly [WarehouseTableName, readonly ContractRow[]]> = [
  ['dim_date', dates],
  ['dim_staff', staff],
  ['dim_location', locations],
  ['dim_currency', currencies],
  ['dim_design', designs],
  ['dim_counterparty', counterparties],
  ['dim_payment_type', paymentTypes],
  ['dim_transaction', transactions],
  ['fact_sales_order', salesOrders],
  ['fact_purchase_order', purchaseOrders],
  ['fact_payment', payments],
];
