/**
 * Errors of the CloudWatch Logs adapter. Each says whether the same call can succeed later
 * (`retryable`), so a caller decides retry vs give up from the type alone; `cause` keeps the SDK's
 * error. Only what this adapter recognises is translated: everything else is a
 * {@link JobLogsRequestError} carrying the SDK error as `cause`. A name that is not a log stream name
 * is the port's own `InvalidLogStreamError` (`@nightshift/jobs-domain`), as in every `JobLogs` adapter.
 */

/** Read options that cannot be honoured (a `maxBytes` that is not a positive integer). */
export class InvalidJobLogsReadError extends Error {
  readonly retryable = false;
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/**
 * CloudWatch Logs throttled the read, failed on its side (5xx) or could not be reached, after the
 * SDK's own retries. The same read may succeed later.
 */
export class JobLogsUnavailableError extends Error {
  readonly retryable = true;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/**
 * CloudWatch Logs refused the read for another reason (access denied, an invalid parameter, a log
 * group name that is not one): the same call will fail again until the configuration changes.
 */
export class JobLogsRequestError extends Error {
  readonly retryable = false;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}
