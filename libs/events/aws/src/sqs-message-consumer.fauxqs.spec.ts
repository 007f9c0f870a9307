import { GetQueueAttributesCommand, ReceiveMessageCommand, SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
// The contract suite is test-only and deliberately not in events-domain's public index.
// eslint-disable-next-line @nx/enforce-module-boundaries
import { describeMessageConsumerContract } from '../../domain/src/testing/message-consumer.contract.js';
import { DEAD_LETTER_REASON_ATTRIBUTE, SqsMessageConsumer } from './sqs-message-consumer.js';
import { createQueueWithDeadLetterQueue, fauxqsPerSuite, peekDeadLetters, publishToQueue } from './testing/sqs-contract-subject.js';

/**
 * The same contract against fauxqs 1.9.2, an independent SQS emulator started in this process: a
 * cross-check that the adapter speaks SQS, not just our own endpoint. One server per file; every
 * case gets its own queue and DLQ (created with the SDK, with a redrive policy), so cases stay
 * independent.
 *
 * Skipped: "aborted poll claims nothing". fauxqs keeps serving a long poll after its client went
 * away: the abandoned poll takes the next message, which then stays in flight for the visibility
 * timeout and comes back with receive count 2 (the embedded endpoint ends the poll with the connection).
 */
const MAX_RECEIVE_COUNT = 2;
const fauxqs = fauxqsPerSuite();
let queues = 0;

/** A fresh queue `<name>` with `<name>-dlq` and a redrive policy, created through the SDK. */
async function freshQueue(sqs: SQSClient): Promise<{ name: string; queueUrl: string; deadLetterQueueUrl: string }> {
  const name = `contract-${process.pid}-${++queues}`;
  return { name, ...(await createQueueWithDeadLetterQueue(sqs, name, MAX_RECEIVE_COUNT)) };
}

describeMessageConsumerContract(
  'SqsMessageConsumer -> fauxqs 1.9.2',
  async () => {
    const sqs = fauxqs.client();
    const q = await freshQueue(sqs);
    // Queue URLs and the visibility timeout come from GetQueueUrl / GetQueueAttributes.
    const consumer = await new SqsMessageConsumer(sqs, { queue: q.name }).ready();
    return {
      consumer,
      maxReceiveCount: MAX_RECEIVE_COUNT,
      publish: (events) => publishToQueue(sqs, q.queueUrl, events),
      deadLetters: () => peekDeadLetters(sqs, q.deadLetterQueueUrl),
      close: async () => sqs.destroy(),
    };
  },
  { skip: { 'aborted poll claims nothing': 'fauxqs keeps serving an abandoned long poll, which claims the next message' } },
);

describe('SqsMessageConsumer on fauxqs', () => {
  let sqs: SQSClient;

  beforeEach(() => {
    sqs = fauxqs.client();
  });

  afterEach(() => {
    sqs.destroy();
  });

  it('dead-letters a body that is not an EventBridge event, with the reason, and returns no message for it', async () => {
    const q = await freshQueue(sqs);
    const consumer = new SqsMessageConsumer(sqs, { queue: q.name });
    await sqs.send(new SendMessageCommand({ QueueUrl: q.queueUrl, MessageBody: 'plain text' }));
    await sqs.send(new SendMessageCommand({ QueueUrl: q.queueUrl, MessageBody: '{"detail-type":"Half An Event"}' }));
    const counts = async (url: string) => {
      const { Attributes } = await sqs.send(
        new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }),
      );
      return Number(Attributes!.ApproximateNumberOfMessages) + Number(Attributes!.ApproximateNumberOfMessagesNotVisible);
    };
    const until = Date.now() + 30_000;
    while ((await counts(q.deadLetterQueueUrl)) < 2 && Date.now() < until) {
      expect(await consumer.receive(10, { waitTimeMs: 1_000 })).toEqual([]);
    }
    expect(await counts(q.queueUrl)).toBe(0);
    const out = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: q.deadLetterQueueUrl, MaxNumberOfMessages: 10, MessageAttributeNames: ['All'], WaitTimeSeconds: 1 }),
    );
    const dead = (out.Messages ?? [])
      .map((m) => ({ body: m.Body, reason: m.MessageAttributes?.[DEAD_LETTER_REASON_ATTRIBUTE]?.StringValue }))
      .sort((a, b) => String(a.body).localeCompare(String(b.body)));
    expect(dead).toEqual([
      { body: '{"detail-type":"Half An Event"}', reason: expect.stringContaining('the message body is not an EventBridge event: version:') },
      { body: 'plain text', reason: 'the message body is not JSON, so not an EventBridge event' },
    ]);
  });
});
