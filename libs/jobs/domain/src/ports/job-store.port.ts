import type { DataProblem } from '@nightshift/contracts';
import type { DatasetVersion, LandingOutcome, OutboxEntry, Page, Report, Run, RunStatus, StepExecution, Task } from '../model/types.js';

/**
 * Durable job state: datasets, runs, tasks, reports and consumer idempotency records. Datasets, runs
 * and reports carry their tenant (`tenantOf`); the store keeps it and lists by it, and leaves
 * deciding who may read what to its callers.
 *
 * Semantics every adapter keeps (the contract suite checks them against each adapter):
 * - Writes are single-item and conditional. A transition names the status it expects to find;
 *   when the stored item is not in that status the write fails with `StaleStateError` and changes
 *   nothing, so two consumers racing on one item cannot both win.
 * - Creates are idempotent on their natural key: creating what already exists with the same key
 *   returns `false` (or the existing item) instead of writing twice.
 * - Reads are strongly consistent.
 * - No write or read on the event path grows with the run: a task update touches the task's
 *   record and, now and then, its step; listings are paginated.
 * - Processed-event records are kept at least `PROCESSED_EVENT_RETENTION_SECONDS` (15 days) and
 *   count until they are deleted; rejected landings at least `LANDING_REJECTION_RETENTION_SECONDS`.
 * - Listings are newest first in an order that does not change between calls, so following
 *   `nextToken` until it is absent yields every match once. A filtered page may hold fewer items
 *   than `limit`, even none, and still carry a `nextToken` (as DynamoDB's filtered Query does): only
 *   an absent token says the listing is over. A token is refused (`JobsError`, not retryable) by a
 *   listing of another tenant or index; with other filters on the same index it resumes at its place.
 * Not in the contract: multi-item transactions (DynamoDB's transactions are not used, so the
 * embedded server need not have them), when exactly an expired record is deleted (an adapter's
 * TTL), the order of runs created at the same instant (fixed, but adapter-defined), how many items
 * a filtered page reads before it gives up short.
 */
export interface JobStore {
  /**
   * Registers the next version of a dataset for its date, with the input's `tenant`. Versions are
   * numbered per dataset and date across tenants (two tenants landing one dataset name for a day
   * get v1 and v2). Idempotent per `landedEventId`: a replay returns the version first registered.
   */
  registerDatasetVersion(input: Omit<DatasetVersion, 'version' | 'datasetId'>): Promise<DatasetVersion>;
  /** The version of that id, whoever's it is: a caller acting for a tenant checks `tenantOf(version)`. */
  getDatasetVersion(datasetId: string): Promise<DatasetVersion | undefined>;
  /**
   * The highest version of the dataset for the date; with `tenant`, the highest whose
   * `tenantOf(version)` is that tenant (others' versions are passed over, never returned).
   */
  latestDatasetVersion(dataset: string, businessDate: string, options?: { tenant?: string }): Promise<DatasetVersion | undefined>;
  /**
   * Registered versions, newest `registeredAt` first, one page (default 50, at most 500); of one
   * dataset name when `dataset` is given. With `tenant`, only that tenant's versions
   * (`tenantOf(version)`), read from a per-tenant index: a page never holds another tenant's
   * version, and a token of one tenant's listing is refused by another's. A version is listed once
   * `registerDatasetVersion` has returned it (a replay completes a registration that crashed part-way).
   */
  listDatasetVersions(options?: DatasetVersionQuery): Promise<Page<DatasetVersion>>;

  /**
   * Records that a landing was rejected, with its reasons, its tenant and (as far as they could be
   * read) its dataset and date. Idempotent per `landedEventId`: returns false and keeps the first
   * record when one exists. Kept at least `LANDING_REJECTION_RETENTION_SECONDS` from `rejectedAt`.
   * An adapter that cannot keep every reason keeps the first ones and says how many it left out
   * (`omittedReasons`).
   */
  recordLandingRejected(rejection: LandingRejection): Promise<boolean>;
  /**
   * Records that a landing was answered with a version it did not register (`alreadyRegistered`:
   * its content is that version's). A landing that registered a version needs no record: its
   * registration answers `getLanding`. Idempotent like `recordLandingRejected`; kept for good.
   */
  recordLandingAccepted(acceptance: LandingAcceptance): Promise<boolean>;
  /**
   * What became of a landing: ACCEPTED with the version it registered, or the one it was answered
   * with; REJECTED with its reasons; undefined while nothing is decided (or once a rejection's
   * retention has passed and it was deleted). A registered version answers before any record of
   * the other kinds. Whoever's it is: a caller acting for a tenant checks `tenantOf(outcome)`.
   */
  getLanding(landedEventId: string): Promise<LandingOutcome | undefined>;

