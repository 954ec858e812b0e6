import type { Migration } from './migration';

/**
 * Each fact version appears at most once: a source row version is (natural id, last_updated), and
 * last_updated is stored split into date and time. The loader appends with ON CONFLICT DO NOTHING
 * against these indexes, so a replayed batch adds nothing.
 */
export const migration: Migration = {
  id: 2,
  name: 'fact-version-uniqueness',
  sql: `
CREATE UNIQUE INDEX fact_sales_order_version_key ON fact_sales_order (sales_order_id, last_updated_date, last_updated_time);
CREATE UNIQUE INDEX fact_purchase_order_version_key ON fact_purchase_order (purchase_order_id, last_updated_date, last_updated_time);
CREATE UNIQUE INDEX fact_payment_version_key ON fact_payment (payment_id, last_updated_date, last_updated_time);
`,
};
