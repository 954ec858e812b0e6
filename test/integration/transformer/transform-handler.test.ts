import type { SQSEvent } from 'aws-lambda';
import { observedAtOf, type LoadRequestedV1 } from '@totes/events';
import { TransformerHarness } from './harness';
import { gen } from '../../unit/transformer/fixtures';

/**
 * The transformer handler against the real local services: raw batches in the stage's ingestion
 * bucket (fauxqs S3), batch records in its state table (dynalite), the joined dimensions read from
 * a real embedded PostgreSQL source, Parquet in the processed bucket read back by DuckDB, load
 * messages on the stage's load queue.
 */
let h: TransformerHarness;

beforeAll(async () => {
  h = await TransformerHarness.create('transformer_source');
  await h.insertRows('department', [gen.department(1, 'Sales', 'Manchester'), gen.department(4, 'Dispatch', 'Leds'), gen.department(5, 'Nowhere', null)]);
  await h.insertRows('staff', [gen.staff(1, 1), gen.staff(2, 4), gen.staff(3, 4), gen.staff(5, 5)]);
  await h.insertRows('address', [gen.address(1), gen.address(2), gen.address(3)]);
  await h.insertRows('counterparty', [gen.counterparty(1, 2), gen.counterparty(2, 2), gen.counterparty(3, 3)]);
});

afterAll(async () => {
  await h?.close();
});

beforeEach(async () => {
  await h.drainLoadQueue();
  h.logLines.length = 0;
});

