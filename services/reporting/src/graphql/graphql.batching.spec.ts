import type { Run, StepExecution, Task } from '@nightshift/jobs-domain';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startReporting, type ReportingUnderTest } from './testing/graphql-harness.js';

/*
 * Batched loading: a page of runs with their steps, tasks and attempts is a fixed number of store
 * requests (the listing, one batch read of the steps, one of the tasks), whatever the number of
 * runs on it; counted at the store's DocumentClient (every request it sends).
 */

const RUNS = 100;
const T0 = Date.parse('2024-05-02T06:00:00.000Z');
const at = (seconds: number): string => new Date(T0 + seconds * 1000).toISOString();
const QUERY = `query ($first: Int!) {
  runs(first: $first) {
    edges { node { runId status vcpuSeconds progress { done total } steps { name status tasks { taskId status attempts { attempt durationMs logUrl } } } } }
    pageInfo { hasNextPage }
  }
}`;

let r: ReportingUnderTest;

async function inParallel<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: limit }, async () => {
    while (next < items.length) await fn(items[next++]!);
  }));
}

beforeAll(async () => {
  r = await startReporting();
  const ids = Array.from({ length: RUNS }, (_, i) => `run-${String(i).padStart(3, '0')}`);
  await inParallel(ids, 8, async (runId) => {
    const i = Number(runId.slice(4));
    const run: Run = { runId, pipeline: 'nightly-tca', businessDate: '2024-05-02', datasetId: 'executions@2024-05-02#v1', status: 'RUNNING', correlationId: `corr-${runId}`, tenant: 'acme', tasksTotal: 3, createdAt: at(i), updatedAt: at(i) };
    const step: StepExecution = { runId, step: 'tca', status: 'SUBMITTED', size: 3, jobName: `${runId}-tca`, manifestKey: `runs/${runId}/tca.json`, succeeded: 0, failed: 0, version: 1, updatedAt: at(i) };
    await r.store.createRun(run, [step]);
    for (let index = 0; index < 3; index++) {
      const task: Task = {
        runId,
        taskId: `tca#desk-${index}`,
        step: 'tca',
        partition: `desk-${index}`,
        arrayIndex: index,
        status: 'SUCCEEDED',
        maxAttempts: 3,
        attempts: [{ attempt: 1, startedAt: at(100), stoppedAt: at(110), exitCode: 0, logStreamName: `worker/${runId}/${index}` }],
        createdAt: at(100),
        updatedAt: at(110),
      };
      await r.store.recordTask({ task, stepSize: 3, currentJobIds: [] });
    }
  });
}, 60_000);

afterAll(async () => {
  await r?.close();
});

describe('batched loading of runs with their steps and tasks', () => {
  it(`reads a page of ${RUNS} runs with steps, tasks and attempts in a fixed number of store requests`, async () => {
    const read = async (first: number) => {
      r.requests.length = 0;
      const answer = await r.gql<{ runs: { edges: Array<{ node: { vcpuSeconds: number; progress: { done: number }; steps: Array<{ tasks: Array<{ attempts: unknown[] }> }> } }> } }>(QUERY, {
        token: r.keys.acme.viewer,
        variables: { first },
      });
      expect(answer.errors).toBeUndefined();
      return { runs: answer.data!.runs.edges.map((e) => e.node), requests: [...r.requests] };
    };

    const page = await read(RUNS);
    expect(page.runs).toHaveLength(RUNS);
    for (const run of page.runs) {
      expect(run.steps).toHaveLength(1);
      expect(run.steps[0]!.tasks).toHaveLength(3);
      expect(run.progress.done).toBe(3);
      // 3 attempts of 10 s on 1 vCPU.
      expect(run.vcpuSeconds).toBe(30);
    }
    // The listing (its index Query and a BatchGet of the runs), one BatchGet of the 100 steps and
    // one of their task chunks (100 keys a request; `tasks` and `vcpuSeconds` share it): never a
    // Query per run, and no more for 100 runs than for 10.
    expect(page.requests.filter((c) => c === 'QueryCommand').length).toBeLessThanOrEqual(2);
    expect(page.requests.length).toBeLessThanOrEqual(5);

    const small = await read(10);
    expect(small.runs).toHaveLength(10);
    expect(small.requests).toEqual(page.requests);
  });
});
