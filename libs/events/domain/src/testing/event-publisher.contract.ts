import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { EventBridgeEvent } from '@nightshift/contracts';
import { PublishFailedError } from '../errors.js';
import type { EventPublisher, OutgoingEvent } from '../ports/event-publisher.port.js';
import { claimCheckOf, resolveClaimCheck, type ClaimCheckStore } from '../publishing/put-events-publisher.js';

/** A bus, fresh for each case, and a publisher onto it. */
export interface EventPublisherContractSubject {
  /** Publishes with {@link claimChecks} as its claim-check store. */
  publisher: EventPublisher;
  /** Every event that has reached the bus since the case began (any order; each delivered once). */
  published(): Promise<EventBridgeEvent[]>;
  claimChecks: ClaimCheckStore;
  close(): Promise<void>;
}

/** A claim-check store in memory (the contract is about the publisher, not the object store). */
export function memoryClaimChecks(): ClaimCheckStore {
  const objects = new Map<string, Uint8Array>();
  return {
    put: async (key, body) => {
      const bytes = typeof body === 'string' ? new TextEncoder().encode(body) : body;
      objects.set(key, bytes);
      return { key, size: bytes.byteLength, sha256: '' };
    },
    get: async (key) => {
      const bytes = objects.get(key);
      if (!bytes) throw Object.assign(new Error(`no object ${key}`), { retryable: false });
      return bytes;
    },
  };
}

/** The `Dataset Landed` detail-type the contract publishes; the subject's bus must route it to `published()`. */
export const CONTRACT_DETAIL_TYPE = 'Dataset Landed';

const anEvent = (n: number, extra: Record<string, unknown> = {}): OutgoingEvent => ({
  source: 'com.example.oms',
  detailType: CONTRACT_DETAIL_TYPE,
  detail: { metadata: { eventId: `evt-${n}`, correlationId: `corr-${n}`, occurredAt: '2026-11-20T01:00:00.000Z' }, data: { n, ...extra } },
});

const idOf = (e: EventBridgeEvent) => (e.detail as { metadata: { eventId: string } }).metadata.eventId;

/**
 * The contract of the `EventPublisher` port (`PutEventsPublisher` over any `PutEventsTarget`): every
 * event accepted once, whatever the count or size; an oversized detail claim-checked and readable
 * back; refused entries reported by index and code while the others are accepted.
 */
export function describeEventPublisherContract(name: string, setup: () => Promise<EventPublisherContractSubject>): void {
  describe(`EventPublisher contract: ${name}`, () => {
    let subject: EventPublisherContractSubject;
    beforeEach(async () => {
      subject = await setup();
    });
    afterEach(async () => {
      await subject.close();
    });

    it('publishes any number of events in PutEvents-sized requests, each once, details intact', async () => {
      const events = Array.from({ length: 25 }, (_, i) => anEvent(i));
      await subject.publisher.publish(events);
      const got = await subject.published();
      expect(got.map(idOf).sort()).toEqual(events.map((_, i) => `evt-${i}`).sort());
      expect(got.find((e) => idOf(e) === 'evt-7')?.detail).toEqual(events[7].detail);
      expect(got.every((e) => e.source === 'com.example.oms' && e['detail-type'] === CONTRACT_DETAIL_TYPE)).toBe(true);
    });

    it('splits by total size too: three 100 KiB events', async () => {
      await subject.publisher.publish([1, 2, 3].map((n) => anEvent(n, { blob: 'x'.repeat(100 * 1024) })));
      expect((await subject.published()).map(idOf).sort()).toEqual(['evt-1', 'evt-2', 'evt-3']);
    });

    it('sends a detail over 256 KiB by reference (claim-check), keeping its metadata, and it reads back whole', async () => {
      const big = anEvent(9, { blob: 'y'.repeat(300 * 1024) });
      await subject.publisher.publish([big, anEvent(10)]);
      const got = await subject.published();
      const reference = got.find((e) => idOf(e) === 'evt-9')!;
      expect(claimCheckOf(reference.detail)).toBeDefined();
      expect(await resolveClaimCheck(reference.detail, subject.claimChecks)).toEqual(big.detail);
      const small = got.find((e) => idOf(e) === 'evt-10')!;
      expect(claimCheckOf(small.detail)).toBeUndefined();
    });

    it('accepts the good entries and reports each refused one by index and code', async () => {
      const events: OutgoingEvent[] = [anEvent(0), { ...anEvent(1), source: '' }, anEvent(2), { ...anEvent(3), detail: 'not an object' }];
      const error = await subject.publisher.publish(events).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(PublishFailedError);
      expect((error as PublishFailedError).retryable).toBe(false);
      expect((error as PublishFailedError).failures.map((f) => [f.index, f.errorCode])).toEqual([
        [1, 'InvalidArgument'],
        [3, 'MalformedDetail'],
      ]);
      expect((await subject.published()).map(idOf).sort()).toEqual(['evt-0', 'evt-2']);
    });

    it('resolves for an empty call, publishing nothing', async () => {
      await subject.publisher.publish([]);
      expect(await subject.published()).toEqual([]);
    });
  });
}
