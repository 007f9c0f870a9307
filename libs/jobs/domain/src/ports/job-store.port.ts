import type { DatasetVersion, OutboxEntry, Page, Report, Run, RunStatus, StepExecution, Task } from '../model/types.js';

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
 *   count until they are deleted.
 * Not in the contract: multi-item transactions (DynamoDB's transactions are not used, so the
 * embedded server need not have them), when exactly an expired record is deleted (an adapter's
 * TTL), ordering of `listRuns` beyond newest first.
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
   * Creates a run and its step executions (no task records: a task's record is written when its
   * job first reports), and lists the run as open. Returns false (and writes nothing new) when the
   * run id exists. A few writes whatever the steps' sizes.
   */
  createRun(run: Run, steps: StepExecution[]): Promise<boolean>;
  getRun(runId: string): Promise<Run | undefined>;
  /**
   * Newest first, one page (default 50, at most 500). With `tenant`, only that tenant's runs
   * (`tenantOf(run)`), read from a per-tenant index: a page never holds another tenant's run, and a
   * token of one tenant's listing is refused by another's.
   */
  listRuns(options?: { tenant?: string; limit?: number; nextToken?: string }): Promise<Page<Run>>;
  /**
   * Runs not yet closed: not terminal, or terminal with an outbox not yet drained. Read from an
   * index of open runs, never by reading every run. Order unspecified.
   */
  listOpenRuns(options?: { limit?: number; nextToken?: string }): Promise<Page<Run>>;
  /**
   * Moves a run from `expected` to `next.status`, merging the other fields of `next`, and appends
   * `outbox` to its outbox in the same write. Refuses what `canTransitionRun` refuses
   * (IllegalTransitionError). Throws StaleStateError when the run is no longer `expected`.
   */
  transitionRun(runId: string, expected: RunStatus, next: Partial<Run> & { status: RunStatus }, outbox?: OutboxEntry[]): Promise<Run>;
  /**
   * Removes delivered outbox entries (by id; ids not there are ignored). A terminal run whose
   * outbox is then empty leaves the open-run index. Returns the run as stored after.
   */
  settleOutbox(runId: string, entryIds: readonly string[]): Promise<Run>;

  getStep(runId: string, step: string): Promise<StepExecution | undefined>;
  /** All step executions of a run (a pipeline has few steps). */
  listSteps(runId: string): Promise<StepExecution[]>;
  /**
   * Replaces a step execution if its stored `version` is `expectedVersion`; the stored version
   * becomes `expectedVersion + 1` (whatever `next.version` says). Throws StaleStateError.
   */
  updateStep(expectedVersion: number, next: StepExecution): Promise<StepExecution>;

  /** A task's record, or undefined when its job has not reported yet. One point read. */
  getTask(runId: string, step: string, arrayIndex: number): Promise<Task | undefined>;
  /** Task records of a run (of one step if given), by step then array index, one page (default 500). */
  listTasks(runId: string, options?: { step?: string; limit?: number; nextToken?: string }): Promise<Page<Task>>;
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

/** A task state to write, and what it must be written over. */
export interface TaskWrite {
  task: Task;
  /** The size of the task's step, so the store knows when a group of its tasks is complete. */
  stepSize: number;
  /** Job ids the stored task may name for this write to apply (an absent jobId always may). */
  currentJobIds: readonly string[];
}

export type TaskWriteResult = { applied: boolean; task: Task; step?: StepExecution };
