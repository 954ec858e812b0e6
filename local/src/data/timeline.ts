import { createRng, type Rng } from './prng';
import { DESIGN_FILE_LOCATIONS, DESIGN_NAMES } from './reference-data';

/**
 * The business model of totesys, measured on the real snapshot of 2024-11-15 (SPEC §1) and
 * replayed deterministically: which orders arrive when, with which values, and which payments
 * have been paid by the end. Times are milliseconds since 1970 with the source's wall clock read
 * as UTC (the source stores `timestamp without time zone`), so no time zone ever shifts a day.
 *
 * What the snapshot shows, and this model reproduces:
 * - orders only on Monday–Friday, 08:00–18:59, evenly over the hours, ~21 sales and ~8.8 purchase
 *   orders a day (Poisson-like: 1 to 35 a day), written by a job at second 9–10 of a minute, with
 *   milliseconds; ids in order of creation, transactions interleaving both kinds by time;
 * - agreed payment date 0–6 days after the order, delivery 0–7 days (a few months in 0.6% of cases);
 * - a daily payment run at 07:MM:11 on weekdays marks as paid exactly the payments due that day
 *   that were created on an earlier day; payments due on a weekend or created on their due day
 *   are never paid (9,647 of the 9,648 real paid payments follow this rule, none breaks it the
 *   other way), which gives the real 61% paid share without a tuned probability;
 * - designs arrive at ~0.87 a working day (10 at the start, 473 by the end), and an order uses any
 *   design that existed when it was placed;
 * - no refunds (payment types 2 and 4 are never used), no amended orders.
 */
export const MS_PER_DAY = 86_400_000;
const MS_PER_HOUR = 3_600_000;

/** When the reference rows were created (addresses, currencies, departments, payment types, first designs). */
export const REFERENCE_CREATED_MS = Date.UTC(2022, 10, 3, 14, 20, 49, 962);
/** When the first orders were placed. */
export const TIMELINE_START_MS = Date.UTC(2022, 10, 3, 14, 20, 52, 186);
/** The snapshot's last change: nothing is generated after it. */
export const TIMELINE_END_MS = Date.UTC(2024, 10, 15, 14, 40, 10, 188);

/** The real volumes the model is calibrated to at scale 1. */
export const REAL_VOLUME = { salesOrders: 11_187, purchaseOrders: 4_649, designs: 473, initialDesigns: 10 } as const;

const OFFICE_OPENS = 8 * MS_PER_HOUR;
const OFFICE_CLOSES = 19 * MS_PER_HOUR;
const PAYMENT_RUN_HOUR = 7;
const COUNTERPARTIES = 20;
const STAFF = 20;
const ADDRESSES = 30;
const CURRENCIES = 3;

/** Independent random streams per working day, so any day can be generated on its own. */
const STREAM = { counts: 1, orders: 2, designs: 3, paymentRun: 4 } as const;

export function dayOf(ms: number): number {
  return Math.floor(ms / MS_PER_DAY);
}

/** True on Monday to Friday (day 0, 1970-01-01, was a Thursday). */
export function isWeekday(day: number): boolean {
  const weekday = (((day + 4) % 7) + 7) % 7;
  return weekday >= 1 && weekday <= 5;
}

export interface WorkingDay {
  readonly day: number;
  /** Office hours of this day inside the timeline, [from, to). */
  readonly from: number;
  readonly to: number;
  /** Share of a full office day inside the timeline (the first and last days are partial). */
  readonly fraction: number;
}

/** Every weekday of the timeline with its office hours clipped to the timeline. */
export function workingDays(): readonly WorkingDay[] {
  const days: WorkingDay[] = [];
  for (let day = dayOf(TIMELINE_START_MS); day <= dayOf(TIMELINE_END_MS); day++) {
    if (!isWeekday(day)) continue;
    const from = Math.max(day * MS_PER_DAY + OFFICE_OPENS, TIMELINE_START_MS);
    const to = Math.min(day * MS_PER_DAY + OFFICE_CLOSES, TIMELINE_END_MS + 1);
    if (to > from) days.push({ day, from, to, fraction: (to - from) / (OFFICE_CLOSES - OFFICE_OPENS) });
  }
  return days;
}

const WORKING_DAYS = workingDays();
const FULL_DAY_EQUIVALENTS = WORKING_DAYS.reduce((sum, d) => sum + d.fraction, 0);

/** Mean arrivals per full working day at scale 1, so that the expected totals equal the real ones. */
export const DAILY_RATE = {
  salesOrders: REAL_VOLUME.salesOrders / FULL_DAY_EQUIVALENTS,
  purchaseOrders: REAL_VOLUME.purchaseOrders / FULL_DAY_EQUIVALENTS,
  designs: (REAL_VOLUME.designs - REAL_VOLUME.initialDesigns) / FULL_DAY_EQUIVALENTS,
} as const;

