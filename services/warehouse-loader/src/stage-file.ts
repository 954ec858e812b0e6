import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { from as copyFrom } from 'pg-copy-streams';
import type { WarehouseTable } from '@totes/shared/warehouse/tables';
import { copyIntoStagingSql, createStagingTableSql } from './merge-sql';
import type { ParquetContents } from './parquet-file';
import type { LoaderSession } from './warehouse-session';

/**
 * The staging table of a target table: a temporary table (no WAL, private to the session), created
 * once per connection, outside any transaction, so that a rolled-back load cannot take it away.
 */
export async function ensureStagingTable(session: LoaderSession, table: WarehouseTable): Promise<void> {
  if (session.stagingTables.has(table.name)) return;
  await session.client.query(createStagingTableSql(table));
  session.stagingTables.add(table.name);
}

/**
 * Streams a file's rows into the staging table with COPY FROM STDIN in binary format
 * (copy-writer.ts). Runs inside the load transaction: its commit empties the table (ON COMMIT
 * DELETE ROWS), and a retried transaction streams the file again. Returns the number of rows staged.
 */
export async function stageFile(session: LoaderSession, table: WarehouseTable, contents: ParquetContents): Promise<number> {
  const copy = session.client.query(copyFrom(copyIntoStagingSql(table)));
  await pipeline(Readable.from(contents.copyData(), { objectMode: false }), copy);
  return copy.rowCount;
}
