import { BatchGetCommand, GetCommand, PutCommand, QueryCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import {
  NotFoundError,
  StaleStateError,
  StoreUnavailableError,
  type Clock,
  type DatasetVersion,
  type JobStore,
  type Report,
  type Run,
  type RunStatus,
  type Task,
  type TaskStatus,
} from '@nightshift/jobs-domain';
import { DatasetVersionContentionError, InvalidJobStoreInputError } from './errors.js';
import {
  RUN_REPORT_PREFIX,
  REPORTS_PARTITION,
  RUNS_PARTITION,
  TASK_PREFIX,
  VERSION_PREFIX,
  datasetId,
  datasetPartition,
  datasetVersionKey,
  datasetVersionKeyFromId,
  landedEventKey,
  processedKey,
  reportIndexKey,
  reportKey,
  runIndexKey,
  runKey,
  runPartition,
  runReportKey,
  stripInternal,
  taskKey,
  type ItemKey,
} from './keys.js';
import { isConditionalCheckFailed, translateSdkError } from './sdk-errors.js';

/** How a DynamoDbJobStore is wired. */
export interface DynamoDbJobStoreConfig {
  /** Name of a table with the `PK` (HASH, S) + `SK` (RANGE, S) key schema, as `createTable` makes it. */
  tableName: string;
  /** Source of the `processedAt` stamp on idempotency records. Defaults to the system clock. */
  clock?: Clock;
  /** Conditional task puts kept in flight while creating a run. Default 8. */
  writeConcurrency?: number;
  /**
   * Rounds of "claim version n, find it taken, move to n+1" before registerDatasetVersion gives up
   * with a retryable DatasetVersionContentionError. Each round is lost only to another landing of
   * the same dataset and date, so the default of 50 is far above any real burst.
   */
  maxVersionAllocationAttempts?: number;
}

type Item = Record<string, unknown>;

/** BatchGetItem takes at most 100 keys per request. */
const BATCH_GET_MAX_KEYS = 100;
/** Rounds of re-requesting UnprocessedKeys (throttled reads) before reporting the store unavailable. */
const BATCH_GET_MAX_ROUNDS = 8;

const systemClock: Clock = { now: () => new Date() };

/**
 * The JobStore on one DynamoDB table (single-table design; see the README for the key layout).
 *
 * Every state change is one conditional single-item write, so it works on DynamoDB and on the
 * embedded dynalite server alike; no TransactWriteItems. Multi-item operations (`createRun`,
 * `registerDatasetVersion`, `putReport`) are ordered so that a crash part-way leaves a state that
 * replaying the same call completes. Condition failures become StaleStateError (or NotFoundError
 * when the item does not exist), throttling and network faults StoreUnavailableError; other SDK
 * errors are rethrown unchanged.
 */
export class DynamoDbJobStore implements JobStore {
  private readonly tableName: string;
  private readonly clock: Clock;
  private readonly writeConcurrency: number;
  private readonly maxVersionAllocationAttempts: number;

  /** @param client the process's one DocumentClient; the store never destroys it. */
  constructor(
    private readonly client: DynamoDBDocumentClient,
    config: DynamoDbJobStoreConfig,
  ) {
    this.tableName = config.tableName;
    this.clock = config.clock ?? systemClock;
    this.writeConcurrency = Math.max(1, config.writeConcurrency ?? 8);
    this.maxVersionAllocationAttempts = Math.max(1, config.maxVersionAllocationAttempts ?? 50);
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
      const claimed = await this.putIfAbsent({ ...claimKey, _entity: 'landedEvent', landedEventId: input.landedEventId, ...proposed }, op);
      claim = claimed ? proposed : await this.claimOf(claimKey, op);
      if (!claim) throw new StoreUnavailableError(`claim of landed event ${input.landedEventId} vanished during ${op}`);
    }
    // A replay registers under the dataset and date of the first delivery, whatever it carries now.
    const { dataset, businessDate } = claim;

    for (let attempt = 1; attempt <= this.maxVersionAllocationAttempts; attempt++) {
      const version: number = claim.version;
      const slotKey = datasetVersionKey(dataset, businessDate, version);
      const candidate: DatasetVersion = { ...input, dataset, businessDate, version, datasetId: datasetId(dataset, businessDate, version) };
      if (await this.putIfAbsent({ ...candidate, ...slotKey, _entity: 'datasetVersion' }, op)) return candidate;

      const slot = await this.getItem(slotKey, op);
      if (slot !== undefined && slot.landedEventId === input.landedEventId) return stripInternal<DatasetVersion>(slot);

      const next = Math.max(version, await this.latestVersionNumber(dataset, businessDate, op)) + 1;
      const moved = await this.conditionalWrite(
        () =>
          this.client.send(
            new UpdateCommand({
              TableName: this.tableName,
              Key: claimKey,
              UpdateExpression: 'SET #version = :next',
              ConditionExpression: '#version = :held',
              ExpressionAttributeNames: { '#version': 'version' },
              ExpressionAttributeValues: { ':next': next, ':held': version },
            }),
          ),
        op,
      );
      if (moved) claim = { ...claim, version: next };
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
    const item = await this.getItem(key, 'getDatasetVersion');
    return item ? stripInternal<DatasetVersion>(item) : undefined;
  }

  async latestDatasetVersion(dataset: string, businessDate: string): Promise<DatasetVersion | undefined> {
    const [item] = await this.queryPartition(datasetPartition(dataset, businessDate), { prefix: VERSION_PREFIX, newestFirst: true, limit: 1 }, 'latestDatasetVersion');
    return item ? stripInternal<DatasetVersion>(item) : undefined;
  }

  // ---------------------------------------------------------------- runs

  /**
   * Writes the run item first (attribute_not_exists decides who created it), then each task with a
   * conditional put, then the RUNS pointer `listRuns` reads, then flips the run's internal
   * `_complete` flag. A crash in between leaves `_complete` false; the next `createRun` with that
   * run id sees it, puts the tasks that are missing (never overwriting one that exists, since it
   * may have progressed) and the pointer, and returns false. A replay must therefore pass the same
   * run and tasks, as a redelivered RunRequested event does.
   */
  async createRun(run: Run, tasks: Task[]): Promise<boolean> {
    const op = 'createRun';
    const taskIds = new Set<string>();
    for (const task of tasks) {
      if (task.runId !== run.runId) throw new InvalidJobStoreInputError(`task ${task.taskId} belongs to run ${task.runId}, not ${run.runId}`);
      if (taskIds.has(task.taskId)) throw new InvalidJobStoreInputError(`task ${task.taskId} appears twice in run ${run.runId}`);
      taskIds.add(task.taskId);
    }

    const key = runKey(run.runId);
    const created = await this.putIfAbsent({ ...run, ...key, _entity: 'run', _complete: false }, op);
    let createdAt = run.createdAt;
    if (!created) {
      const stored = await this.getItem(key, op);
      if (stored?._complete === true) return false;
      if (typeof stored?.createdAt === 'string') createdAt = stored.createdAt;
    }

    await forEachLimit(tasks, this.writeConcurrency, (task) => this.putIfAbsent(this.taskItem(task), op));
    await this.putIfAbsent({ ...runIndexKey(createdAt, run.runId), _entity: 'runPointer', runId: run.runId }, op);
    await this.send(
      () =>
        this.client.send(
          new UpdateCommand({
            TableName: this.tableName,
            Key: key,
            UpdateExpression: 'SET #complete = :true',
            ExpressionAttributeNames: { '#complete': '_complete' },
            ExpressionAttributeValues: { ':true': true },
          }),
        ),
      op,
    );
    return created;
  }

  async getRun(runId: string): Promise<Run | undefined> {
    const item = await this.getItem(runKey(runId), 'getRun');
    return item ? stripInternal<Run>(item) : undefined;
  }

  /**
   * Reads the RUNS pointers newest first, then the runs themselves with a consistent BatchGet, so
   * the statuses returned are current. A run appears here once its creation completed.
   */
  async listRuns(options: { limit?: number } = {}): Promise<Run[]> {
    const op = 'listRuns';
    const pointers = await this.queryPartition(RUNS_PARTITION, { newestFirst: true, limit: options.limit }, op);
    const runIds = pointers.map((p) => String(p.runId));
    const items = await this.batchGet(runIds.map(runKey), op);
    const byPk = new Map(items.map((item) => [item.PK, item]));
    return runIds.flatMap((runId) => {
      const item = byPk.get(runPartition(runId));
      return item ? [stripInternal<Run>(item)] : [];
    });
  }

  /** `runId` cannot change; every other defined field of `next` is set, the rest kept. */
  async transitionRun(runId: string, expected: RunStatus, next: Partial<Run> & { status: RunStatus }): Promise<Run> {
    const op = 'transitionRun';
    if (next.runId !== undefined && next.runId !== runId) throw new InvalidJobStoreInputError(`cannot change run id ${runId} to ${next.runId}`);

    const names: Record<string, string> = { '#status': 'status' };
    const values: Record<string, unknown> = { ':status': next.status, ':expected': expected };
    const sets = ['#status = :status'];
    let i = 0;
    for (const [field, value] of Object.entries(next)) {
      if (field === 'status' || field === 'runId' || value === undefined) continue;
      names[`#f${i}`] = field;
      values[`:v${i}`] = value;
      sets.push(`#f${i} = :v${i}`);
      i++;
    }
    try {
      const out = await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: runKey(runId),
          UpdateExpression: `SET ${sets.join(', ')}`,
          ConditionExpression: '#status = :expected',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
          ReturnValues: 'ALL_NEW',
        }),
      );
      return stripInternal<Run>(out.Attributes ?? {});
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw translateSdkError(error, op);
      throw await this.conditionFailure(runKey(runId), 'run', runId, expected, error, op);
    }
  }

  // ---------------------------------------------------------------- tasks

  async listTasks(runId: string): Promise<Task[]> {
    const items = await this.queryPartition(runPartition(runId), { prefix: TASK_PREFIX }, 'listTasks');
    return items.map((item) => stripInternal<Task>(item));
  }

  async getTask(runId: string, taskId: string): Promise<Task | undefined> {
    const item = await this.getItem(taskKey(runId, taskId), 'getTask');
    return item ? stripInternal<Task>(item) : undefined;
  }

  /** The attempt count is kept in an internal `_attemptCount` attribute so the condition can test it. */
  async updateTask(expected: Pick<Task, 'runId' | 'taskId'> & { status: TaskStatus; attempts: number }, next: Task): Promise<Task> {
    const op = 'updateTask';
    if (next.runId !== expected.runId || next.taskId !== expected.taskId) {
      throw new InvalidJobStoreInputError(`update of task ${expected.runId}/${expected.taskId} carries task ${next.runId}/${next.taskId}`);
    }
    const key = taskKey(expected.runId, expected.taskId);
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: this.taskItem(next),
          ConditionExpression: '#status = :status AND #attempts = :attempts',
          ExpressionAttributeNames: { '#status': 'status', '#attempts': '_attemptCount' },
          ExpressionAttributeValues: { ':status': expected.status, ':attempts': expected.attempts },
        }),
      );
      return next;
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw translateSdkError(error, op);
      const label = `${expected.runId}/${expected.taskId}`;
      throw await this.conditionFailure(key, 'task', label, `${expected.status} after ${expected.attempts} attempt(s)`, error, op);
    }
  }

  // ---------------------------------------------------------------- reports

  /**
   * Reports are immutable, so full copies are kept where they are listed: under `REPORT#<id>`
   * (the record, written first and deciding which content wins), in the `REPORTS` partition and in
   * the run's partition. A replay re-puts the copies of the stored record, completing a put that
   * crashed part-way without ever duplicating a report.
   */
  async putReport(report: Report): Promise<void> {
    const op = 'putReport';
    const key = reportKey(report.reportId);
    let stored: Report = report;
    if (!(await this.putIfAbsent({ ...report, ...key, _entity: 'report' }, op))) {
      const item = await this.getItem(key, op);
      if (item) stored = stripInternal<Report>(item);
    }
    await this.putIfAbsent({ ...stored, ...reportIndexKey(stored.publishedAt, stored.reportId), _entity: 'reportCopy' }, op);
    await this.putIfAbsent({ ...stored, ...runReportKey(stored.runId, stored.publishedAt, stored.reportId), _entity: 'reportCopy' }, op);
  }

  async getReport(reportId: string): Promise<Report | undefined> {
    const item = await this.getItem(reportKey(reportId), 'getReport');
    return item ? stripInternal<Report>(item) : undefined;
  }

  /** Newest `publishedAt` first. */
  async listReports(options: { runId?: string; limit?: number } = {}): Promise<Report[]> {
    const items =
      options.runId === undefined
        ? await this.queryPartition(REPORTS_PARTITION, { newestFirst: true, limit: options.limit }, 'listReports')
        : await this.queryPartition(runPartition(options.runId), { prefix: RUN_REPORT_PREFIX, newestFirst: true, limit: options.limit }, 'listReports');
    return items.map((item) => stripInternal<Report>(item));
  }

  // ---------------------------------------------------------------- idempotency records

  async markProcessed(consumer: string, eventId: string): Promise<boolean> {
    return this.putIfAbsent(
      { ...processedKey(consumer, eventId), _entity: 'processedEvent', consumer, eventId, processedAt: this.clock.now().toISOString() },
      'markProcessed',
    );
  }

  async isProcessed(consumer: string, eventId: string): Promise<boolean> {
    return (await this.getItem(processedKey(consumer, eventId), 'isProcessed')) !== undefined;
  }

  // ---------------------------------------------------------------- plumbing

  private taskItem(task: Task): Item {
    return { ...task, ...taskKey(task.runId, task.taskId), _entity: 'task', _attemptCount: task.attempts.length };
  }

  private async claimOf(key: ItemKey, op: string): Promise<{ dataset: string; businessDate: string; version: number } | undefined> {
    const item = await this.getItem(key, op);
    if (!item) return undefined;
    return { dataset: String(item.dataset), businessDate: String(item.businessDate), version: Number(item.version) };
  }

  private async latestVersionNumber(dataset: string, businessDate: string, op: string): Promise<number> {
    const [item] = await this.queryPartition(datasetPartition(dataset, businessDate), { prefix: VERSION_PREFIX, newestFirst: true, limit: 1 }, op);
    return item ? Number(item.version) : 0;
  }

  /** Runs one SDK call, translating its failures. */
  private async send<T>(call: () => Promise<T>, op: string): Promise<T> {
    try {
      return await call();
    } catch (error) {
      throw translateSdkError(error, op);
    }
  }

  /** A conditional write; false when its condition failed. */
  private async conditionalWrite(write: () => Promise<unknown>, op: string): Promise<boolean> {
    try {
      await write();
      return true;
    } catch (error) {
      if (isConditionalCheckFailed(error)) return false;
      throw translateSdkError(error, op);
    }
  }

  /** Puts an item unless one with its key exists; false when it existed (nothing written). */
  private async putIfAbsent(item: Item, op: string): Promise<boolean> {
    return this.conditionalWrite(
      () => this.client.send(new PutCommand({ TableName: this.tableName, Item: item, ConditionExpression: 'attribute_not_exists(PK)' })),
      op,
    );
  }

  private async getItem(key: ItemKey, op: string): Promise<Item | undefined> {
    const out = await this.send(() => this.client.send(new GetCommand({ TableName: this.tableName, Key: key, ConsistentRead: true })), op);
    return out.Item;
  }

  /**
   * DynamoDB does not say which part of a condition failed (and dynalite ignores
   * ReturnValuesOnConditionCheckFailure), so one read tells "gone" from "moved on".
   */
  private async conditionFailure(key: ItemKey, entity: string, label: string, expected: string, cause: unknown, op: string): Promise<Error> {
    const current = await this.getItem(key, op);
    return current ? new StaleStateError(entity, label, expected, { cause }) : new NotFoundError(entity, label);
  }

  private async queryPartition(pk: string, options: { prefix?: string; newestFirst?: boolean; limit?: number }, op: string): Promise<Item[]> {
    const { prefix, newestFirst = false, limit } = options;
    if (limit !== undefined && limit < 1) return [];
    const items: Item[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const out = await this.send(
        () =>
          this.client.send(
            new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: prefix === undefined ? 'PK = :pk' : 'PK = :pk AND begins_with(SK, :prefix)',
          ExpressionAttributeValues: prefix === undefined ? { ':pk': pk } : { ':pk': pk, ':prefix': prefix },
          ConsistentRead: true,
          ScanIndexForward: !newestFirst,
          Limit: limit === undefined ? undefined : Math.ceil(limit) - items.length,
          ExclusiveStartKey: start,
            }),
          ),
        op,
      );
      items.push(...(out.Items ?? []));
      start = out.LastEvaluatedKey;
    } while (start !== undefined && (limit === undefined || items.length < limit));
    return items;
  }

  /** Consistent BatchGet of any number of keys; order of the result is not the order of `keys`. */
  private async batchGet(keys: ItemKey[], op: string): Promise<Item[]> {
    const found: Item[] = [];
    for (let offset = 0; offset < keys.length; offset += BATCH_GET_MAX_KEYS) {
      let pending: Array<Record<string, unknown>> = keys.slice(offset, offset + BATCH_GET_MAX_KEYS);
      for (let round = 0; pending.length > 0; round++) {
        if (round === BATCH_GET_MAX_ROUNDS) throw new StoreUnavailableError(`${pending.length} item(s) stayed unprocessed during ${op}`);
        if (round > 0) await sleep(25 * 2 ** round);
        const out = await this.send(
          () => this.client.send(new BatchGetCommand({ RequestItems: { [this.tableName]: { Keys: pending, ConsistentRead: true } } })),
          op,
        );
        found.push(...(out.Responses?.[this.tableName] ?? []));
        pending = out.UnprocessedKeys?.[this.tableName]?.Keys ?? [];
      }
    }
    return found;
  }
}

/** Runs `fn` over `items` with at most `limit` in flight; stops starting new ones after a failure. */
async function forEachLimit<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  let failed = false;
  const worker = async (): Promise<void> => {
    while (!failed && next < items.length) {
      const item = items[next++];
      try {
        await fn(item);
      } catch (error) {
        failed = true;
        throw error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
