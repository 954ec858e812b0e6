import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { loadAwsConfig, loadDatabaseConfig, loadResourcesConfig, readEnv, z } from '../../../shared/src/config';
import { connectionSettings } from '../../../shared/src/db/connect';
import { ConfigError } from '../../../shared/src/errors';

describe('configuration from the environment', () => {
  it('fails at start naming a missing variable and saying what it should be', () => {
    expect(() => loadResourcesConfig({ TOTES_STATE_TABLE: 'tbl', TOTES_INGESTION_BUCKET: 'ing' })).toThrow(
      new ConfigError('TOTES_PROCESSED_BUCKET', 'Configuration error: TOTES_PROCESSED_BUCKET is not set; it should be the S3 bucket of the processed zone.'),
    );
  });

  it('names a malformed variable and its problem', () => {
    const err = (() => {
      try {
        readEnv({ TOTES_PAGE_SIZE: z.coerce.number().int().positive().describe('rows per page') }, { TOTES_PAGE_SIZE: 'many' });
      } catch (e) {
        return e as ConfigError;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(ConfigError);
    expect(err?.variable).toBe('TOTES_PAGE_SIZE');
    expect(err?.message).toMatch(/^Configuration error: TOTES_PAGE_SIZE has an invalid value \(.+\); it should be rows per page\.$/);
  });

  it('uses the SDK defaults in AWS and explicit endpoints locally', () => {
    expect(loadAwsConfig({ TOTES_STAGE: 'dev' }).endpoints).toEqual({});
    expect(loadAwsConfig({ TOTES_AWS_ENDPOINT: 'http://127.0.0.1:1', TOTES_DYNAMODB_ENDPOINT: 'http://127.0.0.1:2' }).endpoints).toEqual({
      sqs: 'http://127.0.0.1:1',
      s3: 'http://127.0.0.1:1',
      dynamodb: 'http://127.0.0.1:2',
    });
    expect(() => loadAwsConfig({ TOTES_STAGE: 'Dev Stage' })).toThrow(/TOTES_STAGE has an invalid value/);
  });

  it('wants exactly one way to reach each database', () => {
    expect(() => loadDatabaseConfig('source', {})).toThrow('set exactly one of TOTES_SOURCE_URL, TOTES_SOURCE_SECRET_ID or TOTES_SOURCE_SSM_PARAMETER');
    expect(() => loadDatabaseConfig('warehouse', { TOTES_WAREHOUSE_URL: 'postgres://h/db', TOTES_WAREHOUSE_SECRET_ID: 's' })).toThrow(
      'set exactly one of TOTES_WAREHOUSE_URL',
    );
  });

  it('refuses a password in a URL inside Lambda: secrets come from Secrets Manager or SSM there', () => {
    expect(() => loadDatabaseConfig('source', { TOTES_SOURCE_URL: 'postgres://u:secret@h/db', AWS_LAMBDA_FUNCTION_NAME: 'fn' })).toThrow(
      'TOTES_SOURCE_URL carries a password; in AWS pass TOTES_SOURCE_SECRET_ID instead.',
    );
    expect(loadDatabaseConfig('source', { TOTES_SOURCE_URL: 'postgres://u:secret@h/db', TOTES_SOURCE_SSL: 'disable' }).source).toEqual({
      kind: 'url',
      url: 'postgres://u:secret@h/db',
    });
  });
});

describe('database connection settings', () => {
  const secrets = mockClient(SecretsManagerClient);
  const ssm = mockClient(SSMClient);
  afterEach(() => {
    secrets.reset();
    ssm.reset();
  });

  it('reads an RDS-format secret from Secrets Manager and verifies the server certificate', async () => {
    secrets.on(GetSecretValueCommand, { SecretId: 'totes/warehouse' }).resolves({
      SecretString: JSON.stringify({ host: 'wh.example', port: 5433, username: 'loader', password: 'p@ss', dbname: 'warehouse' }),
    });
    const settings = await connectionSettings(loadDatabaseConfig('warehouse', { TOTES_WAREHOUSE_SECRET_ID: 'totes/warehouse' }));
    expect(settings).toMatchObject({ host: 'wh.example', port: 5433, user: 'loader', password: 'p@ss', database: 'warehouse', ssl: { rejectUnauthorized: true } });
    expect(settings.statement_timeout).toBe(120_000);
  });

  it('explains a secret that lacks the connection fields', async () => {
    secrets.on(GetSecretValueCommand).resolves({ SecretString: JSON.stringify({ username: 'only' }) });
    await expect(connectionSettings(loadDatabaseConfig('source', { TOTES_SOURCE_SECRET_ID: 'totes/source-bad' }))).rejects.toThrow(
      /The secret totes\/source-bad does not hold host, port, username and password/,
    );
  });

  it('reads a URL from an SSM SecureString parameter, decrypted', async () => {
    ssm.on(GetParameterCommand, { Name: '/totes/source-url', WithDecryption: true }).resolves({ Parameter: { Value: 'postgres://r:x@src.example/totesys' } });
    const settings = await connectionSettings(
      loadDatabaseConfig('source', { TOTES_SOURCE_SSM_PARAMETER: '/totes/source-url', TOTES_SOURCE_SSL: 'require' }),
    );
    expect(settings).toMatchObject({ connectionString: 'postgres://r:x@src.example/totesys', ssl: { rejectUnauthorized: false } });
  });
});
