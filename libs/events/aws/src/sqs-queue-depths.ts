import { GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { queueUrlOf, sqsCall } from './sqs-calls.js';

/** One service queue's counts as SQS reports them (approximate, as SQS says). */
export interface SqsQueueDepth {
  /** The service queue's name (`planner`), as the options name it. */
  queue: string;
  /** ApproximateNumberOfMessages: waiting to be received. */
  depth: number;
  /** ApproximateNumberOfMessagesNotVisible: received, not yet deleted. */
  inFlight: number;
  /** Messages in `<SQS name>-dlq` (visible and not). */
  dlqDepth: number;
}

/**
 * The depths of the service queues and their DLQs, by GetQueueAttributes (two calls per queue),
 * for the queue gauges in aws mode. The age of the oldest message is not a queue attribute: it is
 * CloudWatch's `ApproximateAgeOfOldestMessage` of the AWS/SQS namespace, read there.
 */
export class SqsQueueDepths {
  private readonly urls = new Map<string, Promise<string>>();

  /** `queues`: the service queues, by the name the gauges use -> their SQS queue name. */
  constructor(
    private readonly sqs: SQSClient,
    private readonly queues: Readonly<Record<string, string>>,
  ) {}

  async sample(): Promise<SqsQueueDepth[]> {
    return Promise.all(
      Object.entries(this.queues).map(async ([queue, name]) => {
        const [own, dlq] = await Promise.all([this.counts(name), this.counts(`${name}-dlq`)]);
        return { queue, depth: own.visible, inFlight: own.notVisible, dlqDepth: dlq.visible + dlq.notVisible };
      }),
    );
  }

  private async counts(name: string): Promise<{ visible: number; notVisible: number }> {
    let url = this.urls.get(name);
    if (!url) {
      url = queueUrlOf(this.sqs, name);
      this.urls.set(name, url);
      // A failed lookup is tried again at the next collection.
      url.catch(() => this.urls.delete(name));
    }
    const queueUrl = await url;
    const { Attributes: a } = await sqsCall('GetQueueAttributes', name, () =>
      this.sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] })),
    );
    return { visible: Number(a?.ApproximateNumberOfMessages ?? 0), notVisible: Number(a?.ApproximateNumberOfMessagesNotVisible ?? 0) };
  }
}
