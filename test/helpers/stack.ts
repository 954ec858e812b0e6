import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { createAwsClients, type AwsClients } from '../../shared/src/aws/clients';
import type { AwsConfig } from '../../shared/src/config';
import { createStageResources, type StageResources } from '../../local/src/stack/resources';

/**
 * Per-test-file isolation inside the one local stack that test/helpers/global-setup.ts starts:
 * a stage of its own (queues with DLQs, buckets, state table) and databases of its own.
 */
function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: integration tests run under the integration project's global setup (npm run test:integration).`);
  return value;
}

export function testAwsConfig(stage: string): AwsConfig {
  const endpoint = required('TOTES_TEST_AWS_ENDPOINT');
  return {
    stage,
    region: 'eu-west-2',
    endpoints: { sqs: endpoint, s3: endpoint, dynamodb: required('TOTES_TEST_DYNAMODB_ENDPOINT') },
  };
}

export interface TestStage {
  readonly stage: string;
  readonly resources: StageResources;
  readonly clients: AwsClients;
  readonly aws: AwsConfig;
  /** The environment a handler of this stage reads its configuration from (databases not included). */
  readonly env: Record<string, string>;
}

/** A fresh stage, unique to the caller: `t<random>`. */
export async function createTestStage(): Promise<TestStage> {
  const stage = `t${randomBytes(4).toString('hex')}`;
  const aws = testAwsConfig(stage);
  const clients = createAwsClients(aws);
  const resources = await createStageResources(clients, stage);
  return {
    stage,
    resources,
    clients,
    aws,
    env: {
      TOTES_STAGE: stage,
      AWS_REGION: aws.region,
      TOTES_AWS_ENDPOINT: required('TOTES_TEST_AWS_ENDPOINT'),
      TOTES_DYNAMODB_ENDPOINT: required('TOTES_TEST_DYNAMODB_ENDPOINT'),
      TOTES_STATE_TABLE: resources.stateTable,
      TOTES_INGESTION_BUCKET: resources.ingestionBucket,
      TOTES_PROCESSED_BUCKET: resources.processedBucket,
      TOTES_QUEUE_PREFIX: resources.queuePrefix,
    },
  };
}

export interface TestDatabase {
  readonly name: string;
  readonly url: string;
  drop(): Promise<void>;
}

/** A new, empty database in the test cluster, named after its purpose. */
export async function createTestDatabase(purpose: string): Promise<TestDatabase> {
  const adminUrl = required('TOTES_TEST_PG_ADMIN_URL');
  const name = `${purpose.replace(/[^a-z0-9_]/g, '_').slice(0, 30)}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE "${name}"`);
  } finally {
    await admin.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    name,
    url: url.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: adminUrl });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}
