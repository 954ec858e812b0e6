import pg from 'pg';
import { inTransaction } from '@totes/shared/db/transaction';
import { quoteIdent, SOURCE_TABLES, type SourceTableName } from '@totes/shared/source/tables';
import { SimulatorError } from './errors';
import { createRng, type Rng } from './prng';
import { DESIGN_FILE_LOCATIONS, DESIGN_NAMES, REFERENCE_ROWS, REFERENCE_TABLE_NAMES } from './reference-data';

/**
 * The change simulator: a totesys in use. Each change is one source transaction, like the real
 * application's writes, with last_updated set by the database clock (to the millisecond, as the
 * real source stores it). Ids continue after the largest existing id, so it runs on an empty,
 * seeded or imported source alike; on an empty one its first change writes the reference rows.
 */
export const CHANGE_KINDS = [
  'sales-order',
  'purchase-order',
  'payment-paid',
  'order-amended',
  'design-added',
  'address-edited',
  'department-moved',
  'staff-renamed',
  'counterparty-moved',
  'reference-rows',
] as const;
export type ChangeKind = (typeof CHANGE_KINDS)[number];

/**
 * The mix, in percent: mostly new orders and paid flips, as in the real source; amendments and
 * hand edits of dimensions are rare. ('reference-rows' happens once, on an empty source.)
 */
export const DEFAULT_MIX = {
  'sales-order': 45,
  'purchase-order': 18,
  'payment-paid': 27,
  'order-amended': 2,
  'design-added': 2,
  'address-edited': 1.5,
  'department-moved': 1.5,
  'staff-renamed': 1.5,
  'counterparty-moved': 1.5,
} as const satisfies Partial<Record<ChangeKind, number>>;
type MixKind = keyof typeof DEFAULT_MIX;

export interface SimulatedChange {
  readonly kind: ChangeKind;
  /** Every row the change wrote, by table. */
  readonly rows: readonly { readonly table: SourceTableName; readonly id: number }[];
}

export interface SimulatorStats {
  readonly changes: number;
  readonly failures: number;
  readonly byKind: Readonly<Record<ChangeKind, number>>;
}

export interface SimulatorOptions {
  readonly url: string;
  /** Changes per second (a ceiling: a slow database lowers it, it never bursts to catch up). */
  readonly rate: number;
  readonly seed: number;
  readonly onChange?: (change: SimulatedChange) => void;
  /** A failed change (it rolled back); the simulator carries on after a pause. */
  readonly onError?: (err: unknown) => void;
}

export interface Simulator {
  stop(): Promise<void>;
  stats(): SimulatorStats;
}

const STAFF_LAST_NAMES = ['Franey', 'Beier', 'Erdman', 'Glover', 'Zieme', 'Kreiger', 'Rippin', 'Bergstrom', 'Ratke', 'Kuhn', 'Cremin', 'Walker', 'Lehner'];
const STREET_SUFFIXES = ['Via', 'Cliffs', 'Fort', 'Skyway', 'Track', 'Island', 'Ways', 'Common', 'Garden', 'Flat', 'Mission', 'Expressway'];
const CITIES = ['Manchester', 'Leeds'] as const;

/** The database's clock to the millisecond, as a source timestamp. */
const NOW = `date_trunc('milliseconds', localtimestamp)`;
const TODAY_PLUS = (param: string) => `to_char(current_date + ${param}::int, 'YYYY-MM-DD')`;

interface Keys {
  readonly design: number[];
  readonly staff: number[];
  readonly counterparty: number[];
  readonly address: number[];
  readonly currency: number[];
  readonly department: number[];
}

/** Makes one change at a time on one connection. Exposed for tests; startSimulator paces it. */
export class ChangeMaker {
  private readonly rng: Rng;

  constructor(
    private readonly client: pg.Client,
    seed: number,
  ) {
    this.rng = createRng(seed, 0x51a7);
  }

  /** Make one change, in its own transaction; returns what it wrote. */
  next(): Promise<SimulatedChange> {
    return inTransaction(this.client, () => this.change());
  }

