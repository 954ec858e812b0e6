import pg from 'pg';
import type { LoadRequestedV1 } from '../../../events/src/load-requested.v1';
import { S3ObjectStore } from '../../../shared/src/aws/objects';
import { loadDatabaseConfig } from '../../../shared/src/config';
import { ReusableConnection } from '../../../shared/src/db/connect';
import { createLogger, createMetrics, setLogSink } from '../../../shared/src/logging';
import { DynamoBatchStore } from '../../../shared/src/state/batch-store';
import { FACT_TABLE_NAMES, WAREHOUSE_TABLES, type WarehouseTableName } from '../../../shared/src/warehouse/tables';
import { SOURCE_TABLE_NAMES, type SourceTableName } from '../../../shared/src/source/tables';
import { loadFile, type LoadResult } from '../../../services/warehouse-loader/src/load-file';
import { LoaderWarehouse, type ForeignKeyChecksSetting } from '../../../services/warehouse-loader/src/warehouse-session';
import { createTestDatabase, createTestStage, type TestDatabase, type TestStage } from '../../helpers/stack';
import { writeContractParquet, type ContractRow } from '../../unit/warehouse-loader/contract-parquet';

/**
 * The loader's integration harness: a private stage (S3 bucket, state table) and private
 * databases; files written per THE PARQUET CONTRACT into the stage's processed bucket; the loader's
 * own domain function called with real adapters.
 */
export interface LogLine {
  readonly level?: string;
  readonly message?: string;
  readonly [key: string]: unknown;
}

export const logLines: LogLine[] = [];
setLogSink({ write: (line) => logLines.push(JSON.parse(line) as LogLine) });

export interface LoaderFile {
  readonly message: LoadRequestedV1;
  readonly rows: readonly ContractRow[];
}

let fileCounter = 0;

/** The source table a target table's rows come from (dim_date: any; use the first fact's). */
function sourceOf(table: WarehouseTableName): SourceTableName {
  const fromName = table.replace(/^(dim|fact)_/, '');
  const special: Partial<Record<WarehouseTableName, SourceTableName>> = { dim_location: 'address', dim_date: 'sales_order' };
  const source = special[table] ?? (SOURCE_TABLE_NAMES as readonly string[]).find((s) => s === fromName);
  if (!source) throw new Error(`no source table for ${table}`);
  return source as SourceTableName;
}

export class LoaderHarness {
  private constructor(
    readonly stage: TestStage,
    readonly objects: S3ObjectStore,
    readonly batches: DynamoBatchStore,
  ) {}

  static async create(): Promise<LoaderHarness> {
    const stage = await createTestStage();
    return new LoaderHarness(stage, new S3ObjectStore(stage.clients.s3), new DynamoBatchStore(stage.clients.dynamo, stage.resources.stateTable));
  }

  /** Write a contract-conformant file to the processed bucket and describe it as the transformer would. */
  async file(
    table: WarehouseTableName,
    rows: readonly ContractRow[],
    options: { batchId?: string; filesInBatch?: number; bytes?: Uint8Array } = {},
  ): Promise<LoaderFile> {
    fileCounter++;
    const source = sourceOf(table);
    const batchId = options.batchId ?? `${source}.b${String(fileCounter).padStart(4, '0')}`;
    const key = `processed/${table}/date=2024-11-15/${batchId}.${fileCounter}.parquet`;
    const body = options.bytes ?? writeContractParquet(table, rows);
    await this.objects.putImmutable(this.stage.resources.processedBucket, key, body);
    return {
      rows,
      message: {
        type: 'load-requested',
        version: 1,
        fileId: `${batchId}/${table}/${fileCounter}`,
        batchId,
        sourceTable: source,
        targetTable: table,
        object: { bucket: this.stage.resources.processedBucket, key, format: 'parquet', bytes: body.byteLength, rows: rows.length },
        filesInBatch: options.filesInBatch ?? 1,
        createdAt: '2024-11-15T14:40:02.003Z',
      },
    };
  }

  warehouse(db: TestDatabase, foreignKeyChecks: ForeignKeyChecksSetting = 'auto'): LoaderWarehouse {
    const config = loadDatabaseConfig('warehouse', { TOTES_WAREHOUSE_URL: db.url, TOTES_WAREHOUSE_SSL: 'disable', TOTES_STATEMENT_TIMEOUT_MS: '30000' });
    return new LoaderWarehouse(new ReusableConnection(config), { foreignKeyChecks, statementTimeoutMs: 30_000, logger: createLogger('warehouse-loader') });
  }

  private readonly databases: TestDatabase[] = [];

  /** A private, empty warehouse database, dropped by dropDatabases. */
  async newDatabase(purpose: string): Promise<TestDatabase> {
    const db = await createTestDatabase(purpose);
    this.databases.push(db);
    return db;
  }

  async dropDatabases(): Promise<void> {
    for (const db of this.databases.splice(0)) await db.drop();
  }

  /** Load the files one after another, on one connection. */
  async loadAll(db: TestDatabase, files: readonly LoaderFile[]): Promise<LoadResult[]> {
    const warehouse = this.warehouse(db);
    try {
      const results = [];
      for (const f of files) results.push(await this.load(f, warehouse));
      return results;
    } finally {
      await warehouse.close();
    }
  }

  load(file: LoaderFile, warehouse: LoaderWarehouse): Promise<LoadResult> {
    return loadFile(file.message, {
      objects: this.objects,
      batches: this.batches,
      warehouse,
      logger: createLogger('warehouse-loader'),
      metrics: createMetrics('warehouse-loader'),
    });
  }
}

export async function withClient<T>(db: TestDatabase, work: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/**
 * Every warehouse table and the dimension versions as text, rows sorted, the facts' serial record
 * ids left out (the database numbers rows in arrival order; everything else must not depend on it).
 */
export async function dumpWarehouse(db: TestDatabase): Promise<Record<string, string[]>> {
  return withClient(db, async (c) => {
    const dump: Record<string, string[]> = {};
    for (const table of Object.values(WAREHOUSE_TABLES)) {
      const columns = table.columns.map((col) => `"${col.name}"`).join(', ');
      const { rows } = await c.query<{ r: string }>(`SELECT (${columns})::text AS r FROM "${table.name}" ORDER BY 1`);
      dump[table.name] = rows.map((r) => r.r);
    }
    const versions = await c.query<{ r: string }>('SELECT (dimension, key, version, inferred)::text AS r FROM pipeline.dimension_version ORDER BY 1');
    dump['pipeline.dimension_version'] = versions.rows.map((r) => r.r);
    return dump;
  });
}

/** Rows of facts whose foreign keys point nowhere: must always be zero. */
export async function danglingReferences(db: TestDatabase): Promise<string[]> {
  return withClient(db, async (c) => {
    const problems: string[] = [];
    for (const name of FACT_TABLE_NAMES) {
      const fact = WAREHOUSE_TABLES[name];
      for (const column of fact.columns) {
        if (!column.references) continue;
        const dim = WAREHOUSE_TABLES[column.references];
        const { rows } = await c.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM "${fact.name}" f WHERE NOT EXISTS (SELECT 1 FROM "${dim.name}" d WHERE d."${dim.key}" = f."${column.name}")`,
        );
        if ((rows[0]?.n ?? 0) > 0) problems.push(`${fact.name}.${column.name}: ${rows[0]?.n}`);
      }
    }
    return problems;
  });
}

export { createTestDatabase, type TestDatabase };
