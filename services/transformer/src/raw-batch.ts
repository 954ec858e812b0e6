import { StringDecoder } from 'node:string_decoder';
import { createGunzip } from 'node:zlib';
import { UnreadableBatchError } from '@totes/shared/errors';
import { SOURCE_TABLES, type SourceTableName } from '@totes/shared/source/tables';
import { clip, isInt32, type RawRow } from './source-values';

/**
 * Streams the rows of a raw batch (gzipped JSON Lines, events/src/batch-extracted.v1.ts) one at a
 * time: the gunzip output is consumed chunk by chunk and split into lines, so memory holds the
 * compressed object and the rows the caller keeps, never the whole decompressed text.
 *
 * A batch that cannot be read as a whole throws UnreadableBatchError (its message fails, retries and
 * reaches the DLQ): not gzip, a line that is not a JSON object, a row without one of the table's
 * columns (the contract writes every column, NULL as null), or a primary key that is not an int.
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

export async function* readRawBatch(compressed: Uint8Array, table: SourceTableName): AsyncGenerator<RawBatchRow> {
  const columns = SOURCE_TABLES[table].columns.map((c) => c.name);
  const primaryKey = SOURCE_TABLES[table].primaryKey;
  // 1 MiB output chunks: far fewer round trips to the zlib thread than the 16 KiB default, still
  // a small, fixed window of the decompressed text.
  const gunzip = createGunzip({ chunkSize: 1 << 20 });
  gunzip.end(compressed);
  const decoder = new StringDecoder('utf8');
  let pending = '';
  let line = 0;
  let blankLine = 0;

  const parse = (text: string): RawBatchRow => {
    line += 1;
    if (blankLine !== 0) throw new UnreadableBatchError(`line ${blankLine} is empty: the object is not JSON Lines`);
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      throw new UnreadableBatchError(`line ${line} is not JSON: ${clip(text)}`, { cause: err });
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new UnreadableBatchError(`line ${line} is not a JSON object: ${clip(text)}`);
    }
    const row = value as RawRow;
    for (const column of columns) {
      if (!(column in row)) throw new UnreadableBatchError(`line ${line} has no ${column} column, which every ${table} row must carry`);
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
        yield parse(content);
      }
      pending = text.slice(start);
    }
  } catch (err) {
    if (err instanceof UnreadableBatchError) throw err;
    throw new UnreadableBatchError(`the object is not gzip (${err instanceof Error ? err.message : String(err)})`, { cause: err });
  }
  const rest = pending + decoder.end();
  if (rest.trim() !== '') yield parse(rest);
}
