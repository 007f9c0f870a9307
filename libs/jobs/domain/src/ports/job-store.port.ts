import type { DatasetVersion, Report, Run, RunStatus, Task, TaskStatus } from '../model/types.js';

/**
 * Durable job state: datasets, runs, tasks, reports and consumer idempotency records.
 *
 * Semantics every adapter keeps (the contract suite checks them against each adapter):
 * - Writes are single-item and conditional. A transition names the status it expects to find;
 *   when the stored item is not in that status the write fails with `StaleStateError` and changes
 *   nothing, so two consumers racing on one item cannot both win.
 * - Creates are idempotent on their natural key: creating what already exists with the same key
 *   returns `false` (or the existing item) instead of writing twice.
 * - Reads are strongly consistent.
 * Not in the contract: multi-item transactions (DynamoDB's transactions are not used, so the
 * embedded server need not have them), TTL expiry, ordering of `listRuns` beyond newest first.
 */
export interface JobStore {
  /** Registers the next version of a dataset for its date. Idempotent per `landedEventId`: a replay returns the version first registered. */
  registerDatasetVersion(input: Omit<DatasetVersion, 'version' | 'datasetId'>): Promise<DatasetVersion>;
  getDatasetVersion(datasetId: string): Promise<DatasetVersion | undefined>;
  latestDatasetVersion(dataset: string, businessDate: string): Promise<DatasetVersion | undefined>;

  /** Creates a run and its tasks. Returns false (and writes nothing new) when the run id exists. */
  createRun(run: Run, tasks: Task[]): Promise<boolean>;
  getRun(runId: string): Promise<Run | undefined>;
  /** Newest first. */
  listRuns(options?: { limit?: number }): Promise<Run[]>;
  /** Moves a run from `expected` to `next.status`, merging the other fields of `next`. Throws StaleStateError. */
  transitionRun(runId: string, expected: RunStatus, next: Partial<Run> & { status: RunStatus }): Promise<Run>;

  listTasks(runId: string): Promise<Task[]>;
  getTask(runId: string, taskId: string): Promise<Task | undefined>;
  /**
   * Replaces a task, conditioned on its stored status being `expected.status` and its attempt count
   * being `expected.attempts`. Throws StaleStateError.
   */
  updateTask(expected: Pick<Task, 'runId' | 'taskId'> & { status: TaskStatus; attempts: number }, next: Task): Promise<Task>;

  putReport(report: Report): Promise<void>;
  getReport(reportId: string): Promise<Report | undefined>;
  listReports(options?: { runId?: string; limit?: number }): Promise<Report[]>;

  /**
   * Records that `consumer` finished handling `eventId`. Returns false when it already had,
   * so a redelivered event's effects are skipped. Call after the effects are durable.
   */
  markProcessed(consumer: string, eventId: string): Promise<boolean>;
  isProcessed(consumer: string, eventId: string): Promise<boolean>;
}
