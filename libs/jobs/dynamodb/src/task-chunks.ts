import {
  IllegalTransitionError,
  NotFoundError,
  StaleStateError,
  canTransitionStep,
  isTerminalTaskStatus,
  taskProgress,
  type Page,
  type StepExecution,
  type Task,
  type TaskWrite,
  type TaskWriteResult,
} from '@nightshift/jobs-domain';
import { UpdateBuilder, type DynamoTable, type Item } from './dynamo-table.js';
import { InvalidJobStoreInputError } from './errors.js';
import {
  CHUNK_FAILED,
  CHUNK_SIZE_ATTRIBUTE,
  CHUNK_SUCCEEDED,
  FINISHED_PROGRESS,
  TASK_CHUNK_PREFIX,
  TASK_CHUNK_SIZE,
  chunkOfKey,
  chunkSize,
  runPartition,
  slotAttributes,
  taskChunkKey,
  taskChunkPrefix,
  taskSlot,
} from './keys.js';
import { decodeToken, encodeToken, pageLimit, type PageCursor } from './page-token.js';
import type { StepRecords } from './step-records.js';

/*
 * Task records, 25 array children to an item (see TASK_CHUNK_SIZE and the README). A task write is
 * one UpdateItem on its chunk, conditioned on the slot's stored progress and jobId, that also
 * counts the task in the chunk when it finishes (`ok` / `ko`). The write that finishes the chunk's
 * last task folds the chunk's counts into the step with a second write, made once by a flag on
 * the step. A crash between the two leaves a finished, unfolded chunk: the next write that reaches
 * the chunk (a redelivery of the same event, which is then stale) or foldStepCounts folds it.
 */

const LIST_TASKS_DEFAULT = 500;
const LIST_TASKS_MAX = 5_000;
/** Each current job id adds a term to the write's condition, and DynamoDB caps an expression at 4 KB. */
const MAX_CURRENT_JOB_IDS = 50;

export class TaskChunks {
  constructor(
    private readonly table: DynamoTable,
    private readonly steps: StepRecords,
  ) {}

  async record(write: TaskWrite): Promise<TaskWriteResult> {
    const op = 'recordTask';
    const { task, stepSize, currentJobIds } = write;
    checkTask(task, stepSize, op);
    if (currentJobIds.length > MAX_CURRENT_JOB_IDS) throw new InvalidJobStoreInputError(`${op} of ${label(task)}: at most ${MAX_CURRENT_JOB_IDS} current job ids`);
    const { chunk, slot } = taskSlot(task.arrayIndex);
    const key = taskChunkKey(task.runId, task.step, chunk);
    const attrs = slotAttributes(slot);

    const b = slotWrite(task, slot, chunkSize(stepSize, chunk));
    const condition = forwardCondition(b, attrs, storedProgress(task), [...new Set(currentJobIds)]);
    const outcome = await this.table.update(b.build(key, condition, 'UPDATED_NEW'), op);
    if (outcome.applied) {
      const step = isTerminalTaskStatus(task.status) ? await this.foldIfFinished(task, chunk, outcome.attributes, op) : undefined;
      return result(true, task, step);
    }

    // Nothing written. This may be a redelivery of a write whose fold an earlier, interrupted call
    // never made: look at the chunk, and fold it if it is finished (the fold is once-only anyway).
    const stored = await this.table.get(key, op, [CHUNK_SUCCEEDED, CHUNK_FAILED, CHUNK_SIZE_ATTRIBUTE, attrs.task]);
    const step = stored ? await this.foldIfFinished(task, chunk, stored, op) : undefined;
    return result(false, (stored?.[attrs.task] as Task | undefined) ?? task, step);
  }