/**
 * A time in office hours like the real writer's: a uniformly chosen minute, at second 9–10 of
 * it, with milliseconds; kept inside [from, to).
 */
function officeTime(rng: Rng, from: number, to: number): number {
  const t = from + Math.floor(rng.next() * (to - from));
  const stamped = t - (t % 60_000) + 9_000 + rng.int(0, 1_999);
  return Math.min(Math.max(stamped, from), to - 1);
}

function sortedTimes(rng: Rng, count: number, from: number, to: number): Float64Array {
  const times = new Float64Array(count);
  for (let i = 0; i < count; i++) times[i] = officeTime(rng, from, to);
  return times.sort();
}

export interface Design {
  readonly id: number;
  readonly createdMs: number;
  readonly name: string;
  readonly fileLocation: string;
  readonly fileName: string;
}

const FILE_NAME_CHARS = 'abcdefghijklmnopqrstuvwxyz0123456789';

function makeDesign(rng: Rng, id: number, createdMs: number): Design {
  const name = rng.pick(DESIGN_NAMES);
  const fileLocation = rng.pick(DESIGN_FILE_LOCATIONS);
  // The real file names carry a date up to ~3 years before the design was added.
  const fileDate = formatDate(dayOf(createdMs) - rng.int(0, 1_100)).replaceAll('-', '');
  let suffix = '';
  for (let i = 0; i < 4; i++) suffix += FILE_NAME_CHARS[rng.int(0, FILE_NAME_CHARS.length - 1)];
  return { id, createdMs, name, fileLocation, fileName: `${name.toLowerCase()}-${fileDate}-${suffix}.json` };
}

/**
 * The designs of the whole timeline, in id order. Designs are added by people, so their number
 * does not grow with the scale.
 */
export function generateDesigns(seed: number): readonly Design[] {
  const designs: Design[] = [];
  const initial = createRng(seed, 0, STREAM.designs);
  for (let i = 0; i < REAL_VOLUME.initialDesigns; i++) designs.push(makeDesign(initial, designs.length + 1, REFERENCE_CREATED_MS));
  for (const wd of WORKING_DAYS) {
    const rng = createRng(seed, wd.day, STREAM.designs);
    const times = sortedTimes(rng, rng.poisson(DAILY_RATE.designs * wd.fraction), wd.from, wd.to);
    for (const t of times) designs.push(makeDesign(rng, designs.length + 1, t));
  }
  return designs;
}

export interface SeedPlan {
  readonly seed: number;
  readonly scale: number;
  readonly days: readonly WorkingDay[];
  /** Per working day: sales and purchase orders, and the first id of each kind (ids start at 1). */
  readonly salesCount: Int32Array;
  readonly purchaseCount: Int32Array;
  readonly salesBase: Int32Array;
  readonly purchaseBase: Int32Array;
  readonly transactionBase: Int32Array;
  readonly totals: { readonly salesOrders: number; readonly purchaseOrders: number; readonly transactions: number };
  readonly designs: readonly Design[];
  /** Minute of the daily payment run, per calendar day from the first working day (see paidAt). */
  readonly paymentRunMinute: Int8Array;
}

/** How many orders each day gets, and so every id, before any row is generated. */
export function planSeed(seed: number, scale: number): SeedPlan {
  const n = WORKING_DAYS.length;
  const salesCount = new Int32Array(n);
  const purchaseCount = new Int32Array(n);
  const salesBase = new Int32Array(n);
  const purchaseBase = new Int32Array(n);
  const transactionBase = new Int32Array(n);
  let sales = 0;
  let purchases = 0;
  WORKING_DAYS.forEach((wd, i) => {
    const rng = createRng(seed, wd.day, STREAM.counts);
    salesCount[i] = rng.poisson(DAILY_RATE.salesOrders * scale * wd.fraction);
    purchaseCount[i] = rng.poisson(DAILY_RATE.purchaseOrders * scale * wd.fraction);
    salesBase[i] = sales + 1;
    purchaseBase[i] = purchases + 1;
    transactionBase[i] = sales + purchases + 1;
    sales += salesCount[i] ?? 0;
    purchases += purchaseCount[i] ?? 0;
  });
  return {
    seed,
    scale,
    days: WORKING_DAYS,
    salesCount,
    purchaseCount,
    salesBase,
    purchaseBase,
    transactionBase,
    totals: { salesOrders: sales, purchaseOrders: purchases, transactions: sales + purchases },
    designs: generateDesigns(seed),
    paymentRunMinute: paymentRunMinutes(seed),
  };
}

