import type { EventBridgeEvent } from '@nightshift/contracts';
import type { DeadLetterQueues } from './dead-letter-queues.port.js';
import type { PutEventsTarget } from './put-events.port.js';

/** One delivery of a queue message. */
export interface QueueMessage {
  /** Identifies this delivery; ack, release, deadLetter and extendVisibility need the handle of the latest one. */
  receiptHandle: string;
  /** Stable per queue message across deliveries (SQS MessageId; not the event id: one event fanned out to two queues is two messages). */
  messageId: string;
  /** 1 on the first delivery (SQS `ApproximateReceiveCount`). */
  receiveCount: number;
  /** The EventBridge event the message carries, as EventBridge delivers it to an SQS target. */
  event: EventBridgeEvent;
}

/** Options of {@link MessageConsumer.receive}. */
export interface ConsumerReceiveOptions {
  /** Long polling (SQS `WaitTimeSeconds`): wait up to this long for a first message. Default 0. */
  waitTimeMs?: number;
  /** Ends the wait early; the call then resolves with what it has (usually nothing). */
  signal?: AbortSignal;
}

/**
 * Consumes one service's queue of EventBridge events: the embedded bus's queue, or an SQS queue
 * that an EventBridge rule targets. The Nest transport of every service is written against this
 * port alone, so the embedded default and AWS share one delivery loop.
 *
 * Semantics every adapter keeps (SQS's standard queue):
 * - At-least-once: a received message is invisible for `visibilityTimeoutMs`, then delivered again
 *   (with a higher `receiveCount`) unless acked first. Handlers deduplicate on the event id.
 * - A handle goes stale when its message is delivered again; an operation with a stale handle
 *   resolves `false` and changes nothing (on SQS, DeleteMessage with an old handle may still
 *   succeed: `true` there means only that SQS accepted it).
 * - `release` makes the message visible again after `delayMs` (SQS ChangeMessageVisibility);
 *   `deadLetter` moves it to the queue's dead-letter queue with the reason; a message received more
 *   than the queue's `maxReceiveCount` times goes there by itself (the redrive policy).
 * Errors: a failure of the queue itself (unreachable, throttled) rejects with an error whose
 * `retryable` says whether the same call may work later. Not in the contract: ordering, FIFO.
 */
export interface MessageConsumer {
  /** The queue's name (a service name: `planner`, `ingestion`, `reporting`). */
  readonly queue: string;
  /** How long a received message stays invisible; a handler running longer extends it (heartbeat). */
  readonly visibilityTimeoutMs: number;
  /** Up to `max` (1..10) messages, waiting per `options.waitTimeMs` when none is visible. */
  receive(max: number, options?: ConsumerReceiveOptions): Promise<QueueMessage[]>;
  /** Deletes the message: it is handled. */
  ack(receiptHandle: string): Promise<boolean>;
  /** Returns the message to the queue, visible again after `delayMs` (0..12 h). `reason` is kept where the adapter can. */
  release(receiptHandle: string, delayMs: number, reason?: string): Promise<boolean>;
  /** Moves the message to the dead-letter queue now, with `reason` (a handler's non-retryable error). */
  deadLetter(receiptHandle: string, reason: string): Promise<boolean>;
  /** Keeps the message invisible for `timeoutMs` more from now (heartbeat of a long handler). */
  extendVisibility(receiptHandle: string, timeoutMs: number): Promise<boolean>;
}

/**
 * A bus a service publishes to and consumes its own queue from, in one process: the embedded bus.
 * In AWS the two halves are separate APIs (EventBridge PutEvents, SQS).
 */
export interface ServiceBus extends PutEventsTarget {
  /** The consumer of one service queue. */
  consumer(queue: string): MessageConsumer;
  /**
   * The dead-letter queues of `queues` (default: every queue of the bus; a name the bus does not have
   * is left out). In AWS: `SqsDeadLetterQueues` over SQS.
   */
  deadLetterQueues(queues?: readonly string[]): DeadLetterQueues;
}
