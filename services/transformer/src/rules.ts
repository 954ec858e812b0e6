import { SOURCE_TABLES, type SourceTableName } from '@totes/shared/source/tables';
import { VERSION_COLUMN, WAREHOUSE_TABLES, type WarehouseTableName } from '@totes/shared/warehouse/tables';
import { dateDimensionRow } from './calendar';
import { currencyName } from './currency-names';
import { DECIMAL_SPECS, type OutputRow } from './parquet-file';
import type { RawBatchRow } from './raw-batch';
import { JOINS, type JoinName, type JoinedImage, type SourceImages } from './source-images';
import { RowReader, parseSourceTimestamp, type DecimalSpec, type RowIssue } from './source-values';

/**
 * SPEC §3, one rule per source table: which warehouse tables a batch of that table feeds, and how
 * each row maps. A rule reads a row through a RowReader; a row with any issue is quarantined
 * (SPEC §5) and emits nothing, the rest of the batch goes on.
 */
export interface RuleContext {
  emit(target: WarehouseTableName, row: OutputRow): void;
  /** Leave a batch row out, with the reasons. Several calls for one row add up. */
  quarantine(row: RawBatchRow, issues: readonly RowIssue[]): void;
  /** Something worth a log line that is not bad input. */
  note(message: string, attributes: Record<string, unknown>): void;
  readonly images: SourceImages;
  /**
   * When the batch's rows were observed (batch-extracted `observedAt`, in `_version` microseconds):
   * the version stamp of every dimension and fact row derived from the batch rows themselves.
   * Passes of a table observe in strictly increasing order, each row as it stood then, so the row
   * observed later is the newer one; a row's last_updated may go backwards (SPEC §1: a writer
   * stamps it when its transaction starts and may commit late).
   */
  readonly observed: bigint;
}

export interface SourceRule {
  accept(row: RawBatchRow, ctx: RuleContext): void;
  /** Called once after the last row: joined rules read the source here. */
  finish(ctx: RuleContext): Promise<void>;
}

/**
 * dim_date rows are generated, never edited: their content is a function of the date alone, so
 * every producer stamps them alike (the epoch) and "newest stamp wins" can never change one.
 */
export const DATE_DIMENSION_VERSION = 0n;

const need = (target: WarehouseTableName, column: string) => `${target}.${column}`;

function decimalSpec(target: WarehouseTableName, column: string): DecimalSpec {
  const type = WAREHOUSE_TABLES[target].columns.find((c) => c.name === column)?.type;
  if (type !== 'numeric' && type !== 'numeric(10,2)') throw new Error(`${target}.${column} is not a decimal column`);
  return DECIMAL_SPECS[type];
}

/** A rule for a table whose rows map one to one onto a dimension. */
function simpleDimension(target: WarehouseTableName, map: (r: RowReader, id: number) => Record<string, OutputRow[string]>): () => SourceRule {
  return () => ({
    accept(row, ctx) {
      const r = new RowReader(row.row);
      const out = { ...map(r, row.id), [VERSION_COLUMN]: ctx.observed };
      if (r.issues.length > 0) ctx.quarantine(row, r.issues);
      else ctx.emit(target, out);
    },
    finish: async () => undefined,
  });
}

function locationRow(r: RowReader, id: number): Record<string, OutputRow[string]> {
  const t = 'dim_location';
  return {
    location_id: id,
    address_line_1: r.text('address_line_1', need(t, 'address_line_1')),
    address_line_2: r.text('address_line_2'),
    district: r.text('district'),
    city: r.text('city', need(t, 'city')),
    postal_code: r.text('postal_code', need(t, 'postal_code')),
    country: r.text('country', need(t, 'country')),
    phone: r.text('phone', need(t, 'phone')),
  };
}

// ---------- joined dimensions ----------

interface JoinedTarget {
  readonly target: 'dim_staff' | 'dim_counterparty';
  /** The warehouse row of an image; reads the main part through `m` and the joined part through `j`. */
  map(m: RowReader, j: RowReader | null): Record<string, OutputRow[string]>;
}

