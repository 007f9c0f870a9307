import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  claimCheckOf,
  PublishFailedError,
  PutEventsPublisher,
  resolveClaimCheck,
  type OutgoingEvent,
  type PutEventsTarget,
} from '@nightshift/events-domain';
// The contract suite is test-only and deliberately not in events-domain's public index.
// eslint-disable-next-line @nx/enforce-module-boundaries
import { memoryClaimChecks } from '../../domain/src/testing/event-publisher.contract.js';
import { LocalEventBus } from './local-event-bus.js';
import { LANDED_ONLY, metadata, tempDir } from './testing/fixtures.js';

let cleanup: () => Promise<void>;
let bus: LocalEventBus;
let publisher: PutEventsPublisher;

beforeEach(async () => {
  const tmp = await tempDir();
  cleanup = tmp.cleanup;
  bus = await LocalEventBus.open({ dir: tmp.dir, rules: LANDED_ONLY });
  publisher = new PutEventsPublisher(bus, { eventBusName: 'nightshift' });
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

describe('PutEventsPublisher over the embedded bus', () => {
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
      [4, 'EventTooLarge'],
      [5, 'MalformedDetail'],
    ]);
    expect(failed.failures[0].detailType).toBe('Dataset Landed');
    expect(failed.message).toMatch(/^4 of 7 events were not published: #1 "Dataset Landed" from "oms.upstream": MalformedDetail/);
    expect(failed.message).toContain('Parameter Source is not valid');
    expect(failed.message).toContain('no claim-check store is configured');
    expect(await drainEventIds()).toEqual(['evt-0', 'evt-2', 'evt-6']);
  });

  it('sends a detail too large for one event by reference to the object store, and consumers read it back', async () => {
    {
      const objects = memoryClaimChecks();
      const claimChecking = new PutEventsPublisher(bus, { claimChecks: objects });
      const big = landed(9, { blob: 'x'.repeat(300 * 1024) });
      await claimChecking.publish([big, landed(10)]);
      const received = await bus.receive('ingestion', 10);
      const idOf = (m: (typeof received)[number]) => (m.event.detail as { metadata: { eventId: string } }).metadata.eventId;
      const first = received.find((m) => idOf(m) === 'evt-9')!;
      const second = received.find((m) => idOf(m) === 'evt-10')!;
      const ref = claimCheckOf(first.event.detail);
      expect(ref?.key).toMatch(/^claim-checks\/\d{4}-\d{2}-\d{2}\/[0-9a-f-]{36}\.json$/);
      expect((first.event.detail as { metadata: { eventId: string } }).metadata.eventId).toBe('evt-9');
      expect(await resolveClaimCheck(first.event.detail, objects)).toEqual(big.detail);
      expect(await resolveClaimCheck(second.event.detail, objects)).toEqual(landed(10).detail);
      await expect(resolveClaimCheck({ claimCheck: { key: 'claim-checks/gone.json', bytes: 1 } }, objects)).rejects.toMatchObject({
        name: 'ClaimCheckError',
        retryable: false,
      });
    }
  });

  it('retries entries refused with a transient code, and reports the others without retrying them', async () => {
    const calls: string[][] = [];
    let throttled = 2;
    const flaky: PutEventsTarget = {
      putEvents: async (entries) => {
        calls.push(entries.map((e) => e.DetailType ?? ''));
        return {
          FailedEntryCount: entries.filter((e) => e.DetailType !== 'Ok').length,
          Entries: entries.map((e, i) =>
            e.DetailType === 'Ok' ? { EventId: `id-${calls.length}-${i}` }
            : e.DetailType === 'Bad' ? { ErrorCode: 'InvalidArgument', ErrorMessage: 'bad' }
            : throttled-- > 0 ? { ErrorCode: 'ThrottlingException', ErrorMessage: 'slow down' }
            : { EventId: 'late' },
          ),
        };
      },
    };
    const retrying = new PutEventsPublisher(flaky, { sleep: async () => undefined });
    const out = await retrying.publish(['Ok', 'Slow', 'Bad'].map((t) => ({ source: 's', detailType: t, detail: {} }))).catch((e: unknown) => e);
    expect(out).toBeInstanceOf(PublishFailedError);
    expect((out as PublishFailedError).failures.map((f) => [f.index, f.errorCode])).toEqual([[2, 'InvalidArgument']]);
    expect(calls).toEqual([['Ok', 'Slow', 'Bad'], ['Slow'], ['Slow']]);
  });

  it('surfaces a transient code once its tries are spent, as a retryable failure', async () => {
    const always: PutEventsTarget = { putEvents: async (entries) => ({ FailedEntryCount: entries.length, Entries: entries.map(() => ({ ErrorCode: 'InternalFailure', ErrorMessage: 'down' })) }) };
    const out = await new PutEventsPublisher(always, { attempts: 3, sleep: async () => undefined }).publish([{ source: 's', detailType: 'X', detail: {} }]).catch((e: unknown) => e);
    expect(out).toMatchObject({ name: 'PublishFailedError', retryable: true });
  });

  it('resolves for an empty call without touching the bus', async () => {
    await publisher.publish([]);
    expect(bus.stats('ingestion')).toEqual({ visible: 0, inFlight: 0, deadLetters: 0 });
  });
});
