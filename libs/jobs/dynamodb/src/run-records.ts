import {
  IllegalTransitionError,
  NotFoundError,
  RUN_STATUSES,
  StaleStateError,
  attemptOf,
  canTransitionRun,
  isTerminalRunStatus,
  type OutboxEntry,
  type Page,
  type Run,
  type RunExpectation,
  type RunQuery,
  type RunRetry,
  type RunStatus,
  type StepExecution,
} from '@nightshift/jobs-domain';
import { UpdateBuilder, forEachLimit, type DynamoTable, type Item } from './dynamo-table.js';
import { InvalidJobStoreInputError } from './errors.js';
import { listIndex } from './index-listing.js';
import { OPEN_RUNS_PARTITION, openRunKey, runKey, stripInternal } from './keys.js';
import { cutPage, decodeToken, pageLimit, withToken } from './page-token.js';
import { INDEXED_RUN_FIELDS, runListing, runPointers } from './run-query.js';
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
/** Entries of one transition are ordered by index below this; transitions by attempt and status above it. */
const ENTRIES_PER_TRANSITION = 1_000_000;
const ORDER = '_order';
/** The attempt an OPEN_RUNS pointer lists the run at (absent on pointers written before retries: attempt 1). */
const POINTER_ATTEMPT = 'attempt';
/** Fields a retry sets itself (or removes), never from `next`. */
const RETRY_OWNED_FIELDS = ['runId', 'status', 'attempt', 'outbox', 'finishedAt', 'reason'] as const;

export class RunRecords {
  constructor(
    private readonly table: DynamoTable,
    private readonly steps: StepRecords,
    private readonly writeConcurrency: number,
  ) {}

  /**
   * Run item first (`_complete: false`; attribute_not_exists decides who created the run), then
   * each step with a conditional put, the OPEN_RUNS pointer, the RUNS pointers (all runs, its
   * tenant's, its dataset version's; see `runPointers`), and `_complete`.
   * A replay after a crash in between finds `_complete` false and puts what is missing, never
   * overwriting an item that exists (it may have moved on since).
   */
  async create(run: Run, steps: StepExecution[]): Promise<boolean> {
    const op = 'createRun';
    checkSteps(run, steps);
    checkOutbox(run.runId, run.outbox ?? []);

    const key = runKey(run.runId);
    const { outbox, ...fields } = run;
    const item = { ...fields, outbox: outboxMap(outbox ?? [], run.status, attemptOf(run)), ...key, _entity: 'run', _complete: false };
    const created = await this.table.putIfAbsent(item, op);
    // The pointers carry the stored run's fields: a replay may be of the same run id only.
    let indexed = run;
    if (!created) {
      const stored = await this.table.get(key, op);
      if (stored?._complete === true) return false;
      if (stored) indexed = toRun(stored);
    }

    await forEachLimit(steps, this.writeConcurrency, (step) => this.table.putIfAbsent(this.steps.item(step), op));
    if (!isClosed(run)) await this.listAsOpen(run.runId, attemptOf(run), op);
    for (const pointer of runPointers(indexed, indexed.createdAt)) await this.table.putIfAbsent(pointer, op);
    await this.table.update(new UpdateBuilder().set('_complete', true).build(key, undefined, 'NONE'), op);
    return created;
  }

  async get(runId: string): Promise<Run | undefined> {
    const item = await this.table.get(runKey(runId), 'getRun');
    return item ? toRun(item) : undefined;
  }

  /**
   * Pointers of the query's index (see `runListing`) newest first, filtered on what they carry,
   * then a consistent BatchGet of the runs, checked on every field (see `listIndex`). A run is
   * listed once its steps exist.
   */
  async list(query: RunQuery): Promise<Page<Run>> {
    const op = 'listRuns';
    const limit = pageLimit(query.limit, LIST_RUNS_DEFAULT, LIST_RUNS_MAX, op);
    const { pk, scope, filter, matches } = runListing(query);
    return listIndex(this.table, {
      op,
      pk,
      limit,
      ...(query.nextToken === undefined ? {} : { nextToken: query.nextToken }),
      ...(scope === undefined ? {} : { scope }),
      ...(filter ? { filter } : {}),
      resolve: async (pointers) => {
        const runs = await this.runsOf(pointers, op);
        return pointers.map((pointer) => {
          const run = runs.get(String(pointer.runId));
          return run && matches(run) ? run : undefined;
        });
      },
    });
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
    const stale: Array<{ runId: string; closed?: Run }> = [];
    for (const pointer of page.items) {
      const run = runs.get(String(pointer.runId));
      if (run && !isClosed(run)) open.push(run);
      else stale.push(run ? { runId: run.runId, closed: run } : { runId: String(pointer.runId) });
    }
    // A closed run's pointer goes for the attempt the run was read at only: a retry may have
    // reopened the run since and listed its next attempt, and that pointer must stay.
    await forEachLimit(stale, this.writeConcurrency, ({ runId, closed }) =>
      closed ? this.unlistOpen(runId, attemptOf(closed), op) : this.table.delete(openRunKey(runId), op),
    );
    return withToken(open, page.next);
  }

