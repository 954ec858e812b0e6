import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { AwsConfig } from '../config';

/**
 * One SDK client per process (house style 3), built from the typed config. In AWS the SDK's
 * defaults apply; against the local emulators the endpoint is explicit, the credentials are dummies
 * (the emulators ignore them) and S3 uses path-style URLs.
 */
export interface AwsClients {
  readonly sqs: SQSClient;
  readonly s3: S3Client;
  readonly dynamo: DynamoDBDocumentClient;
}

const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };

export function createAwsClients(config: AwsConfig): AwsClients {
  const { region, endpoints } = config;
  const sqs = new SQSClient({
    region,
    ...(endpoints.sqs
      ? // fauxqs names queues with a *.localhost host: send every call to the endpoint, not the queue URL.
        { endpoint: endpoints.sqs, useQueueUrlAsEndpoint: false, credentials: LOCAL_CREDENTIALS }
      : {}),
  });
  const s3 = new S3Client({
    region,
    ...(endpoints.s3 ? { endpoint: endpoints.s3, forcePathStyle: true, credentials: LOCAL_CREDENTIALS } : {}),
  });
  const dynamoBase = new DynamoDBClient({
    region,
    ...(endpoints.dynamodb ? { endpoint: endpoints.dynamodb, credentials: LOCAL_CREDENTIALS } : {}),
  });
  const dynamo = DynamoDBDocumentClient.from(dynamoBase, {
    marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: false },
  });
  return { sqs, s3, dynamo };
}
