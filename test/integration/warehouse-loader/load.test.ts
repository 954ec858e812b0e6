import { writeContractParquet } from '../../unit/warehouse-loader/contract-parquet';
import { ALL_TABLES, V1, V2, counterparties, dates, locations, payments, salesOrders, staff } from './fixtures';
import { LoaderHarness, danglingReferences, dumpWarehouse, withClient, type LoaderFile, type TestDatabase } from './harness';

describe('warehouse-loader: loading processed files', () => {
  let harness: LoaderHarness;
  const newDatabase = () => harness.newDatabase('loader');
  const loadAll = (db: TestDatabase, files: readonly LoaderFile[]) => harness.loadAll(db, files);
  beforeAll(async () => {
    harness = await LoaderHarness.create();
  });
  afterAll(async () => {
    await harness.dropDatabases();
  });

  it('loads every warehouse table from contract-conformant Parquet with the types and values SPEC §2 gives', async () => {
    const db = await newDatabase();
    const files = await Promise.all(ALL_TABLES.map(([table, rows]) => harness.file(table, rows)));
    const results = await loadAll(db, files);
    expect(results.map((r) => r.outcome)).toEqual(files.map(() => 'loaded'));

    await withClient(db, async (c) => {
      const sales = await c.query(
        `SELECT sales_order_id, created_date::text, created_time::text, last_updated_date::text, last_updated_time::text,
           unit_price::text, pg_typeof(unit_price)::text AS price_type, units_sold
         FROM fact_sales_order ORDER BY sales_order_id, last_updated_date, last_updated_time`,
      );
      expect(sales.rows).toEqual([
        { sales_order_id: 1, created_date: '2022-11-03', created_time: '14:20:52.186', last_updated_date: '2022-11-03', last_updated_time: '14:20:52.186', unit_price: '3.94', price_type: 'numeric', units_sold: 42972 },
        { sales_order_id: 1, created_date: '2022-11-03', created_time: '14:20:52.186', last_updated_date: '2022-11-04', last_updated_time: '09:15:00.000001', unit_price: '3.95', price_type: 'numeric', units_sold: 43000 },
        { sales_order_id: 2, created_date: '2024-03-31', created_time: '08:00:00', last_updated_date: '2024-03-31', last_updated_time: '08:00:00', unit_price: '2.91', price_type: 'numeric', units_sold: 65839 },
      ]);

      const amounts = await c.query(`SELECT payment_id, payment_amount::text, paid, payment_date::text FROM fact_payment ORDER BY payment_id, last_updated_date`);
      expect(amounts.rows).toEqual([
        { payment_id: 1, payment_amount: '169309.68', paid: false, payment_date: '2022-11-08' },
        { payment_id: 1, payment_amount: '169309.68', paid: true, payment_date: '2022-11-08' },
        { payment_id: 2, payment_amount: '134075.69', paid: false, payment_date: '2022-11-07' },
        { payment_id: 3, payment_amount: '191596.489999', paid: false, payment_date: '2024-04-02' },
      ]);
      const purchase = await c.query(`SELECT item_code, item_quantity, item_unit_price::text FROM fact_purchase_order`);
      expect(purchase.rows).toEqual([{ item_code: 'ZDOI5EA', item_quantity: 371, item_unit_price: '361.39' }]);

      const location = await c.query(`SELECT * FROM dim_location ORDER BY location_id`);
      expect(location.rows).toEqual(locations.map(({ _version, ...row }) => row));
      const counterparty = await c.query(`SELECT * FROM dim_counterparty ORDER BY counterparty_id`);
      expect(counterparty.rows).toEqual(counterparties.map(({ _version, ...row }) => row));
      const staffRows = await c.query(`SELECT * FROM dim_staff ORDER BY staff_id`);
      expect(staffRows.rows).toEqual(staff.map(({ _version, ...row }) => row));
      const transaction = await c.query(`SELECT * FROM dim_transaction ORDER BY transaction_id`);
      expect(transaction.rows).toEqual([
        { transaction_id: 1, transaction_type: 'SALE', sales_order_id: 1, purchase_order_id: null },
        { transaction_id: 2, transaction_type: 'PURCHASE', sales_order_id: null, purchase_order_id: 1 },
        { transaction_id: 3, transaction_type: 'SALE', sales_order_id: 2, purchase_order_id: null },
      ]);

      // dim_date holds every date any fact references, each computed by SPEC §3's rules.
      const referenced = await c.query<{ d: string }>(`
        SELECT DISTINCT d::text FROM (
          SELECT created_date FROM fact_sales_order UNION SELECT last_updated_date FROM fact_sales_order
          UNION SELECT agreed_payment_date FROM fact_sales_order UNION SELECT agreed_delivery_date FROM fact_sales_order
          UNION SELECT created_date FROM fact_purchase_order UNION SELECT last_updated_date FROM fact_purchase_order
          UNION SELECT agreed_payment_date FROM fact_purchase_order UNION SELECT agreed_delivery_date FROM fact_purchase_order
          UNION SELECT created_date FROM fact_payment UNION SELECT last_updated_date FROM fact_payment UNION SELECT payment_date FROM fact_payment) AS x(d)
        ORDER BY 1`);
      const calendar = await c.query(`SELECT date_id::text, year, month, day, day_of_week, day_name, month_name, quarter FROM dim_date ORDER BY date_id`);
      const days = calendar.rows.map((r: { date_id: string }) => r.date_id);
      expect(days).toEqual(expect.arrayContaining(referenced.rows.map((r) => r.d)));
      // A calendar of whole years: 2022 and 2024 (a leap year) are referenced, 2023 is not.
      expect(days).toHaveLength(365 + 366);
      expect(days[0]).toBe('2022-01-01');
      expect(days.at(-1)).toBe('2024-12-31');
      expect(calendar.rows).toContainEqual({ date_id: '2022-11-03', year: 2022, month: 11, day: 3, day_of_week: 4, day_name: 'Thursday', month_name: 'November', quarter: 4 });
      expect(calendar.rows).toContainEqual({ date_id: '2024-03-31', year: 2024, month: 3, day: 31, day_of_week: 7, day_name: 'Sunday', month_name: 'March', quarter: 1 });
      expect(calendar.rows).toContainEqual({ date_id: '2022-11-07', year: 2022, month: 11, day: 7, day_of_week: 1, day_name: 'Monday', month_name: 'November', quarter: 4 });
    });
    expect(await danglingReferences(db)).toEqual([]);
  });

  it('counts inserted, updated and skipped rows per file and records each file once in pipeline.loaded_file', async () => {
    const db = await newDatabase();
    const first = await harness.file('dim_staff', staff);
    const renamed = await harness.file('dim_staff', [{ ...staff[0]!, last_name: 'Franey-Smith', _version: V2 }, staff[1]!]);
    const facts = await harness.file('fact_sales_order', [...salesOrders, salesOrders[0]!]);
    const [a, b, c] = await loadAll(db, [first, renamed, facts]);
    expect(a?.counts).toEqual({ inserted: 2, updated: 0, skipped: 0 });
    expect(b?.counts).toEqual({ inserted: 0, updated: 1, skipped: 1 });
    // A version appearing twice in one file is appended once.
    expect(c?.counts).toEqual({ inserted: 3, updated: 0, skipped: 1 });
    await withClient(db, async (client) => {
      const { rows } = await client.query(`SELECT target_table, rows_inserted, rows_updated, rows_skipped FROM pipeline.loaded_file ORDER BY loaded_at, file_id`);
      expect(rows).toEqual([
        { target_table: 'dim_staff', rows_inserted: 2, rows_updated: 0, rows_skipped: 0 },
        { target_table: 'dim_staff', rows_inserted: 0, rows_updated: 1, rows_skipped: 1 },
        { target_table: 'fact_sales_order', rows_inserted: 3, rows_updated: 0, rows_skipped: 1 },
      ]);
    });
  });

  it('leaves the warehouse identical when every message is replayed twice and in reverse order', async () => {
    const files = await Promise.all(ALL_TABLES.map(([table, rows]) => harness.file(table, rows)));
    // Two versions of one staff member in separate files: the newer must win whatever the order.
    const older = await harness.file('dim_staff', [{ ...staff[0]!, first_name: 'Jerry', _version: '2022-11-02 00:00:00' }]);
    const newer = await harness.file('dim_staff', [{ ...staff[0]!, location: 'Leeds', _version: V2 }]);
    const all = [...files, older, newer];

    const forward = await newDatabase();
    await loadAll(forward, all);
    const replayed = await newDatabase();
    const results = await loadAll(replayed, [...all].reverse().concat([...all].reverse()).concat(all));

    expect(await dumpWarehouse(replayed)).toEqual(await dumpWarehouse(forward));
    expect(results.filter((r) => r.outcome === 'already-loaded')).toHaveLength(all.length * 2);
    await withClient(replayed, async (c) => {
      const { rows } = await c.query(`SELECT first_name, location FROM dim_staff WHERE staff_id = 1`);
      expect(rows).toEqual([{ first_name: 'Jeremie', location: 'Leeds' }]);
    });
  });

  it('holds the same calendar whether a dim_date file or the facts referencing its days arrive first', async () => {
    const days = ['2025-01-06', '2025-01-07', '2025-01-08'];
    const calendar = await harness.file(
      'dim_date',
      days.map((date_id, i) => ({ date_id, year: 2025, month: 1, day: 6 + i, day_of_week: 1 + i, day_name: ['Monday', 'Tuesday', 'Wednesday'][i]!, month_name: 'January', quarter: 1, _version: V1 })),
    );
    const facts = await harness.file('fact_sales_order', [
      { ...salesOrders[0]!, created_date: days[0]!, last_updated_date: days[0]!, agreed_delivery_date: days[1]!, agreed_payment_date: days[2]! },
    ]);
    const [calendarFirst, factsFirst] = [await newDatabase(), await newDatabase()];
    await loadAll(calendarFirst, [calendar, facts]);
    await loadAll(factsFirst, [facts, calendar]);
    expect(await dumpWarehouse(calendarFirst)).toEqual(await dumpWarehouse(factsFirst));
    await withClient(calendarFirst, async (c) => {
      expect((await c.query(`SELECT count(*)::int AS n FROM dim_date WHERE year = 2025`)).rows).toEqual([{ n: 365 }]);
    });
  });

  it('records an empty file as loaded without writing a row', async () => {
    const db = await newDatabase();
    const results = await loadAll(db, [await harness.file('fact_payment', []), await harness.file('dim_staff', [])]);
    expect(results.map((r) => [r.outcome, r.counts])).toEqual([
      ['loaded', { inserted: 0, updated: 0, skipped: 0 }],
      ['loaded', { inserted: 0, updated: 0, skipped: 0 }],
    ]);
    await withClient(db, async (c) => {
      expect((await c.query(`SELECT count(*)::int AS n FROM pipeline.loaded_file`)).rows).toEqual([{ n: 2 }]);
    });
  });

  it('ignores a late, older version of a dimension row', async () => {
    const db = await newDatabase();
    const current = await harness.file('dim_location', [{ ...locations[0]!, city: 'Leeds', _version: V2 }]);
    const late = await harness.file('dim_location', [{ ...locations[0]!, city: 'Old Town', _version: V1 }]);
    const [, lateResult] = await loadAll(db, [current, late]);
    expect(lateResult?.counts).toEqual({ inserted: 0, updated: 0, skipped: 1 });
    await withClient(db, async (c) => {
      expect((await c.query(`SELECT city FROM dim_location`)).rows).toEqual([{ city: 'Leeds' }]);
      expect((await c.query(`SELECT key, version::text, inferred FROM pipeline.dimension_version WHERE dimension = 'dim_location'`)).rows).toEqual([
        { key: '1', version: V2, inferred: false },
      ]);
    });
  });

  it('creates inferred members for dimension rows facts reference before they arrive, and replaces them with the real rows', async () => {
    const db = await newDatabase();
    const sales = await harness.file('fact_sales_order', salesOrders);
    const [result] = await loadAll(db, [sales]);
    // staff 1 and 2, counterparties 1 and 2, currencies 2 and 3, designs 1 and 2, locations 1 and 3.
    expect(result?.inferredMembers).toBe(10);
    await withClient(db, async (c) => {
      const placeholders = await c.query(`SELECT * FROM dim_counterparty ORDER BY counterparty_id`);
      expect(placeholders.rows[0]).toEqual({
        counterparty_id: 1,
        counterparty_legal_name: 'Unknown',
        counterparty_legal_address_line_1: 'Unknown',
        counterparty_legal_address_line_2: null,
        counterparty_legal_district: null,
        counterparty_legal_city: 'Unknown',
        counterparty_legal_postal_code: 'Unknown',
        counterparty_legal_country: 'Unknown',
        counterparty_legal_phone_number: 'Unknown',
      });
      const versions = await c.query(`SELECT dimension, key, version::text, inferred FROM pipeline.dimension_version WHERE dimension = 'dim_staff' ORDER BY key`);
      expect(versions.rows).toEqual([
        { dimension: 'dim_staff', key: '1', version: '-infinity', inferred: true },
        { dimension: 'dim_staff', key: '2', version: '-infinity', inferred: true },
      ]);
    });
    expect(await danglingReferences(db)).toEqual([]);

    // The real rows arrive, even with a version older than anything: they replace the placeholders.
    const realStaff = await harness.file('dim_staff', staff.map((s) => ({ ...s, _version: '2000-01-01 00:00:00' })));
    const [replaced] = await loadAll(db, [realStaff]);
    expect(replaced?.counts).toEqual({ inserted: 0, updated: 2, skipped: 0 });
    await withClient(db, async (c) => {
      expect((await c.query(`SELECT staff_id, first_name, location FROM dim_staff ORDER BY staff_id`)).rows).toEqual([
        { staff_id: 1, first_name: 'Jeremie', location: 'Manchester' },
        { staff_id: 2, first_name: 'Deron', location: 'Leds' },
      ]);
      expect((await c.query(`SELECT count(*)::int AS n FROM pipeline.dimension_version WHERE dimension = 'dim_staff' AND inferred`)).rows).toEqual([{ n: 0 }]);
    });

    // A later fact referencing a real member leaves it alone.
    const more = await harness.file('fact_sales_order', [{ ...salesOrders[2]!, sales_order_id: 9 }]);
    const [again] = await loadAll(db, [more]);
    expect(again?.inferredMembers).toBe(0);
    await withClient(db, async (c) => {
      expect((await c.query(`SELECT first_name FROM dim_staff WHERE staff_id = 2`)).rows).toEqual([{ first_name: 'Deron' }]);
    });
  });

  it('creates no inferred member when the real dimension row arrived first', async () => {
    const db = await newDatabase();
    const files = [await harness.file('dim_staff', staff), await harness.file('fact_sales_order', [salesOrders[2]!])];
    const [, facts] = await loadAll(db, files);
    // staff 2 exists; counterparty 2, currency 3, design 1 and location 1 do not.
    expect(facts?.inferredMembers).toBe(4);
    await withClient(db, async (c) => {
      expect((await c.query(`SELECT last_name FROM dim_staff WHERE staff_id = 2`)).rows).toEqual([{ last_name: 'Beier' }]);
      expect((await c.query(`SELECT inferred FROM pipeline.dimension_version WHERE dimension = 'dim_staff' AND key = '2'`)).rows).toEqual([{ inferred: false }]);
    });
  });

  it('fails a file with a column its table does not have, naming the column, and loads nothing', async () => {
    const db = await newDatabase();
    const bad = await harness.file('fact_payment', payments, {
      bytes: writeContractParquet('fact_payment', payments, { extra: { company_ac_number: payments.map(() => '67305075') } }),
    });
    const warehouse = harness.warehouse(db);
    try {
      await expect(harness.load(bad, warehouse)).rejects.toThrow(/has the column company_ac_number, which its target table does not have/);
    } finally {
      await warehouse.close();
    }
    await withClient(db, async (c) => {
      expect((await c.query(`SELECT count(*)::int AS n FROM fact_payment`)).rows).toEqual([{ n: 0 }]);
      expect((await c.query(`SELECT count(*)::int AS n FROM pipeline.loaded_file`)).rows).toEqual([{ n: 0 }]);
    });
  });

  it('loads the same files to the same warehouse whether foreign keys are checked by trigger or set-based', async () => {
    const files = await Promise.all(ALL_TABLES.map(([table, rows]) => harness.file(table, rows)));
    const [setBased, triggered] = [await newDatabase(), await newDatabase()];
    for (const [db, mode] of [
      [setBased, 'set-based'],
      [triggered, 'trigger'],
    ] as const) {
      const warehouse = harness.warehouse(db, mode);
      try {
        for (const f of [...files].reverse()) await harness.load(f, warehouse);
        expect((await warehouse.session()).foreignKeyChecks).toBe(mode);
      } finally {
        await warehouse.close();
      }
    }
    expect(await dumpWarehouse(triggered)).toEqual(await dumpWarehouse(setBased));
    expect(await danglingReferences(triggered)).toEqual([]);
  });

  it('records the dates of a dim_date file as given, and computes the same rows for the calendar years facts reference', async () => {
    const db = await newDatabase();
    await loadAll(db, [await harness.file('fact_sales_order', [salesOrders[2]!]), await harness.file('dim_date', dates)]);
    await withClient(db, async (c) => {
      const { rows } = await c.query(`SELECT date_id::text, day_of_week, day_name, quarter FROM dim_date WHERE date_id = '2024-03-31'`);
      expect(rows).toEqual([{ date_id: '2024-03-31', day_of_week: 7, day_name: 'Sunday', quarter: 1 }]);
    });
  });
  it('makes current the version observed last, even when a late commit gave it an older last_updated, whatever order the files come in', async () => {
    // Payment 9 flipped to paid at 10:05 and committed; a writer that had stamped 10:00 when its
    // transaction began committed after it, changing the amount: the later pass observed that.
    const base = { ...payments[2]!, payment_id: 9 };
    const first = { ...base, last_updated_date: '2024-11-15', last_updated_time: '10:05:00', paid: true, _version: '2024-11-15 10:05:30' };
    const late = { ...base, last_updated_date: '2024-11-15', last_updated_time: '10:00:00', payment_amount: '99.50', paid: true, _version: '2024-11-15 10:12:30' };
    const untouched = { ...base, payment_id: 10, _version: '2024-11-15 10:05:30' };
    const current = async (db: TestDatabase) =>
      withClient(db, async (c) =>
        (await c.query(`SELECT payment_id, last_updated_time::text, payment_amount::text, paid FROM fact_payment_current ORDER BY payment_id`)).rows,
      );
    const expected = [
      { payment_id: 9, last_updated_time: '10:00:00', payment_amount: '99.50', paid: true },
      { payment_id: 10, last_updated_time: '14:20:52.187', payment_amount: '134075.69', paid: false },
    ];
    const files = [await harness.file('fact_payment', [first, untouched]), await harness.file('fact_payment', [late])];
    const inOrder = await newDatabase();
    await loadAll(inOrder, files);
    expect(await current(inOrder)).toEqual(expected);

    const reversed = await newDatabase();
    await loadAll(reversed, [...files].reverse());
    expect(await current(reversed)).toEqual(expected);
    // Both versions are kept (facts keep their history); the replayed files change nothing.
    await loadAll(reversed, files);
    await withClient(reversed, async (c) => {
      expect((await c.query(`SELECT count(*)::int AS n FROM fact_payment WHERE payment_id = 9`)).rows).toEqual([{ n: 2 }]);
      expect((await c.query(`SELECT payment_id, observed::text FROM pipeline.fact_payment_current_version ORDER BY payment_id`)).rows).toEqual([
        { payment_id: 9, observed: '2024-11-15 10:12:30' },
        { payment_id: 10, observed: '2024-11-15 10:05:30' },
      ]);
    });
    expect(await current(reversed)).toEqual(expected);
  });

  it('orders the versions of a fact file without observation stamps (an older transformer\'s) by last_updated', async () => {
    const db = await newDatabase();
    await loadAll(db, [await harness.file('fact_payment', payments)]);
    await withClient(db, async (c) => {
      const { rows } = await c.query(`SELECT payment_id, paid, last_updated_date::text FROM fact_payment_current ORDER BY payment_id`);
      expect(rows).toEqual([
        { payment_id: 1, paid: true, last_updated_date: '2022-11-10' },
        { payment_id: 2, paid: false, last_updated_date: '2022-11-03' },
        { payment_id: 3, paid: false, last_updated_date: '2024-03-31' },
      ]);
    });
  });
  it('keeps one current version per id across first-version ranges with gaps, late files of earlier passes and later versions', async () => {
    const db = await newDatabase();
    const pay = (id: number, time: string, amount: string, observed: string) => ({ ...payments[2]!, payment_id: id, last_updated_date: '2024-11-15', last_updated_time: time, payment_amount: amount, _version: observed });
    const files = [
      // Pass at 10:00:30 observed payments 1 and 5 (all new: a first-version range [1, 5] with a gap).
      await harness.file('fact_payment', [pay(1, '10:00:00', '1.00', '2024-11-15 10:00:30'), pay(5, '10:00:00', '5.00', '2024-11-15 10:00:30')]),
      // Payment 3, new, lies inside that range.
      await harness.file('fact_payment', [pay(3, '10:01:00', '3.00', '2024-11-15 10:01:30')]),
      // A file of an earlier pass, delivered late: payment 5 as it was before (must not become current).
      await harness.file('fact_payment', [pay(5, '09:59:00', '4.00', '2024-11-15 09:59:30')]),
      // A later pass: payment 1 changed.
      await harness.file('fact_payment', [pay(1, '10:02:00', '1.50', '2024-11-15 10:02:30')]),
    ];
    await loadAll(db, files);
    await withClient(db, async (c) => {
      const { rows } = await c.query(`SELECT payment_id, payment_amount::text AS amount FROM fact_payment_current ORDER BY payment_id`);
      expect(rows).toEqual([
        { payment_id: 1, amount: '1.50' },
        { payment_id: 3, amount: '3.00' },
        { payment_id: 5, amount: '5.00' },
      ]);
      expect((await c.query(`SELECT count(*)::int AS n FROM fact_payment`)).rows).toEqual([{ n: 5 }]);
    });
  });
  it('settles on the version observed last when a loader of the previous release appended a version during the upgrade', async () => {
    const db = await newDatabase();
    const pay = (time: string, amount: string, observed?: string) => ({
      ...payments[2]!,
      payment_id: 20,
      last_updated_date: '2024-11-15',
      last_updated_time: time,
      payment_amount: amount,
      ...(observed ? { _version: observed } : {}),
    });
    await loadAll(db, [await harness.file('fact_payment', [pay('10:00:00', '1.00', '2024-11-15 10:00:30')])]);
    // The previous release's loader appends with no pointer and no range.
    await withClient(db, (c) =>
      c.query(
        `INSERT INTO fact_payment (payment_id, created_date, created_time, last_updated_date, last_updated_time, transaction_id, counterparty_id,
           payment_amount, currency_id, payment_type_id, paid, payment_date)
         SELECT payment_id, created_date, created_time, last_updated_date, '10:03:00', transaction_id, counterparty_id, 2.00, currency_id, payment_type_id, paid, payment_date
         FROM fact_payment WHERE payment_id = 20`,
      ),
    );
    const current = () => withClient(db, async (c) => (await c.query(`SELECT payment_amount::text AS amount FROM fact_payment_current WHERE payment_id = 20`)).rows);
    expect(await current()).toEqual([{ amount: '2.00' }]);
    // A late commit observed after both; then an older release's file of an earlier version.
    await loadAll(db, [await harness.file('fact_payment', [pay('09:59:00', '3.00', '2024-11-15 10:05:30')])]);
    expect(await current()).toEqual([{ amount: '3.00' }]);
    await loadAll(db, [await harness.file('fact_payment', [pay('09:58:00', '0.50')])]);
    expect(await current()).toEqual([{ amount: '3.00' }]);
  });
  it('records version stamps exactly, to the microsecond and before 1970 too', async () => {
    const db = await newDatabase();
    const stamps = ['1969-12-31 23:59:59.999999', '2024-11-15 14:40:00.000001', '1900-02-28 00:00:00.5'];
    await loadAll(db, [
      await harness.file('dim_payment_type', stamps.map((_version, i) => ({ payment_type_id: i + 1, payment_type_name: `T${i}`, _version }))),
      await harness.file('fact_payment', [{ ...payments[2]!, payment_id: 40, _version: '2024-11-15 14:40:00.000007' }]),
    ]);
    await withClient(db, async (c) => {
      const { rows } = await c.query(`SELECT key, version::text FROM pipeline.dimension_version WHERE dimension = 'dim_payment_type' AND NOT inferred ORDER BY key`);
      expect(rows.map((r) => r.version)).toEqual(stamps);
      expect((await c.query(`SELECT observed::text FROM pipeline.fact_first_version_range WHERE fact = 'fact_payment'`)).rows).toEqual([{ observed: '2024-11-15 14:40:00.000007' }]);
    });
  });
});
