import { GetQueueUrlCommand, SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { TotesError } from '../errors';

/**
 * Sends JSON messages to the pipeline's queues by logical name ('load', 'transform-sales_order'),
 * resolving `<prefix>-<name>` to a URL once per container. Sends in batches of ten (the SQS limit)
 * and fails loudly if SQS refuses any entry, so a caller never believes a message was sent when it
 * was not.
 */
export interface MessageSender {
  send(logicalQueue: string, bodies: readonly string[]): Promise<void>;
}

export class SqsMessageSender implements MessageSender {
  private readonly urls = new Map<string, Promise<string>>();

  constructor(
    private readonly sqs: SQSClient,
    private readonly queuePrefix: string,
  ) {}

  queueUrl(logicalQueue: string): Promise<string> {
    let url = this.urls.get(logicalQueue);
    if (!url) {
      const name = `${this.queuePrefix}-${logicalQueue}`;
      url = this.sqs.send(new GetQueueUrlCommand({ QueueName: name })).then((out) => {
        if (!out.QueueUrl) throw new TotesError(`The queue ${name} has no URL.`);
        return out.QueueUrl;
      });
      url.catch(() => this.urls.delete(logicalQueue));
      this.urls.set(logicalQueue, url);
    }
    return url;
  }

  async send(logicalQueue: string, bodies: readonly string[]): Promise<void> {
    if (bodies.length === 0) return;
    const QueueUrl = await this.queueUrl(logicalQueue);
    for (let start = 0; start < bodies.length; start += 10) {
      const chunk = bodies.slice(start, start + 10);
      const out = await this.sqs.send(
        new SendMessageBatchCommand({ QueueUrl, Entries: chunk.map((MessageBody, i) => ({ Id: String(i), MessageBody })) }),
      );
      if (out.Failed && out.Failed.length > 0) {
        const first = out.Failed[0];
        throw new TotesError(`SQS refused ${out.Failed.length} message(s) for ${logicalQueue}: ${first?.Code} ${first?.Message ?? ''}`.trim());
      }
    }
  }
}
