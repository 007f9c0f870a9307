import { ConsumerClosedError, type ConsumerReceiveOptions, type MessageConsumer, type QueueMessage } from '@nightshift/events-domain';
import { BusClosedError } from './errors.js';
import type { LocalEventBus } from './local-event-bus.js';

/**
 * The {@link MessageConsumer} of one queue of the embedded bus: the same delivery semantics as an
 * SQS queue (visibility timeout, receive count, dead-letter queue after `maxReceiveCount`).
 * `extendVisibility` is the bus's release with a delay, which keeps the receipt handle valid, as
 * SQS's ChangeMessageVisibility does. A closed bus answers `ConsumerClosedError`.
 */
export class LocalQueueConsumer implements MessageConsumer {
  constructor(
    private readonly bus: LocalEventBus,
    readonly queue: string,
  ) {}

  get visibilityTimeoutMs(): number {
    return this.bus.visibilityTimeoutMs;
  }

  receive(max: number, options?: ConsumerReceiveOptions): Promise<QueueMessage[]> {
    return this.closedAs(this.bus.receive(this.queue, max, options));
  }

  ack(receiptHandle: string): Promise<boolean> {
    return this.closedAs(this.bus.ack(this.queue, receiptHandle));
  }

  release(receiptHandle: string, delayMs: number, reason?: string): Promise<boolean> {
    return this.closedAs(this.bus.release(this.queue, receiptHandle, delayMs, reason));
  }

  deadLetter(receiptHandle: string, reason: string): Promise<boolean> {
    return this.closedAs(this.bus.deadLetter(this.queue, receiptHandle, reason));
  }

  extendVisibility(receiptHandle: string, timeoutMs: number): Promise<boolean> {
    return this.closedAs(this.bus.release(this.queue, receiptHandle, timeoutMs));
  }

  private closedAs<T>(call: Promise<T>): Promise<T> {
    return call.catch((e: unknown) => {
      throw e instanceof BusClosedError ? new ConsumerClosedError(this.queue, { cause: e }) : e;
    });
  }
}
