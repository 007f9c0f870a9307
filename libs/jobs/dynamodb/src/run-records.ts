import {
  IllegalTransitionError,
  NotFoundError,
  RUN_STATUSES,
  canTransitionRun,
  isTerminalRunStatus,
  tenantOf,
  type OutboxEntry,
  type Page,
  type Run,
  type RunStatus,
  type StepExecution,
} from '@nightshift/jobs-domain';
import { UpdateBuilder, forEachLimit, type DynamoTable, type Item } from './dynamo-table.js';
import { InvalidJobStoreInputError } from './errors.js';
import { OPEN_RUNS_PARTITION, RUNS_PARTITION, openRunKey, runIndexKey, runKey, stripInternal, tenantRunIndexKey, tenantRunsPartition } from './keys.js';
import { cutPage, decodeToken, pageLimit, withToken } from './page-token.js';
import type { StepRecords } from './step-records.js';

/*
 * Runs, their outbox and the run indexes (RUNS and one per tenant for listRuns, OPEN_RUNS for listOpenRuns).
 *
 * The outbox is stored as a map attribute `outbox` keyed by entry id, so that a transition appends
 * entries (`SET outbox.#id = :entry`) and settling removes them (`REMOVE outbox.#id`) inside the
 * one conditional write, without reading the run. The map exists from createRun on (an update
 * cannot SET a path inside a map that does not exist). Each stored entry carries `_order` so the
 * domain's array comes back in insertion order (see `outboxOrder`).
 */

const LIST_RUNS_DEFAULT = 50;
const LIST_RUNS_MAX = 500;
/** Entries of one transition are ordered by index below this; transitions by status above it. */
const ENTRIES_PER_TRANSITION = 1_000_000;
const ORDER = '_order';

export class RunRecords {
  constructor(
    private readonly table: DynamoTable,
    private readonly steps: StepRecords,
    private readonly writeConcurrency: number,
  ) {}

  /**
   * Run item first (`_complete: false`; attribute_not_exists decides who created the run), then
   * each step with a conditional put, the OPEN_RUNS pointer, the RUNS pointer, and `_complete`.
   * A replay after a crash in between finds `_complete` false and puts what is missing, never
   * overwriting an item that exists (it may have moved on since).
   */
  async create(run: Run, steps: StepExecution[]): Promise<boolean> {
    const op = 'createRun';
    checkSteps(run, steps);
    checkOutbox(run.runId, run.outbox ?? []);

    const key = runKey(run.runId);
    const { outbox, ...fields } = run;
    const item = { ...fields, outbox: outboxMap(outbox ?? [], run.status), ...key, _entity: 'run', _complete: false };
    const created = await this.table.putIfAbsent(item, op);
    let createdAt = run.createdAt;
    if (!created) {
      const stored = await this.table.get(key, op, ['_complete', 'createdAt']);
      if (stored?._complete === true) return false;
      if (typeof stored?.createdAt === 'string') createdAt = stored.createdAt;
    }

    await forEachLimit(steps, this.writeConcurrency, (step) => this.table.putIfAbsent(this.steps.item(step), op));
    if (!isClosed(run)) await this.table.putIfAbsent({ ...openRunKey(run.runId), _entity: 'openRunPointer', runId: run.runId }, op);
    await this.table.putIfAbsent({ ...runIndexKey(createdAt, run.runId), _entity: 'runPointer', runId: run.runId }, op);
    await this.table.putIfAbsent({ ...tenantRunIndexKey(tenantOf(run), createdAt, run.runId), _entity: 'runPointer', runId: run.runId }, op);
    await this.table.update(new UpdateBuilder().set('_complete', true).build(key, undefined, 'NONE'), op);
    return created;
  }

  async get(runId: string): Promise<Run | undefined> {
    const item = await this.table.get(runKey(runId), 'getRun');
    return item ? toRun(item) : undefined;
  }