/** One working day's orders, field by field (typed arrays: a day at scale 100 holds ~3,000 orders). */
export interface DayOrders {
  readonly sales: {
    readonly count: number;
    readonly firstId: number;
    readonly createdMs: Float64Array;
    readonly designId: Int32Array;
    readonly staffId: Int32Array;
    readonly counterpartyId: Int32Array;
    readonly unitsSold: Int32Array;
    readonly unitPriceCents: Int32Array;
    readonly currencyId: Int32Array;
    readonly deliveryDay: Int32Array;
    readonly paymentDay: Int32Array;
    readonly locationId: Int32Array;
  };
  readonly purchases: {
    readonly count: number;
    readonly firstId: number;
    readonly createdMs: Float64Array;
    readonly staffId: Int32Array;
    readonly counterpartyId: Int32Array;
    readonly itemCode: string[];
    readonly itemQuantity: Int32Array;
    readonly itemUnitPriceCents: Int32Array;
    readonly currencyId: Int32Array;
    readonly deliveryDay: Int32Array;
    readonly paymentDay: Int32Array;
    readonly locationId: Int32Array;
  };
  /** Transactions (and their payments, same id) in order of creation. */
  readonly transactions: {
    readonly count: number;
    readonly firstId: number;
    /** Index into sales (>= 0) or purchases (encoded as -1 - index). */
    readonly order: Int32Array;
    readonly companyAc: Int32Array;
    readonly counterpartyAc: Int32Array;
    /** When the payment run marked it paid, or 0 if it is unpaid at the end of the timeline. */
    readonly paidMs: Float64Array;
  };
}

const ITEM_CODE_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

function agreedDeliveryOffset(rng: Rng): number {
  return rng.next() < 0.006 ? rng.int(8, 650) : Math.round(rng.next() * 7);
}

function agreedPaymentOffset(rng: Rng): number {
  return Math.round(rng.next() * 6);
}

const FIRST_DAY = dayOf(TIMELINE_START_MS);
const LAST_DAY = dayOf(TIMELINE_END_MS);

/** The minute of each day's payment run, from its own random stream per day. */
function paymentRunMinutes(seed: number): Int8Array {
  const minutes = new Int8Array(LAST_DAY - FIRST_DAY + 1);
  for (let day = FIRST_DAY; day <= LAST_DAY; day++) minutes[day - FIRST_DAY] = createRng(seed, day, STREAM.paymentRun).int(0, 59);
  return minutes;
}

/**
 * When the payment run paid a payment due on paymentDay for an order placed at createdMs, or 0
 * if it is still unpaid at the end of the timeline: due on a weekday after the order's day, and
 * that day's run (07:MM:11) happened before the end.
 */
export function paidAt(plan: Pick<SeedPlan, 'paymentRunMinute'>, createdMs: number, paymentDay: number, jitterMs: number): number {
  if (paymentDay > LAST_DAY || !isWeekday(paymentDay) || paymentDay <= dayOf(createdMs)) return 0;
  const minute = plan.paymentRunMinute[paymentDay - FIRST_DAY] ?? 0;
  const at = paymentDay * MS_PER_DAY + PAYMENT_RUN_HOUR * MS_PER_HOUR + minute * 60_000 + 11_000 + jitterMs;
  return at <= TIMELINE_END_MS ? at : 0;
}

