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

export function loadDetectorConfig(env?: Env): DetectorConfig {
  const tuning = readEnv(tuningShape, env);
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
