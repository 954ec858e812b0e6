import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { from as copyFrom } from 'pg-copy-streams';
import type { WarehouseTable } from '@totes/shared/warehouse/tables';
import { copyIntoStagingSql, createStagingTableSql, stagingTable } from './merge-sql';
import type { ParquetContents } from './parquet-file';
import type { LoaderSession } from './warehouse-session';

/**
 * Streams a file's rows into the session's staging table for its target table with COPY FROM STDIN
 * (text format), outside the merge transaction: a merge retried after a deadlock reuses the staged
 * rows. The staging table is a temporary table (no WAL, private to the session), created once per
 * connection and emptied before each file. Returns the number of rows staged.
 */
export async function stageFile(session: LoaderSession, table: WarehouseTable, contents: ParquetContents): Promise<number> {
  const { client } = session;
  if (!session.stagingTables.has(table.name)) {
    await client.query(createStagingTableSql(table));
    session.stagingTables.add(table.name);
  }
  await client.query(`TRUNCATE ${stagingTable(table.name)}`);
  const copy = client.query(copyFrom(copyIntoStagingSql(table)));
  await pipeline(Readable.from(contents.copyText(), { objectMode: false }), copy);
  // Statistics for the planner: autovacuum never analyses temporary tables.
  await client.query(`ANALYZE ${stagingTable(table.name)}`);
  return copy.rowCount;
}
