/**
 * Errors of reading a request off the wire. Each endpoint maps them onto its own service's error
 * shape (a 413, a ClientException, ...); `retryable` says whether sending the same request again
 * can help.
 */
export abstract class AwsWireError extends Error {
  abstract readonly retryable: boolean;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/**
 * The request body is larger than the endpoint accepts: by its `Content-Length`, or by what arrived.
 * The same request will be refused again.
 */
export class RequestBodyTooLargeError extends AwsWireError {
  readonly retryable = false;
  constructor(readonly limit: number) {
    super(`Request body exceeds ${limit} bytes`);
  }
}

/**
 * The client stopped sending the request body for longer than the endpoint waits; the connection was
 * closed. A client that sends the whole request may try again.
 */
export class RequestTimeoutError extends AwsWireError {
  readonly retryable = true;
  constructor(readonly idleTimeoutMs: number) {
    super(`The request body stalled: no data for ${idleTimeoutMs} ms`);
  }
}

/** The connection ended (or failed, the cause) before the whole body arrived; the client may send it again. */
export class RequestAbortedError extends AwsWireError {
  readonly retryable = true;
  constructor(options?: { cause?: unknown }) {
    super('The request was aborted', options);
  }
}
