import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import {
  StoreUnavailableError,
  tenantOf,
  type Clock,
  type DatasetVersion,
  type JobStore,
  type OutboxEntry,
  type Page,
  type Report,
  type Run,
  type RunStatus,
  type StepExecution,
  type Task,
  type TaskWrite,
  type TaskWriteResult,
} from '@nightshift/jobs-domain';
import { DynamoTable } from './dynamo-table.js';
import { cutPage, decodeToken, pageLimit, withToken } from './page-token.js';
import { DatasetVersionContentionError } from './errors.js';
import {
  RUN_REPORT_PREFIX,
  REPORTS_PARTITION,
  VERSION_PREFIX,
  datasetId,
  datasetPartition,
  datasetVersionKey,
  datasetVersionKeyFromId,
  landedEventKey,
  processedKey,
  reportIndexKey,
  reportKey,
  runPartition,
  runReportKey,
  stripInternal,
  tenantReportIndexKey,
  tenantReportsPartition,
  type ItemKey,
} from './keys.js';
import { RunRecords } from './run-records.js';
import { StepRecords } from './step-records.js';
import { TaskChunks } from './task-chunks.js';

/** How a DynamoDbJobStore is wired. */
export interface DynamoDbJobStoreConfig {
  /** Name of a table with the `PK` (HASH, S) + `SK` (RANGE, S) key schema, as `createTable` makes it. */
  tableName: string;
  /** Source of the `processedAt` stamp on idempotency records. Defaults to the system clock. */
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
 * Runs (with their outbox and indexes), steps and task chunks each have a class of their own;
 * this one holds dataset versions, reports and idempotency records, and routes the rest.
 */
export class DynamoDbJobStore implements JobStore {
  private readonly table: DynamoTable;
  private readonly clock: Clock;
  private readonly maxVersionAllocationAttempts: number;
  private readonly runs: RunRecords;
  private readonly steps: StepRecords;
  private readonly tasks: TaskChunks;

  /** @param client the process's one DocumentClient; the store never destroys it. */
  constructor(client: DynamoDBDocumentClient, config: DynamoDbJobStoreConfig) {
    this.table = new DynamoTable(client, config.tableName);
    this.clock = config.clock ?? systemClock;
    this.maxVersionAllocationAttempts = Math.max(1, config.maxVersionAllocationAttempts ?? 50);
    this.steps = new StepRecords(this.table);
    this.runs = new RunRecords(this.table, this.steps, Math.max(1, config.writeConcurrency ?? 8));
    this.tasks = new TaskChunks(this.table, this.steps);
  }

  // ---------------------------------------------------------------- dataset versions

  /**
   * Allocation without transactions:
   * 1. The landed event's claim item (`LANDED#<id>`) is written first, with attribute_not_exists,
   *    naming the version this event will take (latest + 1). A replay finds the claim and keeps it.
   * 2. The version item is put with attribute_not_exists. If another landing took that slot first,
   *    the claim is moved to the next free version with a write conditioned on the version it held,
   *    and the put is tried again.
   * A slot is owned by exactly one event (the put is conditional) and an event owns at most one
   * slot (its claim only moves off a slot someone else owns), so concurrent deliveries of one event
   * return the same version and distinct events get distinct, gap-free versions.
   */
  async registerDatasetVersion(input: Omit<DatasetVersion, 'version' | 'datasetId'>): Promise<DatasetVersion> {
    const op = 'registerDatasetVersion';
    const claimKey = landedEventKey(input.landedEventId);
    let claim = await this.claimOf(claimKey, op);
    if (!claim) {
      const proposed = { dataset: input.dataset, businessDate: input.businessDate, version: (await this.latestVersionNumber(input.dataset, input.businessDate, op)) + 1 };
      const claimed = await this.table.putIfAbsent({ ...claimKey, _entity: 'landedEvent', landedEventId: input.landedEventId, ...proposed }, op);
      claim = claimed ? proposed : await this.claimOf(claimKey, op);
      if (!claim) throw new StoreUnavailableError(`claim of landed event ${input.landedEventId} vanished during ${op}`);
    }
    // A replay registers under the dataset and date of the first delivery, whatever it carries now.
    const { dataset, businessDate } = claim;

    for (let attempt = 1; attempt <= this.maxVersionAllocationAttempts; attempt++) {
      const version: number = claim.version;
      const slotKey = datasetVersionKey(dataset, businessDate, version);
      const candidate: DatasetVersion = { ...input, dataset, businessDate, version, datasetId: datasetId(dataset, businessDate, version) };
      if (await this.table.putIfAbsent({ ...candidate, ...slotKey, _entity: 'datasetVersion' }, op)) return candidate;

      const slot = await this.table.get(slotKey, op);
      if (slot !== undefined && slot.landedEventId === input.landedEventId) return stripInternal<DatasetVersion>(slot);

      const next = Math.max(version, await this.latestVersionNumber(dataset, businessDate, op)) + 1;
      const moved = await this.table.update(
        {
          Key: claimKey,
          UpdateExpression: 'SET #version = :next',
          ConditionExpression: '#version = :held',
          ExpressionAttributeNames: { '#version': 'version' },
          ExpressionAttributeValues: { ':next': next, ':held': version },
        },
        op,
      );
      if (moved.applied) claim = { ...claim, version: next };
      else {
        // A concurrent delivery of the same event moved the claim already; follow it.
        const current = await this.claimOf(claimKey, op);
        if (!current) throw new StoreUnavailableError(`claim of landed event ${input.landedEventId} vanished during ${op}`);
        claim = current;
      }
    }
    throw new DatasetVersionContentionError(dataset, businessDate, this.maxVersionAllocationAttempts);
  }

