import { describe, expect, it } from 'vitest';
import { ConsumerClosedError } from '@nightshift/events-domain';
// The contract suite and its fixtures are test-only and deliberately not in events-domain's public index.
// eslint-disable-next-line @nx/enforce-module-boundaries
import { anEvent } from '../../domain/src/testing/fixtures.js';
// eslint-disable-next-line @nx/enforce-module-boundaries
import { describeMessageConsumerContract } from '../../domain/src/testing/message-consumer.contract.js';
import { LocalEventBus } from './local-event-bus.js';
import { tempDir } from './testing/fixtures.js';

const QUEUE = 'contract';

async function openBus(visibilityTimeoutMs = 1_500) {
  const tmp = await tempDir();
  const bus = await LocalEventBus.open({ dir: tmp.dir, rules: { [QUEUE]: [] }, visibilityTimeoutMs, maxReceiveCount: 2 });
  return {
    bus,
    close: async () => {
      await bus.close();
      await tmp.cleanup();
    },
  };
}

describeMessageConsumerContract('LocalQueueConsumer (embedded bus)', async () => {
  const { bus, close } = await openBus();
  return {
    consumer: bus.consumer(QUEUE),
    maxReceiveCount: bus.maxReceiveCount,
    publish: async (events) => {
      for (const e of events) await bus.sendMessage(QUEUE, e);
    },
    deadLetters: async () => bus.listDeadLetters(QUEUE).map((d) => ({ eventId: d.event.id, reason: d.reason })),
    close,
  };
});

describe('LocalQueueConsumer', () => {
  it('answers ConsumerClosedError once its bus is closed', async () => {
    const { bus, close } = await openBus();
    const consumer = bus.consumer(QUEUE);
    await close();
    await expect(consumer.receive(1)).rejects.toBeInstanceOf(ConsumerClosedError);
    await expect(consumer.ack('x:1')).rejects.toBeInstanceOf(ConsumerClosedError);
  });

  it('keeps the reason of the last release for the dead-letter queue', async () => {
    const { bus, close } = await openBus();
    try {
      const consumer = bus.consumer(QUEUE);
      const event = anEvent('reasoned');
      await bus.sendMessage(QUEUE, event);
      for (let i = 1; i <= bus.maxReceiveCount; i++) {
        const [m] = await consumer.receive(1, { waitTimeMs: 5_000 });
        expect(await consumer.release(m!.receiptHandle, 0, `boom ${i}`)).toBe(true);
      }
      expect(await consumer.receive(1)).toEqual([]);
      expect(bus.listDeadLetters(QUEUE)).toEqual([
        expect.objectContaining({ event, reason: `maxReceiveCount 2 exceeded; last error: boom 2` }),
      ]);
    } finally {
      await close();
    }
  });
});
