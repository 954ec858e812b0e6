import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { RAW_FORMAT_V2 } from '@totes/events';
import type { WatermarkStore } from '@totes/shared/state/watermark-store';
import { DetectorHarness } from './harness';

/**
 * The first pass of a table extracts all of it, in keyset-ordered pages, every value exact; later
 * passes with nothing new write and send nothing.
 */
let h: DetectorHarness;

beforeAll(async () => {
  h = await DetectorHarness.withPayments('cd_full', 230);
  // Text that exercises every escape of COPY and of JSON, NULLs, and non-ASCII.
  const awkward = [
    'quote " and backslash \\ and \\N',
    'tab\there, newline\nthere, carriage\rreturn',
    'vertical\u000btab, form\u000cfeed, backspace\u0008, bell\u0007, escape\u001b',
    'unicode: é ß 東京 😀',
    '',
    '\\',
  ];
  for (const [i, text] of awkward.entries()) {
    await h.source.query(`INSERT INTO design VALUES ($1, $2, $2, $3, $4, $5)`, [
      100 + i,
      `2023-05-0${i + 1} 10:00:00${i % 2 === 0 ? '' : '.1'}`,
      text,
      `/path/${i}`,
      text.slice(0, 3),
    ]);
  }
  // Rows far longer than a socket read (64 KiB): each arrives in pieces.
  await h.source.query(`INSERT INTO design SELECT 200 + i, '2023-06-01 00:00:00', '2023-06-01 00:00:00', repeat(chr(65 + i), 300000 + i), '/big', 'big.json' FROM generate_series(0, 2) AS i`);
  await h.source.query(`INSERT INTO address VALUES (2, 'Flat "2"', 'Back\\Lane', NULL, 'York', 'YO1', 'UK', '01904', '2023-01-01 00:00:00', '2023-01-01 00:00:00.000001')`);
});

afterAll(async () => {
  await h?.close();
});

