import type { EventBridgeEvent } from '@nightshift/contracts';
import type { DeadLetterPosition } from '@nightshift/events-domain';

/** A message handed out by `LocalEventBus.receive`. */
export interface ReceivedMessage {
  /** Identifies this delivery; ack/release/deadLetter need the handle of the latest delivery. */
  receiptHandle: string;
  /** Stable per queue message (not the event id: one event fanned out to two queues is two messages). */
  messageId: string;
  /** 1 on the first delivery. */
  receiveCount: number;
  /** The full EventBridge event, as EventBridge would deliver it to an SQS target. */
  event: EventBridgeEvent;
  /** When the message entered the queue (SQS `SentTimestamp`). */
  enqueuedAt: string;
  /**
   * When the message was first received (SQS `ApproximateFirstReceiveTimestamp`). Kept in memory only:
   * after a restart it is the first receive since the restart.
   */
  firstReceivedAt: string;
}

/** A message handed out by `LocalEventBus.receiveDeadLetters`: a delivery from `<queue>-dlq`. */
export interface ReceivedDeadLetter extends ReceivedMessage {
  /** Why it was dead-lettered (as in {@link DeadLetter}). */
  reason: string;
  deadLetteredAt: string;
}

/** A message in a queue's dead-letter queue. */
export interface DeadLetter {
  messageId: string;
  event: EventBridgeEvent;
  receiveCount: number;
  /** When the message entered its source queue (what dead-letter retention counts from, as in SQS). */
  enqueuedAt: string;
  deadLetteredAt: string;
  /** Why it was dead-lettered: the handler's error, or the receive count that was exceeded. */
  reason: string;
}

/** Options of `LocalEventBus.browseDeadLetters`. */
export interface DeadLetterBrowseOptions {
  /** Dead letters after this position (a previous page's `next`); absent: from the oldest. */
  after?: DeadLetterPosition;
  /** Page size: a positive integer. */
  limit: number;
  /** Only the dead letters it accepts (the file must be read to decide). */
  filter?: (deadLetter: DeadLetter) => boolean;
}

/** A page of `LocalEventBus.browseDeadLetters`. */
export interface DeadLetterBrowsePage {
  deadLetters: DeadLetter[];
  /** Position of the page's last dead letter, present when an accepted one follows it. */
  next?: DeadLetterPosition;
}

/** Options of `LocalEventBus.receive` and `LocalEventBus.receiveDeadLetters`. */
export interface ReceiveOptions {
  /** Long polling, like SQS's WaitTimeSeconds: wait up to this long for a message. Default 0. */
  waitTimeMs?: number;
  /** Ends the wait early (the call then resolves with what it has, usually nothing). */
  signal?: AbortSignal;
  /** This receive's visibility timeout (SQS ReceiveMessage `VisibilityTimeout`). Default: the bus's. */
  visibilityTimeoutMs?: number;
}

/** Counts for one queue. */
export interface QueueStats {
  visible: number;
  inFlight: number;
  deadLetters: number;
}

/**
 * What one queue and its DLQ hold, from the bus's in-memory index (no file is read): for capacity
 * checks and benchmarks (memory stays proportional to the message count, not to the bytes).
 */
export interface QueueBacklog {
  /** Messages in the queue, in flight or not. */
  messages: number;
  /** Bytes of their files. */
  messageBytes: number;
  deadLetters: number;
  deadLetterBytes: number;
  /** Enqueue time of the oldest message or dead letter (epoch ms), what retention deletes next; undefined if none. */
  oldestEnqueuedAtMs: number | undefined;
}
