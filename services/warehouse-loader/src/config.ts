import {
  loadAwsConfig,
  loadDatabaseConfig,
  loadResourcesConfig,
  readEnv,
  z,
  type AwsConfig,
  type DatabaseConfig,
  type Env,
  type ResourcesConfig,
} from '@totes/shared/config/index';
import { DEFAULT_RETRY_POLICY, type RetryPolicy } from './transaction';
import type { ForeignKeyChecksSetting } from './warehouse-session';

/** The warehouse-loader's configuration, read once per container (house style 4). */
export const loaderShape = {
  TOTES_LOAD_MAX_ATTEMPTS: z.coerce
    .number()
    .int()
    .min(1)
    .max(20)
    .default(DEFAULT_RETRY_POLICY.attempts)
    .describe('how many times (1 to 20) a load transaction is tried after a deadlock or serialization failure'),
  TOTES_LOAD_FOREIGN_KEY_CHECKS: z
    .enum(['auto', 'set-based', 'trigger'])
    .default('auto')
    .describe('auto, set-based or trigger: how the loader checks the foreign keys of the facts it appends'),
};

export interface LoaderConfig {
  readonly aws: AwsConfig;
  readonly resources: ResourcesConfig;
  readonly warehouse: DatabaseConfig;
  readonly retry: RetryPolicy;
  readonly foreignKeyChecks: ForeignKeyChecksSetting;
}

export function loadLoaderConfig(env?: Env): LoaderConfig {
  const e = readEnv(loaderShape, env);
  return {
    aws: loadAwsConfig(env),
    resources: loadResourcesConfig(env),
    warehouse: loadDatabaseConfig('warehouse', env),
    retry: { ...DEFAULT_RETRY_POLICY, attempts: e.TOTES_LOAD_MAX_ATTEMPTS },
    foreignKeyChecks: e.TOTES_LOAD_FOREIGN_KEY_CHECKS,
  };
}