describe('transformer handler on the local stack', () => {
  it('transforms a sales_order batch: Parquet read back by DuckDB, batch recorded, one load message per file, metrics emitted', async () => {
    const message = await h.extracted('sales_order', [gen.salesOrder(1), gen.salesOrder(2, { unit_price: '2.05', agreed_payment_date: '2024-03-31' })]);

    const response = await h.handler({ Records: [h.sqsRecord(message)] }, h.context);

    expect(response).toEqual({ batchItemFailures: [] });
    const sent = await h.drainLoadQueue();
    expect(sent.map((m) => [m.fileId, m.targetTable, m.filesInBatch, m.object.rows])).toEqual([
      [`${message.batchId}/dim_date`, 'dim_date', 2, 4],
      [`${message.batchId}/fact_sales_order`, 'fact_sales_order', 2, 2],
    ]);
    const fact = await h.readFile(sent[1]!);
    expect(fact.rows.map((r) => [r.sales_order_id, r.unit_price, r.agreed_payment_date, r.created_time])).toEqual([
      ['1', '3.94', '2022-11-08', '14:20:52.186'],
      ['2', '2.05', '2024-03-31', '14:20:52.186'],
    ]);
    const dates = await h.readFile(sent[0]!);
    expect(dates.rows.find((d) => d.date_id === '2024-03-31')).toMatchObject({ quarter: '1', day_of_week: '7', day_name: 'Sunday' });
    expect(await h.batches.get(message.batchId)).toMatchObject({ state: 'transformed', files: 2, quarantinedRows: 0, outputs: { dim_date: 4, fact_sales_order: 2 } });
    const metrics = h.logLines.find((l) => '_aws' in l);
    expect(metrics).toMatchObject({ table: 'sales_order', RowsTransformed: 2, QuarantinedRows: 0, FilesWritten: 2 });
  });

  /** The source's clock, as DuckDB renders a TIMESTAMP (so the two compare as text). */
  const sourceClock = async () => (await h.source.query(`SELECT rtrim(rtrim(to_char(localtimestamp, 'YYYY-MM-DD HH24:MI:SS.US'), '0'), '.') AS t`)).rows[0].t as string;

  it('a department edit re-derives each of its staff from the source, stamped with when the source was read', async () => {
    await h.source.query(`UPDATE department SET location = 'Leeds', last_updated = '2024-11-15T10:00:00.123456' WHERE department_id = 4`);
    try {
      const edited = (await h.source.query(`SELECT to_char(last_updated, 'YYYY-MM-DD"T"HH24:MI:SS.US') AS lu FROM department WHERE department_id = 4`)).rows[0].lu as string;
      const message = await h.extracted('department', [gen.department(4, 'Dispatch', 'Leeds', { last_updated: edited })]);

      const before = await sourceClock();
      await h.handler({ Records: [h.sqsRecord(message)] }, h.context);
      const after = await sourceClock();

      const [file] = await h.drainLoadQueue();
      expect(file?.targetTable).toBe('dim_staff');
      const rows = (await h.readFile(file!)).rows;
      expect(rows.map((r) => [r.staff_id, r.department_name, r.location])).toEqual([
        ['2', 'Dispatch', 'Leeds'],
        ['3', 'Dispatch', 'Leeds'],
      ]);
      const stamps = new Set(rows.map((r) => r._version as string));
      expect(stamps.size).toBe(1);
      const [stamp] = [...stamps];
      expect({ before, stamp, after, within: stamp! >= before && stamp! <= after }).toMatchObject({ within: true });
    } finally {
      await h.source.query(`UPDATE department SET location = 'Leds' WHERE department_id = 4`);
    }
  });

  it("a staff batch joins each member with the department as it is now: 'Leds' stays 'Leds'", async () => {
    const message = await h.extracted('staff', [gen.staff(2, 4), gen.staff(1, 1)]);
    await h.handler({ Records: [h.sqsRecord(message)] }, h.context);
    const [file] = await h.drainLoadQueue();
    expect((await h.readFile(file!)).rows.map((r) => [r.staff_id, r.department_name, r.location])).toEqual([
      ['1', 'Sales', 'Manchester'],
      ['2', 'Dispatch', 'Leds'],
    ]);
  });

  it('an address edit re-derives every counterparty on it, and dim_location from the batch row', async () => {
    await h.source.query(`UPDATE address SET phone = '0113 496 0000', last_updated = '2024-11-15T12:00:00' WHERE address_id = 2`);
    const row = gen.address(2, { phone: '0113 496 0000', last_updated: '2024-11-15T12:00:00.000000' });
    const message = await h.extracted('address', [row]);

    const before = await sourceClock();
    await h.handler({ Records: [h.sqsRecord(message)] }, h.context);
    const after = await sourceClock();

    const sent = await h.drainLoadQueue();
    expect(sent.map((m) => m.targetTable)).toEqual(['dim_location', 'dim_counterparty']);
    // dim_location from the batch row, stamped with when the batch was observed (its pass).
    expect((await h.readFile(sent[0]!)).rows.map((r) => [r.location_id, r.phone, r._version])).toEqual([['2', '0113 496 0000', observedAtOf(message).replace('T', ' ').replace(/\.?0+$/, '')]]);
    const counterparties = (await h.readFile(sent[1]!)).rows;
    expect(counterparties.map((r) => [r.counterparty_id, r.counterparty_legal_phone_number])).toEqual([
      ['1', '0113 496 0000'],
      ['2', '0113 496 0000'],
    ]);
    for (const r of counterparties) expect({ stamp: r._version, within: (r._version as string) >= before && (r._version as string) <= after }).toMatchObject({ within: true });
  });

  it('quarantines a member of a department with no location, counts it in the batch record and the metric, and loads the rest', async () => {
    const message = await h.extracted('staff', [gen.staff(1, 1), gen.staff(5, 5)]);

    await h.handler({ Records: [h.sqsRecord(message)] }, h.context);

    const [file] = await h.drainLoadQueue();
    expect((await h.readFile(file!)).rows.map((r) => r.staff_id)).toEqual(['1']);
    expect(await h.batches.get(message.batchId)).toMatchObject({ state: 'transformed', quarantinedRows: 1, outputs: { dim_staff: 1 } });
    const key = `quarantine/staff/date=${message.range.to.lastUpdated.slice(0, 10)}/${message.batchId}.jsonl`;
    const line = JSON.parse(new TextDecoder().decode(await h.objects.get(h.stage.resources.processedBucket, key)).trim());
    expect(line).toMatchObject({ table: 'staff', id: 5, column: 'department.location', reason: 'NULL where dim_staff.location needs a value', row: gen.staff(5, 5) });
    expect(h.logLines).toEqual(expect.arrayContaining([expect.objectContaining({ level: 'WARN', message: 'Row quarantined', table: 'staff', batchId: message.batchId, id: 5 })]));
    expect(h.logLines.find((l) => '_aws' in l)).toMatchObject({ table: 'staff', QuarantinedRows: 1 });
  });

  it('fails an unreadable batch and a batch on the wrong queue alone; the other records of the invocation succeed', async () => {
    const good = await h.extracted('design', [gen.design(1)]);
    const corrupt = await h.extracted('design', [gen.design(2)], new TextEncoder().encode('this is not gzip'));
    const missingColumn = await h.extracted('design', [(({ file_name: _f, ...rest }) => rest)(gen.design(3))]);
    const unknownVersion = JSON.stringify({ ...good, version: 99 });
    const records = [h.sqsRecord(good), h.sqsRecord(corrupt), h.sqsRecord(missingColumn), h.sqsRecord(unknownVersion), h.sqsRecord(good, 'currency')];

    const response = await h.handler({ Records: records } as SQSEvent, h.context);

    expect(response.batchItemFailures.map((f) => f.itemIdentifier)).toEqual(records.slice(1).map((r) => r.messageId));
    expect((await h.drainLoadQueue()).map((m) => m.fileId)).toEqual([`${good.batchId}/dim_design`]);
    expect(await h.batches.get(corrupt.batchId)).toMatchObject({ state: 'extracted' });
    const errors = h.logLines.filter((l) => l.level === 'ERROR').map((l) => l.error);
    expect(errors).toEqual([
      expect.stringContaining('the object is not gzip'),
      expect.stringContaining('has no file_name column'),
      expect.stringContaining('has version 99'),
      expect.stringContaining(`arrived on ${h.stage.resources.queuePrefix}-transform-currency`),
    ]);
  });

  it('duplicate and out-of-order delivery produce the same files and the same load messages', async () => {
    const older = await h.extracted('payment', [gen.payment(1)]);
    const newer = await h.extracted('payment', [gen.payment(1, { paid: true, last_updated: '2022-11-04T09:00:00.000000' })]);

    await h.handler({ Records: [h.sqsRecord(newer)] }, h.context);
    await h.handler({ Records: [h.sqsRecord(older)] }, h.context);
    const firstSends = await h.drainLoadQueue();
    const firstBytes = await Promise.all(firstSends.map((m) => h.objects.get(m.object.bucket, m.object.key)));
    await h.handler({ Records: [h.sqsRecord(older), h.sqsRecord(newer)] }, h.context);
    await h.handler({ Records: [h.sqsRecord(newer)] }, h.context);
    const againSends = await h.drainLoadQueue();

    const withoutTime = (m: LoadRequestedV1) => JSON.stringify({ ...m, createdAt: undefined });
    expect(new Set(againSends.map(withoutTime))).toEqual(new Set(firstSends.map(withoutTime)));
    expect(againSends).toHaveLength(firstSends.length * 1.5);
    const againBytes = await Promise.all(firstSends.map((m) => h.objects.get(m.object.bucket, m.object.key)));
    expect(againBytes.map((b) => Buffer.from(b).toString('base64'))).toEqual(firstBytes.map((b) => Buffer.from(b).toString('base64')));
    expect(await h.batches.get(newer.batchId)).toMatchObject({ state: 'transformed', files: 2, outputs: { fact_payment: 1, dim_date: 2 } });
  });

  it('two transformers handling the same batch at once leave one set of files and consistent messages', async () => {
    const second = h.secondHandler();
    const message = await h.extracted('counterparty', [gen.counterparty(1, 2), gen.counterparty(3, 3)]);
    const [a, b] = await Promise.all([h.handler({ Records: [h.sqsRecord(message)] }, h.context), second({ Records: [h.sqsRecord(message)] }, h.context)]);
    expect([a, b]).toEqual([{ batchItemFailures: [] }, { batchItemFailures: [] }]);
    const sent = await h.drainLoadQueue();
    expect(sent).toHaveLength(2);
    expect(sent[0]!.object).toEqual(sent[1]!.object);
    expect((await h.readFile(sent[0]!)).rows.map((r) => [r.counterparty_id, r.counterparty_legal_address_line_1])).toEqual([
      ['1', '2 Herzog Via'],
      ['3', '3 Herzog Via'],
    ]);
  });
});
