import {
  GetQueueAttributesCommand,
  ListMessageMoveTasksCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
  StartMessageMoveTaskCommand,
} from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { redriveDlq } from '../../../shared/src/aws/redrive';
import { createTestStage, type TestStage } from '../../helpers/stack';

describe('DLQ redrive', () => {
  let stage: TestStage;
  beforeAll(async () => {
    stage = await createTestStage();
  });

  it('falls back to receive-and-resend where StartMessageMoveTask does not exist (fauxqs), losing nothing', async () => {
    const q = stage.resources.queues.find((x) => x.logicalName === 'transform-payment')!;
    for (const body of ['one', 'two', 'three']) await stage.clients.sqs.send(new SendMessageCommand({ QueueUrl: q.dlqUrl, MessageBody: body }));
    const result = await redriveDlq(stage.clients.sqs, { dlqUrl: q.dlqUrl, dlqArn: q.dlqArn, queueUrl: q.url, queueArn: q.arn });
    expect(result).toEqual({ moved: 3, method: 'receive-and-resend' });
    const dlq = await stage.clients.sqs.send(new GetQueueAttributesCommand({ QueueUrl: q.dlqUrl, AttributeNames: ['ApproximateNumberOfMessages'] }));
    expect(dlq.Attributes?.ApproximateNumberOfMessages).toBe('0');
    const back = await stage.clients.sqs.send(new ReceiveMessageCommand({ QueueUrl: q.url, MaxNumberOfMessages: 10 }));
    expect((back.Messages ?? []).map((m) => m.Body).sort()).toEqual(['one', 'three', 'two']);
  });

  it('uses SQS message move tasks in AWS and waits for the task to complete', async () => {
    const sqs = new SQSClient({ region: 'eu-west-2', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
    const mock = mockClient(sqs);
    mock.on(StartMessageMoveTaskCommand).resolves({ TaskHandle: 'task-1' });
    mock
      .on(ListMessageMoveTasksCommand)
      .resolvesOnce({ Results: [{ TaskHandle: 'task-1', Status: 'RUNNING', ApproximateNumberOfMessagesMoved: 2 }] })
      .resolves({ Results: [{ TaskHandle: 'task-1', Status: 'COMPLETED', ApproximateNumberOfMessagesMoved: 5 }] });
    const target = { dlqUrl: 'u-dlq', dlqArn: 'arn:aws:sqs:eu-west-2:1:q-dlq', queueUrl: 'u', queueArn: 'arn:aws:sqs:eu-west-2:1:q' };
    const progress: number[] = [];
    const result = await redriveDlq(sqs, target, { pollMs: 1, onProgress: (n) => progress.push(n) });
    expect(result).toEqual({ moved: 5, method: 'message-move-task' });
    expect(progress).toEqual([2, 5]);
    expect(mock.commandCalls(StartMessageMoveTaskCommand)[0]?.args[0].input).toEqual({ SourceArn: target.dlqArn, DestinationArn: target.queueArn });
  });

  it('reports a failed move task with its reason', async () => {
    const sqs = new SQSClient({ region: 'eu-west-2', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
    const mock = mockClient(sqs);
    mock.on(StartMessageMoveTaskCommand).resolves({ TaskHandle: 't' });
    mock.on(ListMessageMoveTasksCommand).resolves({ Results: [{ TaskHandle: 't', Status: 'FAILED', FailureReason: 'AccessDenied' }] });
    await expect(redriveDlq(sqs, { dlqUrl: 'a', dlqArn: 'b', queueUrl: 'c', queueArn: 'd' }, { pollMs: 1 })).rejects.toThrow('failed: AccessDenied');
  });
});
