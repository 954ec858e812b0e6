import fs from 'node:fs';

export default async function globalTeardown(): Promise<void> {
  const running = globalThis.__TOTES_TEST_STACK__;
  if (!running) return;
  await running.stack.stop();
  fs.rmSync(running.stateDir, { recursive: true, force: true });
}