  async claim(expected: Task | undefined, next: Task, stepSize: number): Promise<TaskWriteResult> {
    const op = 'claimTask';
    checkTask(next, stepSize, op);
    if (expected && (expected.runId !== next.runId || expected.step !== next.step || expected.arrayIndex !== next.arrayIndex)) {
      throw new InvalidJobStoreInputError(`claim of ${label(expected)} carries task ${label(next)}`);
    }
    // A finished task has been counted; replacing it could count it twice.
    if (expected && isTerminalTaskStatus(expected.status)) throw new IllegalTransitionError('task', expected.status, next.status);
    const { chunk, slot } = taskSlot(next.arrayIndex);
    const attrs = slotAttributes(slot);

    const b = slotWrite(next, slot, chunkSize(stepSize, chunk));
    const [p, j] = [b.name(attrs.progress), b.name(attrs.jobId)];
    const condition =
      expected === undefined
        ? `attribute_not_exists(${p})`
        : `${p} = ${b.value(storedProgress(expected))} AND ${expected.jobId === undefined ? `attribute_not_exists(${j})` : `${j} = ${b.value(expected.jobId)}`}`;
    const outcome = await this.table.update(b.build(taskChunkKey(next.runId, next.step, chunk), condition, 'UPDATED_NEW'), op);
    if (!outcome.applied) {
      const was = expected === undefined ? 'unrecorded' : `${expected.status} after ${expected.attempts.length} attempt(s)${expected.jobId ? ` under job ${expected.jobId}` : ''}`;
      throw new StaleStateError('task', label(next), was, { cause: outcome.cause });
    }
    const step = isTerminalTaskStatus(next.status) ? await this.foldIfFinished(next, chunk, outcome.attributes, op) : undefined;
    return result(true, next, step);
  }

  /**
   * Reopens a FAILED task for a retry: one UpdateItem on its chunk conditioned on the slot holding
   * that task as read (finished, FAILED, same job and attempts), writing `next` (unfinished) and
   * taking the task out of the chunk's failed count (`ko`). The chunk is then no longer complete,
   * so `retryStep` unfolds it and the write that finishes its last task folds it again.
   */
  async reopen(expected: Task, next: Task, stepSize: number): Promise<TaskWriteResult> {
    const op = 'reopenTask';
    checkTask(next, stepSize, op);
    if (expected.runId !== next.runId || expected.step !== next.step || expected.arrayIndex !== next.arrayIndex) {
      throw new InvalidJobStoreInputError(`reopening of ${label(expected)} carries task ${label(next)}`);
    }
    if (expected.status !== 'FAILED' || isTerminalTaskStatus(next.status)) throw new IllegalTransitionError('task', expected.status, next.status);
    const { chunk, slot } = taskSlot(next.arrayIndex);
    const attrs = slotAttributes(slot);

    const b = slotWrite(next, slot, chunkSize(stepSize, chunk)).add(CHUNK_FAILED, -1);
    const [t, p, j] = [b.name(attrs.task), b.name(attrs.progress), b.name(attrs.jobId)];
    const condition = [
      `${p} = ${b.value(FINISHED_PROGRESS)}`,
      `${t}.${b.name('status')} = ${b.value('FAILED')}`,
      `size(${t}.${b.name('attempts')}) = ${b.value(expected.attempts.length)}`,
      expected.jobId === undefined ? `attribute_not_exists(${j})` : `${j} = ${b.value(expected.jobId)}`,
    ].join(' AND ');
    const outcome = await this.table.update(b.build(taskChunkKey(next.runId, next.step, chunk), condition, 'UPDATED_NEW'), op);
    if (!outcome.applied) {
      const was = `FAILED after ${expected.attempts.length} attempt(s)${expected.jobId ? ` under job ${expected.jobId}` : ''}`;
      throw new StaleStateError('task', label(next), was, { cause: outcome.cause });
    }
    return result(true, next, undefined);
  }

  /**
   * Reopens a step for a retry, recounted from its chunks (see StepRecords.reopen): reads the step
   * with its fold flags and the step's chunk counters; a folded chunk whose tasks are no longer all
   * finished (one reopened) is unfolded, and the counts become those of the chunks that stay folded.
   */
  async retryStep(expectedVersion: number, next: StepExecution): Promise<StepExecution> {
    const op = 'retryStep';
    const name = `${next.runId}/${next.step}`;
    const stored = await this.steps.withFolds(next.runId, next.step, op);
    if (!stored) throw new NotFoundError('step', name);
    if (stored.step.version !== expectedVersion) throw new StaleStateError('step', name, `at version ${expectedVersion}`);
    if (!canTransitionStep(stored.step.status, next.status, 'retry')) throw new IllegalTransitionError(`step ${name}`, stored.step.status, next.status);
    const chunks = await this.table.queryAll(
      runPartition(next.runId),
      { prefix: taskChunkPrefix(next.step), attributes: ['SK', CHUNK_SUCCEEDED, CHUNK_FAILED, CHUNK_SIZE_ATTRIBUTE] },
      op,
    );
    const counters = new Map(chunks.map((c) => [chunkOfKey(String(c.SK)), c]));
    const recount = { succeeded: 0, failed: 0, unfold: [] as number[] };
    for (const n of stored.folded) {
      const c = counters.get(n);
      const [ok, ko, size] = [Number(c?.[CHUNK_SUCCEEDED] ?? 0), Number(c?.[CHUNK_FAILED] ?? 0), Number(c?.[CHUNK_SIZE_ATTRIBUTE] ?? Number.NaN)];
      if (size > 0 && ok + ko >= size) {
        recount.succeeded += ok;
        recount.failed += ko;
      } else recount.unfold.push(n);
    }
    return this.steps.reopen(expectedVersion, next, recount);
  }

