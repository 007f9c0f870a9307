import { awsErrorMessage, classifyAwsError } from '@nightshift/aws-wire';

/**
 * An AWS call of this lib failed as a whole. `retryable` is what a caller decides on: true for
 * throttling, a server error or a network failure (after the SDK's own retries), false when the
 * request itself is wrong (validation, access denied, unknown resource). `cause` is the SDK's error.
 */
export class EventBridgeRequestError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }

  static from(e: unknown): EventBridgeRequestError {
    return new EventBridgeRequestError(`PutEvents failed: ${awsErrorMessage(e)}`, classifyAwsError(e) === 'transient', { cause: e });
  }
}

/**
 * An SQS queue the consumer needs (its queue, or `<queue>-dlq`) does not exist (`QueueDoesNotExist`):
 * a deployment error that retrying cannot fix.
 */
export class SqsQueueNotFoundError extends Error {
  readonly retryable = false as const;
  constructor(
    readonly queue: string,
    options?: { cause?: unknown },
  ) {
    super(`SQS queue ${JSON.stringify(queue)} does not exist: ${awsErrorMessage(options?.cause)}`, options);
    this.name = new.target.name;
  }
}

/** SQS could not take a call now (throttling, a 5xx, a network failure, after the SDK's own retries): the same call may work later. */
export class SqsUnavailableError extends Error {
  readonly retryable = true as const;
  constructor(
    readonly operation: string,
    readonly queue: string,
    options?: { cause?: unknown },
  ) {
    super(`SQS ${operation} on ${JSON.stringify(queue)} failed: ${awsErrorMessage(options?.cause)}`, options);
    this.name = new.target.name;
  }
}

/**
 * `SqsMessageConsumer.visibilityTimeoutMs` was read before the queue's attributes were loaded (no
 * `visibilityTimeoutMs` option, and neither `ready()` nor a `receive()` has completed): a wiring error.
 */
export class SqsConsumerNotReadyError extends Error {
  readonly retryable = false as const;
  constructor(readonly queue: string) {
    super(`the SQS consumer of ${JSON.stringify(queue)} has not loaded its queue attributes yet: await ready() first, or pass visibilityTimeoutMs`);
    this.name = new.target.name;
  }
}
