import { GetQueueAttributesCommand, SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import type { SQSEvent, SQSBatchResponse } from 'aws-lambda';
import { LocalEventSourceMapping, type InvocationReport, type QueueBinding, type SqsHandler } from '../../../local/src/runtime/event-source-mapping';
import { createTestStage, type TestStage } from '../../helpers/stack';

/** The local event-source mapping against real fauxqs queues with their real redrive policies. */
describe('local event-source mapping', () => {
  let stage: TestStage;
  beforeEach(async () => {
    stage = await createTestStage();
  });

  const queue = (logicalName: string) => stage.resources.queues.find((q) => q.logicalName === logicalName)!;

  function mapping(logicalName: string, handler: SqsHandler, overrides: Partial<QueueBinding> = {}, timeoutMs = 2000) {
    const q = queue(logicalName);
    const reports: InvocationReport[] = [];
    const esm = new LocalEventSourceMapping(
      stage.clients.sqs,
      [{ functionName: 'fn', queueName: q.name, queueUrl: q.url, queueArn: q.arn, batchSize: q.batchSize, maxConcurrency: 2, handler, ...overrides }],
      { region: 'eu-west-2', functionTimeoutMs: timeoutMs, retryDelaySeconds: 0, pollWaitMs: 20, onInvocation: (r) => reports.push(r) },
    );
    return { esm, reports, q };
  }

  async function send(url: string, bodies: string[]) {
    await stage.clients.sqs.send(new SendMessageBatchCommand({ QueueUrl: url, Entries: bodies.map((MessageBody, i) => ({ Id: String(i), MessageBody })) }));
  }

  async function depth(url: string): Promise<number> {
    const a = await stage.clients.sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }),
    );
    return Number(a.Attributes?.ApproximateNumberOfMessages ?? 0) + Number(a.Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0);
  }

  async function until(predicate: () => Promise<boolean>, timeoutMs = 15_000) {
    const deadline = Date.now() + timeoutMs;
    while (!(await predicate())) {
      if (Date.now() > deadline) throw new Error('condition not reached in time');
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  it('invokes the handler with real SQS records, in batches no larger than the batch size, and deletes what succeeded', async () => {
    const events: SQSEvent[] = [];
    const { esm, q } = mapping('load', async (event) => {
      events.push(event);
    });
    await send(q.url, ['a', 'b', 'c', 'd', 'e', 'f', 'g']);
    esm.start();
    await until(async () => events.flatMap((e) => e.Records).length === 7 && (await depth(q.url)) === 0);
    await esm.stop();
    expect(Math.max(...events.map((e) => e.Records.length))).toBeLessThanOrEqual(q.batchSize);
    const record = events[0]!.Records[0]!;
    expect(record).toMatchObject({ eventSource: 'aws:sqs', eventSourceARN: q.arn, awsRegion: 'eu-west-2' });
    expect(Number(record.attributes.ApproximateReceiveCount)).toBe(1);
    expect(events.flatMap((e) => e.Records.map((r) => r.body)).sort()).toEqual(['a', 'b', 'c', 'd', 'e', 'f', 'g']);
  });

  it('retries only the records a partial batch response names, and moves them to the DLQ after maxReceiveCount', async () => {
    const seen = new Map<string, number>();
    const { esm, q, reports } = mapping('load', async (event): Promise<SQSBatchResponse> => {
      for (const r of event.Records) seen.set(r.body, (seen.get(r.body) ?? 0) + 1);
      return { batchItemFailures: event.Records.filter((r) => r.body === 'poison').map((r) => ({ itemIdentifier: r.messageId })) };
    });
    await send(q.url, ['good-1', 'poison', 'good-2']);
    esm.start();
    await until(async () => (await depth(q.dlqUrl)) === 1 && (await depth(q.url)) === 0);
    await esm.stop();
    expect(seen.get('good-1')).toBe(1);
    expect(seen.get('good-2')).toBe(1);
    expect(seen.get('poison')).toBe(q.maxReceiveCount);
    expect(reports.some((r) => r.failed === 1)).toBe(true);
  });

  it('fails the whole batch when the handler throws, and when it reports an identifier not in its batch', async () => {
    let calls = 0;
    const { esm, q } = mapping(
      'load',
      async (event): Promise<SQSBatchResponse> => {
        calls++;
        if (calls === 1) throw new Error('boom');
        if (calls === 2) return { batchItemFailures: [{ itemIdentifier: 'not-in-this-batch' }] };
        expect(event.Records).toHaveLength(2);
        return { batchItemFailures: [] };
      },
      { maxConcurrency: 1 },
    );
    await send(q.url, ['x', 'y']);
    esm.start();
    await until(async () => calls >= 3 && (await depth(q.url)) === 0);
    await esm.stop();
    expect(await depth(q.dlqUrl)).toBe(0);
  });

  it('treats a handler that outlives the function timeout as a failed batch', async () => {
    let calls = 0;
    const { esm, q, reports } = mapping(
      'load',
      async () => {
        calls++;
        if (calls === 1) await new Promise((r) => setTimeout(r, 500));
      },
      { maxConcurrency: 1 },
      200,
    );
    await send(q.url, ['slow']);
    esm.start();
    await until(async () => calls >= 2 && (await depth(q.url)) === 0);
    await esm.stop();
    expect(reports[0]?.error).toMatch(/timed out after 200 ms/);
  });

  it('counts a handler running past its timeout as busy until it ends, and stop() waits for it', async () => {
    let finished = false;
    const { esm, q, reports } = mapping(
      'load',
      async () => {
        await new Promise((r) => setTimeout(r, 600));
        finished = true;
      },
      { maxConcurrency: 1 },
      100,
    );
    await send(q.url, ['overrun']);
    esm.start();
    await until(async () => reports.length > 0);
    expect(reports[0]?.error).toMatch(/timed out/);
    expect(esm.busy).toBeGreaterThan(0);
    await esm.stop();
    expect(finished).toBe(true);
    expect(esm.busy).toBe(0);
  });
});