  async get(runId: string, step: string, arrayIndex: number): Promise<Task | undefined> {
    if (!Number.isInteger(arrayIndex) || arrayIndex < 0) throw new InvalidJobStoreInputError(`task index ${arrayIndex} of ${runId}/${step} is not a non-negative integer`);
    const { chunk, slot } = taskSlot(arrayIndex);
    const { task } = slotAttributes(slot);
    const item = await this.table.get(taskChunkKey(runId, step, chunk), 'getTask', [task]);
    return item?.[task] as Task | undefined;
  }

  /**
   * Chunks in sort-key order (step, then chunk number), slots in order: step then array index.
   * The page holds `limit` tasks exactly; the token names the chunk and slot where the next starts.
   */
  async list(runId: string, options: { step?: string; limit?: number; nextToken?: string }): Promise<Page<Task>> {
    const op = 'listTasks';
    const limit = pageLimit(options.limit, LIST_TASKS_DEFAULT, LIST_TASKS_MAX, op);
    const pk = runPartition(runId);
    const prefix = options.step === undefined ? TASK_CHUNK_PREFIX : taskChunkPrefix(options.step);
    const cursor = options.nextToken === undefined ? undefined : decodeToken(options.nextToken, op, pk, { prefix, slots: TASK_CHUNK_SIZE });

    const tasks: Task[] = [];
    let next: PageCursor | undefined;
    /** Takes the chunk's tasks from `from` on; sets `next` (and stops) at the first task beyond the page. */
    const take = (chunk: Item, from: number): void => {
      for (let slot = from; slot < TASK_CHUNK_SIZE && next === undefined; slot++) {
        const task = chunk[slotAttributes(slot).task] as Task | undefined;
        if (task === undefined) continue;
        if (tasks.length === limit) next = { PK: pk, SK: String(chunk.SK), slot };
        else tasks.push(task);
      }
    };

    let startKey: Item | undefined;
    if (cursor) {
      const resumed = await this.table.get({ PK: cursor.PK, SK: cursor.SK }, op);
      if (resumed) take(resumed, cursor.slot ?? 0);
      startKey = { PK: cursor.PK, SK: cursor.SK };
    }
    // Chunks hold at least one task each (one exists only once a task was written to it), so
    // reading one chunk more than the page needs finds out whether another page follows.
    let more = true;
    while (next === undefined && more) {
      const wanted = Math.ceil((limit - tasks.length) / TASK_CHUNK_SIZE) + 1;
      const page = await this.table.queryPage(pk, { prefix, limit: wanted, startKey }, op);
      for (const chunk of page.items) {
        if (next !== undefined) break;
        take(chunk, 0);
      }
      startKey = page.lastKey;
      more = startKey !== undefined;
    }
    return next === undefined ? { items: tasks } : { items: tasks, nextToken: encodeToken(next) };
  }

  /** Reads the step's chunk counters and folds every finished chunk the step has not counted. */
  async fold(runId: string, step: string): Promise<StepExecution> {
    const op = 'foldStepCounts';
    const folded = await this.steps.foldedChunks(runId, step, op);
    if (!folded) throw new NotFoundError('step', `${runId}/${step}`);
    const chunks = await this.table.queryAll(runPartition(runId), { prefix: taskChunkPrefix(step), attributes: ['SK', CHUNK_SUCCEEDED, CHUNK_FAILED, CHUNK_SIZE_ATTRIBUTE] }, op);
    for (const chunk of chunks) {
      const n = chunkOfKey(String(chunk.SK));
      if (!folded.has(n)) await this.foldChunkIfFinished(runId, step, n, chunk, op);
    }
    const after = await this.steps.get(runId, step);
    if (!after) throw new NotFoundError('step', `${runId}/${step}`);
    return after;
  }

