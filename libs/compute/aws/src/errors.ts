import { JobsError } from '@nightshift/jobs-domain';

/*
 * Errors this adapter adds to the jobs-domain ones. A refused or failed SubmitJob is the port's own
 * `ComputeSubmissionError`; these are for the other operations (DescribeJobs, ListJobs, CancelJob,
 * TerminateJob) and for answers the adapter cannot read. They extend JobsError, so a consumer
 * decides retry vs dead-letter from `retryable` alone. `cause` is always the SDK's error.
 */

/** AWS Batch refused a request (ClientException): trying the same request again cannot help. */
export class BatchRequestRefusedError extends JobsError {
  readonly retryable = false;
  constructor(
    readonly operation: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`AWS Batch refused ${operation}: ${message}`, options);
  }
}

/** AWS Batch failed on its side (ServerException, 5xx), throttled the request, or could not be reached; try again later. */
export class BatchUnavailableError extends JobsError {
  readonly retryable = true;
  constructor(
    readonly operation: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`AWS Batch unavailable for ${operation}: ${message}`, options);
  }
}

/** AWS Batch answered without what its API documents (a job detail without a status, say): a contract break, not transient. */
export class UnexpectedBatchResponseError extends JobsError {
  readonly retryable = false;
  constructor(
    readonly operation: string,
    readonly problem: string,
  ) {
    super(`unexpected AWS Batch ${operation} response: ${problem}`);
  }
}