  /**
   * Creates a run and its step executions (no task records: a task's record is written when its
   * job first reports), and lists the run as open. Returns false (and writes nothing new) when the
   * run id exists. A few writes whatever the steps' sizes.
   */
  createRun(run: Run, steps: StepExecution[]): Promise<boolean>;
  getRun(runId: string): Promise<Run | undefined>;
  /**
   * Runs matching every filter given (see `RunQuery`), newest `createdAt` first, one page (default
   * 50, at most 500). With `tenant`, only that tenant's runs (`tenantOf(run)`), read from a
   * per-tenant index: a page never holds another tenant's run, and a token of one tenant's listing
   * is refused by another's. With `datasetId`, read from an index of the version's runs, so "which
   * runs did this version trigger" reads those runs only. The other filters narrow what the index
   * holds: a selective filter may give short or empty pages with a token (see above). A run is
   * listed once its steps exist. Invalid filters (an unknown status, an empty status list, a date
   * not YYYY-MM-DD) are refused with a non-retryable `JobsError`.
   */
  listRuns(options?: RunQuery): Promise<Page<Run>>;
  /**
   * Runs not yet closed: not terminal, or terminal with an outbox not yet drained. Read from an
   * index of open runs, never by reading every run. Order unspecified.
   */
  listOpenRuns(options?: { limit?: number; nextToken?: string }): Promise<Page<Run>>;
  /**
   * Moves a run from `expected` to `next.status`, merging the other fields of `next`, and appends
   * `outbox` to its outbox in the same write. `expected` names a status, or a status and the
   * attempt (`attemptOf`) the caller read: then the write is also conditioned on that attempt, so
   * a decision taken on an earlier attempt cannot end a retry of the run. Entries are kept in the
   * order written, every attempt's after the earlier attempts'. Refuses what `canTransitionRun`
   * refuses (IllegalTransitionError; a retry goes through `retryRun`). Throws StaleStateError when
   * the run is no longer `expected`. `next` may not carry what listings index a run by (`pipeline`,
   * `businessDate`, `correlationId`, `datasetId`, `tenant`, `createdAt`): an adapter may refuse it.
   */
  transitionRun(runId: string, expected: RunStatus | RunExpectation, next: Partial<Run> & { status: RunStatus }, outbox?: OutboxEntry[]): Promise<Run>;
  /**
   * Reopens a FAILED run as its next attempt (a retry): one conditional write from FAILED at
   * `expectedAttempt`, with an empty outbox (the failure's effects carried out, so none of them
   * can stop the new attempt's jobs), to RUNNING at `expectedAttempt + 1`. Merges the fields of
   * `next`, replaces the deadline with `next.deadline` (removed when it has none) and removes
   * `finishedAt` and `reason`; then lists the run as open again, in a way no concurrent removal of
   * the closed attempt's index entry (`listOpenRuns`, `settleOutbox`) can undo.
   * Idempotent per `next.retryEventId`: when the run is already at that attempt by that event, the
   * call lists it as open if it still is and returns it as stored. Throws StaleStateError when the
   * run is not FAILED at `expectedAttempt` (another retry came first, or it did not fail) or its
   * outbox is not drained, NotFoundError when there is no such run.
   */
  retryRun(runId: string, expectedAttempt: number, next: RunRetry): Promise<Run>;
  /**
   * Removes delivered outbox entries (by id; ids not there are ignored). A terminal run whose
   * outbox is then empty leaves the open-run index (unless a retry has reopened it meanwhile).
   * Returns the run as stored after.
   */
  settleOutbox(runId: string, entryIds: readonly string[]): Promise<Run>;

