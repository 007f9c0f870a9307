import { afterEach, beforeEach, describe, expect } from 'vitest';
import type { EventBridgeEvent } from '@nightshift/contracts';
import type { MessageConsumer, QueueMessage } from '../ports/message-consumer.port.js';
import { anEvent, contractCases, DEADLINE_MS, receiveSome } from './fixtures.js';

/** A dead letter as the contract checks it. */
export interface ContractDeadLetter {
  eventId: string;
  /** The reason given to `deadLetter`; absent where the adapter's DLQ does not record one (redrive policy). */
  reason?: string;
}

/** One queue, fresh for each case, and its consumer. */
export interface MessageConsumerContractSubject {
  /** Consumes the queue; its `visibilityTimeoutMs` should be short (1-2 s): the cases wait for it. */
  consumer: MessageConsumer;
  /** Deliveries after which the next receive moves a message to the DLQ (small: 2 or 3). */
  maxReceiveCount: number;
  /** Puts EventBridge events on the queue, as a rule targeting it would. */
  publish(events: readonly EventBridgeEvent[]): Promise<void>;
  /** What is in the queue's dead-letter queue now (without consuming it). */
  deadLetters(): Promise<ContractDeadLetter[]>;
  close(): Promise<void>;
}

/** The cases of the contract, by name (for {@link MessageConsumerContractOptions.skip}). */
export type MessageConsumerContractCase =
  | 'receive'
  | 'redelivery'
  | 'ack'
  | 'stale handle'
  | 'release'
  | 'release with delay'
  | 'extendVisibility'
  | 'deadLetter'
  | 'maxReceiveCount'
  | 'long poll'
  | 'abort'
  | 'aborted poll claims nothing';

export interface MessageConsumerContractOptions {
  /** Cases an adapter cannot pass, each with the reason (shown in the skipped test's name). */
  skip?: Partial<Record<MessageConsumerContractCase, string>>;
}

/**
 * The {@link MessageConsumer} contract: the same cases for every adapter (the embedded bus, SQS, an
 * SQS emulator). Timing is observed with long polls and deadlines, never fixed sleeps; each case
 * gets a fresh queue from `setup`.
 */
