/**
 * The totesys source schema (../shared/SPEC.md §1), applied only to the embedded source database
 * this tool creates; the pipeline never writes to a source it did not create.
 * Beside the SPEC's tables: an index on (last_updated, id) per table, which the change-detector's
 * keyset cursor uses; a real totesys may not have it (docs/operations.md says when to add one).
 */
export const SOURCE_SCHEMA_SQL = `
CREATE TABLE address (address_id int PRIMARY KEY, address_line_1 varchar NOT NULL, address_line_2 varchar,
  district varchar, city varchar NOT NULL, postal_code varchar NOT NULL, country varchar NOT NULL,
  phone varchar NOT NULL, created_at timestamp NOT NULL, last_updated timestamp NOT NULL);
CREATE TABLE counterparty (counterparty_id int PRIMARY KEY, counterparty_legal_name varchar NOT NULL,
  legal_address_id int NOT NULL REFERENCES address, commercial_contact varchar, delivery_contact varchar,
  created_at timestamp NOT NULL, last_updated timestamp NOT NULL);
CREATE TABLE currency (currency_id int PRIMARY KEY, currency_code varchar(3) NOT NULL,
  created_at timestamp NOT NULL, last_updated timestamp NOT NULL);
CREATE TABLE department (department_id int PRIMARY KEY, department_name varchar NOT NULL, location varchar,
  manager varchar, created_at timestamp NOT NULL, last_updated timestamp NOT NULL);
CREATE TABLE design (design_id int PRIMARY KEY, created_at timestamp NOT NULL, last_updated timestamp NOT NULL,
  design_name varchar NOT NULL, file_location varchar NOT NULL, file_name varchar NOT NULL);
CREATE TABLE staff (staff_id int PRIMARY KEY, first_name varchar NOT NULL, last_name varchar NOT NULL,
  department_id int NOT NULL REFERENCES department, email_address varchar NOT NULL,
  created_at timestamp NOT NULL, last_updated timestamp NOT NULL);
CREATE TABLE sales_order (sales_order_id int PRIMARY KEY, created_at timestamp NOT NULL, last_updated timestamp NOT NULL,
  design_id int NOT NULL REFERENCES design, staff_id int NOT NULL REFERENCES staff,
  counterparty_id int NOT NULL REFERENCES counterparty, units_sold int NOT NULL, unit_price numeric NOT NULL,
  currency_id int NOT NULL REFERENCES currency, agreed_delivery_date varchar NOT NULL,
  agreed_payment_date varchar NOT NULL, agreed_delivery_location_id int NOT NULL REFERENCES address);
CREATE TABLE purchase_order (purchase_order_id int PRIMARY KEY, created_at timestamp NOT NULL, last_updated timestamp NOT NULL,
  staff_id int NOT NULL REFERENCES staff, counterparty_id int NOT NULL REFERENCES counterparty,
  item_code varchar NOT NULL, item_quantity int NOT NULL, item_unit_price numeric NOT NULL,
  currency_id int NOT NULL REFERENCES currency, agreed_delivery_date varchar NOT NULL,
  agreed_payment_date varchar NOT NULL, agreed_delivery_location_id int NOT NULL REFERENCES address);
CREATE TABLE payment_type (payment_type_id int PRIMARY KEY, payment_type_name varchar NOT NULL,
  created_at timestamp NOT NULL, last_updated timestamp NOT NULL);
CREATE TABLE "transaction" (transaction_id int PRIMARY KEY, transaction_type varchar NOT NULL,
  sales_order_id int REFERENCES sales_order, purchase_order_id int REFERENCES purchase_order,
  created_at timestamp NOT NULL, last_updated timestamp NOT NULL);
CREATE TABLE payment (payment_id int PRIMARY KEY, created_at timestamp NOT NULL, last_updated timestamp NOT NULL,
  transaction_id int NOT NULL REFERENCES "transaction", counterparty_id int NOT NULL REFERENCES counterparty,
  payment_amount numeric NOT NULL, currency_id int NOT NULL REFERENCES currency,
  payment_type_id int NOT NULL REFERENCES payment_type, paid boolean NOT NULL, payment_date varchar NOT NULL,
  company_ac_number int NOT NULL, counterparty_ac_number int NOT NULL);

CREATE INDEX address_last_updated_idx ON address (last_updated, address_id);
CREATE INDEX counterparty_last_updated_idx ON counterparty (last_updated, counterparty_id);
CREATE INDEX currency_last_updated_idx ON currency (last_updated, currency_id);
CREATE INDEX department_last_updated_idx ON department (last_updated, department_id);
CREATE INDEX design_last_updated_idx ON design (last_updated, design_id);
CREATE INDEX staff_last_updated_idx ON staff (last_updated, staff_id);
CREATE INDEX sales_order_last_updated_idx ON sales_order (last_updated, sales_order_id);
CREATE INDEX purchase_order_last_updated_idx ON purchase_order (last_updated, purchase_order_id);
CREATE INDEX payment_type_last_updated_idx ON payment_type (last_updated, payment_type_id);
CREATE INDEX transaction_last_updated_idx ON "transaction" (last_updated, transaction_id);
CREATE INDEX payment_last_updated_idx ON payment (last_updated, payment_id);
`;
