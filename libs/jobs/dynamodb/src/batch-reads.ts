import type { StepExecution, StepRef, Task, TaskSource } from '@nightshift/jobs-domain';
import type { DynamoTable, Item } from './dynamo-table.js';
import { InvalidJobStoreInputError } from './errors.js';
import { TASK_CHUNK_SIZE, slotAttributes, stepKey, stripInternal, taskChunkKey, type ItemKey } from './keys.js';

/*
 * Reads of many runs' steps and tasks at once, for listings that show them (the GraphQL API's runs
 * with their steps and tasks). Every key is known beforehand: a step is `RUN#<runId>` / `STEP#<step>`,
 * and the tasks of a step of `size` children are in chunks 0 .. ceil(size / 25) - 1. So both are
 * BatchGetItem over those keys: ceil(keys / 100) requests (plus re-requests of what DynamoDB leaves
 * unprocessed), whatever the number of runs, instead of one Query per run or step.
 */

export class BatchReads {
  constructor(private readonly table: DynamoTable) {}

  /** The steps `refs` names that exist, in the order of `refs`, each once. */
  async steps(refs: readonly StepRef[]): Promise<StepExecution[]> {
    const keys = uniqueKeys(refs.map((r) => stepKey(r.runId, r.step)));
    if (keys.length === 0) return [];
    const found = byKey(await this.table.batchGet(keys, 'getSteps'));
    return keys.flatMap((key) => {
      const item = found.get(keyString(key));
      return item ? [stripInternal<StepExecution>(item)] : [];
    });
  }

  /** The task records of the first `indexLimit` children of each step (all of them when absent), by step then array index. */
  async tasksOfSteps(steps: readonly TaskSource[], options: { indexLimit?: number } = {}): Promise<Task[]> {
    const op = 'listTasksOfSteps';
    const { indexLimit } = options;
    if (indexLimit !== undefined && (!Number.isInteger(indexLimit) || indexLimit < 1)) {
      throw new InvalidJobStoreInputError(`${op}: indexLimit ${indexLimit} is not a positive integer`);
    }
    const reads: Array<{ limit: number; keys: ItemKey[] }> = [];
    const seen = new Set<string>();
    for (const step of steps) {
      if (!Number.isInteger(step.size) || step.size < 0) throw new InvalidJobStoreInputError(`${op}: step ${step.runId}/${step.step} has size ${step.size}, not a non-negative integer`);
      const id = keyString(stepKey(step.runId, step.step));
      if (seen.has(id)) continue;
      seen.add(id);
      const limit = Math.min(step.size, indexLimit ?? step.size);
      const chunks = Math.ceil(limit / TASK_CHUNK_SIZE);
      reads.push({ limit, keys: Array.from({ length: chunks }, (_, chunk) => taskChunkKey(step.runId, step.step, chunk)) });
    }
    const keys = reads.flatMap((r) => r.keys);
    if (keys.length === 0) return [];
    const found = byKey(await this.table.batchGet(keys, op));
    const tasks: Task[] = [];
    for (const read of reads) {
      for (const key of read.keys) {
        const chunk = found.get(keyString(key));
        if (!chunk) continue;
        for (let slot = 0; slot < TASK_CHUNK_SIZE; slot++) {
          const task = chunk[slotAttributes(slot).task] as Task | undefined;
          if (task !== undefined && task.arrayIndex < read.limit) tasks.push(task);
        }
      }
    }
    return tasks;
  }
}

function keyString(key: { PK: unknown; SK: unknown }): string {
  return JSON.stringify([key.PK, key.SK]);
}

function uniqueKeys(keys: ItemKey[]): ItemKey[] {
  const unique = new Map<string, ItemKey>();
  for (const key of keys) unique.set(keyString(key), key);
  return [...unique.values()];
}

function byKey(items: readonly Item[]): Map<string, Item> {
  return new Map(items.map((item) => [keyString(item as { PK: unknown; SK: unknown }), item]));
}
