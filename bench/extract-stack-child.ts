import { startLocalStack } from '../local/src/stack/stack';

/**
 * bench/extract.ts's local stack in a process of its own: it starts the stack on the state directory
 * given as the last argument, prints the stack's environment as one JSON line, and stops the stack
 * on SIGTERM. (In AWS, S3, SQS and DynamoDB do their work on other machines; run here, in the
 * detector's own process, the emulators' CPU would be counted as the extraction's.)
 */
async function main(): Promise<void> {
  const stateDir = process.argv.at(-1) as string;
  const stack = await startLocalStack({ stateDir, log: () => undefined });
  process.stdout.write(`${JSON.stringify({ env: stack.env, sourceUrl: stack.source.url })}\n`);
  await new Promise<void>((resolve) => process.once('SIGTERM', () => resolve()));
  await stack.stop();
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
