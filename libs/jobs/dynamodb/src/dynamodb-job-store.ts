import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import {
  PROCESSED_EVENT_RETENTION_SECONDS,
  expiresAtEpochSeconds,
  tenantOf,
  type Clock,
  type DatasetVersion,
  type DatasetVersionQuery,
  type JobStore,
  type LandingAcceptance,
  type LandingOutcome,
  type LandingRejection,
  type OutboxEntry,
  type Page,
  type Report,
  type Run,
  type RunExpectation,
  type RunQuery,
  type RunRetry,
  type RunStatus,
  type StepExecution,
  type StepRef,
  type Task,
  type TaskSource,
  type TaskWrite,
  type TaskWriteResult,
} from '@nightshift/jobs-domain';
import { Backfills, type BackfillOutcome } from './backfills.js';
import { BatchReads } from './batch-reads.js';
import { DatasetVersionRecords } from './dataset-versions.js';
import { DynamoTable } from './dynamo-table.js';
import { LandingRecords } from './landings.js';
import { cutPage, decodeToken, pageLimit, withToken } from './page-token.js';
import {
  RUN_REPORT_PREFIX,
  REPORTS_PARTITION,
  TTL_ATTRIBUTE,
  processedKey,
  reportIndexKey,
  reportKey,
  runPartition,
  runReportKey,
  stripInternal,
  tenantReportIndexKey,
  tenantReportsPartition,
} from './keys.js';
import { RunRecords } from './run-records.js';
import { StepRecords } from './step-records.js';
import { TaskChunks } from './task-chunks.js';

/** How a DynamoDbJobStore is wired. */
export interface DynamoDbJobStoreConfig {
  /** Name of a table with the `PK` (HASH, S) + `SK` (RANGE, S) key schema, as `createTable` makes it. */
  tableName: string;
  /** Source of the `processedAt` stamp and TTL of processed-event records, and of migration markers. Defaults to the system clock. */
  clock?: Clock;
  /** Conditional writes kept in flight while creating a run's steps or cleaning up open-run pointers. Default 8. */
  writeConcurrency?: number;
  /**
   * Rounds of "claim version n, find it taken, move to n+1" before registerDatasetVersion gives up
   * with a retryable DatasetVersionContentionError. Each round is lost only to another landing of
   * the same dataset and date, so the default of 50 is far above any real burst.
   */
  maxVersionAllocationAttempts?: number;
}

const LIST_REPORTS_DEFAULT = 50;
const LIST_REPORTS_MAX = 500;

const systemClock: Clock = { now: () => new Date() };

/**
 * The JobStore on one DynamoDB table (single-table design; see the README for the key layout).
 *
 * Every state change is one conditional single-item write, so it works on DynamoDB and on the
 * embedded dynalite server alike; no TransactWriteItems. Multi-item operations (`createRun`,
 * `registerDatasetVersion`, `putReport`, a task write and its fold) are ordered so that a crash
 * part-way leaves a state that replaying the same call completes. Condition failures become
 * StaleStateError (or NotFoundError when the item does not exist), throttling and network faults
 * StoreUnavailableError; other SDK errors are rethrown unchanged.
 *
 * Dataset versions, runs (with their outbox and indexes), steps, task chunks and migrations each
 * have a class of their own; this one holds reports and processed-event records, and routes the rest.
 */
export class DynamoDbJobStore implements JobStore {
  private readonly table: DynamoTable;
  private readonly clock: Clock;
  private readonly datasets: DatasetVersionRecords;
  private readonly landings: LandingRecords;
  private readonly runs: RunRecords;
  private readonly steps: StepRecords;
  private readonly tasks: TaskChunks;
  private readonly backfills: Backfills;
  private readonly batchReads: BatchReads;

  /** @param client the process's one DocumentClient; the store never destroys it. */
  constructor(client: DynamoDBDocumentClient, config: DynamoDbJobStoreConfig) {
    this.table = new DynamoTable(client, config.tableName);
    this.clock = config.clock ?? systemClock;
    this.datasets = new DatasetVersionRecords(this.table, Math.max(1, config.maxVersionAllocationAttempts ?? 50));
    this.landings = new LandingRecords(this.table, this.clock);
    this.steps = new StepRecords(this.table);
    this.runs = new RunRecords(this.table, this.steps, Math.max(1, config.writeConcurrency ?? 8));
    this.tasks = new TaskChunks(this.table, this.steps);
    this.backfills = new Backfills(this.table, this.clock);
    this.batchReads = new BatchReads(this.table);
  }

  // ---------------------------------------------------------------- dataset versions (see DatasetVersionRecords)

  registerDatasetVersion(input: Omit<DatasetVersion, 'version' | 'datasetId'>): Promise<DatasetVersion> {
    return this.datasets.register(input);
  }

