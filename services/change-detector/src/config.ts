import {
  loadAwsConfig,
  loadDatabaseConfig,
  loadResourcesConfig,
  readEnv,
  tuningShape,
  type AwsConfig,
  type DatabaseConfig,
  type Env,
  type ResourcesConfig,
} from '@totes/shared/config/index';
import { ConfigError } from '@totes/shared/errors';
import { functionSpec, topology } from '@totes/shared/topology';

/**
 * The change-detector's configuration, read once per container (house style 4): AWS endpoints,
 * the pipeline's resources, the source database (a URL locally; a Secrets Manager secret or an SSM
 * parameter in AWS; TLS mode; statement timeout) and the detection tuning.
 */
export interface DetectorConfig {
  readonly aws: AwsConfig;
  readonly resources: ResourcesConfig;
  readonly source: DatabaseConfig;
  readonly tuning: {
    /** TOTES_PAGE_SIZE: rows per page, so per raw object and message (default 10,000). */
    readonly pageSize: number;
    /** TOTES_LOOKBACK_SECONDS: the longest writer transaction a pass still catches (default 900). */
    readonly lookbackSeconds: number;
    /** TOTES_LEASE_SECONDS: how long a crashed detection can block its table (default 600). */
    readonly leaseSeconds: number;
  };
}

/**
 * A lease that can expire while its detection still runs lets a second detection of the table
 * start alongside it: renewals happen only between pages, and one page (or a stalled S3 or SQS
 * call) can take long. A lease at least as long as the detect function can run cannot expire within
 * one invocation, renewed or not. That bound is the function's AWS timeout (infra/topology.json) or
 * the local runtime's, whichever is longer (the same code runs in both), plus a margin for clock
 * skew between the containers that compare lease times.
 */
export const LEASE_MARGIN_SECONDS = 30;

export function minimumLeaseSeconds(): number {
  return Math.max(functionSpec('detect').timeoutSeconds, topology.local.functionTimeoutSeconds) + LEASE_MARGIN_SECONDS;
}

export function loadDetectorConfig(env?: Env): DetectorConfig {
  const tuning = readEnv(tuningShape, env);
  const minimum = minimumLeaseSeconds();
  if (tuning.TOTES_LEASE_SECONDS < minimum) {
    throw new ConfigError(
      'TOTES_LEASE_SECONDS',
      `Configuration error: TOTES_LEASE_SECONDS is ${tuning.TOTES_LEASE_SECONDS}, shorter than the detect function can run; it should be at least ${minimum} (the detect timeout of ${minimum - LEASE_MARGIN_SECONDS} s plus ${LEASE_MARGIN_SECONDS} s), or unset for the default.`,
    );
  }
  return {
    aws: loadAwsConfig(env),
    resources: loadResourcesConfig(env),
    source: loadDatabaseConfig('source', env),
    tuning: {
      pageSize: tuning.TOTES_PAGE_SIZE,
      lookbackSeconds: tuning.TOTES_LOOKBACK_SECONDS,
      leaseSeconds: tuning.TOTES_LEASE_SECONDS,
    },
  };
}
