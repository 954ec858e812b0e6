import type { Output } from '../output';
import { openSession, stopRequested, type StackOptions } from '../session';
import { prepareSource } from '../source';

/**
 * `totes stack`: only the infrastructure (PostgreSQL, SQS, S3, DynamoDB) with the pipeline's
 * resources, no handlers running: for poking at it with psql or the AWS CLI. Prints the endpoints
 * and the environment the handlers would read.
 */
export async function stackCommand(options: StackOptions, out: Output): Promise<number> {
  const session = await openSession(options, out);
  const stop = stopRequested(out);
  try {
    await session.migrate();
    await prepareSource(session, {}, out);
    const { stack } = session;
    out.info(`Local stack running in ${stack.stateDir}:`);
    for (const [k, v] of Object.entries(stack.env)) out.info(`  ${k}=${v}`);
    out.info('Ctrl-C stops it.');
    await stop.promise;
    return 0;
  } finally {
    stop.dispose();
    await session.close();
  }
}
