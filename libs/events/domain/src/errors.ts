/**
 * An EventBridge event pattern that AWS would reject (PutRule / TestEventPattern answer
 * `InvalidEventPatternException`). Retrying with the same pattern can never succeed.
 *
 * `message` keeps AWS's wording (`Event pattern is not valid. Reason: ...`) so that an emulated AWS
 * API can return it unchanged; `reason` is AWS's reason followed by the offending key path.
 */
export class InvalidEventPatternError extends Error {
  readonly retryable = false as const;
  /** AWS's reason plus the key path, e.g. `Empty arrays are not allowed (at "detail.state")`. */
  readonly reason: string;

  /**
   * @param path Key path inside the pattern document: keys joined by `.`, `$or` branches written as
   *   `$or[i]` (e.g. `detail.$or[1].c-count`); `''` for the pattern as a whole.
   * @param awsReason The reason AWS gives for this condition, without any location (for the one
   *   limit nightshift adds, too many `$or` combinations, a reason in the same style).
   */
  constructor(
    readonly path: string,
    readonly awsReason: string,
    options?: { cause?: unknown },
  ) {
    const reason = `${awsReason} (at ${path === '' ? 'the pattern root' : JSON.stringify(path)})`;
    super(`Event pattern is not valid. Reason: ${reason}`, options);
    this.name = new.target.name;
    this.reason = reason;
  }
}

/**
 * An event is over EventBridge's 256 KiB: publishing it would be refused. Not retryable; the
 * producer must put what grows in the object store and reference it (claim-check).
 */
export class EventTooLargeError extends Error {
  readonly retryable = false as const;
  constructor(
    readonly detailType: string,
    readonly bytes: number,
    readonly limit: number,
  ) {
    super(`event "${detailType}" is ${bytes} bytes, over the ${limit}-byte limit of one event: lists that grow with a run belong in the object store, referenced from the event`);
    this.name = new.target.name;
  }
}

/** One entry of a publish call that the bus did not accept. */
export interface FailedEntry {
  /** Index of the entry in the publish call. */
  readonly index: number;
  readonly source: string;
  readonly detailType: string;
  /** PutEvents error code: `InvalidArgument`, `MalformedDetail`, `InternalFailure`, `ThrottlingException`, `ValidationException`... */
  readonly errorCode: string;
  readonly errorMessage: string;
}

/** PutEvents entry error codes that AWS documents as transient: the same entry may be accepted later. */
export const RETRYABLE_ENTRY_CODES: ReadonlySet<string> = new Set(['InternalFailure', 'ThrottlingException']);

/**
 * Some entries of a publish call were not accepted (after the publisher's own retries of transient
 * failures). The others were durably accepted before this was thrown, so retrying only the failed
 * entries is the right recovery (retrying all of them is also safe: consumers deduplicate on
 * `detail.metadata.eventId`). `retryable` is true only when every failure is transient.
 */
export class PublishFailedError extends Error {
  readonly retryable: boolean;
  constructor(
    readonly failures: readonly FailedEntry[],
    readonly total: number,
  ) {
    super(
      `${failures.length} of ${total} events were not published: ` +
        failures.map((f) => `#${f.index} ${JSON.stringify(f.detailType)} from ${JSON.stringify(f.source)}: ${f.errorCode} (${f.errorMessage})`).join('; '),
    );
    this.name = new.target.name;
    this.retryable = failures.every((f) => RETRYABLE_ENTRY_CODES.has(f.errorCode));
  }
}

/**
 * A claim-checked event's payload could not be read back (missing object, checksum mismatch).
 * Not retryable when the object is gone or altered: the event can never be handled as published.
 */
export class ClaimCheckError extends Error {
  constructor(
    readonly key: string,
    message: string,
    readonly retryable: boolean,
    options?: { cause?: unknown },
  ) {
    super(`claim-checked detail ${key}: ${message}`, options);
    this.name = new.target.name;
  }
}

/** The message consumer was closed (its bus stopped): a consuming loop ends quietly on it. */
export class ConsumerClosedError extends Error {
  readonly retryable = false as const;
  constructor(
    readonly queue: string,
    options?: { cause?: unknown },
  ) {
    super(`the consumer of queue ${queue} is closed`, options);
    this.name = new.target.name;
  }
}

/**
 * A dead-letter operation named a queue that has no dead-letter queue here (not a service queue, or
 * a DLQ's own name). Not retryable; `known` lists the queues that have one.
 */
export class UnknownDeadLetterQueueError extends Error {
  readonly retryable = false as const;
  constructor(
    readonly queue: string,
    readonly known: readonly string[],
  ) {
    super(`queue ${JSON.stringify(queue)} has no dead-letter queue here; the queues with one are: ${known.length > 0 ? known.join(', ') : '(none)'}`);
    this.name = new.target.name;
  }
}

/** A dead-letter listing's cursor that is not one of that queue's (malformed, or another queue's). Not retryable. */
export class InvalidDeadLetterCursorError extends Error {
  readonly retryable = false as const;
  constructor(
    readonly queue: string,
    readonly cursor: string,
    options?: { cause?: unknown },
  ) {
    super(`${JSON.stringify(cursor)} is not a cursor of the dead letters of ${JSON.stringify(queue)}: pass the nextCursor of a previous page of that queue`, options);
    this.name = new.target.name;
  }
}
