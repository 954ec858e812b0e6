import pg from 'pg';
import { getSecret } from '@aws-lambda-powertools/parameters/secrets';
import { getParameter } from '@aws-lambda-powertools/parameters/ssm';
import { z } from 'zod';
import type { DatabaseConfig } from '../config';
import { ConfigError, TotesError } from '../errors';

/**
 * PostgreSQL connection settings from the typed config: a URL locally, a Secrets Manager secret
 * (the RDS secret format) or an SSM SecureString URL in AWS. Powertools Parameters caches secrets
 * for five minutes so a warm Lambda does not fetch them per invocation. TLS: `verify-full` checks
 * the server certificate against the trust store (the Lambda runtime adds the RDS CAs through
 * NODE_EXTRA_CA_CERTS, set in serverless.yml).
 */
const rdsSecretSchema = z.object({
  host: z.string(),
  port: z.coerce.number().int().positive().default(5432),
  username: z.string(),
  password: z.string(),
  dbname: z.string().optional(),
  database: z.string().optional(),
});

export async function connectionSettings(config: DatabaseConfig): Promise<pg.ClientConfig> {
  const common: pg.ClientConfig = {
    statement_timeout: config.statementTimeoutMs,
    application_name: `totes-etl-${config.name}`,
    ssl: config.ssl === 'disable' ? false : { rejectUnauthorized: config.ssl === 'verify-full' },
  };
  switch (config.source.kind) {
    case 'url':
      return { ...common, connectionString: withoutSslParameters(config.source.url) };
    case 'ssm': {
      const url = await getParameter(config.source.parameterName, { decrypt: true, maxAge: 300 });
      if (!url) throw new ConfigError('SSM_PARAMETER', `The SSM parameter ${config.source.parameterName} is empty.`);
      return { ...common, connectionString: url };
    }
    case 'secret': {
      const raw = await getSecret(config.source.secretId, { transform: 'json', maxAge: 300 });
      const parsed = rdsSecretSchema.safeParse(raw);
      if (!parsed.success) {
        throw new ConfigError(
          'SECRET_ID',
          `The secret ${config.source.secretId} does not hold host, port, username and password (${parsed.error.issues[0]?.message}).`,
        );
      }
      const s = parsed.data;
      return { ...common, host: s.host, port: s.port, user: s.username, password: s.password, database: s.dbname ?? s.database };
    }
  }
}

/**
 * TLS is decided by the typed config (`ssl`) alone. node-postgres would otherwise let an `sslmode`
 * in the URL override it, with its own reading of the libpq modes.
 */
function withoutSslParameters(url: string): string {
  const parsed = new URL(url);
  for (const name of ['sslmode', 'ssl', 'sslcert', 'sslkey', 'sslrootcert', 'uselibpqcompat']) parsed.searchParams.delete(name);
  return parsed.toString();
}

/** Where a connection goes, without credentials: for messages. */
export function describeServer(settings: pg.ClientConfig): string {
  if (settings.connectionString) {
    const u = new URL(settings.connectionString);
    return `${u.hostname}:${u.port || 5432}${u.pathname}`;
  }
  return `${settings.host ?? 'localhost'}:${settings.port ?? 5432}/${settings.database ?? ''}`;
}

/** Open one client (the Lambda containers keep one connection each). */
export async function connect(config: DatabaseConfig): Promise<pg.Client> {
  const settings = await connectionSettings(config);
  const client = new pg.Client(settings);
  try {
    await client.connect();
  } catch (err) {
    await client.end().catch(() => undefined);
    const reason = err instanceof Error ? err.message : String(err);
    const variable = config.name === 'source' ? 'TOTES_SOURCE_SSL' : 'TOTES_WAREHOUSE_SSL';
    const tls = /ssl|tls|certificate|self.signed/i.test(reason) ? ` (TLS ${config.ssl}; for a server without TLS set ${variable}=disable or add ?sslmode=disable to its URL)` : '';
    throw new TotesError(`Could not connect to the ${config.name} database at ${describeServer(settings)}${tls}: ${reason}`, { cause: err });
  }
  return client;
}

/**
 * A lazily opened connection reused across invocations of a warm container, reopened if the
 * server dropped it. A lost connection fails the current message (it is retried), never silently.
 */
export class ReusableConnection {
  private client: pg.Client | undefined;
  private broken = false;

  constructor(private readonly config: DatabaseConfig) {}

  async get(): Promise<pg.Client> {
    if (this.client && !this.broken) return this.client;
    await this.close();
    const client = await connect(this.config);
    this.broken = false;
    client.on('error', () => {
      this.broken = true;
    });
    client.on('end', () => {
      this.broken = true;
    });
    this.client = client;
    return client;
  }

  /** Mark the connection unusable after an error that may have left it mid-transaction. */
  discard(): void {
    this.broken = true;
  }

  async close(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    if (client) await client.end().catch(() => undefined);
  }
}
