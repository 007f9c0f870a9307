import { afterEach, beforeEach, describe, expect, it } from 'vitest';
// The fixtures are test-only and deliberately not in events-domain's public index.
// eslint-disable-next-line @nx/enforce-module-boundaries
import { anEvent } from '../../domain/src/testing/fixtures.js';
import { SqsQueueNotFoundError } from './errors.js';
import { SqsQueueDepths } from './sqs-queue-depths.js';
import { embeddedSqs, publishToQueue, type EmbeddedSqs } from './testing/sqs-contract-subject.js';

describe('SqsQueueDepths -> SqsHttpEndpoint (embedded bus)', () => {
  let env: EmbeddedSqs;

  beforeEach(async () => {
    env = await embeddedSqs({ queues: ['planner', 'reporting'], visibilityTimeoutMs: 60_000 });
  });

  afterEach(async () => {
    await env.close();
  });

  it('reads each queue\'s waiting and in-flight messages and its DLQ\'s, by the service queue\'s name', async () => {
    await publishToQueue(env.sqs, env.queueUrl('planner'), [anEvent('a'), anEvent('b'), anEvent('c')]);
    const received = await env.bus.receive('planner', 2);
    expect(received).toHaveLength(2);
    await env.bus.deadLetter('planner', received[0]!.receiptHandle, 'test: bad input');

    const depths = new SqsQueueDepths(env.sqs, { planner: 'planner', reporting: 'reporting' });
    expect(await depths.sample()).toEqual([
      { queue: 'planner', depth: 1, inFlight: 1, dlqDepth: 1 },
      { queue: 'reporting', depth: 0, inFlight: 0, dlqDepth: 0 },
    ]);
  });

  it('rejects naming a queue the deployment lacks', async () => {
    await expect(new SqsQueueDepths(env.sqs, { ingestion: 'no-such-queue' }).sample()).rejects.toBeInstanceOf(SqsQueueNotFoundError);
  });
});
