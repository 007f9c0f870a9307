import { afterEach, beforeEach, describe, expect } from 'vitest';
import type { EventBridgeEvent } from '@nightshift/contracts';
import { InvalidDeadLetterCursorError, UnknownDeadLetterQueueError } from '../errors.js';
import type { DeadLetterQueues, DeadLetterView } from '../ports/dead-letter-queues.port.js';
import type { MessageConsumer } from '../ports/message-consumer.port.js';
import { anEvent, contractCases, DEADLINE_MS, receiveSome } from './fixtures.js';

/** One service queue with an empty DLQ, fresh for each case, its consumer and its dead-letter queues. */
export interface DeadLetterQueuesContractSubject {
  deadLetters: DeadLetterQueues;
  /** The queue the cases use: one of `deadLetters.queues()`, its DLQ empty. */
  queue: string;
  /** Consumes `queue` (a short visibility timeout: 1-2 s); the cases dead-letter through it, as handlers do. */
  consumer: MessageConsumer;
  /** Deliveries after which the next receive moves a message to the DLQ (small: 2 or 3). */
  maxReceiveCount: number;
  /** Puts EventBridge events on `queue`, as a rule targeting it would. */
  publish(events: readonly EventBridgeEvent[]): Promise<void>;
  close(): Promise<void>;
}

/** The cases of the contract, by name (for {@link DeadLetterQueuesContractOptions.skip}). */
export type DeadLetterQueuesContractCase =
  | 'queues'
  | 'unknown queue'
  | 'list'
  | 'tenant'
  | 'pagination'
  | 'bad arguments'
  | 'maxReceiveCount'
  | 'redrive'
  | 'redrive max'
  | 'concurrent redrives';

export interface DeadLetterQueuesContractOptions {
  /** Cases an adapter cannot pass, each with the reason (shown in the skipped test's name). */
  skip?: Partial<Record<DeadLetterQueuesContractCase, string>>;
  /** The adapter records a reason for a message the redrive policy moved (the embedded bus does; SQS cannot). */
  reasonOfPolicyMoves?: boolean;
}

/**
 * The {@link DeadLetterQueues} contract, with real dead letters: events published to the queue,
 * received and dead-lettered through its {@link MessageConsumer} (or exhausted by redelivery), then
 * listed, paged and redriven back into the queue, whose consumer receives them again.
 */
