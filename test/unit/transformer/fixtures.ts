import fs from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import type { BatchExtractedV1 } from '@totes/events';
import type { ObjectStore } from '@totes/shared/aws/objects';
import { SOURCE_TABLES, type SourceTableName } from '@totes/shared/source/tables';
import { JOINS, type ImageRead, type JoinName, type JoinedImage, type SourceImages } from '../../../services/transformer/src/source-images';
import type { DeriveOptions } from '../../../services/transformer/src/derive-batch';

/** When the fixtures' batches were observed (their batch ids name this pass), and the joined images read. */
export const OBSERVED_AT = '2024-11-15T14:40:00.123456';
export const IMAGES_READ_AT = '2024-11-15T14:40:01.5';
/** deriveBatch's options for a fixture batch in the objects layout. */
export const DERIVE: DeriveOptions = { observedAt: OBSERVED_AT, layout: 'objects' };
import type { RawRow } from '../../../services/transformer/src/source-values';
import { MemoryObjectStore, MemorySender } from '../../helpers/memory-ports';
import type { TransformCounts, TransformDependencies } from '../../../services/transformer/src/transform-batch';

/**
 * Test raw batches in exactly the batch-extracted v1 raw format (events/src/batch-extracted.v1.ts):
 * gzipped JSON Lines, int → number, numeric → decimal string, timestamp → "YYYY-MM-DDTHH:MM:SS.ffffff",
 * varchar → string, boolean, NULL → null. Generated rows are small and always available; real rows
 * come from ../shared/data/totesys-2024-11-15 when that folder exists.
 */
export type Row = Record<string, unknown>;

export function gzipJsonLines(rows: readonly Row[]): Uint8Array {
  // Level 1: fixtures favour speed; any level is valid gzip.
  return new Uint8Array(gzipSync(rows.map((r) => JSON.stringify(r)).join('\n') + (rows.length > 0 ? '\n' : ''), { level: 1 }));
}

export const T0 = '2022-11-03T14:20:49.962000';

export const gen = {
  address: (id: number, o: Row = {}): Row => ({
    address_id: id,
    address_line_1: `${id} Herzog Via`,
    address_line_2: null,
    district: id % 2 === 0 ? 'Avon' : null,
    city: 'New Patienceburgh',
    postal_code: `2844${id}`,
    country: 'Turkey',
    phone: `1803 63740${id}`,
    created_at: T0,
    last_updated: T0,
    ...o,
  }),
  counterparty: (id: number, addressId: number, o: Row = {}): Row => ({
    counterparty_id: id,
    counterparty_legal_name: `Fahey and Sons ${id}`,
    legal_address_id: addressId,
    commercial_contact: 'Micheal Toy',
    delivery_contact: 'Mrs. Lucy Runolfsdottir',
    created_at: T0,
    last_updated: T0,
    ...o,
  }),
  currency: (id: number, code: string, o: Row = {}): Row => ({ currency_id: id, currency_code: code, created_at: T0, last_updated: T0, ...o }),
  department: (id: number, name: string, location: string | null, o: Row = {}): Row => ({
    department_id: id,
    department_name: name,
    location,
    manager: 'Mark Hanna',
    created_at: T0,
    last_updated: T0,
    ...o,
  }),
  design: (id: number, o: Row = {}): Row => ({
    design_id: id,
    created_at: T0,
    last_updated: T0,
    design_name: 'Wooden',
    file_location: '/usr',
    file_name: `wooden-${id}.json`,
    ...o,
  }),
  staff: (id: number, departmentId: number, o: Row = {}): Row => ({
    staff_id: id,
    first_name: `First${id}`,
    last_name: `Last${id}`,
    department_id: departmentId,
    email_address: `first${id}.last${id}@terrifictotes.com`,
    created_at: T0,
    last_updated: T0,
    ...o,
  }),
  salesOrder: (id: number, o: Row = {}): Row => ({
    sales_order_id: id,
    created_at: '2022-11-03T14:20:52.186000',
    last_updated: '2022-11-03T14:20:52.186000',
    design_id: 3,
    staff_id: 19,
    counterparty_id: 8,
    units_sold: 42972,
    unit_price: '3.94',
    currency_id: 2,
    agreed_delivery_date: '2022-11-07',
    agreed_payment_date: '2022-11-08',
    agreed_delivery_location_id: 8,
    ...o,
  }),
  purchaseOrder: (id: number, o: Row = {}): Row => ({
    purchase_order_id: id,
    created_at: '2022-11-03T14:20:52.187000',
    last_updated: '2022-11-03T14:20:52.187000',
    staff_id: 12,
    counterparty_id: 11,
    item_code: 'ZDOI5EA',
    item_quantity: 371,
    item_unit_price: '361.39',
    currency_id: 2,
    agreed_delivery_date: '2022-11-09',
    agreed_payment_date: '2022-11-07',
    agreed_delivery_location_id: 6,
    ...o,
  }),
  paymentType: (id: number, name: string, o: Row = {}): Row => ({ payment_type_id: id, payment_type_name: name, created_at: T0, last_updated: T0, ...o }),
  transaction: (id: number, o: Row = {}): Row => ({
    transaction_id: id,
    transaction_type: 'SALE',
    sales_order_id: id,
    purchase_order_id: null,
    created_at: T0,
    last_updated: T0,
    ...o,
  }),
  payment: (id: number, o: Row = {}): Row => ({
    payment_id: id,
    created_at: '2022-11-03T14:20:52.187000',
    last_updated: '2022-11-03T14:20:52.187000',
    transaction_id: id,
    counterparty_id: 15,
    payment_amount: '552548.62',
    currency_id: 2,
    payment_type_id: 3,
    paid: false,
    payment_date: '2022-11-04',
    company_ac_number: 67305075,
    counterparty_ac_number: 31622269,
    ...o,
  }),
};

