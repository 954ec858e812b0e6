import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { DuckDBInstance } from '@duckdb/node-api';

/**
 * An INDEPENDENT Parquet reader for the transformer's files: DuckDB (its own C++ Parquet reader, not
 * hyparquet). Every value is rendered as text by DuckDB itself, so DECIMAL, DATE, TIME and
 * TIMESTAMP come back exactly as DuckDB understood them, with no JavaScript number in between.
 */
export interface DuckColumn {
  readonly name: string;
  readonly type: string;
  readonly nullable: boolean;
}

export interface DuckFile {
  readonly columns: readonly DuckColumn[];
  readonly rows: Record<string, string | null>[];
}

let instance: Promise<DuckDBInstance> | undefined;

export async function readWithDuckDB(bytes: Uint8Array): Promise<DuckFile> {
  instance ??= DuckDBInstance.create(':memory:');
  const connection = await (await instance).connect();
  const file = path.join(os.tmpdir(), `totes-transformer-${randomBytes(6).toString('hex')}.parquet`);
  fs.writeFileSync(file, bytes);
  try {
    const literal = `'${file.replaceAll("'", "''")}'`;
    const described = await connection.runAndReadAll(`DESCRIBE SELECT * FROM read_parquet(${literal})`);
    const schema = await connection.runAndReadAll(`SELECT name, repetition_type FROM parquet_schema(${literal}) WHERE num_children IS NULL`);
    const repetition = new Map(schema.getRowObjectsJson().map((r) => [String(r.name), String(r.repetition_type)]));
    const columns = described.getRowObjectsJson().map((r) => ({
      name: String(r.column_name),
      type: String(r.column_type),
      nullable: repetition.get(String(r.column_name)) !== 'REQUIRED',
    }));
    const select = columns.map((c) => `CAST("${c.name}" AS VARCHAR) AS "${c.name}"`).join(', ');
    const result = await connection.runAndReadAll(`SELECT ${select} FROM read_parquet(${literal})`);
    const rows = result.getRowObjectsJson().map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v === null ? null : String(v)])));
    return { columns, rows };
  } finally {
    connection.closeSync();
    fs.rmSync(file, { force: true });
  }
}
