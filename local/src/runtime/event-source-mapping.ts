import { randomUUID } from 'node:crypto';
import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  ReceiveMessageCommand,
  type Message,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { describeError } from '@totes/shared/errors';
import { sleep } from '../stack/process';

/**
 * A local stand-in for Lambda's SQS event source mapping. For each queue it runs up to
 * `maxConcurrency` pollers; each receives up to `batchSize` messages, invokes the function's
 * handler with a real SQS event and a Lambda-like context, then:
 *  - deletes the messages the handler processed (all, unless it reported batchItemFailures);
 *  - leaves the failed ones in the queue to be received again. In AWS they wait out the visibility
 *    timeout; locally their visibility is cut to `retryDelaySeconds` so retries take seconds.
 * A handler that throws, times out, or returns an identifier not in its batch fails the whole batch,
 * as in AWS. After maxReceiveCount receives SQS itself moves a message to its DLQ (the redrive
 * policy on the queue), exactly as in AWS.
 */
export type SqsHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse | void>;

export interface QueueBinding {
  readonly functionName: string;
  readonly queueName: string;
  readonly queueUrl: string;
  readonly queueArn: string;
  readonly batchSize: number;
  readonly maxConcurrency: number;
  readonly handler: SqsHandler;
}

export interface InvocationReport {
  readonly functionName: string;
  readonly queueName: string;
  readonly messages: number;
  readonly failed: number;
  readonly durationMs: number;
  readonly error?: string;
}

export interface EventSourceMappingOptions {
  readonly region: string;
  readonly functionTimeoutMs: number;
  readonly retryDelaySeconds: number;
  readonly pollWaitMs: number;
  readonly onInvocation?: (report: InvocationReport) => void;
}

