import type { BatchJobStateChangeDetail, BatchJobStatus } from '@nightshift/contracts';

/**
 * Submits and tracks batch jobs in a compute environment (AWS Batch, or the local one). Shaped
 * after AWS Batch's job API (SubmitJob, DescribeJobs, ListJobs, CancelJob, TerminateJob) so the
 * AWS adapter is a thin mapping, with no SDK types.
 *
 * Semantics every adapter keeps:
 * - A submitted job reports every status change (SUBMITTED ... SUCCEEDED|FAILED) as a "Batch Job
 *   State Change" event on the bus, whose detail is the job's `JobDetail`; an array job reports for
 *   each child (`${jobId}:${index}`), and each child receives AWS_BATCH_JOB_ARRAY_INDEX. Events
 *   arrive at least once and may be lost or reordered: `describeJobs` is the source of truth, and
 *   an adapter may skip intermediate states (a child seen only as SUCCEEDED is fine: the detail is a
 *   full snapshot, attempts included).
 * - A failed attempt is retried per `retryStrategy`: its `evaluateOnExit` rules first (first match
 *   wins, RETRY or EXIT), then while attempts remain. AWS_BATCH_JOB_ATTEMPT counts attempts; an
 *   attempt that outlives `timeoutSeconds` is stopped (SIGTERM, then SIGKILL) and the job FAILS
 *   without retry, as AWS documents ("If a job is terminated for exceeding the timeout duration, it
 *   isn't retried").
 * - `describeJobs` answers nothing for a job the environment does not know (never submitted, or
 *   lost with a previous process of the local environment; AWS forgets jobs after about 7 days).
 * - Submission is not idempotent by itself (AWS Batch has no client token): a caller that does not
 *   know whether a submission went through looks the job up by its deterministic `jobName` with
 *   `listJobs` first.
 * Not in the contract: which host runs a job, start order among jobs of equal priority and share.
 */
export interface ComputeEnvironment {
  /**
   * @throws ComputeSubmissionError: `retryable` when trying again may work (throttling, shutdown),
   *   not when the submission itself is wrong (bad name, unknown queue, reserved variable).
   */
  submitJob(job: JobSubmission): Promise<SubmittedJob>;
  /** The details of up to 100 jobs (array parents and children alike); unknown ids are left out. */
  describeJobs(jobIds: readonly string[]): Promise<BatchJobStateChangeDetail[]>;
  /** Jobs of a queue by name or status, or the children of an array job (`arrayJobId`), newest first. */
  listJobs(filter: JobListFilter): Promise<JobSummary[]>;
  /**
   * Cancels a job that has not started: SUBMITTED, PENDING or RUNNABLE jobs (every such child of an
   * array job) FAIL with `reason`; STARTING and RUNNING ones are left running (AWS's CancelJob).
   */
  cancelJob(jobId: string, reason: string): Promise<void>;
  /**
   * Stops a job whatever its state (every child of an array job): queued ones FAIL at once; running
   * attempts get SIGTERM, then SIGKILL after a grace period, and FAIL with `reason`, without retry.
   * Resolves once the stop is under way (AWS's TerminateJob). Unknown or finished jobs are left alone.
   */
  terminateJob(jobId: string, reason: string): Promise<void>;
}

/** AWS Batch's `EvaluateOnExit`: a rule on a failed attempt. Patterns may end in `*` (prefix match). */
export interface EvaluateOnExit {
  /** Decimal digits, optionally ending in `*`, matched against the attempt's exit code. */
  onExitCode?: string;
  /** Matched against the attempt's `statusReason` (e.g. `Host EC2*`). */
  onStatusReason?: string;
  /** Matched against the container's `reason` (e.g. `CannotPullContainerError*`, `OutOfMemoryError*`). */
  onReason?: string;
  /** RETRY the job (if attempts remain) or EXIT: fail it now. Case-insensitive, as in AWS. */
  action: 'RETRY' | 'EXIT' | 'retry' | 'exit';
}

