import fs from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { parseMessage, serializeMessage, upgradeBatchExtractedV1, type BatchExtractedV1 } from '@totes/events';
import { copyColumnsFor, OFF_RANGE_LAST_UPDATED } from '@totes/shared/source/change-reader';
import { CopyToJsonl } from '@totes/shared/source/copy-to-jsonl';
import { SOURCE_TABLES, type SourceTableName } from '@totes/shared/source/tables';
import type { BatchRecord } from '@totes/shared/state/batch-store';
import { batchMessage, gzipParts, RAW_LAYOUT, rawObjectHeader } from '../../services/change-detector/src/detection-pass';
import { batchIdFor, passIdFor, rawKeyFor } from '../../services/change-detector/src/naming';
import { quarantineKey, transformBatch } from '../../services/transformer/src/transform-batch';
import { gen, memoryDependencies, type Row } from '../unit/transformer/fixtures';

/**
 * The change-detector's output contract with the transformer: every batch-extracted message it
 * sends validates against events/src/batch-extracted.v2.ts, and the raw object it points at (a
 * header line, then JSON arrays made from PostgreSQL's COPY output, compressed as the detector
 * does) is read by the transformer without a quarantined row, exactly as the same rows in the
 * version 1 layout (objects) under a version 1 message, which the transformer still accepts.
 */
const source = {
  address: [gen.address(1), gen.address(2)],
  counterparty: [gen.counterparty(1, 1)],
  department: [gen.department(1, 'Sales', 'Manchester')],
  staff: [gen.staff(1, 1)],
};

const tables: [SourceTableName, Row[]][] = [
  ['address', source.address],
  ['counterparty', source.counterparty],
  ['currency', [gen.currency(1, 'GBP'), gen.currency(2, 'USD')]],
  ['department', source.department],
  ['design', [gen.design(1)]],
  ['staff', source.staff],
  ['sales_order', [gen.salesOrder(1), gen.salesOrder(2, { unit_price: '2.05' })]],
  ['purchase_order', [gen.purchaseOrder(1)]],
  ['payment_type', [gen.paymentType(1, 'SALES_RECEIPT')]],
  ['transaction', [gen.transaction(1)]],
  ['payment', [gen.payment(1)]],
];

/** A value as PostgreSQL's COPY text format writes it (ISO DateStyle: fraction trimmed, space separator). */
function copyValue(value: unknown, type: string): string {
  if (value === null || value === undefined) return '\\N';
  if (type === 'boolean') return value ? 't' : 'f';
  if (type === 'timestamp') return String(value).replace('T', ' ').replace(/\.?0+$/, '');
  return String(value).replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n');
}

function rawPage(table: SourceTableName, rows: readonly Row[], layout: 'objects' | 'arrays' = RAW_LAYOUT): { body: Buffer; last: { lastUpdated: string; id: number } } {
  const columns = SOURCE_TABLES[table].columns;
  const converter = new CopyToJsonl({
    columns: copyColumnsFor(table),
    lastUpdatedIndex: columns.findIndex((c) => c.name === 'last_updated'),
    idIndex: columns.findIndex((c) => c.name === SOURCE_TABLES[table].primaryKey),
    hasMeta: false,
    layout,
  });
  converter.push(Buffer.from(rows.map((r) => `${columns.map((c) => copyValue(r[c.name], c.type)).join('\t')}\n`).join('')));
  const out = converter.finish();
  if (!out.last) throw new Error('no rows');
  return { body: out.body, last: out.last };
}

function record(table: SourceTableName, page: { body: Uint8Array; last: { lastUpdated: string; id: number } }, from: BatchRecord['range']['from'], bucket: string): BatchRecord {
  const batchId = batchIdFor(table, passIdFor('2024-11-15T14:40:00.123456'), 1);
  return {
    batchId,
    table,
    state: 'extracted',
    rows: 1,
    bytes: page.body.byteLength,
    rawBucket: bucket,
    rawKey: rawKeyFor(table, page.last.lastUpdated, batchId, '0123456789ab'),
    range: { from, to: page.last },
    rawLayout: RAW_LAYOUT,
    lateRows: 0,
    observedAt: '2024-11-15T14:40:00.123456',
    extractedAt: '2024-11-15T14:40:01.250Z',
    extraColumns: [],
    loads: {},
  };
}

