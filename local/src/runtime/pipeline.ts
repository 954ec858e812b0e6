import { describeError } from '@totes/shared/errors';
import { topology } from '@totes/shared/topology';
import type { LocalStack } from '../stack/stack';
import { sleep } from '../stack/process';
import { LocalEventSourceMapping, lambdaContext, type InvocationReport } from './event-source-mapping';
import { loadFunctions, scheduledEvent, type LocalFunctions } from './functions';
import { queueDepths, type QueueDepthStatus } from './status';

/**
 * The pipeline running on the local stack: the event source mappings of every queue and a
 * scheduler that invokes the change-detector's `schedule` function like EventBridge does.
 */
export interface LocalPipelineOptions {
  readonly onInvocation?: (report: InvocationReport) => void;
  readonly onScheduleError?: (message: string) => void;
}

export class LocalPipeline {
  private readonly functions: LocalFunctions;
  private readonly esm: LocalEventSourceMapping;
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> | undefined;

  constructor(
    private readonly stack: LocalStack,
    private readonly options: LocalPipelineOptions = {},
  ) {
    this.functions = loadFunctions(stack.resources);
    this.esm = new LocalEventSourceMapping(stack.clients.sqs, this.functions.bindings, {
      region: stack.region,
      functionTimeoutMs: topology.local.functionTimeoutSeconds * 1000,
      retryDelaySeconds: topology.local.retryDelaySeconds,
      pollWaitMs: topology.local.pollWaitMilliseconds,
      ...(options.onInvocation ? { onInvocation: options.onInvocation } : {}),
    });
  }

  /** Start consuming every queue; with `scheduleEverySeconds`, also tick the scheduler. */
  start(scheduleEverySeconds?: number): void {
    this.esm.start();
    if (scheduleEverySeconds) {
      const tick = () => {
        this.ticking = this.tick().catch((err: unknown) => this.options.onScheduleError?.(describeError(err)));
      };
      tick();
      this.timer = setInterval(tick, scheduleEverySeconds * 1000);
    }
  }

  /** One scheduler tick: the change-detector fans out a detection per source table. */
  async tick(): Promise<void> {
    await this.functions.schedule(scheduledEvent(this.stack.region, this.stack.stage), lambdaContext('schedule', 30_000, this.stack.region));
  }

  queueDepths(): Promise<QueueDepthStatus[]> {
    return queueDepths(this.stack.clients.sqs, this.stack.resources.queues);
  }

  /**
   * Wait until every work queue is empty and no invocation is under way, twice in a row (a handler
   * finishing may have just sent the next message). Messages parked in DLQs do not count.
   */
  async waitUntilDrained(onProgress?: (depths: QueueDepthStatus[]) => void): Promise<QueueDepthStatus[]> {
    let quietChecks = 0;
    for (;;) {
      const depths = await this.queueDepths();
      onProgress?.(depths);
      const idle = this.esm.busy === 0 && depths.every((d) => d.waiting + d.inFlight === 0);
      quietChecks = idle ? quietChecks + 1 : 0;
      if (quietChecks >= 2) return depths;
      await sleep(250);
    }
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.ticking;
    await this.esm.stop();
  }
}