export function describeMessageConsumerContract(
  name: string,
  setup: () => Promise<MessageConsumerContractSubject>,
  options: MessageConsumerContractOptions = {},
): void {
  describe(`MessageConsumer contract: ${name}`, () => {
    let subject: MessageConsumerContractSubject;
    let consumer: MessageConsumer;

    beforeEach(async () => {
      subject = await setup();
      consumer = subject.consumer;
    });

    afterEach(async () => {
      await subject.close();
    });

    const test = contractCases(options.skip);

    async function receiveOne(deadlineMs = DEADLINE_MS): Promise<QueueMessage> {
      const [m] = await receiveSome(consumer, 1, deadlineMs);
      if (!m) throw new Error(`no message within ${deadlineMs} ms`);
      return m;
    }

    /** Observes the queue for `ms` with one long poll: nothing may be delivered meanwhile. */
    async function expectNothingFor(ms: number): Promise<void> {
      const until = Date.now() + ms;
      while (Date.now() < until) {
        expect(await consumer.receive(10, { waitTimeMs: until - Date.now() })).toEqual([]);
      }
    }

    async function deadLetterOf(eventId: string): Promise<ContractDeadLetter> {
      const until = Date.now() + DEADLINE_MS;
      for (;;) {
        const found = (await subject.deadLetters()).find((d) => d.eventId === eventId);
        if (found) return found;
        if (Date.now() > until) throw new Error(`event ${eventId} did not reach the dead-letter queue`);
        // Each receive from the queue is what moves an exhausted message; a short poll between looks.
        expect(await consumer.receive(1, { waitTimeMs: 500 })).toEqual([]);
      }
    }

    test('receive', 'returns what was published, with receiveCount 1', async () => {
      const events = [anEvent('a'), anEvent('b')];
      await subject.publish(events);
      const received = await receiveSome(consumer, 2);
      expect(received.map((m) => m.event).sort(byId)).toEqual([...events].sort(byId));
      for (const m of received) {
        expect(m.receiveCount).toBe(1);
        expect(m.messageId).toEqual(expect.any(String));
        expect(m.receiptHandle).toEqual(expect.any(String));
      }
      expect(new Set(received.map((m) => m.messageId)).size).toBe(2);
    });

    test('redelivery', 'a message not acked is delivered again after the visibility timeout, receiveCount 2', async () => {
      const event = anEvent('redelivered');
      await subject.publish([event]);
      const first = await receiveOne();
      const receivedAt = Date.now();
      expect(await consumer.receive(10)).toEqual([]);
      const second = await receiveOne();
      expect(Date.now() - receivedAt).toBeGreaterThanOrEqual(consumer.visibilityTimeoutMs - 250);
      expect(second.event).toEqual(event);
      expect(second.messageId).toBe(first.messageId);
      expect(second.receiveCount).toBe(2);
      expect(second.receiptHandle).not.toBe(first.receiptHandle);
    });

    test('ack', 'removes the message for good', async () => {
      await subject.publish([anEvent('acked')]);
      const m = await receiveOne();
      expect(await consumer.ack(m.receiptHandle)).toBe(true);
      await expectNothingFor(consumer.visibilityTimeoutMs + 1_500);
      expect(await subject.deadLetters()).toEqual([]);
    });

    test('stale handle', "an older delivery's handle resolves false (ack: false, or accepted without effect)", async () => {
      const event = anEvent('stale');
      await subject.publish([event]);
      const first = await receiveOne();
      const second = await receiveOne();
      expect(second.receiveCount).toBe(2);
      // SQS accepts a DeleteMessage with an old handle and deletes nothing: either answer is allowed, the effect is not.
      expect(typeof (await consumer.ack(first.receiptHandle))).toBe('boolean');
      expect(await consumer.extendVisibility(first.receiptHandle, 60_000)).toBe(false);
      expect(await consumer.release(first.receiptHandle, 0)).toBe(false);
      expect(await consumer.deadLetter(first.receiptHandle, 'stale')).toBe(false);
      // The latest delivery still owns the message: it is in flight, not deleted, not dead-lettered.
      expect(await consumer.extendVisibility(second.receiptHandle, 60_000)).toBe(true);
      expect(await subject.deadLetters()).toEqual([]);
      expect(await consumer.ack(second.receiptHandle)).toBe(true);
    });

    test('release', 'release with delay 0 makes the message visible again at once, keeping its receive count', async () => {
      const event = anEvent('released');
      await subject.publish([event]);
      const m = await receiveOne();
      // Hidden for a minute first, so a redelivery within the deadline can only come from the release.
      expect(await consumer.extendVisibility(m.receiptHandle, 60_000)).toBe(true);
      expect(await consumer.release(m.receiptHandle, 0, 'try again')).toBe(true);
      const again = await receiveOne();
      expect(again.event).toEqual(event);
      expect(again.receiveCount).toBe(2);
    });

    test('release with delay', 'the message comes back after the delay, not before', async () => {
      const event = anEvent('delayed');
      await subject.publish([event]);
      const m = await receiveOne();
      expect(await consumer.extendVisibility(m.receiptHandle, 60_000)).toBe(true);
      const delayMs = 3_000;
      const releasedAt = Date.now();
      expect(await consumer.release(m.receiptHandle, delayMs, 'later')).toBe(true);
      expect(await consumer.receive(10)).toEqual([]);
      const again = await receiveOne();
      expect(Date.now() - releasedAt).toBeGreaterThanOrEqual(delayMs - 250);
      expect(again.event).toEqual(event);
      expect(again.receiveCount).toBe(2);
    });

    test('extendVisibility', 'keeps the message invisible past the visibility timeout, then it comes back', async () => {
      await subject.publish([anEvent('extended')]);
      const m = await receiveOne();
      const extendMs = consumer.visibilityTimeoutMs * 2 + 2_000;
      const extendedAt = Date.now();
      expect(await consumer.extendVisibility(m.receiptHandle, extendMs)).toBe(true);
      await expectNothingFor(consumer.visibilityTimeoutMs + 1_000);
      const again = await receiveOne();
      expect(Date.now() - extendedAt).toBeGreaterThanOrEqual(extendMs - 250);
      expect(again.receiveCount).toBe(2);
    });

    test('deadLetter', 'moves the message to the dead-letter queue with its reason', async () => {
      const event = anEvent('poison');
      await subject.publish([event]);
      const m = await receiveOne();
      expect(await consumer.deadLetter(m.receiptHandle, 'ValidationError: dataset is unknown')).toBe(true);
      expect(await deadLetterOf(event.id)).toEqual({ eventId: event.id, reason: 'ValidationError: dataset is unknown' });
      await expectNothingFor(consumer.visibilityTimeoutMs + 1_500);
    });

    test('maxReceiveCount', 'a message delivered maxReceiveCount times goes to the dead-letter queue', async () => {
      const event = anEvent('exhausted');
      await subject.publish([event]);
      for (let i = 1; i <= subject.maxReceiveCount; i++) {
        const m = await receiveOne();
        expect(m.receiveCount).toBe(i);
        expect(await consumer.release(m.receiptHandle, 0, `attempt ${i} failed`)).toBe(true);
      }
      expect((await deadLetterOf(event.id)).eventId).toBe(event.id);
      await expectNothingFor(consumer.visibilityTimeoutMs + 1_000);
    });

    test('long poll', 'returns as soon as a message arrives', async () => {
      const event = anEvent('awaited');
      const started = Date.now();
      const polling = consumer.receive(1, { waitTimeMs: 20_000 });
      const publishing = new Promise<void>((resolve, reject) => {
        setTimeout(() => subject.publish([event]).then(resolve, reject), 500);
      });
      const [received] = await Promise.all([polling, publishing]);
      expect(received.map((m) => m.event.id)).toEqual([event.id]);
      expect(Date.now() - started).toBeLessThan(12_000);
    });

    test('abort', 'aborting the signal ends a long poll with no messages', async () => {
      const controller = new AbortController();
      const started = Date.now();
      const polling = consumer.receive(10, { waitTimeMs: 20_000, signal: controller.signal });
      setTimeout(() => controller.abort(), 300);
      expect(await polling).toEqual([]);
      expect(Date.now() - started).toBeLessThan(12_000);
      const aborted = new AbortController();
      aborted.abort();
      expect(await consumer.receive(10, { waitTimeMs: 20_000, signal: aborted.signal })).toEqual([]);
    });

    test('aborted poll claims nothing', 'a message published after a poll was aborted goes to the next receive, first delivery', async () => {
      const controller = new AbortController();
      const polling = consumer.receive(10, { waitTimeMs: 20_000, signal: controller.signal });
      setTimeout(() => controller.abort(), 300);
      expect(await polling).toEqual([]);
      const event = anEvent('after-abort');
      await subject.publish([event]);
      const m = await receiveOne(consumer.visibilityTimeoutMs + 5_000);
      expect(m.event.id).toBe(event.id);
      expect(m.receiveCount).toBe(1);
    });
  });
}

function byId(a: EventBridgeEvent, b: EventBridgeEvent): number {
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}