  async getDatasetVersion(id: string): Promise<DatasetVersion | undefined> {
    const key = datasetVersionKeyFromId(id);
    if (!key) return undefined;
    const item = await this.table.get(key, 'getDatasetVersion');
    return item ? stripInternal<DatasetVersion>(item) : undefined;
  }

  async latestDatasetVersion(dataset: string, businessDate: string): Promise<DatasetVersion | undefined> {
    const [item] = await this.table.queryAll(datasetPartition(dataset, businessDate), { prefix: VERSION_PREFIX, newestFirst: true, limit: 1 }, 'latestDatasetVersion');
    return item ? stripInternal<DatasetVersion>(item) : undefined;
  }

  // ---------------------------------------------------------------- runs (see RunRecords)

  createRun(run: Run, steps: StepExecution[]): Promise<boolean> {
    return this.runs.create(run, steps);
  }

  getRun(runId: string): Promise<Run | undefined> {
    return this.runs.get(runId);
  }

  listRuns(options: { tenant?: string; limit?: number; nextToken?: string } = {}): Promise<Page<Run>> {
    return this.runs.list(options);
  }

  listOpenRuns(options: { limit?: number; nextToken?: string } = {}): Promise<Page<Run>> {
    return this.runs.listOpen(options);
  }

  transitionRun(runId: string, expected: RunStatus, next: Partial<Run> & { status: RunStatus }, outbox: OutboxEntry[] = []): Promise<Run> {
    return this.runs.transition(runId, expected, next, outbox);
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

  updateStep(expectedVersion: number, next: StepExecution): Promise<StepExecution> {
    return this.steps.update(expectedVersion, next);
  }

  // ---------------------------------------------------------------- tasks (see TaskChunks)

  getTask(runId: string, step: string, arrayIndex: number): Promise<Task | undefined> {
    return this.tasks.get(runId, step, arrayIndex);
  }

  listTasks(runId: string, options: { step?: string; limit?: number; nextToken?: string } = {}): Promise<Page<Task>> {
    return this.tasks.list(runId, options);
  }

  recordTask(write: TaskWrite): Promise<TaskWriteResult> {
    return this.tasks.record(write);
  }

  claimTask(expected: Task | undefined, next: Task, stepSize: number): Promise<TaskWriteResult> {
    return this.tasks.claim(expected, next, stepSize);
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
    const startKey = options.nextToken === undefined ? undefined : decodeToken(options.nextToken, op, pk, prefix);
    const page = cutPage(await this.table.queryPage(pk, { ...(prefix ? { prefix } : {}), newestFirst: true, limit: limit + 1, startKey }, op), limit);
    return withToken(
      page.items.map((item) => stripInternal<Report>(item)).filter((r) => runId === undefined || tenant === undefined || tenantOf(r) === tenant),
      page.next,
    );
  }

  // ---------------------------------------------------------------- idempotency records

  async markProcessed(consumer: string, eventId: string): Promise<boolean> {
    return this.table.putIfAbsent(
      { ...processedKey(consumer, eventId), _entity: 'processedEvent', consumer, eventId, processedAt: this.clock.now().toISOString() },
      'markProcessed',
    );
  }

  async isProcessed(consumer: string, eventId: string): Promise<boolean> {
    return (await this.table.get(processedKey(consumer, eventId), 'isProcessed')) !== undefined;
  }

  // ---------------------------------------------------------------- plumbing

  private async claimOf(key: ItemKey, op: string): Promise<{ dataset: string; businessDate: string; version: number } | undefined> {
    const item = await this.table.get(key, op);
    if (!item) return undefined;
    return { dataset: String(item.dataset), businessDate: String(item.businessDate), version: Number(item.version) };
  }

  private async latestVersionNumber(dataset: string, businessDate: string, op: string): Promise<number> {
    const [item] = await this.table.queryAll(datasetPartition(dataset, businessDate), { prefix: VERSION_PREFIX, newestFirst: true, limit: 1 }, op);
    return item ? Number(item.version) : 0;
  }
}