  getDatasetVersion(id: string): Promise<DatasetVersion | undefined> {
    return this.datasets.get(id);
  }

  latestDatasetVersion(dataset: string, businessDate: string, options: { tenant?: string } = {}): Promise<DatasetVersion | undefined> {
    return this.datasets.latest(dataset, businessDate, options.tenant);
  }

  listDatasetVersions(options: DatasetVersionQuery = {}): Promise<Page<DatasetVersion>> {
    return this.datasets.list(options);
  }

  // ---------------------------------------------------------------- landings (see LandingRecords)

  recordLandingRejected(rejection: LandingRejection): Promise<boolean> {
    return this.landings.recordRejected(rejection);
  }

  recordLandingAccepted(acceptance: LandingAcceptance): Promise<boolean> {
    return this.landings.recordAccepted(acceptance);
  }

  getLanding(landedEventId: string): Promise<LandingOutcome | undefined> {
    return this.landings.get(landedEventId);
  }

  // ---------------------------------------------------------------- runs (see RunRecords)

  createRun(run: Run, steps: StepExecution[]): Promise<boolean> {
    return this.runs.create(run, steps);
  }

  getRun(runId: string): Promise<Run | undefined> {
    return this.runs.get(runId);
  }

  listRuns(options: RunQuery = {}): Promise<Page<Run>> {
    return this.runs.list(options);
  }

  listOpenRuns(options: { limit?: number; nextToken?: string } = {}): Promise<Page<Run>> {
    return this.runs.listOpen(options);
  }

  transitionRun(runId: string, expected: RunStatus | RunExpectation, next: Partial<Run> & { status: RunStatus }, outbox: OutboxEntry[] = []): Promise<Run> {
    return this.runs.transition(runId, expected, next, outbox);
  }

  retryRun(runId: string, expectedAttempt: number, next: RunRetry): Promise<Run> {
    return this.runs.retry(runId, expectedAttempt, next);
  }

  settleOutbox(runId: string, entryIds: readonly string[]): Promise<Run> {
    return this.runs.settle(runId, entryIds);
  }

  // ---------------------------------------------------------------- steps (see StepRecords)

  getStep(runId: string, step: string): Promise<StepExecution | undefined> {
    return this.steps.get(runId, step);
  }

  listSteps(runId: string): Promise<StepExecution[]> {
    return this.steps.list(runId);
  }

  /** BatchGetItem of the steps' items (see BatchReads). */
  getSteps(refs: readonly StepRef[]): Promise<StepExecution[]> {
    return this.batchReads.steps(refs);
  }

  updateStep(expectedVersion: number, next: StepExecution): Promise<StepExecution> {
    return this.steps.update(expectedVersion, next);
  }

  retryStep(expectedVersion: number, next: StepExecution): Promise<StepExecution> {
    return this.tasks.retryStep(expectedVersion, next);
  }

  // ---------------------------------------------------------------- tasks (see TaskChunks)

  getTask(runId: string, step: string, arrayIndex: number): Promise<Task | undefined> {
    return this.tasks.get(runId, step, arrayIndex);
  }

  listTasks(runId: string, options: { step?: string; limit?: number; nextToken?: string } = {}): Promise<Page<Task>> {
    return this.tasks.list(runId, options);
  }

  /** BatchGetItem of the steps' task chunks (see BatchReads). */
  listTasksOfSteps(steps: readonly TaskSource[], options: { indexLimit?: number } = {}): Promise<Task[]> {
    return this.batchReads.tasksOfSteps(steps, options);
  }

  recordTask(write: TaskWrite): Promise<TaskWriteResult> {
    return this.tasks.record(write);
  }

  claimTask(expected: Task | undefined, next: Task, stepSize: number): Promise<TaskWriteResult> {
    return this.tasks.claim(expected, next, stepSize);
  }

  reopenTask(expected: Task, next: Task, stepSize: number): Promise<TaskWriteResult> {
    return this.tasks.reopen(expected, next, stepSize);
  }

  foldStepCounts(runId: string, step: string): Promise<StepExecution> {
    return this.tasks.fold(runId, step);
  }

  // ---------------------------------------------------------------- reports

