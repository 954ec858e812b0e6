import fs from 'node:fs';
import path from 'node:path';
import { parse, type CastingContext, type Info } from 'csv-parse';
import pg from 'pg';
import { inTransaction } from '@totes/shared/db/transaction';
import { SourceSchemaError } from '@totes/shared/errors';
import { quoteIdent, SOURCE_TABLE_NAMES, SOURCE_TABLES, type SourceColumn, type SourceTableName } from '@totes/shared/source/tables';
import { copyChunks, copyStatement, copyText } from './copy';
import { CsvImportError } from './errors';
import { existingSourceTables } from './source-setup';

/**
 * `totes seed --from-csv DIR`: load a folder of per-table CSV files (the format of the real
 * extracts: `<table>.csv`, a header row, empty field = NULL, RFC 4180 quoting) into the embedded
 * source, all 11 tables in ONE transaction: any bad input rolls everything back.
 *
 * Every value is checked here before PostgreSQL sees it (type, NULL where not allowed, duplicate
 * key, a foreign key to a row the extract does not have), so the error names the file, the line
 * and the column; PostgreSQL's own checks stay as the safety net. Columns may come in any order
 * (the real design.csv has last_updated last); the header must name exactly the table's columns.
 */
export interface CsvImportProgress {
  readonly table: SourceTableName;
  readonly file: string;
  /** Rows of this file imported so far. */
  readonly rows: number;
  /** Bytes of all files read so far, and in all. */
  readonly bytes: number;
  readonly totalBytes: number;
}

export interface CsvImportOptions {
  readonly url: string;
  readonly dir: string;
  readonly onProgress?: (p: CsvImportProgress) => void;
}

export interface CsvImportResult {
  readonly rows: Readonly<Record<SourceTableName, number>>;
  readonly totalRows: number;
}

/** Parents before children, so that every foreign key can be checked against rows already read. */
const IMPORT_ORDER: readonly SourceTableName[] = [
  'currency',
  'payment_type',
  'department',
  'address',
  'counterparty',
  'staff',
  'design',
  'sales_order',
  'purchase_order',
  'transaction',
  'payment',
];

/** The foreign keys of SPEC §1, column → referenced table (keys are the referenced primary keys). */
const FOREIGN_KEYS: Partial<Record<SourceTableName, Readonly<Record<string, SourceTableName>>>> = {
  counterparty: { legal_address_id: 'address' },
  staff: { department_id: 'department' },
  sales_order: {
    design_id: 'design',
    staff_id: 'staff',
    counterparty_id: 'counterparty',
    currency_id: 'currency',
    agreed_delivery_location_id: 'address',
  },
  purchase_order: { staff_id: 'staff', counterparty_id: 'counterparty', currency_id: 'currency', agreed_delivery_location_id: 'address' },
  transaction: { sales_order_id: 'sales_order', purchase_order_id: 'purchase_order' },
  payment: { transaction_id: 'transaction', counterparty_id: 'counterparty', currency_id: 'currency', payment_type_id: 'payment_type' },
};

const INT = /^[+-]?\d{1,10}$/;
const NUMERIC = /^[+-]?(\d+(\.\d*)?|\.\d+)$/;
const TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(\.\d{1,6})?$/;
const BOOLEAN = new Set(['true', 'false', 't', 'f', 'TRUE', 'FALSE', 'True', 'False']);

/** Why a value does not fit its column's type, or undefined when it does. */
function typeProblem(column: SourceColumn, value: string): string | undefined {
  switch (column.type) {
    case 'int': {
      const n = INT.test(value) ? Number(value) : NaN;
      return Number.isInteger(n) && n >= -2147483648 && n <= 2147483647 ? undefined : `"${value}" is not a whole number (int)`;
    }
    case 'numeric':
      return NUMERIC.test(value) ? undefined : `"${value}" is not a decimal number`;
    case 'boolean':
      return BOOLEAN.has(value) ? undefined : `"${value}" is not true or false`;
    case 'timestamp': {
      const m = TIMESTAMP.exec(value);
      if (!m) return `"${value}" is not a timestamp (YYYY-MM-DD HH:MM:SS[.ffffff])`;
      const [y, mo, d, h, mi, s] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
      const date = new Date(Date.UTC(y, mo - 1, d));
      const validDate = date.getUTCFullYear() === y && date.getUTCMonth() === mo - 1 && date.getUTCDate() === d;
      return validDate && h < 24 && mi < 60 && s < 60 ? undefined : `"${value}" is not a real date and time`;
    }
    case 'varchar':
      return undefined;
  }
}