  /**
   * One UpdateItem conditioned on `status = expected` (and on the attempt, when expected names
   * one): the fields of `next` and the new outbox entries together. `next.outbox` is refused:
   * entries are appended through `outbox` only, and leave through settleOutbox. Entries are ordered
   * by attempt: given a bare status, the stored attempt is read first and the write conditioned on
   * it (the engine always names the attempt, so never pays that read).
   */
  async transition(runId: string, expected: RunStatus | RunExpectation, next: Partial<Run> & { status: RunStatus }, outbox: readonly OutboxEntry[]): Promise<Run> {
    const op = 'transitionRun';
    const expectedStatus = typeof expected === 'string' ? expected : expected.status;
    if (next.runId !== undefined && next.runId !== runId) throw new InvalidJobStoreInputError(`cannot change run id ${runId} to ${next.runId}`);
    if (next.outbox !== undefined) throw new InvalidJobStoreInputError(`transition of run ${runId} carries next.outbox; pass outbox entries as transitionRun's outbox argument`);
    if (next.attempt !== undefined) throw new InvalidJobStoreInputError(`transition of run ${runId} sets its attempt; only retryRun starts an attempt`);
    const indexedField = INDEXED_RUN_FIELDS.find((field) => field !== 'runId' && next[field] !== undefined);
    if (indexedField) throw new InvalidJobStoreInputError(`transition of run ${runId} changes ${indexedField}, which the run's index pointers carry`);
    if (!canTransitionRun(expectedStatus, next.status)) throw new IllegalTransitionError('run', expectedStatus, next.status);
    checkOutbox(runId, outbox);
    if (typeof expected !== 'string') checkAttempt(runId, expected.attempt);

    const key = runKey(runId);
    let attempt = typeof expected === 'string' ? undefined : expected.attempt;
    if (attempt === undefined && outbox.length > 0) {
      const stored = await this.table.get(key, op, ['attempt']);
      if (!stored) throw new NotFoundError('run', runId);
      attempt = attemptOf(stored as Pick<Run, 'attempt'>);
    }
    const b = new UpdateBuilder();
    for (const [field, value] of Object.entries(next)) {
      if (value === undefined || field === 'runId' || field === 'PK' || field === 'SK' || field.startsWith('_')) continue;
      b.set(field, value);
    }
    for (const [id, entry] of Object.entries(outboxMap(outbox, next.status, attempt ?? 1))) b.set(['outbox', id], entry);
    const condition = `${b.name('status')} = ${b.value(expectedStatus)}${attempt === undefined ? '' : ` AND ${attemptCondition(b, attempt)}`}`;
    const outcome = await this.table.update(b.build(key, condition, 'ALL_NEW'), op);
    if (!outcome.applied) {
      throw await this.table.conditionFailure(key, 'run', runId, attempt === undefined ? expectedStatus : `${expectedStatus} at attempt ${attempt}`, outcome.cause, op);
    }
    return toRun(outcome.attributes);
  }

