import { AsciiWriter } from '../../../local/src/data/ascii-writer';
import { createRng } from '../../../local/src/data/prng';
import {
  dayOf,
  formatCents,
  formatDate,
  formatTimestamp,
  generateDayOrders,
  isWeekday,
  MS_PER_DAY,
  paidAt,
  planSeed,
  REAL_VOLUME,
  TIMELINE_END_MS,
  TIMELINE_START_MS,
} from '../../../local/src/data/timeline';

/** The generator's business model, without a database: deterministic, calendar, paid rule, text format. */
describe('seeded random numbers', () => {
  it('gives the same sequence for the same seed parts and another for other parts', () => {
    const a = createRng(7, 1, 2);
    const b = createRng(7, 1, 2);
    const c = createRng(7, 1, 3);
    const seqA = Array.from({ length: 20 }, () => a.next());
    expect(Array.from({ length: 20 }, () => b.next())).toEqual(seqA);
    expect(Array.from({ length: 20 }, () => c.next())).not.toEqual(seqA);
  });

  it('draws integers inside the inclusive range, reaching both ends', () => {
    const rng = createRng(1);
    const seen = new Set<number>();
    for (let i = 0; i < 2_000; i++) seen.add(rng.int(3, 7));
    expect([...seen].sort()).toEqual([3, 4, 5, 6, 7]);
  });

  it.each([0.5, 21, 2_100])('draws Poisson counts whose mean is close to %d', (mean) => {
    const rng = createRng(3);
    let sum = 0;
    for (let i = 0; i < 4_000; i++) sum += rng.poisson(mean);
    expect(Math.abs(sum / 4_000 - mean) / mean).toBeLessThan(0.05);
  });
});