  getStep(runId: string, step: string): Promise<StepExecution | undefined>;
  /** All step executions of a run (a pipeline has few steps). */
  listSteps(runId: string): Promise<StepExecution[]>;
  /**
   * The step executions `refs` name, of any runs, in one go: for reading the steps of many runs (a
   * listing's page) in a bounded number of requests instead of a query per run. The caller names
   * the steps (a run's are its pipeline's). In the order of `refs`, each step once; steps that do
   * not exist are left out. Strongly consistent, like every read.
   */
  getSteps(refs: readonly StepRef[]): Promise<StepExecution[]>;
  /**
   * Replaces a step execution if its stored `version` is `expectedVersion`; the stored version
   * becomes `expectedVersion + 1` (whatever `next.version` says). Throws StaleStateError.
   */
  updateStep(expectedVersion: number, next: StepExecution): Promise<StepExecution>;
  /**
   * Reopens a step of a FAILED run for a retry (`canTransitionStep(from, next.status, 'retry')`,
   * else IllegalTransitionError): replaces it as `updateStep` does, conditioned on
   * `expectedVersion`, and recounts it: every group of its tasks counted in it that is no longer
   * all finished (their FAILED tasks reopened with `reopenTask` first) leaves its counts, to be
   * counted again when those tasks finish. So once every failed task was reopened, `failed` is 0
   * and `succeeded` counts only what stays succeeded. Throws StaleStateError.
   */
  retryStep(expectedVersion: number, next: StepExecution): Promise<StepExecution>;

  /** A task's record, or undefined when its job has not reported yet. One point read. */
  getTask(runId: string, step: string, arrayIndex: number): Promise<Task | undefined>;
  /** Task records of a run (of one step if given), by step then array index, one page (default 500). */
  listTasks(runId: string, options?: { step?: string; limit?: number; nextToken?: string }): Promise<Page<Task>>;
  /**
   * The task records of many steps (of any runs) in one go, in the order of `steps` (each once),
   * then by array index: of each step, those among its first `indexLimit` array children (all of
   * its `size` when absent). For the tasks of a listing's runs in a bounded number of requests
   * instead of a query per run or step: what is read grows with the children asked for, so page a
   * large step with `listTasks` instead. A step without records (or unknown) adds nothing. A
   * `size` that is not a non-negative integer, or an `indexLimit` that is not a positive one, is
   * refused with a non-retryable `JobsError`.
   */
  listTasksOfSteps(steps: readonly TaskSource[], options?: { indexLimit?: number }): Promise<Task[]>;
  /**
   * Writes a task's state if it moves the task forward: the stored task (if any) has a lower
   * `taskProgress`, and its `jobId` is absent or one of `currentJobIds`. One conditional write; no
   * read on the way. A task that becomes SUCCEEDED or FAILED is counted in its step's `succeeded` /
   * `failed` exactly once; the store may fold those counts into the step in groups, and returns
   * the step whenever this call folded some (so a caller sees the count that completes the step).
   * A repeated call (a redelivered event) is `applied: false`, and still folds what an earlier,
   * interrupted call left unfolded.
   */
  recordTask(write: TaskWrite): Promise<TaskWriteResult>;
  /**
   * Replaces a task's record exactly as it was read (`expected`; undefined when it had none), for
   * exclusive claims such as taking over a task whose job was lost: conditioned on the stored
   * progress and jobId, so of two engines claiming the same task one wins and the other gets
   * StaleStateError. Counts a task that becomes SUCCEEDED or FAILED as `recordTask` does.
   */
  claimTask(expected: Task | undefined, next: Task, stepSize: number): Promise<TaskWriteResult>;
  /**
   * Reopens a FAILED task for a retry of its run, claiming it as `claimTask` does: replaces it as
   * read (`expected`, FAILED) with `next`, which must be unfinished, and takes it out of its step's
   * failed count in the same write (see `retryStep`). Of two callers one wins, the other gets
   * StaleStateError. IllegalTransitionError when `expected` is not FAILED or `next` is finished: a
   * SUCCEEDED task is never run again.
   */
  reopenTask(expected: Task, next: Task, stepSize: number): Promise<TaskWriteResult>;
  /**
   * Folds every finished task of the step not yet counted into its counts (idempotent), and returns
   * the step. For reconciliation; reads the step's task records.
   */
  foldStepCounts(runId: string, step: string): Promise<StepExecution>;