describe('change-detector output: batch-extracted v2 and the raw zone', () => {
  it.each(tables)('%s: the message validates and the transformer reads every row of the object', async (table, rows) => {
    const deps = memoryDependencies(source);
    const page = rawPage(table, rows);
    const gz = await gzipParts([rawObjectHeader(table, copyColumnsFor(table).map((c) => c.name)), page.body], 1);
    const rec = { ...record(table, { body: gz, last: page.last }, null, 'totes-etl-test-ingestion'), rows: rows.length };
    await deps.objects.putImmutable(rec.rawBucket, rec.rawKey, gz);

    const sent = parseMessage('batch-extracted', serializeMessage('batch-extracted', batchMessage(rec)));
    const result = await transformBatch(sent, deps);

    expect(sent).toMatchObject({ version: 2, batchId: rec.batchId, table, object: { key: rec.rawKey, rows: rows.length, format: 'jsonl.gz', layout: 'arrays' }, range: { from: null } });
    expect(result).toMatchObject({ quarantinedRows: 0, rows: rows.length });
    expect(deps.sender.sent.length).toBeGreaterThan(0);

    // The same rows as version 1 wrote them (objects, no header) under a version 1 message: the same output.
    const v1deps = memoryDependencies(source);
    const v1gz = gzipSync(rawPage(table, rows, 'objects').body);
    // Version 1 has no observedAt: the transformer reads it from the batch id, so the output is the same.
    const { observedAt: _observedAt, ...announced } = batchMessage(rec);
    const v1: BatchExtractedV1 = { ...announced, version: 1, object: { bucket: rec.rawBucket, key: rec.rawKey, format: 'jsonl.gz', bytes: v1gz.length, rows: rows.length } };
    await v1deps.objects.putImmutable(rec.rawBucket, rec.rawKey, v1gz);
    const v1result = await transformBatch(parseMessage('batch-extracted', JSON.stringify(v1)), v1deps);
    expect(parseMessage('batch-extracted', JSON.stringify(v1))).toEqual(upgradeBatchExtractedV1(v1));
    expect(v1result).toEqual(result);
  });

  it('a batch recorded before raw layout v2 (no rawLayout) is announced, when re-sent, as the objects it holds', () => {
    const page = rawPage('sales_order', [gen.salesOrder(1)], 'objects');
    const { rawLayout: _layout, ...old } = record('sales_order', page, null, 'b-ingestion');
    expect(parseMessage('batch-extracted', serializeMessage('batch-extracted', batchMessage(old))).object.layout).toBe('objects');
  });

  it('an incremental page’s range starts at its window (last_updated above the lower bound) and validates', () => {
    const page = rawPage('payment', [gen.payment(1)]);
    const rec = record('payment', page, { lastUpdated: '2024-11-15T14:25:00.123456', id: 2_147_483_647 }, 'b-ingestion');
    const message = parseMessage('batch-extracted', serializeMessage('batch-extracted', { ...batchMessage(rec), lateRows: 3, extraColumns: ['colour'] }));
    expect(message.range.from).toEqual({ lastUpdated: '2024-11-15T14:25:00.123456', id: 2_147_483_647 });
    expect(message.extraColumns).toEqual(['colour']);
  });

  it('the batch-extracted example in events/examples has the shape the detector sends', () => {
    const example = parseMessage('batch-extracted', fs.readFileSync(path.join(__dirname, '../../events/examples/batch-extracted.v2.json'), 'utf8'));
    const page = rawPage('sales_order', [gen.salesOrder(1)]);
    const sent = batchMessage(record('sales_order', page, null, example.object.bucket));
    expect(Object.keys(sent).sort()).toEqual(Object.keys(example).sort());
    expect(Object.keys(sent.object).sort()).toEqual(Object.keys(example.object).sort());
    expect(sent.object.layout).toBe(example.object.layout);
    expect(sent.object.key).toMatch(/^raw\/sales_order\/date=\d{4}-\d{2}-\d{2}\/sales_order\.\d{8}t\d{12}\.p0001\.[0-9a-f]{12}\.jsonl\.gz$/);
  });

  describe('rows whose timestamps the contract cannot carry (infinity, BC, after 9999)', () => {
    /** A page as the detector reads it: such rows are keyed (OFF_RANGE_LAST_UPDATED, id) (change-reader.ts), their values kept as PostgreSQL renders them. */
    async function sendOffRangePage(table: SourceTableName, rows: readonly Row[], lastId: number) {
      const deps = memoryDependencies(source);
      const page = rawPage(table, rows);
      const gz = await gzipParts([rawObjectHeader(table, copyColumnsFor(table).map((c) => c.name)), page.body], 1);
      const from = { lastUpdated: '2024-11-15T14:25:00.123456', id: 2_147_483_647 };
      const rec = { ...record(table, { body: gz, last: { lastUpdated: OFF_RANGE_LAST_UPDATED, id: lastId } }, from, 'totes-etl-test-ingestion'), rows: rows.length };
      await deps.objects.putImmutable(rec.rawBucket, rec.rawKey, gz);
      const sent = parseMessage('batch-extracted', serializeMessage('batch-extracted', batchMessage(rec)));
      return { deps, page, sent, result: await transformBatch(sent, deps) };
    }

    it('the message validates, and the transformer quarantines each such fact row naming table, id, column and the value, while the rest loads', async () => {
      const rows = [
        gen.salesOrder(1),
        gen.salesOrder(2, { last_updated: 'infinity' }),
        gen.salesOrder(3, { created_at: '0044-03-15T00:00:00 BC' }),
        gen.salesOrder(4, { last_updated: '12000-01-01T00:00:00.5' }),
        gen.salesOrder(5, { last_updated: '-infinity' }),
      ];

      const { deps, page, sent, result } = await sendOffRangePage('sales_order', rows, 5);

      // The raw values are PostgreSQL's JSON of them (the first space of COPY's text becomes T, not " BC"'s).
      expect(page.body.toString('utf8')).toContain('"0044-03-15T00:00:00 BC"');
      expect(sent.range.to).toEqual({ lastUpdated: '9999-12-31T24:00:00', id: 5 });
      expect(sent.object.key).toMatch(/^raw\/sales_order\/date=9999-12-31\//);
      expect(result).toMatchObject({ rows: 5, rowsTransformed: 1, quarantinedRows: 4, quarantineKey: quarantineKey(sent) });
      const quarantined = Buffer.from(await deps.objects.get(deps.processedBucket, quarantineKey(sent)))
        .toString('utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { table: string; id: number; column: string; reason: string });
      expect(quarantined.map((q) => [q.table, q.id, q.column])).toEqual([
        ['sales_order', 2, 'last_updated'],
        ['sales_order', 3, 'created_at'],
        ['sales_order', 4, 'last_updated'],
        ['sales_order', 5, 'last_updated'],
      ]);
      expect(quarantined.map((q) => q.reason)).toEqual([
        expect.stringContaining('infinity'),
        expect.stringContaining('0044-03-15T00:00:00 BC'),
        expect.stringContaining('12000-01-01T00:00:00.5'),
        expect.stringContaining('-infinity'),
      ]);
    });

    it('a dimension row whose last_updated is such a value loads: no warehouse column holds it (its version is when it was observed)', async () => {
      const { result } = await sendOffRangePage('currency', [gen.currency(1, 'GBP', { last_updated: 'infinity' })], 1);

      expect(result).toMatchObject({ rows: 1, rowsTransformed: 1, quarantinedRows: 0 });
    });
  });
});