  private foldIfFinished(task: Task, chunk: number, counters: Item, op: string): Promise<StepExecution | undefined> {
    return this.foldChunkIfFinished(task.runId, task.step, chunk, counters, op);
  }

  /** Folds the chunk when its counters say all its tasks finished; the step after, or undefined when nothing was folded. */
  private async foldChunkIfFinished(runId: string, step: string, chunk: number, counters: Item, op: string): Promise<StepExecution | undefined> {
    const succeeded = Number(counters[CHUNK_SUCCEEDED] ?? 0);
    const failed = Number(counters[CHUNK_FAILED] ?? 0);
    const size = Number(counters[CHUNK_SIZE_ATTRIBUTE] ?? Number.NaN);
    if (!(size > 0) || succeeded + failed < size) return undefined;
    return this.steps.foldChunk(runId, step, chunk, succeeded, failed, op);
  }
}

/**
 * `(p absent OR p < :p) AND (j absent OR j IN currentJobIds)`, written without parentheses:
 * `p absent OR p < :p AND j absent OR p < :p AND j = :j0 OR ...`. The same condition, since every
 * slot write sets `p` (so `j` is absent wherever `p` is). Why: dynalite parses each expression with
 * a backtracking parser, and the parenthesised form (with IN) cost it about 2 ms of CPU per
 * write, more than everything else the write does; this one about a fifth of that.
 */
function forwardCondition(b: UpdateBuilder, attrs: ReturnType<typeof slotAttributes>, progress: number, currentJobIds: readonly string[]): string {
  const [p, j, v] = [b.name(attrs.progress), b.name(attrs.jobId), b.value(progress)];
  return [`attribute_not_exists(${p})`, `${p} < ${v} AND attribute_not_exists(${j})`, ...currentJobIds.map((id) => `${p} < ${v} AND ${j} = ${b.value(id)}`)].join(' OR ');
}

/**
 * The slot's part of a chunk update: the task, its progress, its jobId (removed when the task has
 * none, so `j<s>` always mirrors the stored task), the chunk's size, and the chunk's counters when
 * the task finishes (both counters, so both come back with UPDATED_NEW). The size is a plain SET,
 * not `if_not_exists`: it is a function of the step's size, which does not change, and
 * `if_not_exists(...)` alone cost dynalite a quarter of the write's CPU.
 */
function slotWrite(task: Task, slot: number, size: number): UpdateBuilder {
  const attrs = slotAttributes(slot);
  const b = new UpdateBuilder().set(attrs.task, task).set(attrs.progress, storedProgress(task));
  if (task.jobId === undefined) b.remove(attrs.jobId);
  else b.set(attrs.jobId, task.jobId);
  b.set(CHUNK_SIZE_ATTRIBUTE, size);
  if (task.status === 'SUCCEEDED') b.add(CHUNK_SUCCEEDED, 1).add(CHUNK_FAILED, 0);
  if (task.status === 'FAILED') b.add(CHUNK_SUCCEEDED, 0).add(CHUNK_FAILED, 1);
  return b;
}

/** `taskProgress`, except that every finished task is at FINISHED_PROGRESS. */
function storedProgress(task: Task): number {
  return isTerminalTaskStatus(task.status) ? FINISHED_PROGRESS : taskProgress(task);
}

function checkTask(task: Task, stepSize: number, op: string): void {
  if (!Number.isInteger(stepSize) || stepSize < 1) throw new InvalidJobStoreInputError(`${op} of ${label(task)}: step size ${stepSize} is not a positive integer`);
  if (!Number.isInteger(task.arrayIndex) || task.arrayIndex < 0 || task.arrayIndex >= stepSize) {
    throw new InvalidJobStoreInputError(`${op} of ${label(task)}: array index ${task.arrayIndex} is outside a step of ${stepSize}`);
  }
  if (task.step === '' || task.step.includes('#')) throw new InvalidJobStoreInputError(`${op} of ${label(task)}: step name is empty or contains "#"`);
  if (taskProgress(task) >= FINISHED_PROGRESS) throw new InvalidJobStoreInputError(`${op} of ${label(task)}: ${task.attempts.length} attempts`);
}

function label(task: Pick<Task, 'runId' | 'step' | 'arrayIndex'>): string {
  return `task ${task.runId}/${task.step}/${task.arrayIndex}`;
}

function result(applied: boolean, task: Task, step: StepExecution | undefined): TaskWriteResult {
  return step === undefined ? { applied, task } : { applied, task, step };
}
