import type { Output } from '../output';
import { openSession, stopRequested, type StackOptions } from '../session';
import { refuseExternalSource, simulate } from '../source';

/** `totes simulate`: make changes in the embedded source at a steady rate, until Ctrl-C or --duration. */
export async function simulateCommand(options: StackOptions & { rate: number; seed?: number; duration?: number }, out: Output): Promise<number> {
  if (options.sourceUrl) throw refuseExternalSource('simulate changes in the source');
  const session = await openSession(options, out);
  const stop = stopRequested(out);
  try {
    const simulator = simulate(session, options.rate, options.seed ?? 42, out);
    out.info(`Simulating ${options.rate} change(s) per second in the embedded source${options.duration ? ` for ${options.duration} s` : ''}; Ctrl-C stops.`);
    const ticker = setInterval(() => out.live([`  ${simulator.changes()} change(s) so far`]), 1000);
    await Promise.race([stop.promise, ...(options.duration ? [new Promise((r) => setTimeout(r, options.duration! * 1000))] : [])]);
    clearInterval(ticker);
    await simulator.stop();
    out.endLive();
    out.info(`Made ${simulator.changes()} change(s).`);
    return 0;
  } finally {
    stop.dispose();
    await session.close();
  }
}