  private pickKind(): MixKind {
    const total = Object.values(DEFAULT_MIX).reduce((a, b) => a + b, 0);
    let r = this.rng.next() * total;
    for (const [kind, weight] of Object.entries(DEFAULT_MIX) as [MixKind, number][]) {
      r -= weight;
      if (r < 0) return kind;
    }
    return 'sales-order';
  }

  private async keys(): Promise<Keys> {
    const r = await this.client.query<Keys>(
      `SELECT ARRAY(SELECT design_id FROM design ORDER BY 1) AS design, ARRAY(SELECT staff_id FROM staff ORDER BY 1) AS staff,
              ARRAY(SELECT counterparty_id FROM counterparty ORDER BY 1) AS counterparty, ARRAY(SELECT address_id FROM address ORDER BY 1) AS address,
              ARRAY(SELECT currency_id FROM currency ORDER BY 1) AS currency, ARRAY(SELECT department_id FROM department ORDER BY 1) AS department`,
    );
    const keys = r.rows[0];
    if (!keys) throw new SimulatorError('The source did not answer the key query.');
    return keys;
  }

  /**
   * The next id of a table. The transaction-scoped advisory lock serialises id allocation per table
   * across simulators, so two of them never pick the same id.
   */
  private async nextId(table: SourceTableName): Promise<number> {
    const pk = quoteIdent(SOURCE_TABLES[table].primaryKey);
    await this.client.query(`SELECT pg_advisory_xact_lock(hashtext($1))`, [`totes-simulator:${table}`]);
    const r = await this.client.query<{ id: number }>(`SELECT coalesce(max(${pk}), 0) + 1 AS id FROM ${quoteIdent(table)}`);
    return r.rows[0]?.id ?? 1;
  }

  /** A random existing id at or after a random point (wrapping), using the primary key index only. */
  private async someId(table: SourceTableName, where = 'true'): Promise<number | undefined> {
    const pk = quoteIdent(SOURCE_TABLES[table].primaryKey);
    const max = await this.client.query<{ max: number | null }>(`SELECT max(${pk}) AS max FROM ${quoteIdent(table)}`);
    const top = max.rows[0]?.max;
    if (top === null || top === undefined) return undefined;
    const from = this.rng.int(1, top);
    for (const [op, start] of [['>=', from], ['>=', 1]] as const) {
      const r = await this.client.query<{ id: number }>(
        `SELECT ${pk} AS id FROM ${quoteIdent(table)} WHERE ${pk} ${op} $1 AND (${where}) ORDER BY ${pk} LIMIT 1 FOR UPDATE`,
        [start],
      );
      if (r.rows[0]) return r.rows[0].id;
    }
    return undefined;
  }

  private async change(): Promise<SimulatedChange> {
    const keys = await this.keys();
    if (keys.currency.length === 0 && keys.staff.length === 0 && keys.address.length === 0) return this.insertReferenceRows();
    for (const [table, list] of Object.entries(keys) as [keyof Keys, number[]][]) {
      if (list.length === 0 && table !== 'design') {
        throw new SimulatorError(`The source has no ${table} rows but has other reference rows; the simulator cannot make orders on it.`);
      }
    }
    const kind = keys.design.length === 0 ? 'design-added' : this.pickKind();
    switch (kind) {
      case 'sales-order':
        return this.salesOrder(keys);
      case 'purchase-order':
        return this.purchaseOrder(keys);
      case 'payment-paid':
        return (await this.paymentPaid()) ?? this.salesOrder(keys);
      case 'order-amended':
        return (await this.orderAmended()) ?? this.salesOrder(keys);
      case 'design-added':
        return this.designAdded();
      case 'address-edited':
        return this.addressEdited(keys);
      case 'department-moved':
        return this.departmentMoved(keys);
      case 'staff-renamed':
        return this.staffRenamed(keys);
      case 'counterparty-moved':
        return this.counterpartyMoved(keys);
    }
  }