/** The orders of working day `index` of the plan. Pure: the same plan and index give the same orders. */
export function generateDayOrders(plan: SeedPlan, index: number): DayOrders {
  const wd = plan.days[index];
  if (!wd) throw new RangeError(`There is no working day ${index} in the timeline.`);
  const rng = createRng(plan.seed, wd.day, STREAM.orders);
  const soCount = plan.salesCount[index] ?? 0;
  const poCount = plan.purchaseCount[index] ?? 0;

  const soTimes = sortedTimes(rng, soCount, wd.from, wd.to);
  const poTimes = sortedTimes(rng, poCount, wd.from, wd.to);
  const sales = {
    count: soCount,
    firstId: plan.salesBase[index] ?? 1,
    createdMs: soTimes,
    designId: new Int32Array(soCount),
    staffId: new Int32Array(soCount),
    counterpartyId: new Int32Array(soCount),
    unitsSold: new Int32Array(soCount),
    unitPriceCents: new Int32Array(soCount),
    currencyId: new Int32Array(soCount),
    deliveryDay: new Int32Array(soCount),
    paymentDay: new Int32Array(soCount),
    locationId: new Int32Array(soCount),
  };
  // Designs available at a time: the sales times are sorted, so a moving pointer suffices.
  let available = 0;
  const designs = plan.designs;
  for (let i = 0; i < soCount; i++) {
    const t = soTimes[i] ?? 0;
    while (available < designs.length && (designs[available]?.createdMs ?? Infinity) <= t) available++;
    sales.designId[i] = 1 + Math.floor(rng.next() * Math.max(available, 1));
    sales.staffId[i] = rng.int(1, STAFF);
    sales.counterpartyId[i] = rng.int(1, COUNTERPARTIES);
    sales.unitsSold[i] = rng.int(1_000, 100_000);
    sales.unitPriceCents[i] = rng.int(200, 400);
    sales.currencyId[i] = rng.int(1, CURRENCIES);
    sales.deliveryDay[i] = wd.day + agreedDeliveryOffset(rng);
    sales.paymentDay[i] = wd.day + agreedPaymentOffset(rng);
    sales.locationId[i] = rng.int(1, ADDRESSES);
  }

  const purchases = {
    count: poCount,
    firstId: plan.purchaseBase[index] ?? 1,
    createdMs: poTimes,
    staffId: new Int32Array(poCount),
    counterpartyId: new Int32Array(poCount),
    itemCode: new Array<string>(poCount),
    itemQuantity: new Int32Array(poCount),
    itemUnitPriceCents: new Int32Array(poCount),
    currencyId: new Int32Array(poCount),
    deliveryDay: new Int32Array(poCount),
    paymentDay: new Int32Array(poCount),
    locationId: new Int32Array(poCount),
  };
  for (let i = 0; i < poCount; i++) {
    purchases.staffId[i] = rng.int(1, STAFF);
    purchases.counterpartyId[i] = rng.int(1, COUNTERPARTIES);
    let code = '';
    for (let c = 0; c < 7; c++) code += ITEM_CODE_CHARS[rng.int(0, ITEM_CODE_CHARS.length - 1)];
    purchases.itemCode[i] = code;
    purchases.itemQuantity[i] = rng.int(1, 999);
    purchases.itemUnitPriceCents[i] = rng.int(300, 100_000);
    purchases.currencyId[i] = rng.int(1, CURRENCIES);
    purchases.deliveryDay[i] = wd.day + agreedDeliveryOffset(rng);
    purchases.paymentDay[i] = wd.day + agreedPaymentOffset(rng);
    purchases.locationId[i] = rng.int(1, ADDRESSES);
  }

  // Transactions in order of creation; on a tie the sales order comes first.
  const txCount = soCount + poCount;
  const transactions = {
    count: txCount,
    firstId: plan.transactionBase[index] ?? 1,
    order: new Int32Array(txCount),
    companyAc: new Int32Array(txCount),
    counterpartyAc: new Int32Array(txCount),
    paidMs: new Float64Array(txCount),
  };
  let s = 0;
  let p = 0;
  for (let i = 0; i < txCount; i++) {
    const takeSale = p >= poCount || (s < soCount && (soTimes[s] ?? 0) <= (poTimes[p] ?? 0));
    let createdMs: number;
    let paymentDay: number;
    if (takeSale) {
      transactions.order[i] = s;
      createdMs = soTimes[s] ?? 0;
      paymentDay = sales.paymentDay[s] ?? 0;
      s++;
    } else {
      transactions.order[i] = -1 - p;
      createdMs = poTimes[p] ?? 0;
      paymentDay = purchases.paymentDay[p] ?? 0;
      p++;
    }
    transactions.companyAc[i] = rng.int(10_000_000, 99_999_999);
    transactions.counterpartyAc[i] = rng.int(10_000_000, 99_999_999);
    transactions.paidMs[i] = paidAt(plan, createdMs, paymentDay, rng.int(0, 999));
  }
  return { sales, purchases, transactions };
}

// ---- Text formatting (hot path: millions of calls at scale 100, so lookup tables, no Date per row).

const PAD2 = Array.from({ length: 100 }, (_, i) => String(i).padStart(2, '0'));
const PAD3 = Array.from({ length: 1000 }, (_, i) => String(i).padStart(3, '0'));
const dateCache = new Map<number, string>();

/** 'YYYY-MM-DD' of a day number. */
export function formatDate(day: number): string {
  let text = dateCache.get(day);
  if (text === undefined) {
    text = new Date(day * MS_PER_DAY).toISOString().slice(0, 10);
    dateCache.set(day, text);
  }
  return text;
}

/** 'YYYY-MM-DD HH:MM:SS.mmm', the source's timestamp text with its milliseconds. */
export function formatTimestamp(ms: number): string {
  const day = Math.floor(ms / MS_PER_DAY);
  let rest = ms - day * MS_PER_DAY;
  const h = Math.floor(rest / MS_PER_HOUR);
  rest -= h * MS_PER_HOUR;
  const m = Math.floor(rest / 60_000);
  rest -= m * 60_000;
  const sec = Math.floor(rest / 1000);
  return `${formatDate(day)} ${PAD2[h]}:${PAD2[m]}:${PAD2[sec]}.${PAD3[rest - sec * 1000]}`;
}

/** A whole number of cents as a decimal with two places ('3.94'): exact, no floating point. */
export function formatCents(cents: number): string {
  const whole = Math.floor(cents / 100);
  return `${whole}.${PAD2[cents - whole * 100]}`;
}
