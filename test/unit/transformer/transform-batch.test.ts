import { parseMessage } from '@totes/events';
import { UnreadableBatchError } from '@totes/shared/errors';
import { transformBatch } from '../../../services/transformer/src/transform-batch';
import { MemorySender, MemorySourceImages, batchMessage, gen, memoryDependencies, stageRawBatch } from './fixtures';

/** The batch, end to end over in-memory ports: what is written, recorded and sent, and in which order. */
describe('transformBatch', () => {
  it('writes one file per target, the quarantined rows, records the batch, then sends one message per file', async () => {
    const deps = memoryDependencies();
    const order: string[] = [];
    const record = deps.batches.recordTransformed.bind(deps.batches);
    const send = deps.sender.send.bind(deps.sender);
    const spied = {
      ...deps,
      batches: { recordTransformed: async (...a: Parameters<typeof record>) => (order.push('record'), record(...a)) },
      sender: { send: async (...a: Parameters<typeof send>) => (order.push('send'), send(...a)) },
    };
    const message = await stageRawBatch(deps.objects, 'sales_order', [gen.salesOrder(1), gen.salesOrder(2, { agreed_payment_date: '2022-11-31' }), gen.salesOrder(3)]);

    const result = await transformBatch(message, spied);

    expect(order).toEqual(['record', 'send']);
    const date = message.range.to.lastUpdated.slice(0, 10);
    expect(result.files.map((f) => [f.target, f.key, f.rows, f.written])).toEqual([
      ['dim_date', `processed/dim_date/date=${date}/${message.batchId}.parquet`, 3, true],
      ['fact_sales_order', `processed/fact_sales_order/date=${date}/${message.batchId}.parquet`, 2, true],
    ]);
    expect(deps.recorded).toEqual([{ batchId: message.batchId, result: { files: 2, quarantinedRows: 1, outputs: { dim_date: 3, fact_sales_order: 2 } } }]);
    expect(deps.metricCalls).toEqual([{ table: 'sales_order', counts: { rowsTransformed: 2, quarantinedRows: 1, filesWritten: 2 } }]);

    const quarantine = new TextDecoder().decode(await deps.objects.get(deps.processedBucket, `quarantine/sales_order/date=${date}/${message.batchId}.jsonl`));
    const lines = quarantine.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines).toEqual([
      {
        table: 'sales_order',
        id: 2,
        column: 'agreed_payment_date',
        reason: '2022-11-31 is not a date (a real calendar day written YYYY-MM-DD)',
        problems: [{ column: 'agreed_payment_date', reason: '2022-11-31 is not a date (a real calendar day written YYYY-MM-DD)' }],
        line: 2,
        row: gen.salesOrder(2, { agreed_payment_date: '2022-11-31' }),
      },
    ]);
    expect(deps.logged.filter((l) => l.level === 'warn').map((l) => l.attributes)).toEqual([
      expect.objectContaining({ table: 'sales_order', batchId: message.batchId, id: 2, column: 'agreed_payment_date' }),
      expect.objectContaining({ table: 'sales_order', batchId: message.batchId, quarantinedRows: 1 }),
    ]);
  });

  it('a redelivery re-sends the same messages for the files already stored, writing nothing new', async () => {
    const deps = memoryDependencies();
    const message = await stageRawBatch(deps.objects, 'design', [gen.design(1), gen.design(2)]);
    await transformBatch(message, deps);
    const firstObjects = new Map(deps.objects.objects);

    const again = await transformBatch(message, deps);

    expect(again.filesWritten).toBe(0);
    expect(deps.objects.objects).toEqual(firstObjects);
    const [first, second] = deps.sender.sent.map((s) => parseMessage('load-requested', s.body));
    expect(second).toEqual(first);
    expect(deps.recorded[1]).toEqual(deps.recorded[0]);
    // The batch's rows are counted once: the redelivery found it recorded already.
    expect(deps.metricCalls).toEqual([{ table: 'design', counts: { rowsTransformed: 2, quarantinedRows: 0, filesWritten: 1 } }]);
  });

  it('a crash after recording and before sending loses nothing: the retry sends', async () => {
    const deps = memoryDependencies();
    const message = await stageRawBatch(deps.objects, 'currency', [gen.currency(1, 'GBP')]);
    const failing = { ...deps, sender: { send: async () => Promise.reject(new Error('SQS unavailable')) } };
    await expect(transformBatch(message, failing)).rejects.toThrow(`Could not ask the loader to load batch ${message.batchId}: SQS unavailable`);
    expect(deps.recorded).toHaveLength(1);

    await transformBatch(message, deps);

    expect(deps.sender.sent.map((s) => parseMessage('load-requested', s.body).fileId)).toEqual([`${message.batchId}/dim_currency`]);
  });

  it('when an earlier attempt stored other bytes (the source changed in between), the messages describe the stored file', async () => {
    const staff = [gen.staff(1, 1), gen.staff(2, 1)];
    const before = memoryDependencies({ staff, department: [gen.department(1, 'Sales', 'Manchester')] });
    const message = await stageRawBatch(before.objects, 'department', [gen.department(1, 'Sales', 'Manchester')]);
    await transformBatch(message, before);
    const stored = parseMessage('load-requested', before.sender.sent[0]!.body);

    // The same batch again after staff 3 joined the department: the computed file would differ.
    const after = { ...before, images: new MemorySourceImages({ staff: [...staff, gen.staff(3, 1)], department: [gen.department(1, 'Sales', 'Manchester')] }), sender: new MemorySender() };
    await transformBatch(message, after);

    const resent = parseMessage('load-requested', after.sender.sent[0]!.body);
    expect(resent.object).toEqual(stored.object);
    expect(resent.object.rows).toBe(2);
  });

  it('fails with UnreadableBatchError when the raw object is missing, or holds other rows than the message says', async () => {
    const deps = memoryDependencies();
    await expect(transformBatch(batchMessage('design', [gen.design(1)]), deps)).rejects.toThrow(UnreadableBatchError);
    const message = await stageRawBatch(deps.objects, 'design', [gen.design(1), gen.design(2)]);
    await expect(transformBatch({ ...message, object: { ...message.object, rows: 3 } }, deps)).rejects.toThrow('holds 2 rows where its message says 3');
    const corrupt = batchMessage('design', [gen.design(1)], { key: 'raw/design/date=2022-11-03/corrupt.jsonl.gz' });
    await deps.objects.putImmutable(corrupt.object.bucket, corrupt.object.key, new TextEncoder().encode('not gzip'));
    await expect(transformBatch(corrupt, deps)).rejects.toThrow(/cannot be read: the object is not gzip/);
    expect(deps.sender.sent).toEqual([]);
    expect(deps.recorded).toEqual([]);
  });
});