  /**
   * RUNS pointers (or the tenant's copy of them) newest first, then a consistent BatchGet of the
   * runs. A run is listed once its steps exist.
   */
  async list(options: { tenant?: string; limit?: number; nextToken?: string }): Promise<Page<Run>> {
    const op = 'listRuns';
    const limit = pageLimit(options.limit, LIST_RUNS_DEFAULT, LIST_RUNS_MAX, op);
    const pk = options.tenant === undefined ? RUNS_PARTITION : tenantRunsPartition(options.tenant);
    const startKey = options.nextToken === undefined ? undefined : decodeToken(options.nextToken, op, pk);
    const page = cutPage(await this.table.queryPage(pk, { newestFirst: true, limit: limit + 1, startKey }, op), limit);
    const runs = await this.runsOf(page.items, op);
    return withToken(
      page.items.flatMap((pointer) => runs.get(String(pointer.runId)) ?? []),
      page.next,
    );
  }

  /**
   * OPEN_RUNS pointers (by run id), then the runs. Pointers of closed runs (terminal, outbox empty)
   * are skipped and deleted on the way, so a page may hold fewer runs than `limit`, even none,
   * and still have a `nextToken`.
   */
  async listOpen(options: { limit?: number; nextToken?: string }): Promise<Page<Run>> {
    const op = 'listOpenRuns';
    const limit = pageLimit(options.limit, LIST_RUNS_DEFAULT, LIST_RUNS_MAX, op);
    const startKey = options.nextToken === undefined ? undefined : decodeToken(options.nextToken, op, OPEN_RUNS_PARTITION);
    const page = cutPage(await this.table.queryPage(OPEN_RUNS_PARTITION, { limit: limit + 1, startKey }, op), limit);
    const runs = await this.runsOf(page.items, op);
    const open: Run[] = [];
    const stale: string[] = [];
    for (const pointer of page.items) {
      const run = runs.get(String(pointer.runId));
      if (run && !isClosed(run)) open.push(run);
      else stale.push(String(pointer.runId));
    }
    // A closed run never reopens (terminal statuses are final, and only transitions append), so
    // its pointer can go without a condition.
    await forEachLimit(stale, this.writeConcurrency, (runId) => this.table.delete(openRunKey(runId), op));
    return withToken(open, page.next);
  }

  /**
   * One UpdateItem conditioned on `status = expected`: the fields of `next` and the new outbox
   * entries together. `next.outbox` is refused: entries are appended through `outbox` only, and
   * leave through settleOutbox.
   */
  async transition(runId: string, expected: RunStatus, next: Partial<Run> & { status: RunStatus }, outbox: readonly OutboxEntry[]): Promise<Run> {
    const op = 'transitionRun';
    if (next.runId !== undefined && next.runId !== runId) throw new InvalidJobStoreInputError(`cannot change run id ${runId} to ${next.runId}`);
    if (next.outbox !== undefined) throw new InvalidJobStoreInputError(`transition of run ${runId} carries next.outbox; pass outbox entries as transitionRun's outbox argument`);
    if (!canTransitionRun(expected, next.status)) throw new IllegalTransitionError('run', expected, next.status);
    checkOutbox(runId, outbox);

    const b = new UpdateBuilder();
    for (const [field, value] of Object.entries(next)) {
      if (value === undefined || field === 'runId' || field === 'PK' || field === 'SK' || field.startsWith('_')) continue;
      b.set(field, value);
    }
    for (const [id, entry] of Object.entries(outboxMap(outbox, next.status))) b.set(['outbox', id], entry);
    const key = runKey(runId);
    const outcome = await this.table.update(b.build(key, `${b.name('status')} = ${b.value(expected)}`, 'ALL_NEW'), op);
    if (!outcome.applied) throw await this.table.conditionFailure(key, 'run', runId, expected, outcome.cause, op);
    return toRun(outcome.attributes);
  }

