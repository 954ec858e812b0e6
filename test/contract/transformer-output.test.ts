import fs from 'node:fs';
import path from 'node:path';
import { parquetMetadata, parquetSchema } from 'hyparquet';
import { parseMessage } from '@totes/events';
import type { SourceTableName } from '@totes/shared/source/tables';
import { VERSION_COLUMN, WAREHOUSE_TABLES } from '@totes/shared/warehouse/tables';
import { transformBatch } from '../../services/transformer/src/transform-batch';
import { openParquet } from '../../services/warehouse-loader/src/parquet-file';
import { stagingColumns } from '../../services/warehouse-loader/src/staging-columns';
import { decodeCopyBinary } from '../unit/warehouse-loader/copy-binary';
import { gen, memoryDependencies, stageRawBatch, type Row } from '../unit/transformer/fixtures';

/**
 * The transformer's output contract with the loader: every load-requested message it sends
 * validates against events/src/load-requested.v1.ts and points at a Parquet file that follows THE
 * PARQUET CONTRACT (columns, physical and logical types, repetition) and holds the rows it says.
 */
const source = {
  address: [gen.address(1), gen.address(2)],
  counterparty: [gen.counterparty(1, 1), gen.counterparty(2, 2)],
  department: [gen.department(1, 'Sales', 'Manchester')],
  staff: [gen.staff(1, 1)],
};

const batches: [SourceTableName, Row[]][] = [
  ['address', source.address],
  ['counterparty', source.counterparty],
  ['currency', [gen.currency(1, 'GBP'), gen.currency(2, 'USD')]],
  ['department', source.department],
  ['design', [gen.design(1)]],
  ['staff', source.staff],
  ['sales_order', [gen.salesOrder(1), gen.salesOrder(2)]],
  ['purchase_order', [gen.purchaseOrder(1)]],
  ['payment_type', [gen.paymentType(1, 'SALES_RECEIPT')]],
  ['transaction', [gen.transaction(1)]],
  ['payment', [gen.payment(1)]],
];

type Expectation = { type: string; logical?: Record<string, unknown>; converted?: string; length?: number };
const PHYSICAL: Record<string, Expectation> = {
  int: { type: 'INT32' },
  varchar: { type: 'BYTE_ARRAY', converted: 'UTF8', logical: { type: 'STRING' } },
  boolean: { type: 'BOOLEAN' },
  date: { type: 'INT32', converted: 'DATE', logical: { type: 'DATE' } },
  time: { type: 'INT64', logical: { type: 'TIME', isAdjustedToUTC: false, unit: 'MICROS' } },
  'numeric(10,2)': { type: 'INT64', converted: 'DECIMAL', logical: { type: 'DECIMAL', precision: 10, scale: 2 } },
  numeric: { type: 'FIXED_LEN_BYTE_ARRAY', length: 11, converted: 'DECIMAL', logical: { type: 'DECIMAL', precision: 24, scale: 6 } },
  [VERSION_COLUMN]: { type: 'INT64', logical: { type: 'TIMESTAMP', isAdjustedToUTC: false, unit: 'MICROS' } },
};

describe('transformer output: load-requested v1 messages and the Parquet contract', () => {
  it.each(batches)('%s: each message validates and describes a contract Parquet file', async (table, rows) => {
    const deps = memoryDependencies(source);
    const message = await stageRawBatch(deps.objects, table, rows);
    await transformBatch(message, deps);

    expect(deps.sender.sent.length).toBeGreaterThan(0);
    for (const { queue, body } of deps.sender.sent) {
      expect(queue).toBe('load');
      const sent = parseMessage('load-requested', body);
      expect(sent).toMatchObject({
        batchId: message.batchId,
        sourceTable: table,
        fileId: `${message.batchId}/${sent.targetTable}`,
        filesInBatch: deps.sender.sent.length,
        object: { bucket: deps.processedBucket, key: `processed/${sent.targetTable}/date=${message.range.to.lastUpdated.slice(0, 10)}/${message.batchId}.parquet` },
      });

      const bytes = await deps.objects.get(sent.object.bucket, sent.object.key);
      expect(sent.object.bytes).toBe(bytes.byteLength);
      const metadata = parquetMetadata(bytes.slice().buffer);
      expect(Number(metadata.num_rows)).toBe(sent.object.rows);

      const target = WAREHOUSE_TABLES[sent.targetTable];
      const expectedColumns = [...target.columns.map((c) => ({ name: c.name, kind: c.type as string, nullable: c.nullable }))];
      expectedColumns.push({ name: VERSION_COLUMN, kind: VERSION_COLUMN, nullable: false });
      const children = parquetSchema(metadata).children;
      expect(children.map((c) => c.element.name)).toEqual(expectedColumns.map((c) => c.name));
      for (const [i, column] of expectedColumns.entries()) {
        const element = children[i]!.element;
        const want = PHYSICAL[column.kind]!;
        expect({ column: column.name, type: element.type, length: element.type_length, converted: element.converted_type, logical: element.logical_type, repetition: element.repetition_type }).toEqual({
          column: column.name,
          type: want.type,
          length: want.length,
          converted: want.converted,
          logical: want.logical,
          repetition: column.nullable ? 'OPTIONAL' : 'REQUIRED',
        });
      }
    }
  });

  it('the load-requested example in events/examples matches what the transformer sends for a sales_order batch', async () => {
    const example = parseMessage('load-requested', fs.readFileSync(path.join(__dirname, '../../events/examples/load-requested.v1.json'), 'utf8'));
    const deps = memoryDependencies();
    const message = await stageRawBatch(deps.objects, 'sales_order', [gen.salesOrder(1)], { batchId: example.batchId });
    await transformBatch(message, deps);
    const fact = deps.sender.sent.map((s) => parseMessage('load-requested', s.body)).find((m) => m.targetTable === 'fact_sales_order');
    expect(fact).toMatchObject({ fileId: example.fileId, batchId: example.batchId, filesInBatch: example.filesInBatch, sourceTable: example.sourceTable });
  });

  it.each(batches)("%s: the loader's own reader accepts every file and reads the rows the message announces", async (table, rows) => {
    const deps = memoryDependencies(source);
    const message = await stageRawBatch(deps.objects, table, rows);
    await transformBatch(message, deps);
    for (const { body } of deps.sender.sent) {
      const sent = parseMessage('load-requested', body);
      const bytes = await deps.objects.get(sent.object.bucket, sent.object.key);
      const columns = stagingColumns(WAREHOUSE_TABLES[sent.targetTable]);
      const contents = openParquet(bytes, columns, sent.fileId);
      const blocks: Buffer[] = [];
      for await (const block of contents.copyData()) blocks.push(block);
      const rows = decodeCopyBinary(Buffer.concat(blocks), columns);
      expect(rows).toHaveLength(sent.object.rows);
      if (sent.targetTable === 'fact_sales_order') expect(rows[0]?.[columns.findIndex((c) => c.name === 'unit_price')]).toBe('3.94');
    }
  });
});
