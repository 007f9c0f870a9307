/**
 * Errors of the local compute environment. A refused submission is the port's own
 * `ComputeSubmissionError` (from `@nightshift/jobs-domain`), so callers handle both adapters alike;
 * only conditions that belong to this adapter are declared here.
 */

/** The environment was constructed with an impossible budget or setting; fix the configuration. */
export class InvalidLocalComputeOptionsError extends Error {
  readonly retryable = false;
  constructor(readonly problems: string[]) {
    super(`invalid local compute environment options: ${problems.join('; ')}`);
    this.name = new.target.name;
  }
}