export function batchMessage(table: SourceTableName, rows: readonly Row[], o: { batchId?: string; bucket?: string; key?: string; bytes?: number } = {}): BatchExtractedV1 {
  const pk = SOURCE_TABLES[table].primaryKey;
  const last = rows[rows.length - 1];
  const lastUpdated = typeof last?.last_updated === 'string' ? last.last_updated : '2024-11-15T14:39:58.011000';
  const batchId = o.batchId ?? `${table}.20241115t144000123456.p${String(rows.length % 10_000).padStart(4, '0')}`;
  const date = lastUpdated.slice(0, 10);
  return {
    type: 'batch-extracted',
    version: 1,
    batchId,
    table,
    object: {
      bucket: o.bucket ?? 'totes-etl-test-ingestion',
      key: o.key ?? `raw/${table}/date=${date}/${batchId}.0123456789ab.jsonl.gz`,
      format: 'jsonl.gz',
      bytes: o.bytes ?? 100,
      rows: rows.length,
    },
    range: { from: null, to: { lastUpdated, id: typeof last?.[pk] === 'number' ? (last[pk] as number) : 1 } },
    extraColumns: [],
    lateRows: 0,
    extractedAt: '2024-11-15T14:40:01.250Z',
  };
}

/** The source's current state, in memory, with the same join semantics as PgSourceImages. */
export class MemorySourceImages implements SourceImages {
  readonly calls: { join: JoinName; by: 'main' | 'joined'; ids: readonly number[] }[] = [];

  /** `readAt`: the source clock each read reports (default: IMAGES_READ_AT). */
  constructor(
    private readonly tables: Partial<Record<SourceTableName, readonly Row[]>>,
    private readonly readAt: string = IMAGES_READ_AT,
  ) {}

  async read(join: JoinName, by: 'main' | 'joined', ids: readonly number[]): Promise<ImageRead> {
    this.calls.push({ join, by, ids });
    return { readAt: this.readAt, images: this.images(join, by, ids) };
  }

  private images(join: JoinName, by: 'main' | 'joined', ids: readonly number[]): JoinedImage[] {
    const { main, joined, foreignKey } = JOINS[join];
    const mainKey = SOURCE_TABLES[main].primaryKey;
    const joinedKey = SOURCE_TABLES[joined].primaryKey;
    const wanted = new Set(ids);
    return (this.tables[main] ?? [])
      .filter((r) => wanted.has(r[by === 'main' ? mainKey : foreignKey] as number))
      .sort((a, b) => (a[mainKey] as number) - (b[mainKey] as number))
      .map((r) => ({ main: r as RawRow, joined: ((this.tables[joined] ?? []).find((j) => j[joinedKey] === r[foreignKey]) as RawRow | undefined) ?? null }));
  }
}

// ---------- real data ----------

export const REAL_DATA_DIR = path.resolve(__dirname, '../../../../shared/data/totesys-2024-11-15');
export const HAS_REAL_DATA = fs.existsSync(path.join(REAL_DATA_DIR, 'sales_order.csv'));

