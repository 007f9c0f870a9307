import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { OutgoingEvent } from '@nightshift/events-domain';
import { BusEventPublisher } from './bus-event-publisher.js';
import { PublishFailedError } from './errors.js';
import { LocalEventBus } from './local-event-bus.js';
import { LANDED_ONLY, metadata, tempDir } from './testing/fixtures.js';

let cleanup: () => Promise<void>;
let bus: LocalEventBus;
let publisher: BusEventPublisher;

beforeEach(async () => {
  const tmp = await tempDir();
  cleanup = tmp.cleanup;
  bus = await LocalEventBus.open({ dir: tmp.dir, rules: LANDED_ONLY });
  publisher = new BusEventPublisher(bus, { eventBusName: 'nightshift' });
});

afterEach(async () => {
  await bus.close();
  await cleanup();
});

const landed = (n: number, extra: Record<string, unknown> = {}): OutgoingEvent => ({
  source: 'oms.upstream',
  detailType: 'Dataset Landed',
  detail: { metadata: metadata(`evt-${n}`), data: { n, ...extra } },
});

async function drainEventIds(): Promise<string[]> {
  const ids: string[] = [];
  for (;;) {
    const batch = await bus.receive('ingestion', 10);
    if (batch.length === 0) return ids.sort();
    ids.push(...batch.map((m) => (m.event.detail as { metadata: { eventId: string } }).metadata.eventId));
  }
}

describe('BusEventPublisher', () => {
  it('publishes any number of events in PutEvents-sized requests, each durable when publish resolves', async () => {
    const events = Array.from({ length: 23 }, (_, i) => landed(i));
    await publisher.publish(events);
    expect(await drainEventIds()).toEqual(events.map((_, i) => `evt-${i}`).sort());
  });

  it('splits by total size too (three 100 KiB events do not fit in one request)', async () => {
    const events = [1, 2, 3].map((n) => landed(n, { blob: 'x'.repeat(100 * 1024) }));
    await publisher.publish(events);
    expect(await drainEventIds()).toEqual(['evt-1', 'evt-2', 'evt-3']);
  });

  it('persists the good entries, then rejects naming each failed entry and why', async () => {
    const events: OutgoingEvent[] = [
      landed(0),
      { ...landed(1), detail: { n: 1n } },
      landed(2),
      { ...landed(3), source: '' },
      landed(4, { blob: 'x'.repeat(300 * 1024) }),
      { ...landed(5), detail: 'a string is not an object' },
      landed(6),
    ];
    const error = await publisher.publish(events).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(PublishFailedError);
    const failed = error as PublishFailedError;
    expect(failed.retryable).toBe(false);
    expect(failed.failures.map((f) => [f.index, f.errorCode])).toEqual([
      [1, 'MalformedDetail'],
      [3, 'InvalidArgument'],
      [4, 'ValidationException'],
      [5, 'MalformedDetail'],
    ]);
    expect(failed.failures[0].detailType).toBe('Dataset Landed');
    expect(failed.message).toMatch(/^4 of 7 events were not published: #1 "Dataset Landed" from "oms.upstream": MalformedDetail/);
    expect(failed.message).toContain('Parameter Source is not valid');
    expect(failed.message).toContain('Total size of the entries in the request is over the limit.');
    expect(await drainEventIds()).toEqual(['evt-0', 'evt-2', 'evt-6']);
  });

  it('resolves for an empty call without touching the bus', async () => {
    await publisher.publish([]);
    expect(bus.stats('ingestion')).toEqual({ visible: 0, inFlight: 0, deadLetters: 0 });
  });
});
