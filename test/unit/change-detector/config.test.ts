import { ConfigError } from '@totes/shared/errors';
import { functionSpec, topology } from '@totes/shared/topology';
import { LEASE_MARGIN_SECONDS, loadDetectorConfig, minimumLeaseSeconds } from '../../../services/change-detector/src/config';

/**
 * TOTES_LEASE_SECONDS is checked against the detect function's timeout at start: a lease that could
 * expire while its detection still runs would let a second detection of the table start beside it.
 */
const env = {
  TOTES_STATE_TABLE: 'totes-etl-dev-state',
  TOTES_INGESTION_BUCKET: 'totes-etl-dev-ingestion',
  TOTES_PROCESSED_BUCKET: 'totes-etl-dev-processed',
  TOTES_QUEUE_PREFIX: 'totes-etl-dev',
  TOTES_SOURCE_URL: 'postgres://reader@source.example/totesys',
  TOTES_SOURCE_SSL: 'disable',
};

function loadError(leaseSeconds: string): unknown {
  try {
    loadDetectorConfig({ ...env, TOTES_LEASE_SECONDS: leaseSeconds });
  } catch (err) {
    return err;
  }
  return undefined;
}

describe('change-detector configuration: the detection lease outlasts the detect function', () => {
  it('needs the longest detect timeout (AWS or local, from infra/topology.json) plus the margin', () => {
    const longest = Math.max(functionSpec('detect').timeoutSeconds, topology.local.functionTimeoutSeconds);

    expect(minimumLeaseSeconds()).toBe(longest + LEASE_MARGIN_SECONDS);
    expect(minimumLeaseSeconds()).toBe(330); // 300 s in AWS, 120 s locally; a change to either shows here
  });

  it('accepts the default (unset, as the local stack and the deployed services leave it)', () => {
    const config = loadDetectorConfig(env);

    expect(config.tuning.leaseSeconds).toBe(600);
  });

  it('accepts a lease of exactly the minimum', () => {
    const config = loadDetectorConfig({ ...env, TOTES_LEASE_SECONDS: String(minimumLeaseSeconds()) });

    expect(config.tuning.leaseSeconds).toBe(minimumLeaseSeconds());
  });

  it('fails at start on a lease one second short of the minimum, naming the variable, its value and the minimum', () => {
    const short = minimumLeaseSeconds() - 1;

    const err = loadError(String(short));

    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).variable).toBe('TOTES_LEASE_SECONDS');
    expect((err as ConfigError).message).toBe(
      `Configuration error: TOTES_LEASE_SECONDS is ${short}, shorter than the detect function can run; it should be at least 330 (the detect timeout of 300 s plus 30 s), or unset for the default.`,
    );
  });

  it.each(['60', String(functionSpec('detect').timeoutSeconds)])('fails at start on a lease of %s seconds (no longer than the timeout)', (seconds) => {
    const err = loadError(seconds);

    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).message).toContain(`TOTES_LEASE_SECONDS is ${seconds},`);
    expect((err as ConfigError).message).toContain('at least 330');
  });
});
