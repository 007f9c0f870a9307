import type { BatchJobStatus, DataProblem, RegisteredFile } from '@nightshift/contracts';

/** Task states are AWS Batch's job states. */
export type TaskStatus = BatchJobStatus;

/** Run states. A run is PENDING until its first task is submitted. */
export const RUN_STATUSES = ['PENDING', 'RUNNING', 'SUCCEEDED', 'FAILED'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

/** A registered, validated version of a dataset for one business date. */
export interface DatasetVersion {
  /** `${dataset}@${businessDate}#v${version}` */
  datasetId: string;
  dataset: string;
  businessDate: string;
  version: number;
  files: RegisteredFile[];
  rowCount: number;
  partitions: string[];
  manifestKey: string;
  /** Id of the Dataset Landed event that produced this version (idempotency key). */
  landedEventId: string;
  registeredAt: string;
  /**
   * Whose data it is: the tenant of the landing that registered it; none belongs to
   * {@link DEFAULT_TENANT} (see `tenantOf`). Only runs of this tenant are planned over it.
   */
  tenant?: string;
}

/** One attempt of a task, as reported by the compute environment. Times are ISO-8601. */
export interface TaskAttempt {
  attempt: number;
  startedAt?: string;
  stoppedAt?: string;
  exitCode?: number;
  statusReason?: string;
  /** The container's own reason (`CannotStartContainerError: ...`, `Process exited on SIGKILL`). */
  reason?: string;
  /** Where the attempt's output is (`JobLogs.read`), as AWS Batch's `container.logStreamName`. */
  logStreamName?: string;
}

/** One unit of work: one step over one partition (an array child in AWS Batch terms). */
export interface Task {
  runId: string;
  /** `${step}#${partition}` */
  taskId: string;
  step: string;
  partition: string;
  /** Index of this partition in the step's array job. */
  arrayIndex: number;
  status: TaskStatus;
  /**
   * The job currently running this task: for array children `${parentJobId}:${arrayIndex}`; while a
   * lost task is being resubmitted, the claim placeholder `resubmission:<uuid>`.
   */
  jobId?: string;
  maxAttempts: number;
  attempts: TaskAttempt[];
  /** The object-store key the worker writes its result to; absent for a step that runs a plain command. */
  outputKey?: string;
  createdAt: string;
  updatedAt: string;
  startedAt?: string;
  stoppedAt?: string;
  exitCode?: number;
  statusReason?: string;
}

/** A pipeline run over one dataset version. */
export interface Run {
  runId: string;
  pipeline: string;
  businessDate: string;
  datasetId: string;
  status: RunStatus;
  /** Ties the run to the event flow that started it. */
  correlationId: string;
  traceparent?: string;
  /** Whose run it is; a run without one belongs to {@link DEFAULT_TENANT} (see `tenantOf`). */
  tenant?: string;
  tasksTotal: number;
  createdAt: string;
  updatedAt: string;
  startedAt?: string;
  finishedAt?: string;
  /** Why the run failed, for people. */
  reason?: string;
  /**
   * The run fails with a timeout reason when it is still open at this time (ISO-8601); from the
   * pipeline's `timeoutSeconds`, counted from the start of the current attempt.
   */
  deadline?: string;
  /**
   * Which attempt of the run this is (`attemptOf`): absent (1) until a retry reopens the FAILED run
   * as attempt 2, 3, ... A retry runs again only what did not succeed, and each attempt ends with
   * its own Run Succeeded or Run Failed (event ids carry the attempt, see `runEffectId`).
   */
  attempt?: number;
  /**
   * A chained run (its pipeline's `trigger.pipelines`): the run of the first stage whose success
   * started it; its steps' manifests list that run's outputs.
   */
  upstream?: { pipeline: string; runId: string };
  /** When a retry started the current attempt (ISO-8601); absent on a first attempt. */
  retriedAt?: string;
  /**
   * The Run Retry Requested event that started the current attempt: a redelivery of it finishes
   * that attempt's retry instead of starting another.
   */
  retryEventId?: string;
  /**
   * The backfill the run is part of (`Backfill.backfillId`), carried into its Run Succeeded / Run
   * Failed so the planner learns that the backfill can move on; absent on every other run.
   */
  backfillId?: string;
  /**
   * Effects the run's last transition must cause, written with it (an outbox): events to publish
   * and jobs to stop. Drained by whoever made the transition, or by the reconciliation sweep after
   * a crash; each entry is idempotent (events carry deterministic ids).
   */
  outbox?: OutboxEntry[];
}

/** One effect of a run transition, recorded with it and carried out at least once. */
export type OutboxEntry =
  | { id: string; kind: 'event'; source: string; detailType: string; detail: unknown; resources?: string[] }
  /**
   * Stop every unfinished job of the run (its steps' jobs and any task resubmitted alone) with
   * `reason`; of attempt `attempt` only (absent: 1): once a retry has started the next attempt, its
   * jobs are that attempt's and are left alone.
   */
  | { id: string; kind: 'stop-jobs'; reason: string; attempt?: number };

/**
 * Step execution states: planned, being submitted (claimed), submitted (a job runs it), finished;
 * WAITING for a wait or an approval step holding the run (no job); SKIPPED for a step whose
 * condition did not hold (or that depends on a skipped one), and a failure handler nothing needed.
 */
export const STEP_STATUSES = ['PENDING', 'SUBMITTING', 'SUBMITTED', 'WAITING', 'SUCCEEDED', 'FAILED', 'SKIPPED'] as const;
export type StepStatus = (typeof STEP_STATUSES)[number];

/**
 * One step of a run as it executes: the record that answers "was this step submitted, under which
 * job, how far along is it". Its size does not grow with the step: the partitions and manifest
 * live in the object store, tasks in their own records.
 */
export interface StepExecution {
  runId: string;
  step: string;
  status: StepStatus;
  /** How many tasks (array children) the step has. */
  size: number;
  /** The deterministic name the step's job is submitted under; a lost submission is found by it. */
  jobName: string;
  /** The job that runs the step (an array parent when size > 1), once submitted. */
  jobId?: string;
  /** Who claimed the submission (SUBMITTING), and when: a claim older than the sweep's limit is taken over. */
  claimToken?: string;
  claimedAt?: string;
  submittedAt?: string;
  finishedAt?: string;
  /** The object-store key of the step's manifest (one entry per array child). */
  manifestKey: string;
  /** Tasks that finished, each counted exactly once; the store may fold them in groups (see the port). */
  succeeded: number;
  failed: number;
  /** Why the step failed or could not be submitted, or why it was skipped. */
  reason?: string;
  /**
   * A WAITING step: when its wait ends, or when its approval times out (ISO-8601). The planner
   * wakes it then (and the reconciliation sweep does, whatever happened to that process).
   */
  waitUntil?: string;
  /** An approval step's answer, once given through the API. */
  decision?: ApprovalDecision;
  /**
   * The run attempt a retry last reopened the step for (absent: never reopened). A redelivered
   * retry finds the steps it already reopened by it, and resubmits their tasks once.
   */
  attempt?: number;
  /** Bumped by every write; writes are conditioned on it. */
  version: number;
  updatedAt: string;
}

/** A person's answer to an approval step. */
export interface ApprovalDecision {
  decision: 'APPROVED' | 'REJECTED';
  /** Who answered (the API caller's subject). */
  by: string;
  at: string;
  comment?: string;
}

/** One page of a listing: pass `nextToken` back to get the next; absent on the last page. */
export interface Page<T> {
  items: T[];
  nextToken?: string;
}

/** A published report. */
export interface Report {
  reportId: string;
  runId: string;
  pipeline: string;
  businessDate: string;
  key: string;
  headline: Record<string, number | string | null>;
  publishedAt: string;
  /** Its run's tenant; a report without one belongs to {@link DEFAULT_TENANT}. */
  tenant?: string;
}

/**
 * What became of a Dataset Landed event, for the team that sent it: ACCEPTED names the version the
 * landing registered (or, `alreadyRegistered`, the earlier version of the same content it was
 * answered with); REJECTED carries every problem found. `tenant` is the landing's (none: the
 * default tenant's), for callers that show a tenant only its own landings. `at` is ISO-8601: when
 * the version was registered (the answer given, for an already registered one) or the landing rejected.
 */
export type LandingOutcome =
  | { landedEventId: string; tenant?: string; status: 'ACCEPTED'; datasetId: string; at: string; alreadyRegistered?: boolean }
  | {
      landedEventId: string;
      tenant?: string;
      status: 'REJECTED';
      reasons: DataProblem[];
      /** Reasons left out when there were too many to keep (a store keeps the first ones); absent when none were. */
      omittedReasons?: number;
      dataset?: string;
      businessDate?: string;
      at: string;
    };

/**
 * How long a rejected landing's outcome is kept: 30 days, long enough for its sender to ask what was
 * wrong and land again; after that it may be deleted (as `retention.ts`'s records). Accepted
 * landings are kept as long as their version.
 */
export const LANDING_REJECTION_RETENTION_SECONDS = 30 * 24 * 60 * 60;

/**
 * The tenant of what carries none: everything the embedded default lands without a tenant, and
 * everything stored before tenants were recorded. Listings by tenant count such items as its.
 */
export const DEFAULT_TENANT = 'default';

/** Whose a run, report or dataset version is: its `tenant`, else {@link DEFAULT_TENANT}. */
export function tenantOf(item: { tenant?: string | undefined }): string {
  return item.tenant ?? DEFAULT_TENANT;
}
