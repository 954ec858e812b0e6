import { StringDecoder } from 'node:string_decoder';
import { createGunzip } from 'node:zlib';
import { RAW_FORMAT_V2, rawHeaderV2, type RawLayout } from '@totes/events';
import { UnreadableBatchError } from '@totes/shared/errors';
import { SOURCE_TABLES, type SourceTableName } from '@totes/shared/source/tables';
import { clip, isInt32, type RawRow } from './source-values';

/**
 * Streams the rows of a raw batch (gzipped JSON Lines, events/src/batch-extracted.v2.ts) one at a
 * time: the gunzip output is consumed chunk by chunk and split into lines, so memory holds the
 * compressed object and the rows the caller keeps, never the whole decompressed text.
 *
 * Two layouts, named by the message: `objects` (v1: one JSON object per line, keyed by column name)
 * and `arrays` (v2: a header line naming the columns, then one JSON array of values per line, in
 * the header's order). Either way each row is handed on as an object keyed by column name.
 *
 * A batch that cannot be read as a whole throws UnreadableBatchError (its message fails, retries and
 * reaches the DLQ): not gzip, a line that is not a JSON object (objects) or array of the header's
 * length (arrays), a missing or foreign header, a row without one of the table's columns (the
 * contract writes every column, NULL as null), or a primary key that is not an int.
 * A row that is readable but breaks a derivation rule is not this module's business: it is
 * quarantined by the caller while the rest of the batch proceeds.
 */
export interface RawBatchRow {
  /** 1-based line number in the object. */
  readonly line: number;
  /** The primary key value. */
  readonly id: number;
  readonly row: RawRow;
}

export async function* readRawBatch(compressed: Uint8Array, table: SourceTableName, layout: RawLayout = 'objects'): AsyncGenerator<RawBatchRow> {
  const columns = SOURCE_TABLES[table].columns.map((c) => c.name);
  const primaryKey = SOURCE_TABLES[table].primaryKey;
  // arrays: the header's column names, in value order (undefined until the header line is read).
  let names: string[] | undefined;
  // 1 MiB output chunks: far fewer round trips to the zlib thread than the 16 KiB default, still
  // a small, fixed window of the decompressed text.
  const gunzip = createGunzip({ chunkSize: 1 << 20 });
  gunzip.end(compressed);
  const decoder = new StringDecoder('utf8');
  let pending = '';
  let line = 0;
  let blankLine = 0;

  /** The header line of an arrays object: which columns, in which order. */
  const readHeader = (value: unknown, text: string): void => {
    const header = rawHeaderV2.safeParse(value);
    if (!header.success) throw new UnreadableBatchError(`line 1 is not a ${RAW_FORMAT_V2} header (format, table, columns): ${clip(text)}`);
    if (header.data.table !== table) throw new UnreadableBatchError(`the header says its rows are of ${header.data.table}, not ${table}`);
    const seen = new Set<string>();
    for (const name of header.data.columns) {
      if (seen.has(name)) throw new UnreadableBatchError(`the header names the column ${name} twice`);
      seen.add(name);
    }
    // Every row has a value for every header column, so the header alone says whether one is missing.
    for (const column of columns) {
      if (!seen.has(column)) throw new UnreadableBatchError(`the header has no ${column} column, which every ${table} row must carry`);
    }
    names = header.data.columns;
  };

  /** A row line of an arrays object, as an object keyed by the header's names. */
  const rowOfArray = (value: unknown, text: string): RawRow => {
    const header = names as string[];
    if (!Array.isArray(value)) throw new UnreadableBatchError(`line ${line} is not a JSON array: ${clip(text)}`);
    if (value.length !== header.length) throw new UnreadableBatchError(`line ${line} has ${value.length} values where the header names ${header.length} columns`);
    const row: Record<string, unknown> = {};
    for (let i = 0; i < header.length; i++) row[header[i] as string] = value[i];
    return row;
  };

  const parse = (text: string): RawBatchRow | undefined => {
    line += 1;
    if (blankLine !== 0) throw new UnreadableBatchError(`line ${blankLine} is empty: the object is not JSON Lines`);
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      throw new UnreadableBatchError(`line ${line} is not JSON: ${clip(text)}`, { cause: err });
    }
    let row: RawRow;
    if (layout === 'arrays') {
      if (names === undefined) {
        readHeader(value, text);
        return undefined;
      }
      row = rowOfArray(value, text);
    } else {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) {
        throw new UnreadableBatchError(`line ${line} is not a JSON object: ${clip(text)}`);
      }
      row = value as RawRow;
      for (const column of columns) {
        if (!(column in row)) throw new UnreadableBatchError(`line ${line} has no ${column} column, which every ${table} row must carry`);
      }
    }
    const id = row[primaryKey];
    if (!isInt32(id)) throw new UnreadableBatchError(`line ${line} has ${primaryKey} ${clip(id)}, not an integer`);
    return { line, id, row };
  };

  try {
    for await (const chunk of gunzip as AsyncIterable<Buffer>) {
      const text = pending + decoder.write(chunk);
      let start = 0;
      for (let end = text.indexOf('\n', start); end !== -1; end = text.indexOf('\n', start)) {
        const content = text.slice(start, end);
        start = end + 1;
        if (content.trim() === '') {
          line += 1;
          if (blankLine === 0) blankLine = line;
          continue;
        }
        const row = parse(content);
        if (row) yield row;
      }
      pending = text.slice(start);
    }
  } catch (err) {
    if (err instanceof UnreadableBatchError) throw err;
    throw new UnreadableBatchError(`the object is not gzip (${err instanceof Error ? err.message : String(err)})`, { cause: err });
  }
  const rest = pending + decoder.end();
  if (rest.trim() !== '') {
    const row = parse(rest);
    if (row) yield row;
  }
  // An arrays object always starts with its header, even when it holds no row.
  if (layout === 'arrays' && names === undefined) throw new UnreadableBatchError(`the object has no ${RAW_FORMAT_V2} header line`);
}
