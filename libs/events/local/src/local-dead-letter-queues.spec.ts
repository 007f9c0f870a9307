import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { EventBridgeEvent } from '@nightshift/contracts';
import { InvalidDeadLetterCursorError, UnknownDeadLetterQueueError } from '@nightshift/events-domain';
// The contract suite and its fixtures are test-only and deliberately not in events-domain's public index.
// eslint-disable-next-line @nx/enforce-module-boundaries
import { describeDeadLetterQueuesContract } from '../../domain/src/testing/dead-letter-queues.contract.js';
// eslint-disable-next-line @nx/enforce-module-boundaries
import { anEvent } from '../../domain/src/testing/fixtures.js';
import { LocalDeadLetterQueues } from './local-dead-letter-queues.js';
import { LocalEventBus } from './local-event-bus.js';
import { tempDir } from './testing/fixtures.js';

const QUEUE = 'contract';
const RULES = { [QUEUE]: [], other: [] };

describeDeadLetterQueuesContract(
  'LocalDeadLetterQueues (embedded bus)',
  async () => {
    const { dir, cleanup } = await tempDir();
    const bus = await LocalEventBus.open({ dir, rules: RULES, visibilityTimeoutMs: 1_000, maxReceiveCount: 2 });
    return {
      deadLetters: bus.deadLetterQueues(),
      queue: QUEUE,
      consumer: bus.consumer(QUEUE),
      maxReceiveCount: bus.maxReceiveCount,
      publish: async (events) => {
        for (const e of events) await bus.sendMessage(QUEUE, e);
      },
      close: async () => {
        await bus.close();
        await cleanup();
      },
    };
  },
  { reasonOfPolicyMoves: true },
);

describe('LocalDeadLetterQueues', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let bus: LocalEventBus;

  beforeEach(async () => {
    ({ dir, cleanup } = await tempDir());
    bus = await LocalEventBus.open({ dir, rules: RULES });
  });

  afterEach(async () => {
    await bus.close();
    await cleanup();
  });

  /** `count` dead letters put straight into the DLQ (SendMessage to it), a millisecond or more apart. */
  async function deadLetters(count: number, tenant?: string): Promise<EventBridgeEvent[]> {
    const events: EventBridgeEvent[] = [];
    for (let i = 0; i < count; i++) {
      const event = anEvent(`${tenant ?? 'none'}-${i}`, { tenant });
      await bus.putDeadLetter(QUEUE, event, `reason ${i}`);
      events.push(event);
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    return events;
  }

  it('is the bus dead-letter port, over every queue of the bus or those given that it has', async () => {
    expect(bus.deadLetterQueues()).toBeInstanceOf(LocalDeadLetterQueues);
    expect(bus.deadLetterQueues().queues()).toEqual([QUEUE, 'other']);
    const narrowed = bus.deadLetterQueues(['other', 'planner']);
    expect(narrowed.queues()).toEqual(['other']);
    await expect(narrowed.depth(QUEUE)).rejects.toMatchObject({ name: 'UnknownDeadLetterQueueError', known: ['other'] });
  });

  it('pages a DLQ larger than any page through its whole length, reading only the pages', async () => {
    const events = await deadLetters(45);
    const port = bus.deadLetterQueues();
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await port.list(QUEUE, { limit: 20, ...(cursor !== undefined ? { cursor } : {}) });
      seen.push(...page.items.map((d) => d.event!.id));
      cursor = page.nextCursor;
      pages++;
    } while (cursor !== undefined);
    expect(pages).toBe(3);
    expect(seen).toEqual(events.map((e) => e.id));
    expect(await port.depth(QUEUE)).toBe(45);
  });

  it('keeps a cursor valid across a redrive of listed dead letters and a restart of the bus', async () => {
    const events = await deadLetters(6);
    const first = await bus.deadLetterQueues().list(QUEUE, { limit: 2 });
    // The two listed ones (the oldest) leave; the cursor still names a place in the order.
    expect(await bus.deadLetterQueues().redrive(QUEUE, { max: 2 })).toEqual({ moved: 2 });
    await bus.close();
    bus = await LocalEventBus.open({ dir, rules: RULES });
    const second = await bus.deadLetterQueues().list(QUEUE, { limit: 2, cursor: first.nextCursor! });
    expect(second.items.map((d) => d.event!.id)).toEqual(events.slice(2, 4).map((e) => e.id));
    const received = await bus.receive(QUEUE, 10);
    expect(received.map((m) => m.event.id)).toEqual(events.slice(0, 2).map((e) => e.id));
  });

  it('redrives the oldest dead-lettering first', async () => {
    const events = await deadLetters(3);
    expect(await bus.deadLetterQueues().redrive(QUEUE, { max: 1 })).toEqual({ moved: 1 });
    expect(bus.listDeadLetters(QUEUE).map((d) => d.event.id)).toEqual(events.slice(1).map((e) => e.id));
    expect((await bus.receive(QUEUE, 10)).map((m) => m.event.id)).toEqual([events[0]!.id]);
  });

  it('filters by tenant while paging, and the cursor carries on from the last match', async () => {
    await deadLetters(3, 'globex');
    const acme = await deadLetters(3, 'acme');
    const port = bus.deadLetterQueues();
    const first = await port.list(QUEUE, { tenant: 'acme', limit: 2 });
    expect(first.items.map((d) => d.event)).toEqual(acme.slice(0, 2).map((e) => expect.objectContaining({ id: e.id, tenant: 'acme' })));
    const second = await port.list(QUEUE, { tenant: 'acme', limit: 2, cursor: first.nextCursor! });
    expect(second).toEqual({ items: [expect.objectContaining({ event: expect.objectContaining({ id: acme[2]!.id }) })] });
  });

  it('refuses unknown queues and foreign cursors with the port errors', async () => {
    await deadLetters(2);
    const port = bus.deadLetterQueues();
    await expect(port.list('planner')).rejects.toThrow(UnknownDeadLetterQueueError);
    await expect(port.list('planner')).rejects.toThrow('the queues with one are: contract, other');
    const { nextCursor } = await port.list(QUEUE, { limit: 1 });
    await expect(port.list('other', { cursor: nextCursor! })).rejects.toThrow(InvalidDeadLetterCursorError);
  });
});
