import type { Run, StepExecution, Task } from '@nightshift/jobs-domain';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RunProgressWatcher } from './run-progress.js';
import { eventually, startReporting, type ReportingUnderTest } from './testing/graphql-harness.js';
import { GraphQLWsClient, type Protocol } from './testing/ws-client.js';

/*
 * The runProgress subscription over a real WebSocket (the `ws` package, speaking the protocols
 * mercurius serves): the run is moved forward through the store, as the planner would, and the
 * subscriber sees each change, then the subscription completes once the run is terminal.
 */

const T0 = Date.parse('2024-05-02T06:00:00.000Z');
const at = (minutes: number): string => new Date(T0 + minutes * 60_000).toISOString();
const SUBSCRIPTION = 'subscription ($id: ID!) { runProgress(runId: $id) { runId status terminal progress { done total steps { step status done total } } } }';

let r: ReportingUnderTest;
const clients: GraphQLWsClient[] = [];

async function connect(token: string | undefined, protocol?: Protocol): Promise<GraphQLWsClient> {
  const client = await GraphQLWsClient.connect(r.url, token ? { authorization: `Bearer ${token}` } : {}, protocol);
  clients.push(client);
  return client;
}

async function aRunningRun(runId: string, tenant: string): Promise<StepExecution> {
  const run: Run = { runId, pipeline: 'nightly-tca', businessDate: '2024-05-02', datasetId: 'executions@2024-05-02#v1', status: 'RUNNING', correlationId: `corr-${runId}`, tenant, tasksTotal: 2, createdAt: at(0), updatedAt: at(0), startedAt: at(0) };
  const step: StepExecution = { runId, step: 'tca', status: 'PENDING', size: 2, jobName: `${runId}-tca`, manifestKey: `runs/${runId}/tca.json`, succeeded: 0, failed: 0, version: 1, updatedAt: at(0) };
  await r.store.createRun(run, [step]);
  return step;
}

function finishedTask(runId: string, arrayIndex: number): Task {
  const partition = ['EQ', 'FX'][arrayIndex]!;
  return {
    runId,
    taskId: `tca#${partition}`,
    step: 'tca',
    partition,
    arrayIndex,
    status: 'SUCCEEDED',
    maxAttempts: 3,
    attempts: [{ attempt: 1, startedAt: at(1), stoppedAt: at(2), exitCode: 0 }],
    createdAt: at(1),
    updatedAt: at(2),
    exitCode: 0,
  };
}

interface Update {
  runProgress: { status: string; terminal: boolean; progress: { done: number; steps: Array<{ status: string; done: number }> } };
}

beforeAll(async () => {
  r = await startReporting();
}, 60_000);

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await r?.close();
});

