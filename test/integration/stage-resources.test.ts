import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { GetQueueAttributesCommand, ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { createTestStage, type TestStage } from '../helpers/stack';

describe('stage resources created from infra/topology.json', () => {
  let stage: TestStage;
  beforeAll(async () => {
    stage = await createTestStage();
  });

  it('creates a work queue and a DLQ for every table, plus detect and load', () => {
    const names = stage.resources.queues.map((q) => q.logicalName);
    expect(names).toEqual(expect.arrayContaining(['detect', 'load', 'transform-sales_order', 'transform-transaction']));
    expect(names).toHaveLength(13);
    for (const q of stage.resources.queues) expect(q.dlqUrl).toContain(`${q.name}-dlq`);
  });

  it('moves a message to the DLQ after maxReceiveCount receives', async () => {
    const q = stage.resources.queues.find((x) => x.logicalName === 'load')!;
    await stage.clients.sqs.send(new SendMessageCommand({ QueueUrl: q.url, MessageBody: 'poison' }));
    for (let i = 0; i < q.maxReceiveCount; i++) {
      const got = await stage.clients.sqs.send(new ReceiveMessageCommand({ QueueUrl: q.url, VisibilityTimeout: 0 }));
      expect(got.Messages?.[0]?.Body).toBe('poison');
    }
    const after = await stage.clients.sqs.send(new ReceiveMessageCommand({ QueueUrl: q.url, VisibilityTimeout: 0 }));
    expect(after.Messages ?? []).toHaveLength(0);
    const dlq = await stage.clients.sqs.send(new GetQueueAttributesCommand({ QueueUrl: q.dlqUrl, AttributeNames: ['ApproximateNumberOfMessages'] }));
    expect(dlq.Attributes?.ApproximateNumberOfMessages).toBe('1');
  });

  it('refuses to overwrite an object when asked for If-None-Match, as S3 does', async () => {
    const Bucket = stage.resources.ingestionBucket;
    await stage.clients.s3.send(new PutObjectCommand({ Bucket, Key: 'raw/a/one.jsonl.gz', Body: 'first' }));
    await expect(
      stage.clients.s3.send(new PutObjectCommand({ Bucket, Key: 'raw/a/one.jsonl.gz', Body: 'second', IfNoneMatch: '*' })),
    ).rejects.toMatchObject({ name: 'PreconditionFailed' });
    const kept = await stage.clients.s3.send(new GetObjectCommand({ Bucket, Key: 'raw/a/one.jsonl.gz' }));
    expect(await kept.Body!.transformToString()).toBe('first');
  });

  it('lets exactly one of several concurrent conditional writes of a new key succeed', async () => {
    const Bucket = stage.resources.ingestionBucket;
    const bodies = Array.from({ length: 10 }, (_, i) => `writer-${i}-${'x'.repeat(200_000)}`);
    const outcomes = await Promise.allSettled(
      bodies.map((Body) => stage.clients.s3.send(new PutObjectCommand({ Bucket, Key: 'raw/a/race.jsonl.gz', Body, IfNoneMatch: '*' }))),
    );
    const won = outcomes.flatMap((o, i) => (o.status === 'fulfilled' ? [i] : []));
    expect(won).toHaveLength(1);
    for (const o of outcomes) if (o.status === 'rejected') expect(o.reason).toMatchObject({ name: 'PreconditionFailed' });
    const stored = await stage.clients.s3.send(new GetObjectCommand({ Bucket, Key: 'raw/a/race.jsonl.gz' }));
    expect(await stored.Body!.transformToString()).toBe(bodies[won[0]!]);
  });
});
