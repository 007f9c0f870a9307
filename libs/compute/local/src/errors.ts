/**
 * Errors of the local compute environment. A refused submission is the port's own
 * `ComputeSubmissionError` (from `@nightshift/jobs-domain`), so callers handle both adapters alike;
 * only conditions that belong to this adapter are declared here. Each says whether trying again
 * can help (`retryable`), so a consumer decides retry vs dead-letter from the type alone.
 */

/** The environment was constructed with an impossible budget or setting; fix the configuration. */
export class InvalidLocalComputeOptionsError extends Error {
  readonly retryable = false;
  constructor(readonly problems: string[]) {
    super(`invalid local compute environment options: ${problems.join('; ')}`);
    this.name = new.target.name;
  }
}

/**
 * A query the environment cannot answer as asked (more than 100 ids for `describeJobs`, a
 * `listJobs` filter with neither or both of `jobQueue` and `arrayJobId`): AWS Batch answers such
 * requests with a ClientException. The caller is wrong, so trying again cannot help.
 */
export class InvalidComputeRequestError extends Error {
  readonly retryable = false;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}