describe('the runProgress subscription', () => {
  for (const protocol of ['graphql-transport-ws', 'graphql-ws'] as const) {
    it(`sends the run's status and step progress at each change, and completes when the run is terminal (${protocol})`, async () => {
      const runId = `run-progress-${protocol}`;
      const planned = await aRunningRun(runId, 'acme');
      const client = await connect(r.keys.acme.viewer, protocol);
      client.subscribe('1', SUBSCRIPTION, { id: runId });
      const data = protocol === 'graphql-transport-ws' ? 'next' : 'data';
      const state = (where: (u: Update['runProgress']) => boolean) => client.next((m) => m.id === '1' && m.type === data && where((m.payload as { data: Update }).data.runProgress));

      await state((u) => u.status === 'RUNNING' && u.progress.steps[0]?.status === 'PENDING');
      // The planner submits the step...
      await r.store.updateStep(planned.version, { ...planned, status: 'SUBMITTED', submittedAt: at(1), updatedAt: at(1) });
      await state((u) => u.progress.steps[0]?.status === 'SUBMITTED' && u.progress.done === 0);
      // ... its tasks finish (the store folds them into the step) ...
      for (const i of [0, 1]) await r.store.recordTask({ task: finishedTask(runId, i), stepSize: 2, currentJobIds: [] });
      await state((u) => u.progress.done === 2);
      // ... and the run succeeds.
      await r.store.transitionRun(runId, 'RUNNING', { status: 'SUCCEEDED', finishedAt: at(3), updatedAt: at(3) });
      await state((u) => u.status === 'SUCCEEDED' && u.terminal);
      await client.next((m) => m.id === '1' && m.type === 'complete');

      const updates = client.results('1').map((p) => (p as { data: Update }).data.runProgress);
      expect(updates.length).toBeGreaterThanOrEqual(4);
      // Only changes are sent: no two successive updates alike.
      for (let i = 1; i < updates.length; i++) expect(updates[i]).not.toEqual(updates[i - 1]);
      expect(updates.at(-1)).toEqual({ runId, status: 'SUCCEEDED', terminal: true, progress: { done: 2, total: 2, steps: [{ step: 'tca', status: 'SUBMITTED', done: 2, total: 2 }] } });
      await eventually(() => (r.app.get(RunProgressWatcher).watched === 0 ? true : undefined), 5_000, 'the poll loop to stop');
    });
  }

  it("polls a run once for all its subscribers, and stops when the last leaves", async () => {
    const runId = 'run-shared';
    await aRunningRun(runId, 'globex');
    const [a, b] = [await connect(r.keys.globex.viewer), await connect(r.keys.globex.operator)];
    a.subscribe('a', SUBSCRIPTION, { id: runId });
    b.subscribe('b', SUBSCRIPTION, { id: runId });
    await a.next((m) => m.id === 'a' && m.type === 'next');
    await b.next((m) => m.id === 'b' && m.type === 'next');
    const watcher = r.app.get(RunProgressWatcher);
    expect(watcher.watched).toBe(1);
    await a.close();
    b.subscribe('b2', SUBSCRIPTION, { id: runId });
    await b.next((m) => m.id === 'b2' && m.type === 'next');
    expect(watcher.watched).toBe(1);
    await b.close();
    await eventually(() => (watcher.watched === 0 ? true : undefined), 5_000, 'the poll loop to stop');
  });

  it("refuses a subscription without a valid token, and to another tenant's run, with the problem REST gives", async () => {
    const runId = 'run-of-acme';
    await aRunningRun(runId, 'acme');
    const anonymous = await connect(undefined);
    anonymous.subscribe('1', SUBSCRIPTION, { id: runId });
    const unauthenticated = await anonymous.next((m) => m.id === '1' && m.type === 'error');
    expect(unauthenticated.payload).toEqual([
      expect.objectContaining({
        message: 'missing bearer token',
        extensions: { code: 'UNAUTHENTICATED', status: 401, problem: expect.objectContaining({ status: 401, type: 'urn:nightshift:problem:unauthenticated' }) as unknown },
      }),
    ]);
    const forged = await connect('nsk_not-a-key-at-all-0123456789');
    forged.subscribe('1', SUBSCRIPTION, { id: runId });
    expect((await forged.next((m) => m.id === '1' && m.type === 'error')).payload).toEqual([expect.objectContaining({ extensions: expect.objectContaining({ code: 'UNAUTHENTICATED' }) as unknown })]);

    const globex = await connect(r.keys.globex.viewer);
    globex.subscribe('1', SUBSCRIPTION, { id: runId });
    const notFound = await globex.next((m) => m.id === '1' && m.type === 'error');
    expect(notFound.payload).toEqual([
      expect.objectContaining({ message: `run ${runId} not found`, extensions: { code: 'NOT_FOUND', status: 404, problem: expect.objectContaining({ status: 404 }) as unknown } }),
    ]);
    // An invalid subscription is refused as a query would be (mercurius does not validate subscriptions itself).
    globex.subscribe('2', 'subscription { runProgress(runId: "x") { nope } }');
    expect((await globex.next((m) => m.id === '2' && m.type === 'error')).payload).toEqual([expect.objectContaining({ extensions: expect.objectContaining({ status: 400 }) as unknown })]);
    expect(globex.results('1')).toEqual([]);
  });
});
