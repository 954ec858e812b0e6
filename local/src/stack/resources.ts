import { CreateBucketCommand, HeadBucketCommand } from '@aws-sdk/client-s3';
import { CreateQueueCommand, GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { CreateTableCommand, DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import type { AwsClients } from '@totes/shared/aws/clients';
import { bucketName, queueDefinitions, resourcePrefix, stateTableName, topology, type QueueDefinition } from '@totes/shared/topology';

/**
 * Creates a stage's queues (each with its DLQ and redrive policy), buckets and state table from
 * infra/topology.json, the definitions the serverless.yml files render for AWS. Idempotent:
 * resources that exist are left as they are.
 */
export interface StageResources {
  readonly stage: string;
  readonly queuePrefix: string;
  readonly ingestionBucket: string;
  readonly processedBucket: string;
  readonly stateTable: string;
  readonly queues: ReadonlyArray<QueueDefinition & { readonly url: string; readonly arn: string; readonly dlqUrl: string; readonly dlqArn: string }>;
}

/** DLQs keep messages for SQS's maximum, 14 days, so a failure can wait for a person. */
const DLQ_RETENTION_SECONDS = 1_209_600;

export async function createStageResources(clients: AwsClients, stage: string): Promise<StageResources> {
  const queues = [];
  for (const def of queueDefinitions(stage)) {
    const dlqUrl = await createQueue(clients, def.dlqName, { MessageRetentionPeriod: String(DLQ_RETENTION_SECONDS) });
    const dlqArn = await queueArn(clients, dlqUrl);
    const url = await createQueue(clients, def.name, {
      VisibilityTimeout: String(def.visibilityTimeoutSeconds),
      RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: def.maxReceiveCount }),
    });
    queues.push({ ...def, url, arn: await queueArn(clients, url), dlqUrl, dlqArn });
  }

  const ingestionBucket = bucketName(stage, 'ingestion');
  const processedBucket = bucketName(stage, 'processed');
  for (const bucket of [ingestionBucket, processedBucket]) {
    const exists = await clients.s3.send(new HeadBucketCommand({ Bucket: bucket })).then(
      () => true,
      () => false,
    );
    if (!exists) await clients.s3.send(new CreateBucketCommand({ Bucket: bucket }));
  }

  const stateTable = stateTableName(stage);
  const tableExists = await clients.dynamo.send(new DescribeTableCommand({ TableName: stateTable })).then(
    () => true,
    (err: Error) => {
      if (err.name === 'ResourceNotFoundException') return false;
      throw err;
    },
  );
  if (!tableExists) {
    await clients.dynamo.send(
      new CreateTableCommand({
        TableName: stateTable,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [{ AttributeName: topology.stateTable.partitionKey, AttributeType: 'S' }],
        KeySchema: [{ AttributeName: topology.stateTable.partitionKey, KeyType: 'HASH' }],
      }),
    );
  }

  return { stage, queuePrefix: resourcePrefix(stage), ingestionBucket, processedBucket, stateTable, queues };
}

async function createQueue(clients: AwsClients, name: string, attributes: Record<string, string>): Promise<string> {
  const out = await clients.sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes }));
  if (!out.QueueUrl) throw new Error(`CreateQueue returned no URL for ${name}`);
  return out.QueueUrl;
}

async function queueArn(clients: AwsClients, url: string): Promise<string> {
  const out = await clients.sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }));
  const arn = out.Attributes?.QueueArn;
  if (!arn) throw new Error(`GetQueueAttributes returned no ARN for ${url}`);
  return arn;
}
