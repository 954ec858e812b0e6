import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { quoteIdent, SOURCE_TABLES, type SourceTableName } from '@totes/shared/source/tables';

/**
 * COPY helpers shared by the generator and the CSV import. Rows travel in PostgreSQL's text
 * format (tab-separated, `\N` for NULL), which is what COPY parses fastest.
 */

/** The text-format representation of one value: backslash, tab, newline and carriage return escaped. */
export function copyText(value: string | null): string {
  if (value === null) return '\\N';
  // Only strings that need it pay for the escaping (the common case is plain text).
  return /[\\\t\n\r]/.test(value) ? value.replace(/[\\\t\n\r]/g, (ch) => COPY_ESCAPES[ch] ?? ch) : value;
}
const COPY_ESCAPES: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };

/** `COPY "table" ("a", "b") FROM STDIN`, identifiers from the catalogue only. */
export function copyStatement(table: SourceTableName, columns: readonly string[] = SOURCE_TABLES[table].columns.map((c) => c.name), freeze = false): string {
  const known = new Set<string>(SOURCE_TABLES[table].columns.map((c) => c.name));
  for (const column of columns) {
    if (!known.has(column)) throw new RangeError(`${table} has no column ${column} in the source catalogue.`);
  }
  return `COPY ${quoteIdent(table)} (${columns.map(quoteIdent).join(', ')}) FROM STDIN${freeze ? ' WITH (FREEZE)' : ''}`;
}

/**
 * Stream text chunks into one COPY on the client's connection; resolves with the rows PostgreSQL
 * counted. Backpressure is the stream pipeline's: the producer runs only as fast as PostgreSQL reads.
 */
export async function copyChunks(client: pg.Client, statement: string, chunks: Iterable<string | Buffer> | AsyncIterable<string | Buffer>): Promise<number> {
  const sink = client.query(copyFrom(statement));
  await pipeline(Readable.from(chunks, { objectMode: false }), sink);
  return sink.rowCount;
}
