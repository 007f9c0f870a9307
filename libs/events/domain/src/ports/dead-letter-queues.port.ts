/** The event a dead letter carries, as an operator looks at it: the envelope, not the detail. */
export interface DeadLetterEvent {
  /** The EventBridge event id. */
  id: string;
  source: string;
  detailType: string;
  /** The event's time, as EventBridge wrote it (ISO 8601). */
  time: string;
  /** `detail.metadata.tenant`, when the detail has nightshift's envelope and it names a tenant. */
  tenant?: string;
  /** `detail.metadata.correlationId`, likewise. */
  correlationId?: string;
}

/** One message in a service queue's dead-letter queue. */
export interface DeadLetterView {
  /** The message's id in the DLQ (SQS MessageId). Not the event id: one event can be dead-lettered twice. */
  messageId: string;
  /** The service queue the message was dead-lettered from (a name of {@link DeadLetterQueues.queues}). */
  queue: string;
  /**
   * Why it was dead-lettered: the handler's non-retryable error, or the receive count that ran out.
   * Absent where the DLQ does not record one (on SQS, a message its redrive policy moved).
   */
  reason?: string;
  /** When it was dead-lettered (ISO 8601); absent where unknown (on SQS, a message its redrive policy moved). */
  deadLetteredAt?: string;
  /** Deliveries from the source queue before it was dead-lettered, where the adapter knows them (the embedded bus). */
  receiveCount?: number;
  /**
   * The event's envelope. Absent only for a body that is not an EventBridge event, which only SQS can
   * hold (the consumer dead-letters such a body, with the reason, instead of handling it).
   */
  event?: DeadLetterEvent;
}

/** Options of {@link DeadLetterQueues.list}. */
export interface DeadLetterListOptions {
  /** Page size, 1..{@link DEAD_LETTER_PAGE_MAX}. Default {@link DEAD_LETTER_PAGE_DEFAULT}. */
  limit?: number;
  /** `nextCursor` of the previous page of the same queue; absent: the first page. */
  cursor?: string;
  /** Only dead letters whose event names this tenant (`detail.metadata.tenant`), applied before paging. */
  tenant?: string;
}

/** A page of {@link DeadLetterQueues.list}. */
export interface DeadLetterPage {
  items: DeadLetterView[];
  /** Present when more dead letters follow: pass it as `cursor` for the next page. Opaque. */
  nextCursor?: string;
}

/** Options of {@link DeadLetterQueues.redrive}. */
export interface DeadLetterRedriveOptions {
  /** At most this many messages (a positive integer). Default: until the DLQ is empty, but for messages dead-lettered again meanwhile. */
  max?: number;
}

/** What {@link DeadLetterQueues.redrive} did. */
export interface DeadLetterRedriveResult {
  /** Messages moved back into the source queue. */
  moved: number;
}

/** {@link DeadLetterListOptions.limit}'s default and maximum. */
export const DEAD_LETTER_PAGE_DEFAULT = 20;
export const DEAD_LETTER_PAGE_MAX = 100;

/**
 * The dead-letter queues of the service queues, for operators (the REST API's `GET /dlq` and
 * `POST /dlq/:queue/redrive`): what failed for good, why, and putting it back for another try.
 * Implemented over the embedded bus (`LocalDeadLetterQueues`) and over SQS (`SqsDeadLetterQueues`,
 * `<queue>-dlq` beside each queue); the same contract suite runs against both.
 *
 * - Queue names are service queue names (`planner`, never `planner-dlq`); a name not in
 *   {@link queues} rejects with `UnknownDeadLetterQueueError`, naming it and listing the known ones.
 * - `list` does not consume: nothing is deleted or moved, and every message is deliverable from the
 *   DLQ again when the call resolves. On the embedded bus it reads the message files. On SQS there is
 *   no read without a receive: the listing receives the DLQ's messages (each hidden for the scan,
 *   then made visible again at once; a crash mid-scan leaves them hidden for the adapter's visibility
 *   timeout) and each receive adds to the message's `ApproximateReceiveCount` in the DLQ.
 * - Order: oldest dead-lettering first (a message whose dead-lettering time is unknown sorts by when
 *   it entered its source queue), ties by message id. Pages are keyset pages on that order: a
 *   cursor names the last item returned, so paging never returns an item twice nor skips one that
 *   stayed in the DLQ, whatever is added or redriven in between; one dead-lettered meanwhile comes
 *   at the end. The embedded bus pages over the whole DLQ; SQS pages over what one scan sees, at most
 *   the adapter's scan limit (`depth` tells how many there are), and an SQS listing is only as
 *   complete as its receives (SQS promises no more).
 * - `redrive` moves messages back to the source queue as new messages (new message id, first
 *   delivery next), oldest first where the DLQ has an order, and deletes them from the DLQ. One
 *   redrive never puts one DLQ message into the source queue twice, and a message dead-lettered again
 *   while the redrive runs waits for the next one. Concurrent redrives share the messages without
 *   duplicating them. A crash midway can leave a message in both (at least once: consumers
 *   deduplicate on the event id), never in neither. Messages moved before a failure stay moved.
 * - `depth` counts the DLQ's messages (on SQS, `ApproximateNumberOfMessages` plus `...NotVisible`:
 *   eventually consistent, about a minute behind).
 *
 * Errors: `UnknownDeadLetterQueueError` and `InvalidDeadLetterCursorError` (not retryable); a bad
 * `limit` or `max` is a `RangeError`; a failure of the queue itself rejects with an error whose
 * `retryable` says whether the same call may work later. Not in the contract: filtering by anything
 * but tenant, deleting (purging) dead letters, moving them to another queue than their source.
 */
export interface DeadLetterQueues {
  /** The service queues that have a DLQ, by name. */
  queues(): readonly string[];
  /** A page of the messages in `queue`'s DLQ, without consuming them (see above). */
  list(queue: string, options?: DeadLetterListOptions): Promise<DeadLetterPage>;
  /** Moves messages of `queue`'s DLQ back into `queue`, to be delivered again. */
  redrive(queue: string, options?: DeadLetterRedriveOptions): Promise<DeadLetterRedriveResult>;
  /** How many messages `queue`'s DLQ holds. */
  depth(queue: string): Promise<number>;
}