/** AWS Batch's `RetryStrategy`. */
export interface RetryStrategy {
  /** Total attempts, 1..10. */
  attempts: number;
  /** Up to 5 rules, tried in order; the first whose every condition matches decides. None matches: RETRY. */
  evaluateOnExit?: readonly EvaluateOnExit[];
}

/** A job to run. */
export interface JobSubmission {
  /** 1-128 letters, digits, `-` and `_`; deterministic per step execution, so a lost submission can be found. */
  jobName: string;
  jobQueue: string;
  jobDefinition: string;
  /** Program and arguments, run as is (no shell). */
  command: string[];
  vcpus: number;
  memoryMiB: number;
  /** Per-attempt timeout. */
  timeoutSeconds: number;
  retryStrategy: RetryStrategy;
  /** Fan out to this many children (2..10,000) when set. */
  arraySize?: number;
  environment: Record<string, string>;
  /** Carried back on every state-change event (`detail.parameters`); nightshift puts its ids here. */
  parameters: Record<string, string>;
  /** Fair-share identifier (a queue with a fair-share scheduling policy requires one): a desk, a tenant. */
  shareIdentifier?: string;
  /** Priority among the jobs of one share in a fair-share queue (0..9999, higher first). */
  schedulingPriority?: number;
  /**
   * Jobs this one waits for (AWS Batch's `dependsOn`, at most 20). The job stays PENDING until every
   * dependency has SUCCEEDED, then becomes RUNNABLE; when a dependency FAILS (or is cancelled or
   * terminated) the job FAILS without running, with statusReason `Dependent Job failed`. The
   * dependencies must exist when the job is submitted (an unknown id is refused: ComputeSubmissionError,
   * not retryable); one that has already SUCCEEDED is met, one that has already FAILED fails the job.
   * See {@link JobDependency} for what `type` means on array jobs.
   */
  dependsOn?: readonly JobDependency[];
}

/**
 * AWS Batch's `JobDependency` (https://docs.aws.amazon.com/batch/latest/userguide/job_dependencies.html,
 * https://docs.aws.amazon.com/batch/latest/userguide/array_jobs.html):
 * - no `type`, with `jobId`: wait for that whole job (every child of an array job, or one child when
 *   `jobId` is `${arrayJobId}:${index}`); every child of a dependent array job waits for all of it.
 * - `N_TO_N`, with the `jobId` of an array job: this job is an array job of the same size, and its
 *   child i waits for child i of that job only (a failed child i fails child i here).
 * - `SEQUENTIAL`, without `jobId`: this job is an array job whose children run one after another from
 *   index 0, child i waiting for child i - 1 (a failed child fails every child after it).
 */
export interface JobDependency {
  /** The job waited for; absent only for `SEQUENTIAL`. */
  jobId?: string;
  type?: 'N_TO_N' | 'SEQUENTIAL';
}

export interface SubmittedJob {
  jobId: string;
  jobArn: string;
  jobName: string;
}

/** What `listJobs` filters on. One of `jobQueue` or `arrayJobId` is required, as in AWS. */
export interface JobListFilter {
  jobQueue?: string;
  arrayJobId?: string;
  /** Jobs whose name is exactly this. */
  jobName?: string;
  /** Only jobs in this status; without it (and without `jobName`), only RUNNING ones, as in AWS. */
  jobStatus?: BatchJobStatus;
}

/** AWS Batch's `JobSummary`. Times are epoch milliseconds. */
export interface JobSummary {
  jobId: string;
  jobArn: string;
  jobName: string;
  status: BatchJobStatus;
  statusReason?: string;
  createdAt: number;
  startedAt?: number;
  stoppedAt?: number;
  arrayProperties?: { size?: number; index?: number };
  container?: { exitCode?: number; reason?: string };
}