export function describeDeadLetterQueuesContract(
  name: string,
  setup: () => Promise<DeadLetterQueuesContractSubject>,
  options: DeadLetterQueuesContractOptions = {},
): void {
  describe(`DeadLetterQueues contract: ${name}`, () => {
    let subject: DeadLetterQueuesContractSubject;
    let dlq: DeadLetterQueues;
    let queue: string;

    beforeEach(async () => {
      subject = await setup();
      dlq = subject.deadLetters;
      queue = subject.queue;
    });

    afterEach(async () => {
      await subject.close();
    });

    const test = contractCases(options.skip);

    /** Publishes each event and dead-letters it through the consumer with `reason`, one after the other (so in this order). */
    async function deadLetter(events: readonly EventBridgeEvent[], reason: (e: EventBridgeEvent) => string): Promise<void> {
      for (const event of events) {
        // Dead-lettering times are kept in milliseconds: apart, so that the order to expect is this one.
        await new Promise((resolve) => setTimeout(resolve, 3));
        await subject.publish([event]);
        const [m] = await receiveSome(subject.consumer, 1);
        expect(m?.event.id).toBe(event.id);
        expect(await subject.consumer.deadLetter(m!.receiptHandle, reason(event))).toBe(true);
      }
      await eventually(async () => expect(await dlq.depth(queue)).toBeGreaterThanOrEqual(events.length));
    }

    /** Every page of the listing, following the cursors. */
    async function listAll(limit: number, tenant?: string): Promise<DeadLetterView[][]> {
      const pages: DeadLetterView[][] = [];
      let cursor: string | undefined;
      do {
        const page = await dlq.list(queue, { limit, ...(cursor !== undefined ? { cursor } : {}), ...(tenant !== undefined ? { tenant } : {}) });
        pages.push(page.items);
        cursor = page.nextCursor;
        expect(pages.length).toBeLessThan(100);
      } while (cursor !== undefined);
      return pages;
    }

    /** Observes the queue for `ms`: nothing may be delivered meanwhile. */
    /**
     * Nothing more to deliver in the source queue, now: list and redrive send (or not) before they
     * return, so a message they put back would already be visible; no window to wait out.
     */
    async function expectSourceQueueEmpty(): Promise<void> {
      expect(await subject.consumer.receive(10, { waitTimeMs: 0 })).toEqual([]);
    }

    test('queues', 'names the service queues, not their DLQs', async () => {
      expect(dlq.queues()).toContain(queue);
      expect(dlq.queues().filter((q) => q.endsWith('-dlq'))).toEqual([]);
    });

    test('unknown queue', 'an unknown queue (or a DLQ by its own name) is refused, naming it and the known ones', async () => {
      for (const name of ['no-such-queue', `${queue}-dlq`]) {
        for (const call of [() => dlq.list(name), () => dlq.redrive(name), () => dlq.depth(name)]) {
          const error = await call().then(
            () => undefined,
            (e: unknown) => e,
          );
          expect(error).toBeInstanceOf(UnknownDeadLetterQueueError);
          expect(error).toMatchObject({ queue: name, known: expect.arrayContaining([queue]), retryable: false });
          expect((error as Error).message).toContain(name);
          expect((error as Error).message).toContain(queue);
        }
      }
    });

    test('list', 'shows each dead letter with its reason, time and envelope, oldest first, without consuming it', async () => {
      const first = anEvent('first', { tenant: 'acme' });
      const second = anEvent('second');
      const started = Date.now();
      await deadLetter([first, second], (e) => `ValidationError: ${e.id}`);
      const { items, nextCursor } = await dlq.list(queue);
      expect(nextCursor).toBeUndefined();
      expect(items.map((d) => d.event?.id)).toEqual([first.id, second.id]);
      const [a, b] = items;
      expect(a).toMatchObject({
        messageId: expect.any(String),
        queue,
        reason: `ValidationError: ${first.id}`,
        event: { id: first.id, source: 'nightshift.contract', detailType: 'Contract Probe', time: first.time, tenant: 'acme', correlationId: 'corr-first' },
      });
      expect(b!.event).toEqual({ id: second.id, source: 'nightshift.contract', detailType: 'Contract Probe', time: second.time, correlationId: 'corr-second' });
      expect(b!.reason).toBe(`ValidationError: ${second.id}`);
      for (const d of items) {
        expect(Date.parse(d.deadLetteredAt!)).toBeGreaterThanOrEqual(started - 1_000);
        expect(Date.parse(d.deadLetteredAt!)).toBeLessThanOrEqual(Date.now() + 1_000);
        if (d.receiveCount !== undefined) expect(d.receiveCount).toBe(1);
      }
      expect(a!.deadLetteredAt! <= b!.deadLetteredAt!).toBe(true);
      // Not consumed: the same listing again, the same depth, and nothing goes back to the queue.
      expect((await dlq.list(queue)).items).toEqual(items);
      expect(await dlq.depth(queue)).toBe(2);
      await expectSourceQueueEmpty();
    });

    test('tenant', 'filters on the tenant of the event metadata before paging', async () => {
      const acme = [anEvent('acme-1', { tenant: 'acme' }), anEvent('acme-2', { tenant: 'acme' })];
      await deadLetter([acme[0]!, anEvent('globex', { tenant: 'globex' }), anEvent('none'), acme[1]!], () => 'boom');
      const pages = await listAll(1, 'acme');
      expect(pages.flat().map((d) => d.event?.id)).toEqual(acme.map((e) => e.id));
      expect(pages).toHaveLength(2);
      expect((await dlq.list(queue, { tenant: 'initech' })).items).toEqual([]);
      expect((await dlq.list(queue)).items).toHaveLength(4);
    });

    test('pagination', 'pages follow each other without repeats or gaps; a dead letter added meanwhile comes last', async () => {
      const events = ['p1', 'p2', 'p3', 'p4', 'p5'].map((label) => anEvent(label));
      await deadLetter(events, () => 'boom');
      const first = await dlq.list(queue, { limit: 2 });
      expect(first.items.map((d) => d.event?.id)).toEqual([events[0]!.id, events[1]!.id]);
      expect(first.nextCursor).toEqual(expect.any(String));
      // The cursor survives a dead letter added after it was handed out.
      const late = anEvent('late');
      await deadLetter([late], () => 'late');
      const rest: DeadLetterView[] = [];
      let cursor = first.nextCursor;
      while (cursor !== undefined) {
        const page = await dlq.list(queue, { limit: 2, cursor });
        expect(page.items.length).toBeGreaterThan(0);
        expect(page.items.length).toBeLessThanOrEqual(2);
        rest.push(...page.items);
        cursor = page.nextCursor;
      }
      expect(rest.map((d) => d.event?.id)).toEqual([...events.slice(2), late].map((e) => e.id));
      const all = [...first.items, ...rest];
      expect(new Set(all.map((d) => d.messageId)).size).toBe(all.length);
      const times = all.map((d) => Date.parse(d.deadLetteredAt!));
      expect(times).toEqual([...times].sort((x, y) => x - y));
    });

    test('bad arguments', 'a cursor of another queue or none at all, a limit or max out of range are refused', async () => {
      await deadLetter([anEvent('c1'), anEvent('c2')], () => 'boom');
      const { nextCursor } = await dlq.list(queue, { limit: 1 });
      expect(nextCursor).toEqual(expect.any(String));
      const other = dlq.queues().find((q) => q !== queue);
      // Not base64url; base64url of `{"x":1}`; a cursor cut short.
      const bad = ['not a cursor', 'eyJ4IjoxfQ', nextCursor!.slice(0, -3)];
      for (const cursor of bad) await expect(dlq.list(queue, { cursor })).rejects.toBeInstanceOf(InvalidDeadLetterCursorError);
      if (other !== undefined) await expect(dlq.list(other, { cursor: nextCursor! })).rejects.toBeInstanceOf(InvalidDeadLetterCursorError);
      for (const limit of [0, 101, 1.5]) await expect(dlq.list(queue, { limit })).rejects.toBeInstanceOf(RangeError);
      for (const max of [0, -1, 2.5]) await expect(dlq.redrive(queue, { max })).rejects.toBeInstanceOf(RangeError);
      expect(await dlq.depth(queue)).toBe(2);
    });

    test('maxReceiveCount', 'a message that ran out of deliveries is listed too', async () => {
      const event = anEvent('exhausted', { tenant: 'acme' });
      await subject.publish([event]);
      for (let i = 1; i <= subject.maxReceiveCount; i++) {
        const [m] = await receiveSome(subject.consumer, 1);
        expect(m?.receiveCount).toBe(i);
        expect(await subject.consumer.release(m!.receiptHandle, 0, `attempt ${i} failed`)).toBe(true);
      }
      await eventually(async () => {
        // Each receive is what moves an exhausted message.
        expect(await subject.consumer.receive(1, { waitTimeMs: 200 })).toEqual([]);
        expect(await dlq.depth(queue)).toBe(1);
      });
      const [d] = (await dlq.list(queue)).items;
      expect(d?.event).toMatchObject({ id: event.id, tenant: 'acme' });
      if (options.reasonOfPolicyMoves) {
        expect(d?.reason).toContain(`maxReceiveCount ${subject.maxReceiveCount}`);
        expect(d?.receiveCount).toBe(subject.maxReceiveCount);
      }
      expect(await dlq.redrive(queue)).toEqual({ moved: 1 });
      const [again] = await receiveSome(subject.consumer, 1);
      expect(again).toMatchObject({ receiveCount: 1, event: { id: event.id } });
    });

    test('redrive', 'moves every dead letter back, each delivered again once, the DLQ empty', async () => {
      const events = ['r1', 'r2', 'r3'].map((label) => anEvent(label));
      await deadLetter(events, () => 'boom');
      // A listing right before leaves every message available to the redrive.
      expect((await dlq.list(queue)).items).toHaveLength(3);
      expect(await dlq.redrive(queue)).toEqual({ moved: 3 });
      expect(await dlq.depth(queue)).toBe(0);
      expect((await dlq.list(queue)).items).toEqual([]);
      const again = await receiveSome(subject.consumer, 3);
      expect(again.map((m) => m.event.id).sort()).toEqual(events.map((e) => e.id).sort());
      for (const m of again) {
        expect(m.receiveCount).toBe(1);
        expect(await subject.consumer.ack(m.receiptHandle)).toBe(true);
      }
      await expectSourceQueueEmpty();
      expect(await dlq.redrive(queue)).toEqual({ moved: 0 });
    });

    test('redrive max', 'moves at most max, the others stay listed', async () => {
      const events = ['m1', 'm2', 'm3'].map((label) => anEvent(label));
      await deadLetter(events, () => 'boom');
      expect(await dlq.redrive(queue, { max: 2 })).toEqual({ moved: 2 });
      expect(await dlq.depth(queue)).toBe(1);
      const left = (await dlq.list(queue)).items.map((d) => d.event?.id);
      const again = await receiveSome(subject.consumer, 2);
      for (const m of again) expect(await subject.consumer.ack(m.receiptHandle)).toBe(true);
      expect([...left, ...again.map((m) => m.event.id)].sort()).toEqual(events.map((e) => e.id).sort());
      await expectSourceQueueEmpty();
      expect(await dlq.redrive(queue, { max: 5 })).toEqual({ moved: 1 });
      expect((await receiveSome(subject.consumer, 1)).map((m) => m.event.id)).toEqual(left);
    });

    test('concurrent redrives', 'two redrives at once move each message once', async () => {
      const events = ['k1', 'k2', 'k3', 'k4'].map((label) => anEvent(label));
      await deadLetter(events, () => 'boom');
      const results = await Promise.all([dlq.redrive(queue), dlq.redrive(queue)]);
      expect(results[0]!.moved + results[1]!.moved).toBe(4);
      const again = await receiveSome(subject.consumer, 4);
      expect(again.map((m) => m.event.id).sort()).toEqual(events.map((e) => e.id).sort());
      for (const m of again) expect(await subject.consumer.ack(m.receiptHandle)).toBe(true);
      await expectSourceQueueEmpty();
      expect(await dlq.depth(queue)).toBe(0);
    });
  });
}

/** Retries `check` until it passes or the deadline is over (then its last failure is thrown). */
async function eventually(check: () => Promise<void>, deadlineMs = DEADLINE_MS): Promise<void> {
  const until = Date.now() + deadlineMs;
  for (;;) {
    try {
      await check();
      return;
    } catch (e) {
      if (Date.now() > until) throw e;
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