export function lambdaContext(functionName: string, timeoutMs: number, region: string): Context {
  const deadline = Date.now() + timeoutMs;
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:${region}:000000000000:function:${functionName}`,
    memoryLimitInMB: '1024',
    // The process id lets a later run release the leases of a killed one (runtime/recovery.ts).
    awsRequestId: `local-${process.pid}-${randomUUID()}`,
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

export function sqsRecord(message: Message, binding: Pick<QueueBinding, 'queueArn'>, region: string): SQSRecord {
  const a = message.Attributes ?? {};
  return {
    messageId: message.MessageId ?? '',
    receiptHandle: message.ReceiptHandle ?? '',
    body: message.Body ?? '',
    attributes: {
      ApproximateReceiveCount: a.ApproximateReceiveCount ?? '1',
      SentTimestamp: a.SentTimestamp ?? String(Date.now()),
      SenderId: a.SenderId ?? 'local',
      ApproximateFirstReceiveTimestamp: a.ApproximateFirstReceiveTimestamp ?? String(Date.now()),
    },
    messageAttributes: Object.fromEntries(
      Object.entries(message.MessageAttributes ?? {}).map(([k, v]) => [
        k,
        { dataType: v.DataType ?? 'String', ...(v.StringValue !== undefined ? { stringValue: v.StringValue } : {}) },
      ]),
    ),
    md5OfBody: message.MD5OfBody ?? '',
    eventSource: 'aws:sqs',
    eventSourceARN: binding.queueArn,
    awsRegion: region,
  };
}

class TimeoutError extends Error {}

export class LocalEventSourceMapping {
  private running = false;
  private loops: Promise<void>[] = [];
  private inFlight = 0;
  /**
   * Handlers that outlived the function timeout. Their batch already counts as failed (as in AWS),
   * but in one process they keep running: they count as busy and stop() waits for them, so the
   * databases are never stopped under them.
   */
  private readonly overrunning = new Set<Promise<unknown>>();

  constructor(
    private readonly sqs: SQSClient,
    private readonly bindings: readonly QueueBinding[],
    private readonly options: EventSourceMappingOptions,
  ) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    for (const binding of this.bindings) {
      for (let i = 0; i < binding.maxConcurrency; i++) this.loops.push(this.poll(binding));
    }
  }

  /** Stop polling and wait for the invocations under way to finish (their outcome is applied). */
  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
    await Promise.allSettled([...this.overrunning]);
    this.loops = [];
  }

  /** Invocations under way right now, including handlers still running past their timeout. */
  get busy(): number {
    return this.inFlight + this.overrunning.size;
  }

  private async poll(binding: QueueBinding): Promise<void> {
    while (this.running) {
      let messages: Message[];
      try {
        const out = await this.sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: binding.queueUrl,
            MaxNumberOfMessages: binding.batchSize,
            WaitTimeSeconds: 0,
            VisibilityTimeout: Math.ceil(this.options.functionTimeoutMs / 1000) + 5,
            MessageSystemAttributeNames: ['All'],
            MessageAttributeNames: ['All'],
          }),
        );
        messages = out.Messages ?? [];
      } catch (err) {
        if (!this.running) return;
        this.report(binding, 0, 0, 0, `receive failed: ${describeError(err)}`);
        await sleep(1000);
        continue;
      }
      if (messages.length === 0) {
        await sleep(this.options.pollWaitMs);
        continue;
      }
      this.inFlight++;
      try {
        await this.invoke(binding, messages);
      } finally {
        this.inFlight--;
      }
    }
  }

  private async invoke(binding: QueueBinding, messages: Message[]): Promise<void> {
    const started = Date.now();
    const records = messages.map((m) => sqsRecord(m, binding, this.options.region));
    const ids = new Set(records.map((r) => r.messageId));
    let failedIds: Set<string>;
    let error: string | undefined;
    try {
      const response = await this.withTimeout(
        binding.handler({ Records: records }, lambdaContext(binding.functionName, this.options.functionTimeoutMs, this.options.region)),
      );
      const reported = response && 'batchItemFailures' in response ? response.batchItemFailures : [];
      failedIds = new Set(reported.map((f) => f.itemIdentifier));
      if ([...failedIds].some((id) => !ids.has(id))) {
        // Lambda treats an identifier that is not in the batch as a failure of the whole batch.
        error = 'the handler reported an itemIdentifier not in its batch';
        failedIds = ids;
      }
    } catch (err) {
      error = err instanceof TimeoutError ? `timed out after ${this.options.functionTimeoutMs} ms` : describeError(err);
      failedIds = ids;
    }
    const succeeded = messages.filter((m) => !failedIds.has(m.MessageId ?? ''));
    const failed = messages.filter((m) => failedIds.has(m.MessageId ?? ''));
    try {
      if (succeeded.length > 0) {
        await this.sqs.send(
          new DeleteMessageBatchCommand({
            QueueUrl: binding.queueUrl,
            Entries: succeeded.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })),
          }),
        );
      }
      if (failed.length > 0) {
        await this.sqs.send(
          new ChangeMessageVisibilityBatchCommand({
            QueueUrl: binding.queueUrl,
            Entries: failed.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle, VisibilityTimeout: this.options.retryDelaySeconds })),
          }),
        );
      }
    } catch (err) {
      // The messages come back after their visibility timeout; nothing is lost.
      error = `${error ? `${error}; ` : ''}acknowledging failed: ${describeError(err)}`;
    }
    this.report(binding, messages.length, failed.length, Date.now() - started, error);
  }

  private withTimeout<T>(promise: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const settled = promise.then(
          () => undefined,
          () => undefined,
        );
        this.overrunning.add(settled);
        void settled.then(() => this.overrunning.delete(settled));
        reject(new TimeoutError());
      }, this.options.functionTimeoutMs);
    });
    return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
  }

  private report(binding: QueueBinding, messages: number, failed: number, durationMs: number, error?: string): void {
    this.options.onInvocation?.({
      functionName: binding.functionName,
      queueName: binding.queueName,
      messages,
      failed,
      durationMs,
      ...(error ? { error } : {}),
    });
  }
}