describe('change-detector: full extraction', () => {
  it('extracts a whole table in pages, every line equal to PostgreSQL’s own JSON of the row', async () => {
    const outcome = await h.detect('payment');

    expect(outcome).toMatchObject({ status: 'completed', pages: 5, rows: 230, lateRows: 0 });
    const messages = await h.drainMessages('payment');
    expect(messages).toHaveLength(5);
    expect(await h.rowsOf(messages)).toEqual(await h.sourceJson('payment'));
    // Pages are consecutive keyset ranges: each starts where the previous ended.
    messages.sort((a, b) => a.batchId.localeCompare(b.batchId));
    expect(messages[0]?.range.from).toBeNull();
    for (let i = 1; i < messages.length; i++) expect(messages[i]?.range.from).toEqual(messages[i - 1]?.range.to);
    expect(messages.map((m) => m.object.rows)).toEqual([50, 50, 50, 50, 30]);
    expect(h.metric('RowsExtracted')).toBe(230);
    expect(h.metric('BatchesExtracted')).toBe(5);
  });

  it('names batches after the pass and page, objects after the batch, the date of its last row and its bytes, and records each batch', async () => {
    const watermark = await h.watermark('payment');
    const passId = watermark.done?.passId ?? '';
    expect(passId).toMatch(/^\d{8}t\d{12}$/);
    expect(watermark.current).toBeUndefined();
    const records = await h.batchRecords('payment');
    expect(records.map((r) => r.batchId)).toEqual([1, 2, 3, 4, 5].map((p) => `payment.${passId}.p000${p}`));
    for (const r of records) {
      expect(r).toMatchObject({ state: 'extracted', table: 'payment', rawBucket: h.stage.resources.ingestionBucket, lateRows: 0, extraColumns: [] });
      expect(r.rawKey).toBe(`raw/payment/date=${r.range.to.lastUpdated.slice(0, 10)}/${r.batchId}.${r.rawKey.split('.').at(-3)}.jsonl.gz`);
      expect(r.rawKey).toMatch(/\.[0-9a-f]{12}\.jsonl\.gz$/);
      const object = await h.objects.get(r.rawBucket, r.rawKey);
      expect(object.length).toBe(r.bytes);
    }
  });

  it('carries every text value exactly (quotes, backslashes, control characters, non-ASCII) and NULL as null', async () => {
    await h.detect('design');
    await h.detect('address');

    const designs = await h.rowsOf(await h.drainMessages('design'));
    expect(designs).toEqual(await h.sourceJson('design'));
    expect(designs.map((l) => (JSON.parse(l) as { design_name: string }).design_name)).toContain('vertical\u000btab, form\u000cfeed, backspace\u0008, bell\u0007, escape\u001b');
    expect(designs.filter((l) => l.length > 300_000)).toHaveLength(3);
    const addresses = (await h.rowsOf(await h.drainMessages('address'))).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(addresses).toEqual((await h.sourceJson('address')).map((l) => JSON.parse(l) as Record<string, unknown>));
    expect(addresses[1]).toMatchObject({ address_line_1: 'Flat "2"', address_line_2: 'Back\\Lane', district: null, last_updated: '2023-01-01T00:00:00.000001' });
  });

  it('writes each raw object as a header line naming the columns, then one JSON array of values per row (layout arrays)', async () => {
    const [message] = await h.drainMessages('currency').then(async (none) => (none.length > 0 ? none : (await h.detect('currency'), h.drainMessages('currency'))));

    expect(message?.object.layout).toBe('arrays');
    const lines = await h.objectLines(message as NonNullable<typeof message>);
    expect(JSON.parse(lines[0] ?? '')).toEqual({ format: RAW_FORMAT_V2, table: 'currency', columns: ['currency_id', 'currency_code', 'created_at', 'last_updated'] });
    expect(lines.slice(1)).toEqual(['[1,"GBP","2022-11-03T14:20:49.962","2022-11-03T14:20:49.962"]']);
    expect((await h.batchRecords('currency'))[0]?.rawLayout).toBe('arrays');
  });

  it('a pass with nothing new writes nothing, sends nothing and leaves the watermark as it was', async () => {
    const before = await h.watermark('payment');
    const objectsBefore = await h.stage.clients.s3.send(new ListObjectsV2Command({ Bucket: h.stage.resources.ingestionBucket }));

    const outcome = await h.detect('payment');

    expect(outcome).toEqual({ status: 'idle' });
    expect(await h.drainMessages('payment')).toEqual([]);
    const objectsAfter = await h.stage.clients.s3.send(new ListObjectsV2Command({ Bucket: h.stage.resources.ingestionBucket }));
    expect(objectsAfter.KeyCount).toBe(objectsBefore.KeyCount);
    expect(await h.watermark('payment')).toEqual(before);
  });
});

describe('change-detector: a long pass announces its pages ten at a time', () => {
  let long: DetectorHarness;

  beforeAll(async () => {
    long = await DetectorHarness.withPayments('cd_full_long', 230);
  });

  afterAll(async () => {
    await long?.close();
  });

  it('sends ten pages’ messages a request and moves the cursor past them in one write, in page order', async () => {
    const sends: string[][] = [];
    const cursorPages: number[] = [];
    const ports = long.ports();
    const watermarks: WatermarkStore = {
      get: (table) => long.watermarks.get(table),
      save: (next, version, change) => {
        if (change === 'advance') cursorPages.push(next.current?.page ?? -1);
        return long.watermarks.save(next, version, change);
      },
    };
    const sender = { send: (queue: string, bodies: readonly string[]) => (sends.push([...bodies]), ports.sender.send(queue, bodies)) };

    const outcome = await long.detect('payment', { sender, watermarks }, { pageSize: 10 });

    expect(outcome).toMatchObject({ status: 'completed', pages: 23, rows: 230 });
    // 23 pages: two full announcements, then the rest when the pass has read its last page.
    expect(sends.map((b) => b.length)).toEqual([10, 10, 3]);
    expect(cursorPages).toEqual([10, 20, 23]);
    const pages = sends.flat().map((b) => Number((JSON.parse(b) as { batchId: string }).batchId.slice(-4)));
    expect(pages).toEqual(Array.from({ length: 23 }, (_, i) => i + 1));
    expect(await long.rowsOf(await long.drainMessages('payment'))).toEqual(await long.sourceJson('payment'));
  });
});