  private async insertReferenceRows(): Promise<SimulatedChange> {
    const rows: { table: SourceTableName; id: number }[] = [];
    for (const table of REFERENCE_TABLE_NAMES) {
      const columns = SOURCE_TABLES[table].columns.map((c) => c.name);
      for (const row of REFERENCE_ROWS[table]) {
        await this.client.query(
          `INSERT INTO ${quoteIdent(table)} (${columns.map(quoteIdent).join(', ')}) VALUES (${row.map((_, i) => `$${i + 1}`).join(', ')})`,
          [...row],
        );
        rows.push({ table, id: Number(row[0]) });
      }
    }
    return { kind: 'reference-rows', rows };
  }

  /** Insert the order's transaction and its unpaid payment: same created_at, the exact amount rule. */
  private async transactionAndPayment(
    kind: 'SALE' | 'PURCHASE',
    orderId: number,
    counterparty: number,
    amountSql: string,
    amountParams: readonly (string | number)[],
    currency: number,
    paymentDate: string,
  ): Promise<{ table: SourceTableName; id: number }[]> {
    const transactionId = await this.nextId('transaction');
    await this.client.query(
      `INSERT INTO "transaction" (transaction_id, transaction_type, sales_order_id, purchase_order_id, created_at, last_updated)
       VALUES ($1, $2, $3, $4, ${NOW}, ${NOW})`,
      [transactionId, kind, kind === 'SALE' ? orderId : null, kind === 'PURCHASE' ? orderId : null],
    );
    const paymentId = await this.nextId('payment');
    await this.client.query(
      `INSERT INTO payment (payment_id, created_at, last_updated, transaction_id, counterparty_id, payment_amount, currency_id,
                            payment_type_id, paid, payment_date, company_ac_number, counterparty_ac_number)
       VALUES ($1, ${NOW}, ${NOW}, $2, $3, ${amountSql}, $4, $5, false, $6, $7, $8)`,
      [
        paymentId,
        transactionId,
        counterparty,
        currency,
        kind === 'SALE' ? 1 : 3,
        paymentDate,
        this.rng.int(10_000_000, 99_999_999),
        this.rng.int(10_000_000, 99_999_999),
        ...amountParams,
      ],
    );
    return [
      { table: 'transaction', id: transactionId },
      { table: 'payment', id: paymentId },
    ];
  }

  private async agreedDates(): Promise<{ delivery: string; payment: string }> {
    const r = await this.client.query<{ delivery: string; payment: string }>(
      `SELECT ${TODAY_PLUS('$1')} AS delivery, ${TODAY_PLUS('$2')} AS payment`,
      [Math.round(this.rng.next() * 7), Math.round(this.rng.next() * 6)],
    );
    const dates = r.rows[0];
    if (!dates) throw new SimulatorError('The source did not answer the date query.');
    return dates;
  }