const JOINED_TARGETS: Record<JoinName, JoinedTarget> = {
  staff: {
    target: 'dim_staff',
    map: (m, j) => ({
      staff_id: m.int('staff_id', need('dim_staff', 'staff_id')),
      first_name: m.text('first_name', need('dim_staff', 'first_name')),
      last_name: m.text('last_name', need('dim_staff', 'last_name')),
      department_name: j?.text('department_name', need('dim_staff', 'department_name')) ?? null,
      location: j?.text('location', need('dim_staff', 'location')) ?? null,
      email_address: m.text('email_address', need('dim_staff', 'email_address')),
    }),
  },
  counterparty: {
    target: 'dim_counterparty',
    map: (m, j) => {
      const t = 'dim_counterparty';
      return {
        counterparty_id: m.int('counterparty_id', need(t, 'counterparty_id')),
        counterparty_legal_name: m.text('counterparty_legal_name', need(t, 'counterparty_legal_name')),
        counterparty_legal_address_line_1: j?.text('address_line_1', need(t, 'counterparty_legal_address_line_1')) ?? null,
        counterparty_legal_address_line_2: j?.text('address_line_2') ?? null,
        counterparty_legal_district: j?.text('district') ?? null,
        counterparty_legal_city: j?.text('city', need(t, 'counterparty_legal_city')) ?? null,
        counterparty_legal_postal_code: j?.text('postal_code', need(t, 'counterparty_legal_postal_code')) ?? null,
        counterparty_legal_country: j?.text('country', need(t, 'counterparty_legal_country')) ?? null,
        counterparty_legal_phone_number: j?.text('phone', need(t, 'counterparty_legal_phone_number')) ?? null,
      };
    },
  },
};

/**
 * A joined dimension fed by a batch of either of its sources. `side` says which source this batch
 * is: 'main' (staff, counterparty: the batch's own keys) or 'joined' (department, address: every
 * main row referring to the batch's keys). The warehouse row comes from the current image, not
 * from the batch row, stamped with when the image was read (source-images.ts says why); a problem
 * in an image is charged to the batch row that triggered it.
 */
function joinedDimension(join: JoinName, side: 'main' | 'joined'): () => SourceRule {
  const { main, joined, foreignKey } = JOINS[join];
  const { target, map } = JOINED_TARGETS[join];
  const mainKey = SOURCE_TABLES[main].primaryKey;
  return () => {
    const batchRows = new Map<number, RawBatchRow>();
    return {
      accept(row) {
        batchRows.set(row.id, row);
      },
      async finish(ctx) {
        if (batchRows.size === 0) return;
        const read = await ctx.images.read(join, side, [...batchRows.keys()].sort((a, b) => a - b));
        const readAt = parseSourceTimestamp(read.readAt);
        if (!readAt) throw new Error(`the source's clock read ${JSON.stringify(read.readAt)}, which is not a timestamp`);
        const images: JoinedImage[] = read.images;
        const seen = new Set<number>();
        for (const image of images) {
          const m = new RowReader(image.main, side === 'main' ? '' : `${main}.`);
          const j = image.joined ? new RowReader(image.joined, side === 'joined' ? '' : `${joined}.`) : null;
          const mainId = image.main[mainKey];
          const foreignId = image.main[foreignKey];
          const trigger = batchRows.get(Number(side === 'main' ? mainId : foreignId));
          if (!trigger) continue; // cannot happen: the query selects by the batch's keys
          seen.add(trigger.id);
          if (!j) m.issue(foreignKey, `${joined} ${String(foreignId)} does not exist in the source; ${target} needs it`);
          const row = { ...map(m, j), [VERSION_COLUMN]: readAt.epochMicros };
          const issues = [...m.issues, ...(j?.issues ?? [])];
          if (issues.length === 0) {
            ctx.emit(target, row);
          } else {
            const suffix = side === 'joined' ? `; ${main} ${String(mainId)} left out of ${target}` : '';
            ctx.quarantine(trigger, issues.map((i) => ({ column: i.column, reason: `${i.reason}${suffix}` })));
          }
        }
        if (side === 'main') {
          for (const [id, row] of batchRows) {
            if (!seen.has(id)) ctx.note(`${main} ${id} is no longer in the source; it has no ${target} row to derive`, { id, line: row.line });
          }
        }
      },
    };
  };
}

