import {
  DeleteMessageBatchCommand,
  ListMessageMoveTasksCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  StartMessageMoveTaskCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { TotesError } from '../errors';

/**
 * Moves the messages of a dead-letter queue back to the queue they came from, once their cause is
 * fixed. In AWS: SQS's own StartMessageMoveTask (DLQ redrive), waited on until it completes. Where
 * that API does not exist (fauxqs, the local emulator) the same port falls back to receiving from
 * the DLQ and re-sending to the source queue, deleting from the DLQ only after the send succeeded:
 * a crash in between can duplicate a message (the pipeline is idempotent) but never lose one.
 */
export interface RedriveTarget {
  readonly dlqUrl: string;
  readonly dlqArn: string;
  readonly queueUrl: string;
  readonly queueArn: string;
}

export interface RedriveResult {
  readonly moved: number;
  readonly method: 'message-move-task' | 'receive-and-resend';
}

export async function redriveDlq(
  sqs: SQSClient,
  target: RedriveTarget,
  options: { onProgress?: (moved: number) => void; pollMs?: number } = {},
): Promise<RedriveResult> {
  let taskHandle: string | undefined;
  try {
    const out = await sqs.send(new StartMessageMoveTaskCommand({ SourceArn: target.dlqArn, DestinationArn: target.queueArn }));
    taskHandle = out.TaskHandle;
  } catch (err) {
    if (!isUnsupported(err)) throw new TotesError(`Could not start moving messages out of ${target.dlqArn}`, { cause: err });
    return receiveAndResend(sqs, target, options.onProgress);
  }
  if (!taskHandle) throw new TotesError(`SQS started no message move task for ${target.dlqArn}.`);
  for (;;) {
    const tasks = await sqs.send(new ListMessageMoveTasksCommand({ SourceArn: target.dlqArn, MaxResults: 1 }));
    const task = tasks.Results?.find((t) => t.TaskHandle === taskHandle) ?? tasks.Results?.[0];
    const moved = Number(task?.ApproximateNumberOfMessagesMoved ?? 0);
    options.onProgress?.(moved);
    switch (task?.Status) {
      case 'COMPLETED':
        return { moved, method: 'message-move-task' };
      case 'FAILED':
      case 'CANCELLED':
        throw new TotesError(`Moving messages out of ${target.dlqArn} ${task.Status.toLowerCase()}: ${task.FailureReason ?? 'no reason given'}.`);
      default:
        await new Promise((r) => setTimeout(r, options.pollMs ?? 2000));
    }
  }
}

function isUnsupported(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  return /UnsupportedOperation|InvalidAction|UnknownOperation|not supported|Unknown operation/i.test(`${err.name} ${err.message}`) || status === 404 || status === 501;
}

async function receiveAndResend(sqs: SQSClient, target: RedriveTarget, onProgress?: (moved: number) => void): Promise<RedriveResult> {
  let moved = 0;
  for (;;) {
    const out = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: target.dlqUrl,
        MaxNumberOfMessages: 10,
        VisibilityTimeout: 60,
        WaitTimeSeconds: 0,
        MessageAttributeNames: ['All'],
      }),
    );
    const messages = out.Messages ?? [];
    if (messages.length === 0) return { moved, method: 'receive-and-resend' };
    const sent = await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: target.queueUrl,
        Entries: messages.map((m, i) => ({
          Id: String(i),
          MessageBody: m.Body ?? '',
          ...(m.MessageAttributes && Object.keys(m.MessageAttributes).length > 0 ? { MessageAttributes: m.MessageAttributes } : {}),
        })),
      }),
    );
    const failed = new Set((sent.Failed ?? []).map((f) => f.Id));
    const delivered = messages.filter((_, i) => !failed.has(String(i)));
    if (delivered.length > 0) {
      await sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: target.dlqUrl,
          Entries: delivered.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })),
        }),
      );
    }
    moved += delivered.length;
    onProgress?.(moved);
    if (failed.size > 0) {
      throw new TotesError(`SQS refused to re-send ${failed.size} message(s) to ${target.queueUrl}; they stay in the DLQ. Moved so far: ${moved}.`);
    }
  }
}
