import { NotFoundError, type StepExecution } from '@nightshift/jobs-domain';
import { UpdateBuilder, type DynamoTable, type Item } from './dynamo-table.js';
import { InvalidJobStoreInputError } from './errors.js';
import { STEP_PREFIX, chunkOfFlag, foldedFlag, runPartition, stepKey, stripInternal } from './keys.js';

/*
 * Step executions: one item per step of a run, `RUN#<runId>` / `STEP#<step>`. Two kinds of writes
 * meet on it: the engine's `updateStep` (whole-record replace, conditioned on `version`) and the
 * folds of finished task chunks into `succeeded` / `failed` (see TaskChunks). A fold bumps
 * `version` too, so an engine decision taken on counts it read is refused once they changed; and
 * `updateStep` never writes the counts, so it cannot undo a fold that slipped in between.
 */

type OptionalKeys<T> = { [K in keyof T]-?: undefined extends T[K] ? K : never }[keyof T];

/**
 * The optional fields, removed by `updateStep` when `next` lacks them (a replace, not a merge).
 * Typed against the model so that a new optional field fails to compile here until it is listed.
 */
const OPTIONAL_STEP_FIELDS = {
  jobId: true,
  claimToken: true,
  claimedAt: true,
  submittedAt: true,
  finishedAt: true,
  reason: true,
  attempt: true,
  waitUntil: true,
  decision: true,
} satisfies Record<OptionalKeys<StepExecution>, true>;

/** Fields `updateStep` does not take from `next`: the key, the fold-owned counts and the version it sets itself. */
const NOT_REPLACED: ReadonlySet<string> = new Set(['runId', 'step', 'succeeded', 'failed', 'version', 'PK', 'SK']);

export class StepRecords {
  constructor(private readonly table: DynamoTable) {}

  /** The item `createRun` puts for a planned step. */
  item(step: StepExecution): Item {
    return { ...step, ...stepKey(step.runId, step.step), _entity: 'step' };
  }

  async get(runId: string, step: string): Promise<StepExecution | undefined> {
    const item = await this.table.get(stepKey(runId, step), 'getStep');
    return item ? stripInternal<StepExecution>(item) : undefined;
  }

  /** By step name. */
  async list(runId: string): Promise<StepExecution[]> {
    const items = await this.table.queryAll(runPartition(runId), { prefix: STEP_PREFIX }, 'listSteps');
    return items.map((item) => stripInternal<StepExecution>(item));
  }

  /**
   * One UpdateItem conditioned on `version = expectedVersion`: SETs every field of `next` but the
   * counts, REMOVEs the optional fields `next` lacks, sets `version` to `expectedVersion + 1`.
   */
  async update(expectedVersion: number, next: StepExecution): Promise<StepExecution> {
    return this.replace('updateStep', expectedVersion, next);
  }

  /**
   * `update`, plus a recount for a retry (see TaskChunks.retryStep): the counts are set to
   * `recount`'s, and the fold flags of the chunks it names are removed so those chunks are folded
   * again when their tasks finish. In the same write, conditioned on the version as `update` is:
   * a fold in between bumps it and refuses the recount made before it.
   */
  async reopen(expectedVersion: number, next: StepExecution, recount: { succeeded: number; failed: number; unfold: readonly number[] }): Promise<StepExecution> {
    return this.replace('retryStep', expectedVersion, next, recount);
  }

  private async replace(
    op: string,
    expectedVersion: number,
    next: StepExecution,
    recount?: { succeeded: number; failed: number; unfold: readonly number[] },
  ): Promise<StepExecution> {
    if (!Number.isInteger(expectedVersion)) throw new InvalidJobStoreInputError(`expected version of step ${next.runId}/${next.step} must be an integer, got ${expectedVersion}`);
    const key = stepKey(next.runId, next.step);
    const b = new UpdateBuilder();
    for (const [field, value] of Object.entries(next)) {
      if (value === undefined || NOT_REPLACED.has(field) || field.startsWith('_')) continue;
      b.set(field, value);
    }
    for (const field of Object.keys(OPTIONAL_STEP_FIELDS) as Array<keyof typeof OPTIONAL_STEP_FIELDS>) {
      if (next[field] === undefined) b.remove(field);
    }
    if (recount) {
      b.set('succeeded', recount.succeeded).set('failed', recount.failed);
      for (const chunk of recount.unfold) b.remove(foldedFlag(chunk));
    }
    b.set('version', expectedVersion + 1);
    const condition = `${b.name('version')} = ${b.value(expectedVersion)}`;
    const outcome = await this.table.update(b.build(key, condition, 'ALL_NEW'), op);
    if (!outcome.applied) {
      throw await this.table.conditionFailure(key, 'step', `${next.runId}/${next.step}`, `at version ${expectedVersion}`, outcome.cause, op);
    }
    return stripInternal<StepExecution>(outcome.attributes);
  }

  /**
   * Adds a finished chunk's counts to its step, once: conditioned on the chunk's fold flag being
   * absent (and on the step existing, so a fold never creates a step). Returns the step after, or
   * undefined when the chunk had been folded already. NotFoundError when the step does not exist.
   */
  async foldChunk(runId: string, step: string, chunk: number, succeeded: number, failed: number, op: string): Promise<StepExecution | undefined> {
    const key = stepKey(runId, step);
    const b = new UpdateBuilder().set(foldedFlag(chunk), true).add('succeeded', succeeded).add('failed', failed).add('version', 1);
    const condition = `attribute_exists(PK) AND attribute_not_exists(${b.name(foldedFlag(chunk))})`;
    const outcome = await this.table.update(b.build(key, condition, 'ALL_NEW'), op);
    if (outcome.applied) return stripInternal<StepExecution>(outcome.attributes);
    if ((await this.table.get(key, op, ['PK'])) === undefined) throw new NotFoundError('step', `${runId}/${step}`);
    return undefined;
  }

  /** Which chunks have been folded, from the step's flags; undefined when the step does not exist. */
  async foldedChunks(runId: string, step: string, op: string): Promise<Set<number> | undefined> {
    return (await this.withFolds(runId, step, op))?.folded;
  }

  /** The step and which of its chunks have been folded, from one read; undefined when the step does not exist. */
  async withFolds(runId: string, step: string, op: string): Promise<{ step: StepExecution; folded: Set<number> } | undefined> {
    const item = await this.table.get(stepKey(runId, step), op);
    if (!item) return undefined;
    const folded = new Set(Object.keys(item).flatMap((name) => (name === foldedFlag(chunkOfFlag(name)) ? [chunkOfFlag(name)] : [])));
    return { step: stripInternal<StepExecution>(item), folded };
  }
}
