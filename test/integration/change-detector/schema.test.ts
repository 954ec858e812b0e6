import { DetectorHarness } from './harness';

/**
 * The source drifting from the contract: a missing table or column, or a changed type, stops that
 * table's detection with an error naming table and column (recorded, counted, not retried), while
 * other tables proceed; extra columns are carried as text and reported once.
 */
let h: DetectorHarness;

beforeAll(async () => {
  h = await DetectorHarness.create('cd_schema');
  await h.insertParents();
});

afterAll(async () => {
  await h?.close();
});

describe('change-detector: the source schema', () => {
  it('a missing column stops that table with an error naming table and column, recorded on its watermark; other tables proceed', async () => {
    await h.source.query(`ALTER TABLE currency DROP COLUMN currency_code`);

    const broken = await h.detect('currency');
    const again = await h.detect('currency');
    const other = await h.detect('payment_type');

    expect(broken).toMatchObject({ status: 'schema-error', column: 'currency_code' });
    expect(broken.status === 'schema-error' && broken.message).toMatch(/currency.*currency_code/);
    expect(again).toMatchObject({ status: 'schema-error' });
    expect(other).toMatchObject({ status: 'completed', rows: 1 });
    const watermark = await h.watermark('currency');
    expect(watermark.error).toMatchObject({ column: 'currency_code', message: expect.stringContaining('has no column currency_code') });
    // Recorded once: the same problem again does not rewrite the watermark.
    expect(watermark.version).toBe(1);
    expect(h.metric('DetectionErrors')).toBe(2);
    expect(await h.drainMessages('currency')).toEqual([]);
  });

  it('fixing the source clears the error and detection resumes', async () => {
    await h.source.query(`ALTER TABLE currency ADD COLUMN currency_code varchar(3)`);
    await h.source.query(`UPDATE currency SET currency_code = 'GBP'`);

    const outcome = await h.detect('currency');

    expect(outcome).toMatchObject({ status: 'completed', rows: 1 });
    expect((await h.watermark('currency')).error).toBeUndefined();
    expect(await h.drainMessages('currency')).toHaveLength(1);
  });

  it('a column whose type changed stops the table, naming the column and both types', async () => {
    await h.source.query(`ALTER TABLE staff ALTER COLUMN department_id TYPE bigint`);

    const outcome = await h.detect('staff');

    expect(outcome).toMatchObject({ status: 'schema-error', column: 'department_id' });
    expect((await h.watermark('staff')).error?.message).toBe(
      "The source column staff.department_id is bigint, not integer as the pipeline's contract says; detection of staff is stopped until it is changed back.",
    );
  });

  it('last_updated allowing NULL stops the table (a row with a NULL key could never be detected)', async () => {
    await h.source.query(`ALTER TABLE department ALTER COLUMN last_updated DROP NOT NULL`);

    const outcome = await h.detect('department');

    expect(outcome).toMatchObject({ status: 'schema-error', column: 'last_updated' });
    expect((await h.watermark('department')).error?.message).toContain('department.last_updated allows NULL');
  });

  it('a source whose transaction ids went back (restored or replaced) stops the table instead of extracting nothing', async () => {
    expect(await h.detect('counterparty')).toMatchObject({ status: 'completed', rows: 1 });
    const watermark = await h.watermark('counterparty');
    const done = watermark.done!;
    // As if the previous pass had run on a database whose ids were far ahead of this one's.
    await h.watermarks.save({ ...watermark, done: { ...done, xmin: String(BigInt(done.xmin) + 1_000_000n) } }, watermark.version, 'complete-pass');

    const outcome = await h.detect('counterparty');

    expect(outcome).toMatchObject({ status: 'schema-error' });
    expect((await h.watermark('counterparty')).error?.message).toMatch(/transaction ids are behind .* restored or replaced/);
  });

  it('a missing table stops that table, naming it', async () => {
    await h.source.query(`DROP TABLE payment CASCADE`);

    const outcome = await h.detect('payment');

    expect(outcome).toMatchObject({ status: 'schema-error', column: undefined });
    expect((await h.watermark('payment')).error?.message).toMatch(/^The source table payment does not exist/);
  });

  it('extra columns are carried as text, listed on each batch, and reported once', async () => {
    await h.source.query(`ALTER TABLE design ADD COLUMN colour varchar, ADD COLUMN notes jsonb, ADD COLUMN weight numeric`);
    await h.source.query(`UPDATE design SET colour = 'red', notes = '{"a": [1, "x\\ty"]}', weight = 1.50`);

    await h.detect('design');
    await h.source.query(`UPDATE design SET colour = 'blue', last_updated = localtimestamp`);
    await h.detect('design');

    const messages = await h.drainMessages('design');
    expect(messages.map((m) => m.extraColumns)).toEqual([
      ['colour', 'notes', 'weight'],
      ['colour', 'notes', 'weight'],
    ]);
    const rows = (await h.rowsOf(messages)).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(rows[0]).toMatchObject({ design_id: 1, colour: 'red', notes: '{"a": [1, "x\\ty"]}', weight: '1.50' });
    expect(rows[1]).toMatchObject({ colour: 'blue' });
    expect(h.captured.logs.filter((l) => l.message.startsWith('the source table has columns the contract does not know'))).toHaveLength(1);
    expect(h.metric('ExtraColumns')).toBe(3);
    expect((await h.watermark('design')).extraColumns).toEqual(['colour', 'notes', 'weight']);
    expect((await h.batchRecords('design')).map((r) => r.extraColumns)).toEqual([
      ['colour', 'notes', 'weight'],
      ['colour', 'notes', 'weight'],
    ]);
  });
});