// ---------- facts ----------

interface FactMapping {
  readonly target: 'fact_sales_order' | 'fact_purchase_order' | 'fact_payment';
  /** The fact row and the days (dim_date keys) it references. */
  map(r: RowReader, id: number): { row: Record<string, OutputRow[string]>; dates: (number | null)[] };
}

/** created_at and last_updated split into date and time, microseconds kept. */
function splitTimestamps(r: RowReader, target: FactMapping['target']) {
  const created = r.timestamp('created_at', need(target, 'created_date'));
  const updated = r.timestamp('last_updated', need(target, 'last_updated_date'));
  return {
    dates: [created?.days ?? null, updated?.days ?? null],
    columns: {
      created_date: created?.days ?? null,
      created_time: created?.timeMicros ?? null,
      last_updated_date: updated?.days ?? null,
      last_updated_time: updated?.timeMicros ?? null,
    },
  };
}

const FACTS: Record<'sales_order' | 'purchase_order' | 'payment', FactMapping> = {
  sales_order: {
    target: 'fact_sales_order',
    map(r, id) {
      const t = 'fact_sales_order';
      const split = splitTimestamps(r, t);
      const agreedPayment = r.textDate('agreed_payment_date', need(t, 'agreed_payment_date'));
      const agreedDelivery = r.textDate('agreed_delivery_date', need(t, 'agreed_delivery_date'));
      return {
        dates: [...split.dates, agreedPayment, agreedDelivery],
        row: {
          sales_order_id: id,
          ...split.columns,
          sales_staff_id: r.int('staff_id', need(t, 'sales_staff_id')),
          counterparty_id: r.int('counterparty_id', need(t, 'counterparty_id')),
          units_sold: r.int('units_sold', need(t, 'units_sold')),
          unit_price: r.decimal('unit_price', decimalSpec(t, 'unit_price'), need(t, 'unit_price')),
          currency_id: r.int('currency_id', need(t, 'currency_id')),
          design_id: r.int('design_id', need(t, 'design_id')),
          agreed_payment_date: agreedPayment,
          agreed_delivery_date: agreedDelivery,
          agreed_delivery_location_id: r.int('agreed_delivery_location_id', need(t, 'agreed_delivery_location_id')),
        },
      };
    },
  },
  purchase_order: {
    target: 'fact_purchase_order',
    map(r, id) {
      const t = 'fact_purchase_order';
      const split = splitTimestamps(r, t);
      const agreedDelivery = r.textDate('agreed_delivery_date', need(t, 'agreed_delivery_date'));
      const agreedPayment = r.textDate('agreed_payment_date', need(t, 'agreed_payment_date'));
      return {
        dates: [...split.dates, agreedDelivery, agreedPayment],
        row: {
          purchase_order_id: id,
          ...split.columns,
          staff_id: r.int('staff_id', need(t, 'staff_id')),
          counterparty_id: r.int('counterparty_id', need(t, 'counterparty_id')),
          item_code: r.text('item_code', need(t, 'item_code')),
          item_quantity: r.int('item_quantity', need(t, 'item_quantity')),
          item_unit_price: r.decimal('item_unit_price', decimalSpec(t, 'item_unit_price'), need(t, 'item_unit_price')),
          currency_id: r.int('currency_id', need(t, 'currency_id')),
          agreed_delivery_date: agreedDelivery,
          agreed_payment_date: agreedPayment,
          agreed_delivery_location_id: r.int('agreed_delivery_location_id', need(t, 'agreed_delivery_location_id')),
        },
      };
    },
  },
  payment: {
    target: 'fact_payment',
    map(r, id) {
      const t = 'fact_payment';
      const split = splitTimestamps(r, t);
      const paymentDate = r.textDate('payment_date', need(t, 'payment_date'));
      return {
        dates: [...split.dates, paymentDate],
        row: {
          payment_id: id,
          ...split.columns,
          transaction_id: r.int('transaction_id', need(t, 'transaction_id')),
          counterparty_id: r.int('counterparty_id', need(t, 'counterparty_id')),
          payment_amount: r.decimal('payment_amount', decimalSpec(t, 'payment_amount'), need(t, 'payment_amount')),
          currency_id: r.int('currency_id', need(t, 'currency_id')),
          payment_type_id: r.int('payment_type_id', need(t, 'payment_type_id')),
          paid: r.bool('paid', need(t, 'paid')),
          payment_date: paymentDate,
        },
      };
    },
  },
};