  /**
   * Reports are immutable, so full copies are kept where they are listed: under `REPORT#<id>`
   * (the record, written first and deciding which content wins), in the `REPORTS` partition, in its
   * tenant's copy of it and in the run's partition. A replay re-puts the copies of the stored record, completing a put that
   * crashed part-way without ever duplicating a report.
   */
  async putReport(report: Report): Promise<void> {
    const op = 'putReport';
    const key = reportKey(report.reportId);
    let stored: Report = report;
    if (!(await this.table.putIfAbsent({ ...report, ...key, _entity: 'report' }, op))) {
      const item = await this.table.get(key, op);
      if (item) stored = stripInternal<Report>(item);
    }
    await this.table.putIfAbsent({ ...stored, ...reportIndexKey(stored.publishedAt, stored.reportId), _entity: 'reportCopy' }, op);
    await this.table.putIfAbsent({ ...stored, ...tenantReportIndexKey(tenantOf(stored), stored.publishedAt, stored.reportId), _entity: 'reportCopy' }, op);
    await this.table.putIfAbsent({ ...stored, ...runReportKey(stored.runId, stored.publishedAt, stored.reportId), _entity: 'reportCopy' }, op);
  }

  async getReport(reportId: string): Promise<Report | undefined> {
    const item = await this.table.get(reportKey(reportId), 'getReport');
    return item ? stripInternal<Report>(item) : undefined;
  }

  /**
   * Newest `publishedAt` first, one page (default 50, at most 500). Of one run: its partition's
   * copies (a run has one report, so the tenant filter there costs nothing); of one tenant: its index.
   */
  async listReports(options: { runId?: string; tenant?: string; limit?: number; nextToken?: string } = {}): Promise<Page<Report>> {
    const op = 'listReports';
    const { runId, tenant } = options;
    const limit = pageLimit(options.limit, LIST_REPORTS_DEFAULT, LIST_REPORTS_MAX, op);
    const [pk, prefix] =
      runId !== undefined ? [runPartition(runId), RUN_REPORT_PREFIX] : tenant !== undefined ? [tenantReportsPartition(tenant), ''] : [REPORTS_PARTITION, ''];
    const startKey = options.nextToken === undefined ? undefined : decodeToken(options.nextToken, op, pk, { prefix });
    const page = cutPage(await this.table.queryPage(pk, { ...(prefix ? { prefix } : {}), newestFirst: true, limit: limit + 1, startKey }, op), limit);
    return withToken(
      page.items.map((item) => stripInternal<Report>(item)).filter((r) => runId === undefined || tenant === undefined || tenantOf(r) === tenant),
      page.next,
    );
  }

  // ---------------------------------------------------------------- idempotency records

  /** The record carries the TTL attribute: it may be deleted `PROCESSED_EVENT_RETENTION_SECONDS` after it was written. */
  async markProcessed(consumer: string, eventId: string): Promise<boolean> {
    const now = this.clock.now();
    return this.table.putIfAbsent(
      {
        ...processedKey(consumer, eventId),
        _entity: 'processedEvent',
        consumer,
        eventId,
        processedAt: now.toISOString(),
        [TTL_ATTRIBUTE]: expiresAtEpochSeconds(now, PROCESSED_EVENT_RETENTION_SECONDS),
      },
      'markProcessed',
    );
  }

  /** Any record counts, expired or not: until it is deleted, a redelivery is still recognised. */
  async isProcessed(consumer: string, eventId: string): Promise<boolean> {
    return (await this.table.get(processedKey(consumer, eventId), 'isProcessed', ['PK'])) !== undefined;
  }

  // ---------------------------------------------------------------- migrations (see Backfills)

  /**
   * Writes the per-tenant index entries (`RUNS#TENANT#<t>`, `REPORTS#TENANT#<t>`) that runs and
   * reports stored before those indexes existed lack, so `listRuns({ tenant })` and
   * `listReports({ tenant })` find them. Idempotent; once it has run to the end it records so in
   * the table, and later calls read that one item and return `skipped` (`force` walks again).
   */
  backfillTenantIndexes(options: { force?: boolean } = {}): Promise<BackfillOutcome> {
    return this.backfills.tenantIndexes(options);
  }

  /**
   * Gives processed-event records and Idempotency-Key bindings written before expiry existed their
   * TTL attribute (retention counted from when they were written). One Scan of the table, recorded
   * like `backfillTenantIndexes`.
   */
  backfillExpiry(options: { force?: boolean } = {}): Promise<BackfillOutcome> {
    return this.backfills.expiry(options);
  }

  /**
   * Writes the listing index entries that what was stored before them lacks: the `DATASETS`
   * pointers of dataset versions (for `listDatasetVersions`), the attributes run pointers carry for
   * `listRuns` filters, and the `RUNS#DATASET#<id>` pointers (for `listRuns({ datasetId })`). Until
   * it has run, old versions are not listed and old runs are missing from `datasetId` listings
   * (other filters still find them, reading their runs). Recorded like `backfillTenantIndexes`.
   */
  backfillListingIndexes(options: { force?: boolean } = {}): Promise<BackfillOutcome> {
    return this.backfills.listingIndexes(options);
  }
}
