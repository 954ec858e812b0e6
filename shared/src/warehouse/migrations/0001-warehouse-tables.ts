import type { Migration } from './migration';

/** The warehouse's 11 tables exactly as ../shared/SPEC.md §2 names and types them. */
export const migration: Migration = {
  id: 1,
  name: 'warehouse-tables',
  sql: `
CREATE TABLE dim_date (date_id date PRIMARY KEY, year int NOT NULL, month int NOT NULL, day int NOT NULL,
  day_of_week int NOT NULL, day_name varchar NOT NULL, month_name varchar NOT NULL, quarter int NOT NULL);
CREATE TABLE dim_staff (staff_id int PRIMARY KEY, first_name varchar NOT NULL, last_name varchar NOT NULL,
  department_name varchar NOT NULL, location varchar NOT NULL, email_address varchar NOT NULL);
CREATE TABLE dim_location (location_id int PRIMARY KEY, address_line_1 varchar NOT NULL, address_line_2 varchar,
  district varchar, city varchar NOT NULL, postal_code varchar NOT NULL, country varchar NOT NULL, phone varchar NOT NULL);
CREATE TABLE dim_currency (currency_id int PRIMARY KEY, currency_code varchar NOT NULL, currency_name varchar NOT NULL);
CREATE TABLE dim_design (design_id int PRIMARY KEY, design_name varchar NOT NULL, file_location varchar NOT NULL,
  file_name varchar NOT NULL);
CREATE TABLE dim_counterparty (counterparty_id int PRIMARY KEY, counterparty_legal_name varchar NOT NULL,
  counterparty_legal_address_line_1 varchar NOT NULL, counterparty_legal_address_line_2 varchar,
  counterparty_legal_district varchar, counterparty_legal_city varchar NOT NULL,
  counterparty_legal_postal_code varchar NOT NULL, counterparty_legal_country varchar NOT NULL,
  counterparty_legal_phone_number varchar NOT NULL);
CREATE TABLE dim_payment_type (payment_type_id int PRIMARY KEY, payment_type_name varchar NOT NULL);
CREATE TABLE dim_transaction (transaction_id int PRIMARY KEY, transaction_type varchar NOT NULL,
  sales_order_id int, purchase_order_id int);
CREATE TABLE fact_sales_order (sales_record_id serial PRIMARY KEY, sales_order_id int NOT NULL,
  created_date date NOT NULL REFERENCES dim_date, created_time time NOT NULL,
  last_updated_date date NOT NULL REFERENCES dim_date, last_updated_time time NOT NULL,
  sales_staff_id int NOT NULL REFERENCES dim_staff, counterparty_id int NOT NULL REFERENCES dim_counterparty,
  units_sold int NOT NULL, unit_price numeric(10, 2) NOT NULL, currency_id int NOT NULL REFERENCES dim_currency,
  design_id int NOT NULL REFERENCES dim_design, agreed_payment_date date NOT NULL REFERENCES dim_date,
  agreed_delivery_date date NOT NULL REFERENCES dim_date,
  agreed_delivery_location_id int NOT NULL REFERENCES dim_location);
CREATE TABLE fact_purchase_order (purchase_record_id serial PRIMARY KEY, purchase_order_id int NOT NULL,
  created_date date NOT NULL REFERENCES dim_date, created_time time NOT NULL,
  last_updated_date date NOT NULL REFERENCES dim_date, last_updated_time time NOT NULL,
  staff_id int NOT NULL REFERENCES dim_staff, counterparty_id int NOT NULL REFERENCES dim_counterparty,
  item_code varchar NOT NULL, item_quantity int NOT NULL, item_unit_price numeric NOT NULL,
  currency_id int NOT NULL REFERENCES dim_currency, agreed_delivery_date date NOT NULL REFERENCES dim_date,
  agreed_payment_date date NOT NULL REFERENCES dim_date,
  agreed_delivery_location_id int NOT NULL REFERENCES dim_location);
CREATE TABLE fact_payment (payment_record_id serial PRIMARY KEY, payment_id int NOT NULL,
  created_date date NOT NULL REFERENCES dim_date, created_time time NOT NULL,
  last_updated_date date NOT NULL REFERENCES dim_date, last_updated_time time NOT NULL,
  transaction_id int NOT NULL REFERENCES dim_transaction, counterparty_id int NOT NULL REFERENCES dim_counterparty,
  payment_amount numeric NOT NULL, currency_id int NOT NULL REFERENCES dim_currency,
  payment_type_id int NOT NULL REFERENCES dim_payment_type, paid boolean NOT NULL,
  payment_date date NOT NULL REFERENCES dim_date);
`,
};
