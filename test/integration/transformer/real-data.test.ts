import { SOURCE_TABLE_NAMES, type SourceTableName } from '@totes/shared/source/tables';
import { HAS_REAL_DATA, REAL_DATA_DIR, inExtractOrder, realRows, type Row } from '../../unit/transformer/fixtures';
import { TransformerHarness } from './harness';

/**
 * The joined dimensions on real totesys rows through the real handler, with the joins read from a
 * real PostgreSQL source holding the 2024-11-15 snapshot's dimension tables. Skipped, saying why,
 * when ../shared/data is absent.
 */
const describeReal = HAS_REAL_DATA ? describe : describe.skip;
const title = HAS_REAL_DATA
  ? `joined dimensions on real totesys rows from PostgreSQL (${REAL_DATA_DIR})`
  : 'joined dimensions on real totesys rows: SKIPPED because ../shared/data/totesys-2024-11-15 is absent';

describeReal(title, () => {
  let h: TransformerHarness;
  const tables = {} as Record<SourceTableName, Row[]>;

  beforeAll(async () => {
    h = await TransformerHarness.create('transformer_real');
    for (const table of SOURCE_TABLE_NAMES) tables[table] = ['address', 'counterparty', 'department', 'staff'].includes(table) ? inExtractOrder(table, realRows(table)) : [];
    for (const table of ['department', 'staff', 'address', 'counterparty'] as const) await h.insertRows(table, tables[table]);
  });

  afterAll(async () => {
    await h?.close();
  });

  async function transform(table: SourceTableName) {
    const message = await h.extracted(table, tables[table]);
    expect(await h.handler({ Records: [h.sqsRecord(message)] }, h.context)).toEqual({ batchItemFailures: [] });
    const sent = await h.drainLoadQueue();
    return Promise.all(sent.map(async (m) => ({ target: m.targetTable, rows: (await h.readFile(m)).rows })));
  }

  it('a counterparty takes its legal address and phone', async () => {
    const [file] = await transform('counterparty');
    const addresses = new Map(tables.address.map((a) => [a.address_id, a]));
    const expected = [...tables.counterparty]
      .sort((a, b) => (a.counterparty_id as number) - (b.counterparty_id as number))
      .map((c) => {
        const a = addresses.get(c.legal_address_id)!;
        return [String(c.counterparty_id), c.counterparty_legal_name, a.address_line_1, a.address_line_2, a.district, a.city, a.postal_code, a.country, a.phone];
      });
    expect(file?.target).toBe('dim_counterparty');
    expect(
      file?.rows.map((r) => [
        r.counterparty_id,
        r.counterparty_legal_name,
        r.counterparty_legal_address_line_1,
        r.counterparty_legal_address_line_2,
        r.counterparty_legal_district,
        r.counterparty_legal_city,
        r.counterparty_legal_postal_code,
        r.counterparty_legal_country,
        r.counterparty_legal_phone_number,
      ]),
    ).toEqual(expected);
  });

  it("staff of the department located 'Leds' keep 'Leds'; a department batch re-derives each of its staff", async () => {
    const [staffFile] = await transform('staff');
    const leds = new Set(tables.department.filter((d) => d.location === 'Leds').map((d) => d.department_id));
    const members = tables.staff.filter((s) => leds.has(s.department_id)).map((s) => String(s.staff_id));
    expect(members.length).toBeGreaterThan(0);
    expect(staffFile?.rows.filter((r) => r.location === 'Leds').map((r) => r.staff_id).sort()).toEqual(members.sort());

    const [departmentFile] = await transform('department');
    // The same rows; each read stamps them with its own time (the later read, the later stamp).
    const unstamped = (rows: readonly Record<string, unknown>[] | undefined) => rows?.map(({ _version, ...row }) => row);
    expect(unstamped(departmentFile?.rows)).toEqual(unstamped(staffFile?.rows));
    expect(String(departmentFile?.rows[0]?._version) > String(staffFile?.rows[0]?._version)).toBe(true);
  });

  it('an address batch re-derives every counterparty on those addresses', async () => {
    const files = await transform('address');
    expect(files.map((f) => [f.target, f.rows.length])).toEqual([
      ['dim_location', tables.address.length],
      ['dim_counterparty', tables.counterparty.length],
    ]);
  });
});
