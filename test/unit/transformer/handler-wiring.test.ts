import { ConfigError, ContractError } from '@totes/shared/errors';
import { assertFromTableQueue } from '../../../services/transformer/src/wiring';

describe('transformer handler wiring', () => {
  const env = {
    TOTES_STAGE: 'dev',
    TOTES_STATE_TABLE: 'totes-etl-dev-state',
    TOTES_INGESTION_BUCKET: 'totes-etl-dev-ingestion',
    TOTES_PROCESSED_BUCKET: 'totes-etl-dev-processed',
    TOTES_QUEUE_PREFIX: 'totes-etl-dev',
    TOTES_SOURCE_URL: 'postgres://totes@localhost:5432/totesys',
  };
  const saved = { ...process.env };
  afterEach(() => {
    process.env = { ...saved };
  });

  function loadHandler(): Record<string, unknown> {
    let mod: Record<string, unknown> = {};
    jest.isolateModules(() => {
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded fresh, after the environment is set
      mod = require('../../../services/transformer/src/handler') as Record<string, unknown>;
    });
    return mod;
  }

  it('exports `transform`, built at module scope from the environment', () => {
    process.env = { ...saved, ...env };
    expect(typeof loadHandler().transform).toBe('function');
  });

  it('fails at start, naming the variable, when configuration is missing', () => {
    process.env = { ...saved, ...env, TOTES_PROCESSED_BUCKET: '' };
    // isolateModules loads its own copy of the errors module: compare by name, not by class.
    expect(loadHandler).toThrow(expect.objectContaining({ name: ConfigError.name, variable: 'TOTES_PROCESSED_BUCKET' }));
    expect(loadHandler).toThrow('TOTES_PROCESSED_BUCKET is not set');
    process.env = { ...saved, ...env, TOTES_SOURCE_URL: '' };
    expect(loadHandler).toThrow('set exactly one of TOTES_SOURCE_URL, TOTES_SOURCE_SECRET_ID or TOTES_SOURCE_SSM_PARAMETER');
  });

  it('accepts a batch only from the transform queue of its own table', () => {
    const arn = (name: string) => ({ eventSourceARN: `arn:aws:sqs:eu-west-2:123456789012:${name}` });
    expect(() => assertFromTableQueue(arn('totes-etl-dev-transform-payment'), 'payment')).not.toThrow();
    expect(() => assertFromTableQueue(arn('totes-etl-dev-transform-payment_type'), 'payment')).toThrow(ContractError);
    expect(() => assertFromTableQueue(arn('totes-etl-dev-transform-payment'), 'payment_type')).toThrow('A batch of payment_type arrived on totes-etl-dev-transform-payment, not on its transform-payment_type queue.');
    expect(() => assertFromTableQueue(arn('totes-etl-dev-load'), 'payment')).toThrow(ContractError);
  });
});
