import { gzipSync } from 'node:zlib';
import { RAW_FORMAT_V2 } from '@totes/events';
import { UnreadableBatchError } from '@totes/shared/errors';
import { SOURCE_TABLES, type SourceTableName } from '@totes/shared/source/tables';
import { deriveBatch } from '../../../services/transformer/src/derive-batch';
import { readRawBatch, type RawBatchRow } from '../../../services/transformer/src/raw-batch';
import { MemorySourceImages, gen, gzipJsonLines, type Row, DERIVE } from './fixtures';

/**
 * The raw object's two layouts (events/src/batch-extracted.v2.ts): `objects` (v1, one JSON object
 * per row) and `arrays` (v2, a header line naming the columns, then one JSON array of values per
 * row). The same rows read the same either way; an arrays object that breaks its layout fails the
 * whole batch, naming what is wrong.
 */
function header(table: SourceTableName, columns: readonly string[] = SOURCE_TABLES[table].columns.map((c) => c.name)): string {
  return JSON.stringify({ format: RAW_FORMAT_V2, table, columns });
}

/** Rows in the arrays layout, values in catalogue order (then any extra columns), as the detector writes them. */
function gzipArrays(table: SourceTableName, rows: readonly Row[], extra: readonly string[] = []): Uint8Array {
  const columns = [...SOURCE_TABLES[table].columns.map((c) => c.name), ...extra];
  const lines = [header(table, columns), ...rows.map((r) => JSON.stringify(columns.map((c) => r[c] ?? null)))];
  return new Uint8Array(gzipSync(`${lines.join('\n')}\n`, { level: 1 }));
}

async function readAll(body: Uint8Array, table: SourceTableName, layout: 'objects' | 'arrays'): Promise<RawBatchRow[]> {
  const out: RawBatchRow[] = [];
  for await (const row of readRawBatch(body, table, layout)) out.push(row);
  return out;
}

const gzipText = (text: string) => new Uint8Array(gzipSync(text));

describe('raw layouts: arrays (v2) and objects (v1)', () => {
  it('reads an arrays object as the same rows, keyed by column name, as its objects twin', async () => {
    const rows = [gen.salesOrder(1), gen.salesOrder(2, { unit_price: '2.05', agreed_delivery_date: null }), gen.salesOrder(3)];

    const arrays = await readAll(gzipArrays('sales_order', rows), 'sales_order', 'arrays');
    const objects = await readAll(gzipJsonLines(rows), 'sales_order', 'objects');

    expect(arrays.map((r) => r.row)).toEqual(objects.map((r) => r.row));
    expect(arrays.map((r) => r.id)).toEqual([1, 2, 3]);
    // Lines are counted in the object: the header is line 1.
    expect(arrays.map((r) => r.line)).toEqual([2, 3, 4]);
  });

  it('maps values by the header, whatever its column order, and carries extra columns', async () => {
    const columns = ['design_name', 'design_id', 'colour', 'file_location', 'file_name', 'created_at', 'last_updated'];
    const body = gzipText(`${header('design', columns)}\n["Wooden",7,"red","/usr","wooden.json","2024-11-15T10:00:00","2024-11-15T10:00:00.5"]\n`);

    const [row] = await readAll(body, 'design', 'arrays');

    expect(row).toEqual({
      line: 2,
      id: 7,
      row: { design_name: 'Wooden', design_id: 7, colour: 'red', file_location: '/usr', file_name: 'wooden.json', created_at: '2024-11-15T10:00:00', last_updated: '2024-11-15T10:00:00.5' },
    });
  });

  it('derives the same warehouse rows and quarantines the same rows from either layout', async () => {
    const rows = [gen.salesOrder(1), gen.salesOrder(2, { agreed_delivery_date: '2022-02-30' }), gen.salesOrder(3)];
    const images = () => new MemorySourceImages({});

    const fromArrays = await deriveBatch('sales_order', gzipArrays('sales_order', rows), images(), { ...DERIVE, layout: 'arrays' });
    const fromObjects = await deriveBatch('sales_order', gzipJsonLines(rows), images(), DERIVE);

    expect(fromArrays.targets).toEqual(fromObjects.targets);
    expect(fromArrays.quarantined.map((q) => ({ ...q, line: q.line - 1 }))).toEqual(fromObjects.quarantined);
  });

  it('an arrays object with a header and no row holds no row', async () => {
    expect(await readAll(gzipText(`${header('currency')}\n`), 'currency', 'arrays')).toEqual([]);
  });

  const unreadable: [string, Uint8Array, string][] = [
    ['no header line at all', gzipText(''), 'the object has no totes-raw-v2 header line'],
    ['a first line that is a row, not a header', gzipText('[1,"x"]\n'), 'line 1 is not a totes-raw-v2 header'],
    ['a header of another format', gzipText('{"format":"csv","table":"design","columns":["design_id"]}\n'), 'line 1 is not a totes-raw-v2 header'],
    ['a header for another table', gzipText(`${header('staff')}\n`), 'the header says its rows are of staff, not design'],
    ['a header without one of the table’s columns', gzipText(`${header('design', ['design_id', 'created_at', 'last_updated', 'design_name', 'file_location'])}\n`), 'the header has no file_name column'],
    ['a header naming a column twice', gzipText(`${header('design', [...SOURCE_TABLES.design.columns.map((c) => c.name), 'design_name'])}\n`), 'the header names the column design_name twice'],
    ['a row that is an object', gzipText(`${header('design')}\n${JSON.stringify(gen.design(1))}\n`), 'line 2 is not a JSON array'],
    ['a row with a value too few', gzipText(`${header('design')}\n[1,"2024-11-15T10:00:00","2024-11-15T10:00:00","Wooden","/usr"]\n`), 'line 2 has 5 values where the header names 6 columns'],
    ['a primary key that is not an integer', gzipText(`${header('design')}\n["1","2024-11-15T10:00:00","2024-11-15T10:00:00","Wooden","/usr","w.json"]\n`), 'line 2 has design_id 1, not an integer'],
  ];
  it.each(unreadable)('refuses %s', async (_name, body, reason) => {
    const read = readAll(body, 'design', 'arrays');
    await expect(read).rejects.toBeInstanceOf(UnreadableBatchError);
    await expect(read).rejects.toThrow(reason);
  });

  it('refuses an arrays object read as objects, and an objects object read as arrays', async () => {
    await expect(readAll(gzipArrays('design', [gen.design(1)]), 'design', 'objects')).rejects.toThrow('line 1 has no design_id column');
    await expect(readAll(gzipJsonLines([gen.design(1)]), 'design', 'arrays')).rejects.toThrow('line 1 is not a totes-raw-v2 header');
  });
});