/** A fact table: one fact row per source row version, and dim_date rows for every date it references. */
function fact(source: keyof typeof FACTS): () => SourceRule {
  const { target, map } = FACTS[source];
  return () => {
    // A batch references few distinct days; derive each one once.
    const days = new Set<number>();
    return {
      accept(row, ctx) {
        const r = new RowReader(row.row);
        const { row: out, dates } = map(r, row.id);
        if (r.issues.length > 0) {
          ctx.quarantine(row, r.issues);
          return;
        }
        ctx.emit(target, { ...out, [VERSION_COLUMN]: ctx.observed });
        for (const day of dates) {
          if (day === null || days.has(day)) continue;
          days.add(day);
          ctx.emit('dim_date', { ...dateDimensionRow(day), [VERSION_COLUMN]: DATE_DIMENSION_VERSION });
        }
      },
      finish: async () => undefined,
    };
  };
}

// ---------- the rules ----------

function addressRule(): SourceRule {
  const location = simpleDimension('dim_location', locationRow)();
  const counterparties = joinedDimension('counterparty', 'joined')();
  return {
    accept(row, ctx) {
      location.accept(row, ctx);
      counterparties.accept(row, ctx);
    },
    finish: (ctx) => counterparties.finish(ctx),
  };
}

const RULES: Record<SourceTableName, () => SourceRule> = {
  address: addressRule,
  counterparty: joinedDimension('counterparty', 'main'),
  staff: joinedDimension('staff', 'main'),
  department: joinedDimension('staff', 'joined'),
  currency: simpleDimension('dim_currency', (r, id) => {
    const code = r.text('currency_code', need('dim_currency', 'currency_code'));
    const name = code === null ? null : currencyName(code);
    if (code !== null && name === undefined) r.issue('currency_code', `"${code}" is not an ISO 4217 currency code`);
    return { currency_id: id, currency_code: code, currency_name: name ?? null };
  }),
  design: simpleDimension('dim_design', (r, id) => ({
    design_id: id,
    design_name: r.text('design_name', need('dim_design', 'design_name')),
    file_location: r.text('file_location', need('dim_design', 'file_location')),
    file_name: r.text('file_name', need('dim_design', 'file_name')),
  })),
  payment_type: simpleDimension('dim_payment_type', (r, id) => ({
    payment_type_id: id,
    payment_type_name: r.text('payment_type_name', need('dim_payment_type', 'payment_type_name')),
  })),
  transaction: simpleDimension('dim_transaction', (r, id) => ({
    transaction_id: id,
    transaction_type: r.text('transaction_type', need('dim_transaction', 'transaction_type')),
    sales_order_id: r.int('sales_order_id'),
    purchase_order_id: r.int('purchase_order_id'),
  })),
  sales_order: fact('sales_order'),
  purchase_order: fact('purchase_order'),
  payment: fact('payment'),
};

/** A fresh rule (with its own per-batch state) for a batch of `table`. */
export function createRule(table: SourceTableName): SourceRule {
  return RULES[table]();
}
