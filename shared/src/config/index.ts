import { z } from 'zod';
import { ConfigError } from '../errors';

/**
 * Configuration is read from the environment once per process, validated by a schema, and handed
 * around as a typed object. This module is the only code that reads `process.env`. A missing or
 * malformed variable fails at start with a sentence naming it.
 */
export type Env = Readonly<Record<string, string | undefined>>;

export function readEnv<T extends Record<string, z.ZodType>>(shape: T, env: Env = process.env): z.output<z.ZodObject<T>> {
  const picked: Record<string, string | undefined> = {};
  for (const key of Object.keys(shape)) {
    const value = env[key];
    picked[key] = value === undefined || value.trim() === '' ? undefined : value.trim();
  }
  const result = z.object(shape).safeParse(picked);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const variable = String(issue?.path[0] ?? 'environment');
  const description = shape[variable]?.description;
  const problem = picked[variable] === undefined ? 'is not set' : `has an invalid value (${issue?.message ?? 'rejected'})`;
  throw new ConfigError(variable, `Configuration error: ${variable} ${problem}${description ? `; it should be ${description}` : ''}.`);
}

const positiveInt = (fallback: number, description: string) =>
  z.coerce.number().int().positive().default(fallback).describe(description);

// ---------- AWS clients ----------

export const awsShape = {
  TOTES_STAGE: z
    .string()
    .regex(/^[a-z][a-z0-9-]*$/, 'lower-case letters, digits and dashes')
    .default('local')
    .describe('the deployment stage, e.g. dev'),
  AWS_REGION: z.string().default('eu-west-2').describe('the AWS region'),
  TOTES_AWS_ENDPOINT: z.url().optional().describe('the URL of a local SQS/S3 emulator (unset in AWS)'),
  TOTES_DYNAMODB_ENDPOINT: z.url().optional().describe('the URL of a local DynamoDB emulator (unset in AWS)'),
};

export interface AwsConfig {
  readonly stage: string;
  readonly region: string;
  /** Set only when talking to local emulators; in AWS the SDK's defaults apply. */
  readonly endpoints: { readonly sqs?: string; readonly s3?: string; readonly dynamodb?: string };
}

export function loadAwsConfig(env: Env = process.env): AwsConfig {
  const e = readEnv(awsShape, env);
  return {
    stage: e.TOTES_STAGE,
    region: e.AWS_REGION,
    endpoints: {
      ...(e.TOTES_AWS_ENDPOINT ? { sqs: e.TOTES_AWS_ENDPOINT, s3: e.TOTES_AWS_ENDPOINT } : {}),
      ...(e.TOTES_DYNAMODB_ENDPOINT ? { dynamodb: e.TOTES_DYNAMODB_ENDPOINT } : {}),
    },
  };
}

// ---------- Pipeline resources ----------

export const resourcesShape = {
  TOTES_STATE_TABLE: z.string().min(3).describe('the DynamoDB state table name'),
  TOTES_INGESTION_BUCKET: z.string().min(3).describe('the S3 bucket of the raw zone'),
  TOTES_PROCESSED_BUCKET: z.string().min(3).describe('the S3 bucket of the processed zone'),
  TOTES_QUEUE_PREFIX: z.string().min(1).describe('the prefix of every queue name, e.g. totes-etl-dev'),
};

export interface ResourcesConfig {
  readonly stateTable: string;
  readonly ingestionBucket: string;
  readonly processedBucket: string;
  readonly queuePrefix: string;
}

export function loadResourcesConfig(env: Env = process.env): ResourcesConfig {
  const e = readEnv(resourcesShape, env);
  return {
    stateTable: e.TOTES_STATE_TABLE,
    ingestionBucket: e.TOTES_INGESTION_BUCKET,
    processedBucket: e.TOTES_PROCESSED_BUCKET,
    queuePrefix: e.TOTES_QUEUE_PREFIX,
  };
}

// ---------- Databases ----------

export type SslMode = 'disable' | 'require' | 'verify-full';

/** Where a database's connection settings come from: a URL locally, a secret in AWS. */
export type DatabaseSource =
  | { readonly kind: 'url'; readonly url: string }
  | { readonly kind: 'secret'; readonly secretId: string }
  | { readonly kind: 'ssm'; readonly parameterName: string };

export interface DatabaseConfig {
  readonly name: 'source' | 'warehouse';
  readonly source: DatabaseSource;
  readonly ssl: SslMode;
  readonly statementTimeoutMs: number;
}

export function loadDatabaseConfig(name: 'source' | 'warehouse', env: Env = process.env): DatabaseConfig {
  const p = name === 'source' ? 'TOTES_SOURCE' : 'TOTES_WAREHOUSE';
  const label = name === 'source' ? 'the totesys source database' : 'the warehouse database';
  const e = readEnv(
    {
      [`${p}_URL`]: z.url().optional().describe(`a postgres:// URL of ${label}`),
      [`${p}_SECRET_ID`]: z.string().optional().describe(`the Secrets Manager secret holding the credentials of ${label}`),
      [`${p}_SSM_PARAMETER`]: z.string().optional().describe(`the SSM SecureString parameter holding the URL of ${label}`),
      [`${p}_SSL`]: z.enum(['disable', 'require', 'verify-full']).default('verify-full').describe('disable, require or verify-full'),
      TOTES_STATEMENT_TIMEOUT_MS: positiveInt(120_000, 'a statement timeout in milliseconds'),
      AWS_LAMBDA_FUNCTION_NAME: z.string().optional(),
    },
    env,
  ) as Record<string, string | number | undefined>;
  const url = e[`${p}_URL`] as string | undefined;
  const secretId = e[`${p}_SECRET_ID`] as string | undefined;
  const parameterName = e[`${p}_SSM_PARAMETER`] as string | undefined;
  const set = [url, secretId, parameterName].filter((v) => v !== undefined).length;
  if (set !== 1) {
    throw new ConfigError(
      `${p}_URL`,
      `Configuration error: set exactly one of ${p}_URL, ${p}_SECRET_ID or ${p}_SSM_PARAMETER to reach ${label}.`,
    );
  }
  if (url !== undefined && e.AWS_LAMBDA_FUNCTION_NAME !== undefined && new URL(url).password !== '') {
    // Secrets never travel as plain environment values in AWS (they show in the console and in templates).
    throw new ConfigError(`${p}_URL`, `Configuration error: ${p}_URL carries a password; in AWS pass ${p}_SECRET_ID instead.`);
  }
  const source: DatabaseSource =
    url !== undefined
      ? { kind: 'url', url }
      : secretId !== undefined
        ? { kind: 'secret', secretId }
        : { kind: 'ssm', parameterName: parameterName as string };
  return {
    name,
    source,
    ssl: e[`${p}_SSL`] as SslMode,
    statementTimeoutMs: e.TOTES_STATEMENT_TIMEOUT_MS as number,
  };
}

// ---------- Tuning ----------

export const tuningShape = {
  TOTES_PAGE_SIZE: positiveInt(10_000, 'the number of rows per extracted page'),
  TOTES_LOOKBACK_SECONDS: positiveInt(900, 'how far back (seconds) a detection looks for rows whose transaction committed late'),
  TOTES_LEASE_SECONDS: positiveInt(600, 'how long (seconds) a detection holds its table lease'),
};

export { z };
