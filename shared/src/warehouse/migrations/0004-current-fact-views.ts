import type { Migration } from './migration';

/**
 * Current state one query away: facts keep every source version (SPEC §3), so each fact gets a view
 * holding only the latest version of each order or payment (the greatest last_updated date and
 * time; the version unique index of migration 0002 makes it unique). DISTINCT ON walks that index
 * backwards, and a filter on the natural id is pushed into the view. docs/queries.md shows them at work.
 */
export const migration: Migration = {
  id: 4,
  name: 'current-fact-views',
  sql: `
CREATE VIEW fact_sales_order_current AS
  SELECT DISTINCT ON (sales_order_id) *
  FROM fact_sales_order
  ORDER BY sales_order_id DESC, last_updated_date DESC, last_updated_time DESC;
COMMENT ON VIEW fact_sales_order_current IS 'The latest version of each sales order (one row per sales_order_id).';
CREATE VIEW fact_purchase_order_current AS
  SELECT DISTINCT ON (purchase_order_id) *
  FROM fact_purchase_order
  ORDER BY purchase_order_id DESC, last_updated_date DESC, last_updated_time DESC;
COMMENT ON VIEW fact_purchase_order_current IS 'The latest version of each purchase order (one row per purchase_order_id).';
CREATE VIEW fact_payment_current AS
  SELECT DISTINCT ON (payment_id) *
  FROM fact_payment
  ORDER BY payment_id DESC, last_updated_date DESC, last_updated_time DESC;
COMMENT ON VIEW fact_payment_current IS 'The latest version of each payment (one row per payment_id).';
`,
};