  /**
   * One UpdateItem conditioned on FAILED at `expectedAttempt` with an empty outbox: RUNNING at the
   * next attempt, the fields of `next`, the deadline replaced, `finishedAt` and `reason` removed.
   * Then the OPEN_RUNS pointer of the new attempt. A replay (the run already at that attempt by the
   * same retry event) only lists it again, so a crash between the two writes loses nothing.
   */
  async retry(runId: string, expectedAttempt: number, next: RunRetry): Promise<Run> {
    const op = 'retryRun';
    checkAttempt(runId, expectedAttempt);
    if (typeof next.retryEventId !== 'string' || next.retryEventId === '') throw new InvalidJobStoreInputError(`retry of run ${runId} names no retry event`);
    const owned = RETRY_OWNED_FIELDS.find((field) => (next as Partial<Run>)[field] !== undefined);
    if (owned) throw new InvalidJobStoreInputError(`retry of run ${runId} sets ${owned}, which retryRun sets itself`);
    const indexedField = INDEXED_RUN_FIELDS.find((field) => (next as Partial<Run>)[field] !== undefined);
    if (indexedField) throw new InvalidJobStoreInputError(`retry of run ${runId} changes ${indexedField}, which the run's index pointers carry`);
    if (!canTransitionRun('FAILED', 'RUNNING', 'retry')) throw new IllegalTransitionError('run', 'FAILED', 'RUNNING');

    const attempt = expectedAttempt + 1;
    const b = new UpdateBuilder();
    for (const [field, value] of Object.entries(next)) {
      if (value === undefined || field === 'PK' || field === 'SK' || field.startsWith('_')) continue;
      b.set(field, value);
    }
    b.set('status', 'RUNNING').set('attempt', attempt).remove('finishedAt').remove('reason');
    if (next.deadline === undefined) b.remove('deadline');
    const o = b.name('outbox');
    const condition = `${b.name('status')} = ${b.value('FAILED')} AND ${attemptCondition(b, expectedAttempt)} AND (attribute_not_exists(${o}) OR size(${o}) = ${b.value(0)})`;
    const key = runKey(runId);
    const outcome = await this.table.update(b.build(key, condition, 'ALL_NEW'), op);
    let run: Run;
    if (outcome.applied) {
      run = toRun(outcome.attributes);
    } else {
      const stored = await this.get(runId);
      if (!stored) throw new NotFoundError('run', runId);
      if (stored.retryEventId !== next.retryEventId || attemptOf(stored) !== attempt) {
        throw new StaleStateError('run', runId, `FAILED at attempt ${expectedAttempt} with its outbox drained`, { cause: outcome.cause });
      }
      run = stored;
    }
    if (!isClosed(run)) await this.listAsOpen(runId, attemptOf(run), op);
    return run;
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
    if (isClosed(run)) await this.unlistOpen(runId, attemptOf(run), op);
    return run;
  }

  /**
   * Lists the run as open at `attempt`. A pointer never goes back to an earlier attempt, and is
   * removed only by a caller that saw the run closed at the pointer's attempt or a later one (see
   * `unlistOpen`): so a retry's pointer survives any removal decided on the attempt before.
   */
  private async listAsOpen(runId: string, attempt: number, op: string): Promise<void> {
    const item = { ...openRunKey(runId), _entity: 'openRunPointer', runId, [POINTER_ATTEMPT]: attempt };
    await this.table.putIf(item, pointerAttemptAtMost(attempt), op);
  }

  /** Removes the OPEN_RUNS pointer of a run seen closed at `attempt`, unless it lists a later attempt. */
  private async unlistOpen(runId: string, attempt: number, op: string): Promise<void> {
    await this.table.deleteIf(openRunKey(runId), pointerAttemptAtMost(attempt), op);
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
 * The stored form of entries written by a transition to (or a creation in) `status` during the
 * run's attempt `attempt`. Their order is the attempt, then the status's position in RUN_STATUSES,
 * then their index: within an attempt a run reaches each status at most once and only moves
 * forward in that list (this lib's spec checks it), and only a retry starts the next attempt, so
 * that is insertion order without reading the run or trusting clocks.
 */
function outboxMap(entries: readonly OutboxEntry[], status: RunStatus, attempt: number): Record<string, Item> {
  const base = ((attempt - 1) * RUN_STATUSES.length + RUN_STATUSES.indexOf(status)) * ENTRIES_PER_TRANSITION;
  return Object.fromEntries(entries.map((entry, i) => [entry.id, { ...entry, [ORDER]: base + i }]));
}

/** `attempt = :n`, where a run without the attribute is at attempt 1. */
function attemptCondition(b: UpdateBuilder, attempt: number): string {
  const a = b.name('attempt');
  return attempt === 1 ? `(attribute_not_exists(${a}) OR ${a} = ${b.value(1)})` : `${a} = ${b.value(attempt)}`;
}

/** An OPEN_RUNS pointer at `attempt` or an earlier one (a pointer without an attempt is of attempt 1). */
function pointerAttemptAtMost(attempt: number): { expression: string; names: Record<string, string>; values: Record<string, unknown> } {
  return { expression: 'attribute_not_exists(#attempt) OR #attempt <= :attempt', names: { '#attempt': POINTER_ATTEMPT }, values: { ':attempt': attempt } };
}

function checkAttempt(runId: string, attempt: number): void {
  if (!Number.isSafeInteger(attempt) || attempt < 1) throw new InvalidJobStoreInputError(`attempt ${attempt} of run ${runId} is not a positive integer`);
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
