import { CreateQueueCommand, QueueDoesNotExist, ReceiveMessageCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { startFauxqs } from 'fauxqs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { UnknownDeadLetterQueueError } from '@nightshift/events-domain';
import { DEAD_LETTERED_AT_ATTRIBUTE as ENDPOINT_DEAD_LETTERED_AT_ATTRIBUTE } from '@nightshift/events-local';
// The contract suite and its fixtures are test-only and deliberately not in events-domain's public index.
// eslint-disable-next-line @nx/enforce-module-boundaries
import { describeDeadLetterQueuesContract } from '../../domain/src/testing/dead-letter-queues.contract.js';
// eslint-disable-next-line @nx/enforce-module-boundaries
import { anEvent } from '../../domain/src/testing/fixtures.js';
import { SqsQueueNotFoundError, SqsUnavailableError } from './errors.js';
import { SqsDeadLetterQueues } from './sqs-dead-letter-queues.js';
import { DEAD_LETTER_REASON_ATTRIBUTE, DEAD_LETTERED_AT_ATTRIBUTE, SqsMessageConsumer } from './sqs-message-consumer.js';
import { createQueueWithDeadLetterQueue, embeddedSqs, fauxqsPerSuite, LOCAL_CREDENTIALS, publishToQueue, type EmbeddedSqs } from './testing/sqs-contract-subject.js';

const QUEUE = 'contract';

/** The embedded bus behind its SQS endpoint with queues `contract` and `other`. */
const embedded = () => embeddedSqs({ queues: [QUEUE, 'other'], visibilityTimeoutMs: 1_000 });

describeDeadLetterQueuesContract('SqsDeadLetterQueues -> SqsHttpEndpoint (embedded bus)', async () => {
  const env = await embedded();
  return {
    // The defaults (a 1 s long poll ends each scan), as in AWS.
    deadLetters: new SqsDeadLetterQueues(env.sqs, { queues: [QUEUE, 'other'] }),
    queue: QUEUE,
    consumer: await new SqsMessageConsumer(env.sqs, { queue: QUEUE }).ready(),
    maxReceiveCount: env.bus.maxReceiveCount,
    publish: (events) => publishToQueue(env.sqs, env.queueUrl(QUEUE), events),
    close: env.close,
  };
});

/**
 * The same contract against fauxqs, an independent SQS emulator: the adapter speaks SQS, not just our
 * endpoint. Each case gets its own queue and DLQ with a redrive policy, named apart from the port's
 * name (`contract` -> `ns-<n>-contract`), as infra's prefixed names are.
 */
describe('on fauxqs', () => {
  const fauxqs = fauxqsPerSuite();
  let queues = 0;

  describeDeadLetterQueuesContract('SqsDeadLetterQueues -> fauxqs', async () => {
    const sqs = fauxqs.client();
    const name = `ns-${process.pid}-${++queues}-${QUEUE}`;
    const { queueUrl } = await createQueueWithDeadLetterQueue(sqs, name, 2);
    return {
      // fauxqs answers a short poll exactly: no long poll needed to end a scan.
      deadLetters: new SqsDeadLetterQueues(sqs, { queues: { [QUEUE]: name, other: `ns-${process.pid}-other` }, waitTimeSeconds: 0 }),
      queue: QUEUE,
      consumer: await new SqsMessageConsumer(sqs, { queue: name }).ready(),
      maxReceiveCount: 2,
      publish: (events) => publishToQueue(sqs, queueUrl, events),
      close: async () => sqs.destroy(),
    };
  });
});

describe('SqsDeadLetterQueues', () => {
  let env: EmbeddedSqs;

  beforeEach(async () => {
    env = await embedded();
  });

  afterEach(async () => {
    await env.close();
  });

  it('uses the attribute name the endpoint returns', () => {
    expect(DEAD_LETTERED_AT_ATTRIBUTE).toBe(ENDPOINT_DEAD_LETTERED_AT_ATTRIBUTE);
  });

  it('lists a DLQ of more messages than one receive returns, and leaves every one visible', async () => {
    const events = Array.from({ length: 25 }, (_, i) => anEvent(String(i)));
    for (const e of events) await env.bus.putDeadLetter(QUEUE, e, 'boom');
    const port = new SqsDeadLetterQueues(env.sqs, { queues: [QUEUE], waitTimeSeconds: 0 });
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await port.list(QUEUE, { limit: 10, ...(cursor !== undefined ? { cursor } : {}) });
      seen.push(...page.items.map((d) => d.event!.id));
      cursor = page.nextCursor;
    } while (cursor !== undefined);
    expect(seen.sort()).toEqual(events.map((e) => e.id).sort());
    expect(env.bus.deadLetterStats(QUEUE)).toEqual({ visible: 25, inFlight: 0 });
    expect(await port.depth(QUEUE)).toBe(25);
  });

  it('lists at most scanLimit messages of a DLQ', async () => {
    for (let i = 0; i < 12; i++) await env.bus.putDeadLetter(QUEUE, anEvent(String(i)), 'boom');
    const port = new SqsDeadLetterQueues(env.sqs, { queues: [QUEUE], waitTimeSeconds: 0, scanLimit: 5 });
    const page = await port.list(QUEUE, { limit: 100 });
    expect(page.items).toHaveLength(5);
    expect(page.nextCursor).toBeUndefined();
    expect(env.bus.deadLetterStats(QUEUE)).toEqual({ visible: 12, inFlight: 0 });
  });

  it('shows a body that is not an event without one, and redrives it unchanged', async () => {
    // Only SQS can hold such a body (the consumer dead-letters it); fauxqs stands in for it here.
    const server = await startFauxqs({ port: 0, logger: false });
    const sqs = new SQSClient({ endpoint: server.address, region: 'us-east-1', credentials: LOCAL_CREDENTIALS });
    try {
      const q = await sqs.send(new CreateQueueCommand({ QueueName: 'plain' }));
      const dlq = await sqs.send(new CreateQueueCommand({ QueueName: 'plain-dlq' }));
      await sqs.send(
        new SendMessageCommand({
          QueueUrl: dlq.QueueUrl,
          MessageBody: 'plain text',
          MessageAttributes: { [DEAD_LETTER_REASON_ATTRIBUTE]: { DataType: 'String', StringValue: 'not JSON' } },
        }),
      );
      const port = new SqsDeadLetterQueues(sqs, { queues: ['plain'], waitTimeSeconds: 0 });
      const { items } = await port.list('plain');
      expect(items).toEqual([{ messageId: expect.any(String), queue: 'plain', reason: 'not JSON', deadLetteredAt: expect.any(String) }]);
      expect(await port.redrive('plain')).toEqual({ moved: 1 });
      const out = await sqs.send(new ReceiveMessageCommand({ QueueUrl: q.QueueUrl, WaitTimeSeconds: 1 }));
      expect(out.Messages?.map((m) => m.Body)).toEqual(['plain text']);
    } finally {
      sqs.destroy();
      await server.stop();
    }
  });

  it('refuses a queue it was not given, naming the ones it was', async () => {
    const port = new SqsDeadLetterQueues(env.sqs, { queues: { planner: 'ns-planner', reporting: 'ns-reporting' } });
    expect(port.queues()).toEqual(['planner', 'reporting']);
    const error = await port.redrive('ns-planner').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnknownDeadLetterQueueError);
    expect(error).toMatchObject({ queue: 'ns-planner', known: ['planner', 'reporting'] });
  });

  it('maps QueueDoesNotExist of a configured queue to a non-retryable SqsQueueNotFoundError naming the SQS queue', async () => {
    const port = new SqsDeadLetterQueues(env.sqs, { queues: { planner: 'ns-planner' } });
    const error = await port.list('planner').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SqsQueueNotFoundError);
    expect(error).toMatchObject({ queue: 'ns-planner', retryable: false });
    expect((error as Error).cause).toBeInstanceOf(QueueDoesNotExist);
  });

  it('maps an unreachable endpoint to a retryable SqsUnavailableError, and looks the URLs up again next time', async () => {
    const offline = await embedded();
    await offline.close();
    const sqs = new SQSClient({ endpoint: offline.url, region: 'us-east-1', credentials: LOCAL_CREDENTIALS, maxAttempts: 1 });
    try {
      const port = new SqsDeadLetterQueues(sqs, { queues: [QUEUE] });
      for (let i = 0; i < 2; i++) {
        const error = await port.depth(QUEUE).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(SqsUnavailableError);
        expect((error as SqsUnavailableError).retryable).toBe(true);
      }
    } finally {
      sqs.destroy();
    }
  });

  it('refuses options out of range at construction', () => {
    expect(() => new SqsDeadLetterQueues(env.sqs, { queues: [QUEUE], scanLimit: 0 })).toThrow(RangeError);
    expect(() => new SqsDeadLetterQueues(env.sqs, { queues: [QUEUE], visibilityTimeoutSeconds: 0 })).toThrow(RangeError);
    expect(() => new SqsDeadLetterQueues(env.sqs, { queues: [QUEUE], waitTimeSeconds: 21 })).toThrow(RangeError);
  });
});