describe('the totesys timeline', () => {
  const plan = planSeed(42, 0.2);

  it('plans the real volume at scale 1 (within 5%) and 100 times it at scale 100', () => {
    const one = planSeed(1, 1);
    expect(Math.abs(one.totals.salesOrders - REAL_VOLUME.salesOrders) / REAL_VOLUME.salesOrders).toBeLessThan(0.05);
    expect(Math.abs(one.totals.purchaseOrders - REAL_VOLUME.purchaseOrders) / REAL_VOLUME.purchaseOrders).toBeLessThan(0.05);
    expect(Math.abs(one.designs.length - REAL_VOLUME.designs) / REAL_VOLUME.designs).toBeLessThan(0.1);
    const hundred = planSeed(1, 100);
    expect(hundred.totals.salesOrders).toBeGreaterThan(1_050_000);
    expect(hundred.totals.salesOrders).toBeLessThan(1_190_000);
  });

  it('is deterministic: the same seed and scale give the same orders, another seed other orders', () => {
    const again = planSeed(42, 0.2);
    expect(Array.from(again.salesCount)).toEqual(Array.from(plan.salesCount));
    expect(again.designs).toEqual(plan.designs);
    expect(generateDayOrders(again, 100)).toEqual(generateDayOrders(plan, 100));
    expect(generateDayOrders(planSeed(43, 0.2), 100)).not.toEqual(generateDayOrders(plan, 100));
  });

  it('places every order on a weekday between 08:00 and 18:59, inside the timeline, ids following time', () => {
    let lastSale = 0;
    let lastId = 0;
    for (let i = 0; i < plan.days.length; i++) {
      const day = generateDayOrders(plan, i);
      for (const times of [day.sales.createdMs, day.purchases.createdMs]) {
        for (const t of times) {
          expect(isWeekday(dayOf(t))).toBe(true);
          const hour = Math.floor((t % MS_PER_DAY) / 3_600_000);
          expect(hour).toBeGreaterThanOrEqual(8);
          expect(hour).toBeLessThanOrEqual(18);
          expect(t).toBeGreaterThanOrEqual(TIMELINE_START_MS);
          expect(t).toBeLessThanOrEqual(TIMELINE_END_MS);
        }
      }
      for (const t of day.sales.createdMs) {
        expect(t).toBeGreaterThanOrEqual(lastSale);
        lastSale = t;
      }
      expect(day.sales.firstId).toBe(lastId + 1);
      lastId += day.sales.count;
    }
    expect(lastId).toBe(plan.totals.salesOrders);
  });

  it('keeps order values in the real ranges and uses only designs that existed when the order was placed', () => {
    const day = generateDayOrders(plan, 300);
    for (let i = 0; i < day.sales.count; i++) {
      expect(day.sales.unitsSold[i]).toBeGreaterThanOrEqual(1_000);
      expect(day.sales.unitsSold[i]).toBeLessThanOrEqual(100_000);
      expect(day.sales.unitPriceCents[i]).toBeGreaterThanOrEqual(200);
      expect(day.sales.unitPriceCents[i]).toBeLessThanOrEqual(400);
      const design = plan.designs[(day.sales.designId[i] ?? 0) - 1];
      expect(design?.createdMs).toBeLessThanOrEqual(day.sales.createdMs[i] ?? 0);
    }
    for (let i = 0; i < day.purchases.count; i++) {
      expect(day.purchases.itemUnitPriceCents[i]).toBeGreaterThanOrEqual(300);
      expect(day.purchases.itemUnitPriceCents[i]).toBeLessThanOrEqual(100_000);
      expect(day.purchases.itemCode[i]).toMatch(/^[A-Z0-9]{7}$/);
    }
  });

  it('pays a payment at the 07:MM:11 run of its due day, only if due on a weekday after the order day and before the end', () => {
    const monday = dayOf(Date.UTC(2024, 0, 15));
    const orderedFriday = Date.UTC(2024, 0, 12, 10, 0, 0);
    const paid = paidAt(plan, orderedFriday, monday, 123);
    expect(formatTimestamp(paid)).toMatch(/^2024-01-15 07:\d{2}:11\.123$/);
    expect(paidAt(plan, orderedFriday, monday - 1, 0)).toBe(0); // due on a Sunday
    expect(paidAt(plan, Date.UTC(2024, 0, 15, 9, 0, 0), monday, 0)).toBe(0); // due the day it was ordered
    expect(paidAt(plan, TIMELINE_END_MS - 1000, dayOf(TIMELINE_END_MS) + 3, 0)).toBe(0); // due after the snapshot
  });
});

describe('COPY text of generated values', () => {
  it('writes timestamps, dates, integers and cents exactly as the string formatters do', () => {
    const rng = createRng(5);
    for (let i = 0; i < 500; i++) {
      const ms = TIMELINE_START_MS + Math.floor(rng.next() * (TIMELINE_END_MS - TIMELINE_START_MS));
      const n = rng.int(0, 2_000_000_000);
      const cents = rng.int(0, 100_000_000);
      const w = new AsciiWriter(1024);
      w.timestamp(ms).tab().date(dayOf(ms)).tab().int(n).tab().cents(cents).newline();
      expect(w.take().toString('latin1')).toBe(`${formatTimestamp(ms)}\t${formatDate(dayOf(ms))}\t${n}\t${formatCents(cents)}\n`);
    }
  });

  it('formats a whole number of cents as a two-place decimal, exactly', () => {
    expect(formatCents(16930968)).toBe('169309.68');
    expect(formatCents(5)).toBe('0.05');
    expect(formatCents(400)).toBe('4.00');
  });

  it("escapes COPY's special characters in free text and keeps UTF-8", () => {
    const w = new AsciiWriter(16);
    w.text('a\tb\\c\nd\re').tab().text("Ma'am Ŵ").tab().nullValue();
    expect(w.take().toString('utf8')).toBe("a\\tb\\\\c\\nd\\re\tMa'am Ŵ\t\\N");
  });

  it('grows its buffer when a value is longer than a chunk', () => {
    const w = new AsciiWriter(4);
    const long = 'x'.repeat(10_000);
    w.text(long);
    expect(w.take().toString()).toBe(long);
  });
});
