import './quiet-warnings';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startLocalStack, type LocalStack } from '../../local/src/stack/stack';

/**
 * One local stack (embedded PostgreSQL, fauxqs, dynalite) for the whole integration run. Test files
 * isolate themselves inside it: each creates its own databases and its own stage of queues,
 * buckets and state table (test/helpers/stack.ts). Workers inherit the environment set here.
 */
declare global {
  var __TOTES_TEST_STACK__: { stack: LocalStack; stateDir: string } | undefined;
}

export default async function globalSetup(): Promise<void> {
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'totes-test-'));
  const log = process.env.TOTES_TEST_VERBOSE ? (line: string) => process.stderr.write(`${line}\n`) : () => undefined;
  const stack = await startLocalStack({ stateDir, log });
  globalThis.__TOTES_TEST_STACK__ = { stack, stateDir };
  process.env.TOTES_TEST_STATE_DIR = stateDir;
  process.env.TOTES_TEST_AWS_ENDPOINT = stack.awsEndpoint;
  process.env.TOTES_TEST_DYNAMODB_ENDPOINT = stack.dynamodbEndpoint;
  process.env.TOTES_TEST_PG_ADMIN_URL = stack.postgres?.url('postgres') ?? '';
}
