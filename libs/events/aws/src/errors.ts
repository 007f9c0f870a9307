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
    return new EventBridgeRequestError(`PutEvents failed: ${describeAwsError(e)}`, isRetryableAwsError(e), { cause: e });
  }
}

/** `Name: message` of an SDK error (or whatever was thrown). */
export function describeAwsError(e: unknown): string {
  return e instanceof Error ? `${e.name}: ${e.message}` : String(e);
}

/** Throttling, a 5xx, or no response at all (network, timeout): worth the same call again later. */
export function isRetryableAwsError(e: unknown): boolean {
  if (typeof e !== 'object' || e === null) return false;
  const err = e as { name?: string; $fault?: string; $metadata?: { httpStatusCode?: number }; $retryable?: unknown };
  if (err.$retryable) return true;
  if (err.$fault === 'server') return true;
  if (/Throttl|TooManyRequests|RequestLimitExceeded|ServiceUnavailable|InternalFailure|InternalError/i.test(err.name ?? '')) return true;
  const status = err.$metadata?.httpStatusCode;
  if (status === undefined) return ['TimeoutError', 'AbortError', 'ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT'].some((n) => err.name === n || (e as { code?: string }).code === n);
  return status >= 500 || status === 429;
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
    super(`SQS queue ${JSON.stringify(queue)} does not exist: ${describeAwsError(options?.cause)}`, options);
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
    super(`SQS ${operation} on ${JSON.stringify(queue)} failed: ${describeAwsError(options?.cause)}`, options);
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