  private async salesOrder(keys: Keys): Promise<SimulatedChange> {
    const id = await this.nextId('sales_order');
    const counterparty = this.rng.pick(keys.counterparty);
    const currency = this.rng.pick(keys.currency);
    const units = this.rng.int(1_000, 100_000);
    const price = (this.rng.int(200, 400) / 100).toFixed(2);
    const dates = await this.agreedDates();
    await this.client.query(
      `INSERT INTO sales_order (sales_order_id, created_at, last_updated, design_id, staff_id, counterparty_id, units_sold, unit_price,
                                currency_id, agreed_delivery_date, agreed_payment_date, agreed_delivery_location_id)
       VALUES ($1, ${NOW}, ${NOW}, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
      [id, this.rng.pick(keys.design), this.rng.pick(keys.staff), counterparty, units, price, currency, dates.delivery, dates.payment, this.rng.pick(keys.address)],
    );
    const rest = await this.transactionAndPayment('SALE', id, counterparty, '$9::numeric * $10::numeric', [units, price], currency, dates.payment);
    return { kind: 'sales-order', rows: [{ table: 'sales_order', id }, ...rest] };
  }

  private async purchaseOrder(keys: Keys): Promise<SimulatedChange> {
    const id = await this.nextId('purchase_order');
    const counterparty = this.rng.pick(keys.counterparty);
    const currency = this.rng.pick(keys.currency);
    const quantity = this.rng.int(1, 999);
    const price = (this.rng.int(300, 100_000) / 100).toFixed(2);
    let code = '';
    for (let i = 0; i < 7; i++) code += 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'[this.rng.int(0, 35)];
    const dates = await this.agreedDates();
    await this.client.query(
      `INSERT INTO purchase_order (purchase_order_id, created_at, last_updated, staff_id, counterparty_id, item_code, item_quantity,
                                   item_unit_price, currency_id, agreed_delivery_date, agreed_payment_date, agreed_delivery_location_id)
       VALUES ($1, ${NOW}, ${NOW}, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
      [id, this.rng.pick(keys.staff), counterparty, code, quantity, price, currency, dates.delivery, dates.payment, this.rng.pick(keys.address)],
    );
    const rest = await this.transactionAndPayment('PURCHASE', id, counterparty, '$9::numeric * $10::numeric', [quantity, price], currency, dates.payment);
    return { kind: 'purchase-order', rows: [{ table: 'purchase_order', id }, ...rest] };
  }

  private async paymentPaid(): Promise<SimulatedChange | undefined> {
    const id = await this.someId('payment', 'NOT paid');
    if (id === undefined) return undefined;
    await this.client.query(`UPDATE payment SET paid = true, last_updated = ${NOW} WHERE payment_id = $1`, [id]);
    return { kind: 'payment-paid', rows: [{ table: 'payment', id }] };
  }

  /**
   * A rare amendment: a sales order's delivery date moves, or a purchase order's quantity changes
   * together with its unpaid payment's amount, so the amount rule still holds.
   */
  private async orderAmended(): Promise<SimulatedChange | undefined> {
    if (this.rng.next() < 0.5) {
      const id = await this.someId('sales_order');
      if (id === undefined) return undefined;
      await this.client.query(
        `UPDATE sales_order SET agreed_delivery_date = to_char(agreed_delivery_date::date + $2::int, 'YYYY-MM-DD'), last_updated = ${NOW}
          WHERE sales_order_id = $1`,
        [id, this.rng.int(1, 7)],
      );
      return { kind: 'order-amended', rows: [{ table: 'sales_order', id }] };
    }
    const id = await this.someId('purchase_order');
    if (id === undefined) return undefined;
    const quantity = this.rng.int(1, 999);
    await this.client.query(`UPDATE purchase_order SET item_quantity = $2, last_updated = ${NOW} WHERE purchase_order_id = $1`, [id, quantity]);
    const payments = await this.client.query<{ payment_id: number }>(
      `UPDATE payment p SET payment_amount = $2::numeric * o.item_unit_price, last_updated = ${NOW}
         FROM "transaction" t, purchase_order o
        WHERE t.transaction_id = p.transaction_id AND t.purchase_order_id = $1 AND o.purchase_order_id = $1 AND NOT p.paid
        RETURNING p.payment_id`,
      [id, quantity],
    );
    return {
      kind: 'order-amended',
      rows: [{ table: 'purchase_order', id }, ...payments.rows.map((r) => ({ table: 'payment' as const, id: r.payment_id }))],
    };
  }

  private async designAdded(): Promise<SimulatedChange> {
    const id = await this.nextId('design');
    const name = this.rng.pick(DESIGN_NAMES);
    let suffix = '';
    for (let i = 0; i < 4; i++) suffix += 'abcdefghijklmnopqrstuvwxyz0123456789'[this.rng.int(0, 35)];
    await this.client.query(
      `INSERT INTO design (design_id, created_at, last_updated, design_name, file_location, file_name)
       VALUES ($1, ${NOW}, ${NOW}, $2, $3, $4 || to_char(current_date, 'YYYYMMDD') || $5)`,
      [id, name, this.rng.pick(DESIGN_FILE_LOCATIONS), `${name.toLowerCase()}-`, `-${suffix}.json`],
    );
    return { kind: 'design-added', rows: [{ table: 'design', id }] };
  }

  private async addressEdited(keys: Keys): Promise<SimulatedChange> {
    const id = this.rng.pick(keys.address);
    if (this.rng.next() < 0.5) {
      const phone = `${String(this.rng.int(0, 9999)).padStart(4, '0')} ${String(this.rng.int(0, 999_999)).padStart(6, '0')}`;
      await this.client.query(`UPDATE address SET phone = $2, last_updated = ${NOW} WHERE address_id = $1`, [id, phone]);
    } else {
      const line = `${this.rng.int(1, 99_999)} ${this.rng.pick(STAFF_LAST_NAMES)} ${this.rng.pick(STREET_SUFFIXES)}`;
      await this.client.query(`UPDATE address SET address_line_1 = $2, last_updated = ${NOW} WHERE address_id = $1`, [id, line]);
    }
    return { kind: 'address-edited', rows: [{ table: 'address', id }] };
  }

  private async departmentMoved(keys: Keys): Promise<SimulatedChange> {
    const id = this.rng.pick(keys.department);
    // Moves to the other city; a department in 'Leds' (the real typo) moves to Manchester.
    await this.client.query(
      `UPDATE department SET location = CASE WHEN location = $2 THEN $3 ELSE $2 END, last_updated = ${NOW} WHERE department_id = $1`,
      [id, CITIES[0], CITIES[1]],
    );
    return { kind: 'department-moved', rows: [{ table: 'department', id }] };
  }

  private async staffRenamed(keys: Keys): Promise<SimulatedChange> {
    const id = this.rng.pick(keys.staff);
    await this.client.query(`UPDATE staff SET last_name = $2, last_updated = ${NOW} WHERE staff_id = $1`, [id, this.rng.pick(STAFF_LAST_NAMES)]);
    return { kind: 'staff-renamed', rows: [{ table: 'staff', id }] };
  }

  private async counterpartyMoved(keys: Keys): Promise<SimulatedChange> {
    const id = this.rng.pick(keys.counterparty);
    await this.client.query(`UPDATE counterparty SET legal_address_id = $2, last_updated = ${NOW} WHERE counterparty_id = $1`, [id, this.rng.pick(keys.address)]);
    return { kind: 'counterparty-moved', rows: [{ table: 'counterparty', id }] };
  }
}

const RETRY_PAUSE_MS = 1_000;

/** Start making `rate` changes a second until stop() is called. */
export function startSimulator(options: SimulatorOptions): Simulator {
  if (!Number.isFinite(options.rate) || options.rate <= 0) throw new SimulatorError(`The change rate must be a positive number; ${options.rate} was given.`);
  const byKind = Object.fromEntries(CHANGE_KINDS.map((k) => [k, 0])) as Record<ChangeKind, number>;
  let changes = 0;
  let failures = 0;
  let stopped = false;
  let wake: (() => void) | undefined;
  const pause = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  const intervalMs = 1000 / options.rate;
  let client: pg.Client | undefined;
  let maker: ChangeMaker | undefined;
  // One random stream across reconnections: a fresh maker per connection continues from a derived seed.
  let connections = 0;

  const loop = async () => {
    let due = performance.now();
    while (!stopped) {
      const wait = due - performance.now();
      if (wait > 0) await pause(wait);
      if (stopped) break;
      try {
        if (!client || !maker) {
          client = new pg.Client({ connectionString: options.url, application_name: 'totes-simulator' });
          client.on('error', () => undefined);
          await client.connect();
          maker = new ChangeMaker(client, options.seed + connections++ * 0x10000);
        }
        const change = await maker.next();
        changes++;
        byKind[change.kind]++;
        options.onChange?.(change);
      } catch (err) {
        failures++;
        options.onError?.(err);
        await client?.end().catch(() => undefined);
        client = undefined;
        maker = undefined;
        if (!stopped) await pause(RETRY_PAUSE_MS);
      }
      // Pace, but never burst to catch up after a slow change or a pause.
      due = Math.max(due + intervalMs, performance.now() - intervalMs);
    }
  };
  const running = loop();

  return {
    async stop() {
      stopped = true;
      wake?.();
      await running;
      await client?.end().catch(() => undefined);
      client = undefined;
    },
    stats() {
      return { changes, failures, byKind: { ...byKind } };
    },
  };
}
