/**
 * Submits batch jobs to a compute environment (AWS Batch, or the local one). Shaped after AWS
 * Batch's SubmitJob so the AWS adapter is a thin mapping, with no SDK types.
 *
 * Semantics: a submitted job reports every status change (SUBMITTED ... SUCCEEDED|FAILED) as a
 * "Batch Job State Change" event on the bus; an array job reports for each child
 * (`${jobId}:${index}`), and each child receives AWS_BATCH_JOB_ARRAY_INDEX. Failed attempts are
 * retried by the compute environment up to `retryAttempts` (AWS_BATCH_JOB_ATTEMPT counts them);
 * an attempt that outlives `timeoutSeconds` is stopped (SIGTERM, then SIGKILL) and counts as failed.
 * Not in the contract: which host runs a job, start order among equal-priority jobs.
 */
export interface ComputeEnvironment {
  submitJob(job: JobSubmission): Promise<SubmittedJob>;
  /** Stops a job (all children of an array job); running attempts are killed and the job FAILS with `reason`. */
  terminateJob(jobId: string, reason: string): Promise<void>;
}

/** A job to run. */
export interface JobSubmission {
  jobName: string;
  jobQueue: string;
  jobDefinition: string;
  /** Program and arguments, run as is (no shell). */
  command: string[];
  vcpus: number;
  memoryMiB: number;
  /** Per-attempt timeout. */
  timeoutSeconds: number;
  /** Total attempts, 1..10, as in AWS Batch's retryStrategy. */
  retryAttempts: number;
  /** Fan out to this many children (2..10,000) when set. */
  arraySize?: number;
  environment: Record<string, string>;
  /** Carried back on every state-change event (`detail.parameters`); nightshift puts its ids here. */
  parameters: Record<string, string>;
}

export interface SubmittedJob {
  jobId: string;
  jobArn: string;
  jobName: string;
}
