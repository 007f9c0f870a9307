import { QueueDoesNotExist, SQSClient } from '@aws-sdk/client-sqs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEAD_LETTER_REASON_ATTRIBUTE as ENDPOINT_REASON_ATTRIBUTE } from '@nightshift/events-local';
// The contract suite is test-only and deliberately not in events-domain's public index.
// eslint-disable-next-line @nx/enforce-module-boundaries
import { describeMessageConsumerContract } from '../../domain/src/testing/message-consumer.contract.js';
import { SqsConsumerNotReadyError, SqsQueueNotFoundError, SqsUnavailableError } from './errors.js';
import { DEAD_LETTER_REASON_ATTRIBUTE, SqsMessageConsumer } from './sqs-message-consumer.js';
import { embeddedSqs, LOCAL_CREDENTIALS, peekDeadLetters, publishToQueue, type EmbeddedSqs } from './testing/sqs-contract-subject.js';

const QUEUE = 'contract';

/** The embedded bus behind its SQS endpoint with the one queue `contract`. */
const embedded = () => embeddedSqs({ queues: [QUEUE], visibilityTimeoutMs: 2_000 });

describeMessageConsumerContract('SqsMessageConsumer -> SqsHttpEndpoint (embedded bus)', async () => {
  const env = await embedded();
  const consumer = await new SqsMessageConsumer(env.sqs, { queue: QUEUE }).ready();
  return {
    consumer,
    maxReceiveCount: env.bus.maxReceiveCount,
    publish: (events) => publishToQueue(env.sqs, env.queueUrl(QUEUE), events),
    deadLetters: () => peekDeadLetters(env.sqs, env.queueUrl(`${QUEUE}-dlq`)),
    close: env.close,
  };
});

describe('SqsMessageConsumer', () => {
  let env: EmbeddedSqs;

  beforeEach(async () => {
    env = await embedded();
  });

  afterEach(async () => {
    await env.close();
  });

  it('uses the attribute name the endpoint reads', () => {
    expect(DEAD_LETTER_REASON_ATTRIBUTE).toBe(ENDPOINT_REASON_ATTRIBUTE);
  });

  it('looks up the queue URLs and visibility timeout once, and reads them lazily on first receive', async () => {
    const consumer = new SqsMessageConsumer(env.sqs, { queue: QUEUE });
    expect(() => consumer.visibilityTimeoutMs).toThrow(SqsConsumerNotReadyError);
    expect(await consumer.receive(1)).toEqual([]);
    expect(consumer.visibilityTimeoutMs).toBe(2_000);
    expect(new SqsMessageConsumer(env.sqs, { queue: QUEUE, visibilityTimeoutMs: 7_000 }).visibilityTimeoutMs).toBe(7_000);
  });

  it('maps QueueDoesNotExist to a non-retryable SqsQueueNotFoundError, keeping the cause', async () => {
    const consumer = new SqsMessageConsumer(env.sqs, { queue: 'missing' });
    const error = await consumer.receive(1).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SqsQueueNotFoundError);
    expect((error as SqsQueueNotFoundError).retryable).toBe(false);
    expect((error as Error).cause).toBeInstanceOf(QueueDoesNotExist);
  });

  it('maps an unreachable endpoint to a retryable SqsUnavailableError', async () => {
    const offline = await embedded();
    await offline.close();
    const sqs = new SQSClient({ endpoint: offline.url, region: 'us-east-1', credentials: LOCAL_CREDENTIALS, maxAttempts: 1 });
    try {
      const consumer = new SqsMessageConsumer(sqs, { queue: QUEUE, queueUrl: offline.queueUrl(QUEUE), deadLetterQueueUrl: offline.queueUrl(`${QUEUE}-dlq`), visibilityTimeoutMs: 1_000 });
      const error = await consumer.receive(1).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(SqsUnavailableError);
      expect((error as SqsUnavailableError).retryable).toBe(true);
    } finally {
      sqs.destroy();
    }
  });
});
