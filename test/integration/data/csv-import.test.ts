import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { parse } from 'csv-parse/sync';
import type pg from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import { importCsv } from '../../../local/src/data/csv-import';
import { CsvImportError } from '../../../local/src/data/errors';
import { seedSource } from '../../../local/src/data/generator';
import { quoteIdent, SOURCE_TABLE_NAMES, SOURCE_TABLES } from '../../../shared/src/source/tables';
import { countRows, createSourceDatabase, digestTables, type SourceDatabase } from './helpers';

/**
 * `totes seed --from-csv`: a folder of per-table CSV files loads exactly, and every kind of bad
 * input stops the import with the file, line and column, leaving the source empty.
 */
const REAL_SNAPSHOT = path.resolve(__dirname, '../../../../shared/data/totesys-2024-11-15');
const HAS_REAL_SNAPSHOT = fs.existsSync(REAL_SNAPSHOT);

/** Write every source table of a database as `<table>.csv` (header, empty = NULL), like the real extract. */
async function exportCsv(client: pg.Client, dir: string): Promise<void> {
  for (const table of SOURCE_TABLE_NAMES) {
    const pk = quoteIdent(SOURCE_TABLES[table].primaryKey);
    const source = client.query(copyTo(`COPY (SELECT * FROM ${quoteIdent(table)} ORDER BY ${pk}) TO STDOUT WITH (FORMAT csv, HEADER)`));
    await pipeline(source, fs.createWriteStream(path.join(dir, `${table}.csv`)));
  }
}

/** A source value as text, normalised the way the CSV extracts write it (trailing zeros of fractions, booleans as words). */
function normalise(value: string | null): string | null {
  if (value === null || value === '') return null;
  if (value === 't' || value === 'true') return 'true';
  if (value === 'f' || value === 'false') return 'false';
  return /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d+$/.test(value) ? value.replace(/0+$/, '').replace(/\.$/, '') : value;
}