  putReport(report: Report): Promise<void>;
  getReport(reportId: string): Promise<Report | undefined>;
  /**
   * Newest first, one page (default 50, at most 500); of one run when `runId` is given; of one
   * tenant (`tenantOf(report)`) when `tenant` is given, as `listRuns` (both: the run's reports, if they are the tenant's).
   */
  listReports(options?: { runId?: string; tenant?: string; limit?: number; nextToken?: string }): Promise<Page<Report>>;

  /**
   * Records that `consumer` finished handling `eventId`. Returns false when it already had,
   * so a redelivered event's effects are skipped. Call after the effects are durable. The record
   * is kept at least `PROCESSED_EVENT_RETENTION_SECONDS`, longer than any queue redelivers.
   */
  markProcessed(consumer: string, eventId: string): Promise<boolean>;
  /** Whether `consumer` recorded `eventId`; a record past its retention that is not yet deleted still counts. */
  isProcessed(consumer: string, eventId: string): Promise<boolean>;
}

/** A step of a run, by name (`getSteps`). */
export interface StepRef {
  runId: string;
  step: string;
}

/** A step whose task records `listTasksOfSteps` reads: its `size` bounds the array children read. */
export type TaskSource = Pick<StepExecution, 'runId' | 'step' | 'size'>;

/** A task state to write, and what it must be written over. */
export interface TaskWrite {
  task: Task;
  /** The size of the task's step, so the store knows when a group of its tasks is complete. */
  stepSize: number;
  /** Job ids the stored task may name for this write to apply (an absent jobId always may). */
  currentJobIds: readonly string[];
}

export type TaskWriteResult = { applied: boolean; task: Task; step?: StepExecution };

/** What `transitionRun` expects to find: a status, and the attempt the caller read the run at. */
export interface RunExpectation {
  status: RunStatus;
  attempt: number;
}

/**
 * The fields a retry sets on the run it reopens (`retryRun`); status and attempt are the store's
 * to set, `finishedAt` and `reason` go, and the outbox moves only through transitions.
 */
export type RunRetry = Omit<Partial<Run>, 'runId' | 'status' | 'attempt' | 'outbox' | 'finishedAt' | 'reason' | 'retryEventId' | 'retriedAt' | 'updatedAt'> & {
  /** The Run Retry Requested event that reopens the run: the key of the retry's idempotency. */
  retryEventId: string;
  retriedAt: string;
  updatedAt: string;
};

/** Which runs `listRuns` lists: those matching every field given. */
export interface RunQuery {
  /** Only this tenant's runs (`tenantOf(run)`: a run without a tenant is the default tenant's). */
  tenant?: string;
  /** Only runs in this status, or in one of these (a non-empty list). Read after the index, since status changes. */
  status?: RunStatus | RunStatus[];
  pipeline?: string;
  /** Only runs whose `businessDate` is on or after this date (YYYY-MM-DD, inclusive). */
  businessDateFrom?: string;
  /** Only runs whose `businessDate` is on or before this date (YYYY-MM-DD, inclusive). */
  businessDateTo?: string;
  correlationId?: string;
  /** Only the runs over this dataset version (the runs it triggered). */
  datasetId?: string;
  /** Page size: default 50, at most 500. */
  limit?: number;
  nextToken?: string;
}

/** Which versions `listDatasetVersions` lists. */
export interface DatasetVersionQuery {
  /** Only this tenant's versions (`tenantOf(version)`). */
  tenant?: string;
  /** Only versions of this dataset name. */
  dataset?: string;
  /** Page size: default 50, at most 500. */
  limit?: number;
  nextToken?: string;
}

/** A rejected landing, as `recordLandingRejected` records it. */
export interface LandingRejection {
  landedEventId: string;
  /** The landing's tenant; none is the default tenant's. */
  tenant?: string;
  /** The landing's dataset and date when they could be read, even if they are what was wrong. */
  dataset?: string;
  businessDate?: string;
  reasons: DataProblem[];
  /** ISO-8601; retention counts from it. */
  rejectedAt: string;
}

/** A landing answered with a version it did not register itself, as `recordLandingAccepted` records it. */
export interface LandingAcceptance {
  landedEventId: string;
  /** The landing's tenant; none is the default tenant's. */
  tenant?: string;
  /** The version the landing was answered with. */
  datasetId: string;
  /** ISO-8601: when the landing was answered. */
  at: string;
  alreadyRegistered: true;
}