function copyBoolean(value: string): string {
  return value.toLowerCase().startsWith('t') ? 't' : 'f';
}

/** Check the folder: every table's file is there and readable. */
function locateFiles(dir: string): Record<SourceTableName, string> {
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) {
    throw new CsvImportError(dir, undefined, undefined, `The folder ${dir} does not exist.`);
  }
  const files = {} as Record<SourceTableName, string>;
  for (const table of SOURCE_TABLE_NAMES) {
    const file = path.join(dir, `${table}.csv`);
    if (!fs.existsSync(file)) throw new CsvImportError(file, undefined, undefined, `${table}.csv is missing in ${dir}: every one of the 11 tables needs its file.`);
    files[table] = file;
  }
  return files;
}

interface ParsedRecord {
  readonly record: (string | null)[];
  readonly info: Info;
}

/** Load one file: validate every value, stream the rows into COPY, remember its keys. */
async function importTable(
  client: pg.Client,
  table: SourceTableName,
  file: string,
  keys: Map<SourceTableName, Set<number>>,
  onRows: (rows: number, bytes: number) => void,
): Promise<number> {
  const name = path.basename(file);
  const catalogue = SOURCE_TABLES[table];
  const fail = (line: number | undefined, column: string | undefined, why: string, cause?: unknown): never => {
    const where = [line === undefined ? undefined : `line ${line}`, column === undefined ? undefined : `column ${column}`].filter(Boolean).join(', ');
    throw new CsvImportError(file, line, column, `${name}${where ? `, ${where}` : ''}: ${why}.`, cause === undefined ? undefined : { cause });
  };

  const parser = fs.createReadStream(file).pipe(
    parse({
      info: true,
      bom: true,
      // Rows with a wrong number of fields are reported by the checks below, naming the line.
      relax_column_count: true,
      // An unquoted empty field is NULL; a quoted one ("") is the empty string.
      cast: (value: string, context: CastingContext) => (value === '' && !context.quoting ? null : value) as unknown as string,
    }),
  );
  const iterator = parser[Symbol.asyncIterator]() as AsyncIterator<ParsedRecord>;

  let header: string[];
  try {
    const first = await iterator.next();
    if (first.done) fail(1, undefined, 'the file is empty; it needs a header row naming the columns');
    header = (first.value as ParsedRecord).record.map((h) => h ?? '');
  } catch (err) {
    if (err instanceof CsvImportError) throw err;
    return fail(1, undefined, `it is not readable CSV (${err instanceof Error ? err.message : String(err)})`, err);
  }
  const expected = catalogue.columns.map((c) => c.name);
  for (const column of header) {
    if (!expected.includes(column)) fail(1, column, `the header names a column ${table} does not have (expected ${expected.join(', ')})`);
    if (header.indexOf(column) !== header.lastIndexOf(column)) fail(1, column, 'the header names this column twice');
  }
  for (const column of expected) {
    if (!header.includes(column)) fail(1, column, `the header lacks this column of ${table}`);
  }
  const columns = header.map((h) => catalogue.columns.find((c) => c.name === h) as SourceColumn);
  const pkIndex = header.indexOf(catalogue.primaryKey);
  const foreign = Object.entries(FOREIGN_KEYS[table] ?? {}).map(([column, parent]) => ({ column, parent, index: header.indexOf(column) }));
  const ownKeys = new Set<number>();
  keys.set(table, ownKeys);

  let rows = 0;
  let bytes = 0;
  async function* lines(): AsyncGenerator<string> {
    let batch: string[] = [];
    for (;;) {
      let next: IteratorResult<ParsedRecord>;
      try {
        next = await iterator.next();
      } catch (err) {
        const line = (err as { lines?: number }).lines;
        return fail(line, undefined, `it is not readable CSV (${err instanceof Error ? err.message : String(err)})`, err);
      }
      if (next.done) break;
      const { record, info } = next.value;
      const line = info.lines;
      if (record.length !== columns.length) fail(line, undefined, `the row has ${record.length} fields where the header has ${columns.length}`);
      const out: string[] = [];
      for (let i = 0; i < columns.length; i++) {
        const column = columns[i] as SourceColumn;
        const value = record[i] ?? null;
        if (value === null) {
          if (!column.nullable) fail(line, column.name, 'the value is empty (NULL) but the column requires one');
          out.push('\\N');
          continue;
        }
        const problem = typeProblem(column, value);
        if (problem) fail(line, column.name, problem);
        out.push(column.type === 'boolean' ? copyBoolean(value) : copyText(value));
      }
      const id = Number(record[pkIndex]);
      if (ownKeys.has(id)) fail(line, catalogue.primaryKey, `${catalogue.primaryKey} ${id} appears twice`);
      ownKeys.add(id);
      for (const fk of foreign) {
        const value = record[fk.index];
        if (value !== null && value !== undefined && !keys.get(fk.parent)?.has(Number(value))) {
          fail(line, fk.column, `${fk.column} ${value} is not a ${SOURCE_TABLES[fk.parent].primaryKey} in ${fk.parent}.csv`);
        }
      }
      batch.push(`${out.join('\t')}\n`);
      rows++;
      if (batch.length >= 2_000) {
        bytes = info.bytes;
        onRows(rows, bytes);
        yield batch.join('');
        batch = [];
      }
    }
    if (batch.length > 0) yield batch.join('');
    onRows(rows, fs.statSync(file).size);
  }

  try {
    await copyChunks(client, copyStatement(table, header), lines());
  } catch (err) {
    parser.destroy();
    if (err instanceof CsvImportError) throw err;
    // PostgreSQL refused what the checks above let through: say so with its words and the file.
    const pgErr = err as { message?: string; where?: string; detail?: string };
    const copyLine = /line (\d+)/.exec(pgErr.where ?? '')?.[1];
    return fail(
      undefined,
      undefined,
      `PostgreSQL refused the data${copyLine ? ` in data row ${copyLine}` : ''}: ${pgErr.message ?? String(err)}${pgErr.detail ? ` (${pgErr.detail})` : ''}`,
      err,
    );
  }
  parser.destroy();
  return rows;
}