describe('importCsv', () => {
  let fixtureDir: string;
  let generated: SourceDatabase;
  let target: SourceDatabase;

  beforeAll(async () => {
    fixtureDir = fs.mkdtempSync(path.join(os.tmpdir(), 'totes-csv-'));
    generated = await createSourceDatabase('csv_fixture');
    await seedSource({ url: generated.db.url, scale: 0.01, seed: 3 });
    await exportCsv(generated.client, fixtureDir);
  });
  afterAll(async () => {
    await generated.close();
    fs.rmSync(fixtureDir, { recursive: true, force: true });
  });
  beforeEach(async () => {
    target = await createSourceDatabase('csv_target');
  });
  afterEach(async () => {
    await target.close();
  });

  /** A copy of the generated fixture folder with one file changed. */
  function brokenCopy(change: (dir: string) => void): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'totes-csv-bad-'));
    for (const file of fs.readdirSync(fixtureDir)) fs.copyFileSync(path.join(fixtureDir, file), path.join(dir, file));
    change(dir);
    return dir;
  }
  function editLine(dir: string, table: string, line: number, edit: (fields: string[]) => string[]): void {
    const file = path.join(dir, `${table}.csv`);
    const lines = fs.readFileSync(file, 'utf8').split('\n');
    lines[line - 1] = edit((lines[line - 1] ?? '').split(',')).join(',');
    fs.writeFileSync(file, lines.join('\n'));
  }
  async function expectRefusal(dir: string, message: string, where: { file: string; line?: number; column?: string }): Promise<void> {
    try {
      const error = await importCsv({ url: target.db.url, dir }).then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(error).toBeInstanceOf(CsvImportError);
      const e = error as CsvImportError;
      expect(e.message).toBe(message);
      expect({ file: path.basename(e.file), line: e.line, column: e.column }).toEqual({ file: where.file, line: where.line, column: where.column });
      expect(Object.values(await countRows(target.client)).every((n) => n === 0)).toBe(true);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }

  it('imports a generated extract exactly: every row of every table equal to the source it came from', async () => {
    const progress: string[] = [];
    const result = await importCsv({ url: target.db.url, dir: fixtureDir, onProgress: (p) => progress.push(p.table) });
    expect(result.rows).toEqual(await countRows(generated.client));
    expect(await digestTables(target.client)).toEqual(await digestTables(generated.client));
    expect(new Set(progress)).toEqual(new Set(SOURCE_TABLE_NAMES));
  });

  (HAS_REAL_SNAPSHOT ? it : it.skip)(
    `imports the real snapshot exactly, value for value${HAS_REAL_SNAPSHOT ? '' : ` (SKIPPED: ${REAL_SNAPSHOT} does not exist)`}`,
    async () => {
      const result = await importCsv({ url: target.db.url, dir: REAL_SNAPSHOT });
      expect(result.totalRows).toBe(48_066);
      for (const table of SOURCE_TABLE_NAMES) {
        const [header, ...records] = parse(fs.readFileSync(path.join(REAL_SNAPSHOT, `${table}.csv`)), { relax_column_count: true }) as string[][];
        const columns = (header ?? []).map(quoteIdent).map((c) => `${c}::text`);
        const pk = quoteIdent(SOURCE_TABLES[table].primaryKey);
        const rows = await target.client.query<string[]>({ text: `SELECT ${columns.join(', ')} FROM ${quoteIdent(table)} AS src ORDER BY src.${pk}`, rowMode: 'array' });
        const pkAt = (header ?? []).indexOf(SOURCE_TABLES[table].primaryKey);
        const expected = records.sort((a, b) => Number(a[pkAt]) - Number(b[pkAt])).map((r) => r.map(normalise));
        expect(rows.rows.map((r) => r.map(normalise))).toEqual(expected);
      }
    },
  );

  it('refuses a folder without one of the files, naming it', async () => {
    const dir = brokenCopy((d) => fs.rmSync(path.join(d, 'staff.csv')));
    await expectRefusal(dir, `staff.csv is missing in ${dir}: every one of the 11 tables needs its file.`, { file: 'staff.csv' });
  });

  it('refuses a header with a column the table does not have', async () => {
    const dir = brokenCopy((d) => editLine(d, 'address', 1, (f) => f.map((c) => (c === 'phone' ? 'phone_number' : c))));
    await expectRefusal(
      dir,
      'address.csv, line 1, column phone_number: the header names a column address does not have (expected address_id, address_line_1, address_line_2, district, city, postal_code, country, phone, created_at, last_updated).',
      { file: 'address.csv', line: 1, column: 'phone_number' },
    );
  });

  it('refuses a header that lacks a column', async () => {
    const dir = brokenCopy((d) => {
      const file = path.join(d, 'currency.csv');
      const lines = fs.readFileSync(file, 'utf8').split('\n').map((l) => l.split(',').slice(0, 3).join(','));
      fs.writeFileSync(file, lines.join('\n'));
    });
    await expectRefusal(dir, 'currency.csv, line 1, column last_updated: the header lacks this column of currency.', {
      file: 'currency.csv',
      line: 1,
      column: 'last_updated',
    });
  });

  it('refuses a value of the wrong type in the last table, after ten tables loaded, leaving all of them empty', async () => {
    const dir = brokenCopy((d) => editLine(d, 'payment', 5, (f) => f.map((v, i) => (i === 5 ? 'lots' : v))));
    await expectRefusal(dir, 'payment.csv, line 5, column payment_amount: "lots" is not a decimal number.', {
      file: 'payment.csv',
      line: 5,
      column: 'payment_amount',
    });
  });

  it.each([
    ['sales_order', 3, 6, 'units_sold', '12.5', '"12.5" is not a whole number (int)'],
    ['sales_order', 4, 1, 'created_at', '2024-02-30 10:00:00', '"2024-02-30 10:00:00" is not a real date and time'],
    ['sales_order', 2, 1, 'created_at', 'yesterday', '"yesterday" is not a timestamp (YYYY-MM-DD HH:MM:SS[.ffffff])'],
    ['payment', 2, 8, 'paid', 'maybe', '"maybe" is not true or false'],
    ['staff', 6, 3, 'department_id', '99999999999', '"99999999999" is not a whole number (int)'],
    ['design', 2, 3, 'design_name', '', 'the value is empty (NULL) but the column requires one'],
  ])('refuses %s.csv line %i when field %i (%s) is %j', async (table, line, index, column, value, why) => {
    const dir = brokenCopy((d) => editLine(d, table, line, (f) => f.map((v, i) => (i === index ? value : v))));
    await expectRefusal(dir, `${table}.csv, line ${line}, column ${column}: ${why}.`, { file: `${table}.csv`, line, column });
  });

  it('refuses a foreign key to a row the extract does not have', async () => {
    const dir = brokenCopy((d) => editLine(d, 'sales_order', 4, (f) => f.map((v, i) => (i === 3 ? '99999' : v))));
    await expectRefusal(dir, 'sales_order.csv, line 4, column design_id: design_id 99999 is not a design_id in design.csv.', {
      file: 'sales_order.csv',
      line: 4,
      column: 'design_id',
    });
  });

  it('refuses a primary key that appears twice', async () => {
    const dir = brokenCopy((d) => editLine(d, 'department', 3, (f) => f.map((v, i) => (i === 0 ? '1' : v))));
    await expectRefusal(dir, 'department.csv, line 3, column department_id: department_id 1 appears twice.', {
      file: 'department.csv',
      line: 3,
      column: 'department_id',
    });
  });

  it('refuses a row with too few fields', async () => {
    const dir = brokenCopy((d) => editLine(d, 'counterparty', 2, (f) => f.slice(0, 4)));
    await expectRefusal(dir, 'counterparty.csv, line 2: the row has 4 fields where the header has 7.', { file: 'counterparty.csv', line: 2 });
  });

  it('refuses a source that already has rows', async () => {
    await importCsv({ url: target.db.url, dir: fixtureDir });
    await expect(importCsv({ url: target.db.url, dir: fixtureDir })).rejects.toThrow(/^The source is not empty \(\w+ has rows\)/);
  });
});
