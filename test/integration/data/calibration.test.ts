import fs from 'node:fs';
import path from 'node:path';
import type pg from 'pg';
import { importCsv } from '../../../local/src/data/csv-import';
import { seedSource } from '../../../local/src/data/generator';
import { REFERENCE_TABLE_NAMES } from '../../../local/src/data/reference-data';
import { SOURCE_TABLE_NAMES } from '../../../shared/src/source/tables';
import { countRows, createSourceDatabase, digestTables, type SourceDatabase } from './helpers';

/**
 * Acceptance: the generator at scale 1 against the real snapshot of 2024-11-15 (../shared/data),
 * when that folder exists. The snapshot is imported with importCsv, so both sides are measured by
 * the same SQL: row counts within 10%, identical reference rows, the amount rule, the paid share,
 * and the weekday and hour pattern of orders.
 */
const REAL_SNAPSHOT = path.resolve(__dirname, '../../../../shared/data/totesys-2024-11-15');
const HAS_REAL_SNAPSHOT = fs.existsSync(REAL_SNAPSHOT);
if (!HAS_REAL_SNAPSHOT) {
  console.warn(`Calibration against the real snapshot is skipped: ${REAL_SNAPSHOT} does not exist.`);
}

interface Profile {
  readonly counts: Record<string, number>;
  readonly paidShare: number;
  readonly amountRuleBroken: number;
  /** Share of orders per ISO weekday (1 = Monday) and per hour. */
  readonly weekdays: Record<number, number>;
  readonly hours: Record<number, number>;
}

async function profile(client: pg.Client): Promise<Profile> {
  const counts = await countRows(client);
  const paid = await client.query<{ share: number }>('SELECT avg(paid::int)::float8 AS share FROM payment');
  const broken = await client.query<{ n: string }>(`
    SELECT count(*) AS n FROM payment p JOIN "transaction" t USING (transaction_id)
      LEFT JOIN sales_order s ON s.sales_order_id = t.sales_order_id LEFT JOIN purchase_order o ON o.purchase_order_id = t.purchase_order_id
     WHERE p.payment_amount <> coalesce(s.units_sold * s.unit_price, o.item_quantity * o.item_unit_price)`);
  const shares = async (part: string) => {
    const { rows } = await client.query<{ k: number; share: number }>(`
      SELECT extract(${part} FROM created_at)::int AS k, (count(*)::float8 / sum(count(*)) OVER ())::float8 AS share
        FROM (SELECT created_at FROM sales_order UNION ALL SELECT created_at FROM purchase_order) o GROUP BY 1 ORDER BY 1`);
    return Object.fromEntries(rows.map((r) => [r.k, r.share]));
  };
  return {
    counts,
    paidShare: paid.rows[0]?.share ?? 0,
    amountRuleBroken: Number(broken.rows[0]?.n),
    weekdays: await shares('isodow'),
    hours: await shares('hour'),
  };
}

(HAS_REAL_SNAPSHOT ? describe : describe.skip)(
  `generator calibration at scale 1 against the real snapshot${HAS_REAL_SNAPSHOT ? '' : ` (SKIPPED: ${REAL_SNAPSHOT} does not exist)`}`,
  () => {
    let generated: SourceDatabase;
    let real: SourceDatabase;
    let gen: Profile;
    let ref: Profile;
    beforeAll(async () => {
      [generated, real] = await Promise.all([createSourceDatabase('calib_generated'), createSourceDatabase('calib_real')]);
      await Promise.all([seedSource({ url: generated.db.url, scale: 1, seed: 1 }), importCsv({ url: real.db.url, dir: REAL_SNAPSHOT })]);
      [gen, ref] = await Promise.all([profile(generated.client), profile(real.client)]);
    });
    afterAll(async () => {
      await Promise.all([generated?.close(), real?.close()]);
    });

    it.each([...SOURCE_TABLE_NAMES])('has as many %s rows as the real source, within 10%', (table) => {
      const expected = ref.counts[table] ?? 0;
      expect(Math.abs((gen.counts[table] ?? 0) - expected)).toBeLessThanOrEqual(expected * 0.1);
    });

    it('has reference rows identical to the real ones, value for value', async () => {
      const [a, b] = await Promise.all([digestTables(generated.client), digestTables(real.client)]);
      for (const table of REFERENCE_TABLE_NAMES) expect({ table, digest: a[table] }).toEqual({ table, digest: b[table] });
    });

    it('keeps the amount rule on every payment, as the real source does', () => {
      expect(ref.amountRuleBroken).toBe(0);
      expect(gen.amountRuleBroken).toBe(0);
    });

    it('has the real share of paid payments, within 3 points', () => {
      expect(Math.abs(gen.paidShare - ref.paidShare)).toBeLessThan(0.03);
    });

    it('places orders on the same weekdays as the real source, each within 2 points of its share', () => {
      expect(Object.keys(gen.weekdays)).toEqual(Object.keys(ref.weekdays));
      for (const [day, share] of Object.entries(ref.weekdays)) expect(Math.abs((gen.weekdays[Number(day)] ?? 0) - share)).toBeLessThan(0.02);
    });

    it('places orders in the same hours as the real source, each within 2 points of its share', () => {
      expect(Object.keys(gen.hours)).toEqual(Object.keys(ref.hours));
      for (const [hour, share] of Object.entries(ref.hours)) expect(Math.abs((gen.hours[Number(hour)] ?? 0) - share)).toBeLessThan(0.02);
    });
  },
);