/** RFC 4180 CSV (quoted fields, doubled quotes, commas and newlines inside quotes). */
export function parseCsv(text: string): string[][] {
  const records: string[][] = [];
  let record: string[] = [];
  let i = 0;
  while (i < text.length) {
    let field: string;
    if (text[i] === '"') {
      let end = i + 1;
      let value = '';
      for (;;) {
        const quote = text.indexOf('"', end);
        if (quote === -1) throw new Error('unterminated quoted CSV field');
        value += text.slice(end, quote);
        if (text[quote + 1] === '"') {
          value += '"';
          end = quote + 2;
        } else {
          end = quote + 1;
          break;
        }
      }
      field = value;
      i = end;
    } else {
      let end = i;
      while (end < text.length && text[end] !== ',' && text[end] !== '\n' && text[end] !== '\r') end++;
      field = text.slice(i, end);
      i = end;
    }
    record.push(field);
    if (text[i] === ',') {
      i++;
      continue;
    }
    if (text[i] === '\r') i++;
    if (text[i] === '\n') i++;
    records.push(record);
    record = [];
  }
  return records;
}

/** A real table's rows in the raw format (empty field = NULL; "YYYY-MM-DD HH:MM:SS.ffffff" → "…T…"). */
export function realRows(table: SourceTableName): Row[] {
  const [header, ...records] = parseCsv(fs.readFileSync(path.join(REAL_DATA_DIR, `${table}.csv`), 'utf8'));
  if (!header) return [];
  const types = new Map(SOURCE_TABLES[table].columns.map((c) => [c.name, c.type]));
  return records.map((values) =>
    Object.fromEntries(
      header.map((name, i) => {
        const text = values[i] ?? '';
        if (text === '') return [name, null];
        switch (types.get(name)) {
          case 'int':
            return [name, Number(text)];
          case 'boolean':
            return [name, text === 'true' || text === 't'];
          case 'timestamp':
            return [name, text.replace(' ', 'T')];
          default:
            return [name, text];
        }
      }),
    ),
  );
}

/** Rows in the order the change-detector pages them: (last_updated, id). */
export function inExtractOrder(table: SourceTableName, rows: readonly Row[]): Row[] {
  const pk = SOURCE_TABLES[table].primaryKey;
  const byText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  return [...rows].sort((a, b) => byText(String(a.last_updated), String(b.last_updated)) || (a[pk] as number) - (b[pk] as number));
}

// ---------- in-memory ports (unit tests and the benchmark; test/helpers/memory-ports.ts) ----------

export { MemoryObjectStore, MemorySender };

export interface MemoryDependencies extends TransformDependencies {
  readonly objects: MemoryObjectStore;
  readonly sender: MemorySender;
  readonly recorded: { batchId: string; result: unknown }[];
  readonly metricCalls: { table: string; counts: TransformCounts }[];
  readonly logged: { level: string; message: string; attributes: Record<string, unknown> }[];
}

export function memoryDependencies(source: Partial<Record<SourceTableName, readonly Row[]>> = {}): MemoryDependencies {
  const recorded: { batchId: string; result: unknown }[] = [];
  const metricCalls: { table: string; counts: TransformCounts }[] = [];
  const logged: { level: string; message: string; attributes: Record<string, unknown> }[] = [];
  return {
    objects: new MemoryObjectStore(),
    sender: new MemorySender(),
    batches: {
      async recordTransformed(batchId, result) {
        const first = !recorded.some((r) => r.batchId === batchId);
        recorded.push({ batchId, result });
        return first;
      },
    },
    images: new MemorySourceImages(source),
    processedBucket: 'totes-etl-test-processed',
    logger: {
      info: (message, attributes) => logged.push({ level: 'info', message, attributes }),
      warn: (message, attributes) => logged.push({ level: 'warn', message, attributes }),
    },
    metrics: { batchTransformed: (table, counts) => metricCalls.push({ table, counts }) },
    now: () => new Date('2024-11-15T14:40:02.003Z'),
    recorded,
    metricCalls,
    logged,
  };
}

/** Put a raw batch where its message says it is. */
export async function stageRawBatch(objects: ObjectStore, table: SourceTableName, rows: readonly Row[], o: Parameters<typeof batchMessage>[2] = {}): Promise<BatchExtractedV1> {
  const body = gzipJsonLines(rows);
  const message = batchMessage(table, rows, { ...o, bytes: body.byteLength });
  await objects.putImmutable(message.object.bucket, message.object.key, body);
  return message;
}