  /** REMOVE of the entries (absent ones are no-ops); a closed run then leaves the open-run index. */
  async settle(runId: string, entryIds: readonly string[]): Promise<Run> {
    const op = 'settleOutbox';
    const key = runKey(runId);
    const ids = [...new Set(entryIds)];
    let item: Item | undefined;
    if (ids.length === 0) {
      item = await this.table.get(key, op);
    } else {
      const b = new UpdateBuilder();
      for (const id of ids) b.remove(['outbox', id]);
      const outcome = await this.table.update(b.build(key, 'attribute_exists(PK)', 'ALL_NEW'), op);
      item = outcome.applied ? outcome.attributes : undefined;
    }
    if (!item) throw new NotFoundError('run', runId);
    const run = toRun(item);
    if (isClosed(run)) await this.table.delete(openRunKey(runId), op);
    return run;
  }

  private async runsOf(pointers: Item[], op: string): Promise<Map<string, Run>> {
    const items = await this.table.batchGet(
      pointers.map((p) => runKey(String(p.runId))),
      op,
    );
    return new Map(items.map((item) => [String(item.runId), toRun(item)]));
  }
}

/** A run is closed, and leaves the open-run index, when it is terminal and its outbox is drained. */
function isClosed(run: Run): boolean {
  return isTerminalRunStatus(run.status) && (run.outbox ?? []).length === 0;
}

/** The domain's run: internal attributes dropped, the outbox map as an array in insertion order (absent when empty). */
function toRun(item: Item): Run {
  const { outbox, ...run } = stripInternal<Run & { outbox?: unknown }>(item);
  const entries = Object.values((outbox ?? {}) as Record<string, Item>)
    .sort((a, b) => Number(a[ORDER]) - Number(b[ORDER]) || String(a.id).localeCompare(String(b.id)))
    .map(({ [ORDER]: _order, ...entry }) => entry as OutboxEntry);
  return entries.length > 0 ? { ...run, outbox: entries } : run;
}

/**
 * The stored form of entries written by a transition to (or a creation in) `status`. Their order
 * is the status's position in RUN_STATUSES, then their index: a run reaches each status at most
 * once and only moves forward in that list (this lib's spec checks it), so that is
 * insertion order without reading the run or trusting clocks.
 */
function outboxMap(entries: readonly OutboxEntry[], status: RunStatus): Record<string, Item> {
  const base = RUN_STATUSES.indexOf(status) * ENTRIES_PER_TRANSITION;
  return Object.fromEntries(entries.map((entry, i) => [entry.id, { ...entry, [ORDER]: base + i }]));
}

function checkOutbox(runId: string, entries: readonly OutboxEntry[]): void {
  if (entries.length >= ENTRIES_PER_TRANSITION) throw new InvalidJobStoreInputError(`too many outbox entries for run ${runId}`);
  const ids = new Set<string>();
  for (const entry of entries) {
    if (typeof entry.id !== 'string' || entry.id === '') throw new InvalidJobStoreInputError(`an outbox entry of run ${runId} has no id`);
    if (ids.has(entry.id)) throw new InvalidJobStoreInputError(`outbox entry ${entry.id} appears twice in one write to run ${runId}`);
    ids.add(entry.id);
  }
}

function checkSteps(run: Run, steps: readonly StepExecution[]): void {
  const names = new Set<string>();
  for (const step of steps) {
    if (step.runId !== run.runId) throw new InvalidJobStoreInputError(`step ${step.step} belongs to run ${step.runId}, not ${run.runId}`);
    if (names.has(step.step)) throw new InvalidJobStoreInputError(`step ${step.step} appears twice in run ${run.runId}`);
    if (step.step === '' || step.step.includes('#')) throw new InvalidJobStoreInputError(`step name "${step.step}" of run ${run.runId} is empty or contains "#"`);
    if (!Number.isInteger(step.size) || step.size < 0) throw new InvalidJobStoreInputError(`step ${step.step} of run ${run.runId} has size ${step.size}`);
    names.add(step.step);
  }
}

/**
 * Keeps the first `limit` items of a page read with `limit + 1`: the extra item says whether a next
 * page exists, so the last page carries no token (no empty trailing page).
 */