/** Import the folder into an empty source; refuses (writing nothing) if any table has rows. */
export async function importCsv(options: CsvImportOptions): Promise<CsvImportResult> {
  const files = locateFiles(options.dir);
  const totalBytes = SOURCE_TABLE_NAMES.reduce((sum, t) => sum + fs.statSync(files[t]).size, 0);
  const client = new pg.Client({ connectionString: options.url, application_name: 'totes-csv-import' });
  await client.connect();
  try {
    return await inTransaction(client, async () => {
      const present = await existingSourceTables(client);
      const missing = SOURCE_TABLE_NAMES.find((t) => !present.includes(t));
      if (missing) throw new SourceSchemaError(missing, undefined, `The source has no ${missing} table; create the source schema before importing.`);
      await client.query(`LOCK TABLE ${SOURCE_TABLE_NAMES.map(quoteIdent).join(', ')} IN ACCESS EXCLUSIVE MODE`);
      for (const table of SOURCE_TABLE_NAMES) {
        const found = await client.query(`SELECT 1 FROM ${quoteIdent(table)} LIMIT 1`);
        if (found.rowCount) {
          throw new CsvImportError(options.dir, undefined, undefined, `The source is not empty (${table} has rows); import only into an empty source (--fresh).`);
        }
      }
      const keys = new Map<SourceTableName, Set<number>>();
      const rows = {} as Record<SourceTableName, number>;
      let doneBytes = 0;
      for (const table of IMPORT_ORDER) {
        const file = files[table];
        rows[table] = await importTable(client, table, file, keys, (count, bytes) =>
          options.onProgress?.({ table, file, rows: count, bytes: doneBytes + bytes, totalBytes }),
        );
        doneBytes += fs.statSync(file).size;
      }
      await client.query(`ANALYZE ${SOURCE_TABLE_NAMES.map(quoteIdent).join(', ')}`);
      return { rows, totalRows: Object.values(rows).reduce((a, b) => a + b, 0) };
    });
  } finally {
    await client.end().catch(() => undefined);
  }
}
