import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalEventBus } from './local-event-bus.js';
import { aDatasetLanded, LANDED_ONLY, tempDir } from './testing/fixtures.js';

describe('the age of the oldest message of a queue (the queue gauges)', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let bus: LocalEventBus;
  /** The bus's clock: the test moves it. */
  let now = Date.parse('2026-11-27T06:00:00Z');

  beforeEach(async () => {
    ({ dir, cleanup } = await tempDir());
    bus = await LocalEventBus.open({ dir, rules: LANDED_ONLY, now: () => new Date(now) });
  });

  afterEach(async () => {
    await bus.close();
    await cleanup();
  });

  it('is 0 for an empty queue, counts in-flight messages, and follows the oldest one left', async () => {
    const queue = bus.queueNames[0]!;
    expect(bus.oldestMessageAgeMs(queue)).toBe(0);
    await bus.putEvents([aDatasetLanded()]);
    now += 5_000;
    await bus.putEvents([aDatasetLanded()]);
    now += 2_000;
    expect(bus.oldestMessageAgeMs(queue)).toBe(7_000);

    // Received and not yet acknowledged, the oldest still counts (as SQS's ApproximateAgeOfOldestMessage does).
    const [oldest] = await bus.receive(queue, 1);
    expect(bus.oldestMessageAgeMs(queue)).toBe(7_000);
    await bus.ack(queue, oldest!.receiptHandle);
    expect(bus.oldestMessageAgeMs(queue)).toBe(2_000);

    // A dead letter is the DLQ's, not the queue's.
    const [last] = await bus.receive(queue, 1);
    await bus.deadLetter(queue, last!.receiptHandle, 'test');
    expect(bus.oldestMessageAgeMs(queue)).toBe(0);
    expect(bus.stats(queue).deadLetters).toBe(1);
  });
});
