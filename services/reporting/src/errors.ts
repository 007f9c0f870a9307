/* Reporting's errors: one class per condition, `cause` kept, retryability in the type. */

/** The API keys file is unreadable or not in its schema; the REST API does not start. */
export class InvalidApiKeysFileError extends Error {
  readonly retryable = false;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'InvalidApiKeysFileError';
  }
}

/** The REST API's authentication is configured wrongly (no method at all, an unusable JWKS URL); it does not start. */
export class InvalidAuthConfigError extends Error {
  readonly retryable = false;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'InvalidAuthConfigError';
  }
}
