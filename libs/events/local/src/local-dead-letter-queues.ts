import {
  assertDeadLetterQueue,
  deadLetterEventOf,
  deadLetterPageLimit,
  deadLetterRedriveMax,
  decodeDeadLetterCursor,
  encodeDeadLetterCursor,
  matchesDeadLetterFilter,
  type DeadLetterListOptions,
  type DeadLetterPage,
  type DeadLetterQueues,
  type DeadLetterRedriveOptions,
  type DeadLetterRedriveResult,
  type DeadLetterView,
} from '@nightshift/events-domain';
import type { LocalEventBus } from './local-event-bus.js';
import type { DeadLetter } from './messages.js';

/**
 * The {@link DeadLetterQueues} of the embedded bus (all its queues, or those given), over its dead-letter API
 * (`LocalEventBus.browseDeadLetters`, `redriveDeadLetters`, `deadLetterStats`).
 *
 * - list reads the page's message files and nothing else changes: the dead letters' DLQ delivery
 *   state (visibility, receive count) is not touched. Pages cover the whole DLQ, keyset-paged on
 *   (dead-lettered at, message id), so a cursor stays valid across redrives, new dead letters and
 *   restarts of the bus. `receiveCount` is the source queue's deliveries; `deadLetteredAt` and
 *   `reason` are always known.
 * - redrive moves the dead letters present when it starts (up to `max`, oldest dead-lettering first)
 *   into the source queue as new messages, the reason kept as their last error.
 * - depth is exact: the DLQ's index.
 * A closed bus rejects with `BusClosedError`.
 */
export class LocalDeadLetterQueues implements DeadLetterQueues {
  private readonly names: readonly string[];

  /** @param queues The queues served (default: all of the bus's); a name the bus does not have is left out. */
  constructor(
    private readonly bus: LocalEventBus,
    queues?: readonly string[],
  ) {
    this.names = queues === undefined ? bus.queueNames : bus.queueNames.filter((q) => queues.includes(q));
  }

  queues(): readonly string[] {
    return this.names;
  }

  async list(queue: string, options: DeadLetterListOptions = {}): Promise<DeadLetterPage> {
    this.assertKnown(queue);
    const limit = deadLetterPageLimit(options.limit);
    const after = options.cursor === undefined ? undefined : decodeDeadLetterCursor(queue, options.cursor);
    const page = await this.bus.browseDeadLetters(queue, {
      limit,
      ...(after !== undefined ? { after } : {}),
      ...(options.tenant !== undefined ? { filter: (d: DeadLetter) => matchesDeadLetterFilter(viewOf(queue, d), options) } : {}),
    });
    return {
      items: page.deadLetters.map((d) => viewOf(queue, d)),
      ...(page.next !== undefined ? { nextCursor: encodeDeadLetterCursor(queue, page.next) } : {}),
    };
  }

  async redrive(queue: string, options: DeadLetterRedriveOptions = {}): Promise<DeadLetterRedriveResult> {
    this.assertKnown(queue);
    const max = deadLetterRedriveMax(options.max);
    return { moved: await this.bus.redriveDeadLetters(queue, { max }) };
  }

  async depth(queue: string): Promise<number> {
    this.assertKnown(queue);
    const { visible, inFlight } = this.bus.deadLetterStats(queue);
    return visible + inFlight;
  }

  private assertKnown(queue: string): void {
    assertDeadLetterQueue(queue, this.names);
  }
}

function viewOf(queue: string, d: DeadLetter): DeadLetterView {
  const event = deadLetterEventOf(d.event);
  return {
    messageId: d.messageId,
    queue,
    ...(d.reason !== '' ? { reason: d.reason } : {}),
    ...(d.deadLetteredAt !== '' ? { deadLetteredAt: d.deadLetteredAt } : {}),
    receiveCount: d.receiveCount,
    ...(event !== undefined ? { event } : {}),
  };
}
