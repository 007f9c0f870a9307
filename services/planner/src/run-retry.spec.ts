import { rm, writeFile } from 'node:fs/promises';
import { envelope, RunFailed, RunRetryRequested, RunSucceeded, type EventBridgeEvent } from '@nightshift/contracts';
import { ComputeSubmissionError, definePipeline, planKeyFor, type ComputeEnvironment, type JobStore, type PipelineDefinition, type Run } from '@nightshift/jobs-domain';
import { describe, expect, it } from 'vitest';
import { PlannerHandlers } from './planner.handlers.js';
import { eventually, plannerHarnessPerTest, TEST_WORKER, type Host } from './testing/planner-harness.js';

/*
 * Retrying a FAILED run (Run Retry Requested), on the real store (embedded DynamoDB), a real local
 * compute environment running real child processes, and a directory object store.
 */

const h = plannerHarnessPerTest();

const DESKS3 = ['apac-cash', 'emea-cash', 'us-program'];

function crunchOf(options: { attempts: number; fanOut?: 'single' | 'partitions'; then?: 'rollup' }): PipelineDefinition {
  const step = { command: TEST_WORKER, bare: true, environment: { TEST_DIR: h.dir }, vcpus: 0.25, memoryMiB: 64, timeoutSeconds: 60 };
  return definePipeline({
    name: 'retry-test',
    description: 'a worker that can be made to fail, wait or hang',
    trigger: { datasets: ['executions'] },
    timeoutSeconds: 600,
    steps: [
      { name: 'crunch', ...step, fanOut: options.fanOut ?? 'partitions', attempts: options.attempts },
      ...(options.then ? [{ name: options.then, ...step, fanOut: 'single' as const, attempts: 1, dependsOn: ['crunch'] }] : []),
    ],
  });
}

/** Run Retry Requested as the API publishes it. */
function retryRequested(runId: string, eventId: string, reason?: string): EventBridgeEvent {
  return {
    version: '0',
    id: `bus-${eventId}`,
    'detail-type': RunRetryRequested.detailType,
    source: RunRetryRequested.source,
    account: '000000000000',
    time: new Date().toISOString(),
    region: 'local',
    resources: [runId],
    detail: envelope({ runId, requestedBy: 'ops@example.com', ...(reason ? { reason } : {}) }, { eventId, correlationId: eventId, occurredAt: new Date() }),
  };
}

const handlersOf = (host: Host): PlannerHandlers => new PlannerHandlers(host.engine, h.store, host.retry);
const eventIds = (detailType: string): string[] => h.publisher.ofType(detailType).map((e) => (e.detail as { metadata: { eventId: string } }).metadata.eventId);
const openRunIds = async (): Promise<string[]> => (await h.store.listOpenRuns()).items.map((r) => r.runId);

/** The run once it is `status` and its outbox carried out. */
function runSettled(runId: string, status: Run['status']): Promise<Run> {
  return eventually(`run ${runId} to be ${status}, its outbox carried out`, async () => {
    const run = await h.store.getRun(runId);
    return run?.status === status && (run.outbox ?? []).length === 0 ? run : undefined;
  });
}

/**
 * A run of three partitions whose middle task (index 1, emea-cash) exits 3 on every attempt, after
 * its two siblings succeeded: the run FAILED, its Run Failed published, closed.
 */
async function oneOfThreeFailedForGood(host: Host, pipeline: PipelineDefinition): Promise<Run> {
  await writeFile(h.marker('wait-1'), '');
  await writeFile(h.marker('always-1'), '3');
  const run = await h.startRun(host, pipeline, DESKS3);
  await eventually('its two siblings to succeed', async () => ((await h.tasksOf(run.runId)).filter((t) => t.status === 'SUCCEEDED').length === 2 ? true : undefined));
  await rm(h.marker('wait-1'));
  const failed = await runSettled(run.runId, 'FAILED');
  await host.compute.idle();
  expect(failed.reason).toContain('task crunch#emea-cash failed after');
  expect(await openRunIds()).not.toContain(run.runId);
  return failed;
}

describe('RunRetry: a FAILED run runs again, its failed tasks only', () => {
  it('runs only the task that failed, alone with a fresh budget, and the run SUCCEEDS as attempt 2 with one Run Succeeded', async () => {
    const pipeline = crunchOf({ attempts: 2 });
    const host = h.startHost({ pipelines: [pipeline] });
    const run = await oneOfThreeFailedForGood(host, pipeline);
    const before = await h.tasksOf(run.runId);
    expect(before.map((t) => [t.partition, t.status, t.attempts.map((a) => a.exitCode)])).toEqual([
      ['apac-cash', 'SUCCEEDED', [0]],
      ['emea-cash', 'FAILED', [3, 3]],
      ['us-program', 'SUCCEEDED', [0]],
    ]);
    expect(await h.starts()).toHaveLength(4);

    // The input is fixed: the task fails once more, then succeeds within the 2 attempts the retry gives it.
    await rm(h.marker('always-1'));
    await writeFile(h.marker('fail-1'), '4');
    await handlersOf(host).onRunRetryRequested(retryRequested(run.runId, 'retry-1', 'vendor file fixed'));
    const done = await runSettled(run.runId, 'SUCCEEDED');
    await host.compute.idle();

    expect(done).toMatchObject({ attempt: 2, retryEventId: 'retry-1', startedAt: run.startedAt });
    expect(done.reason).toBeUndefined();
    const after = await h.tasksOf(run.runId);
    // The succeeded tasks were not run again: their records are as they were.
    expect([after[0], after[2]]).toEqual([before[0], before[2]]);
    expect(after[1]).toMatchObject({ status: 'SUCCEEDED', maxAttempts: 4 });
    expect(after[1]!.attempts.map((a) => [a.attempt, a.exitCode])).toEqual([
      [1, 3],
      [2, 3],
      [3, 4],
      [4, 0],
    ]);
    const starts = await h.starts<{ nightshiftIndex: string | null }>();
    expect(starts).toHaveLength(6);
    expect(starts.filter((s) => s.nightshiftIndex !== null).map((s) => s.nightshiftIndex)).toEqual(['1', '1']);
    expect((await h.store.listSteps(run.runId))[0]).toMatchObject({ status: 'SUCCEEDED', size: 3, succeeded: 3, failed: 0, attempt: 2 });

    expect(eventIds(RunFailed.detailType)).toEqual([`run-failed-${run.runId}`]);
    expect(eventIds(RunSucceeded.detailType)).toEqual([`run-succeeded-${run.runId}-a2`]);
    expect(await openRunIds()).not.toContain(run.runId);

    // Redelivered, or asked again: nothing moves.
    await handlersOf(host).onRunRetryRequested(retryRequested(run.runId, 'retry-1'));
    expect(await host.retry.retry(run.runId, { eventId: 'retry-1', requestedBy: 'ops' })).toMatchObject({ kind: 'ignored' });
    expect(await host.retry.retry(run.runId, { eventId: 'retry-2', requestedBy: 'ops' })).toEqual({ kind: 'ignored', reason: expect.stringContaining('is SUCCEEDED') });
    expect(await h.store.getRun(run.runId)).toEqual(done);
    expect(await h.starts()).toHaveLength(6);
    expect(h.publisher.ofType(RunSucceeded.detailType)).toHaveLength(1);
  });

  it('leaves a RUNNING run, a SUCCEEDED run and an unknown one as they are', async () => {
    const pipeline = crunchOf({ attempts: 1, fanOut: 'single' });
    await writeFile(h.marker('hang-0'), '');
    const host = h.startHost({ pipelines: [pipeline] });
    const run = await h.startRun(host, pipeline, ['emea-cash']);
    await eventually('the worker to start', async () => ((await h.starts()).length === 1 ? true : undefined));
    const running = await h.store.getRun(run.runId);

    expect(await host.retry.retry(run.runId, { eventId: 'retry-1', requestedBy: 'ops' })).toEqual({ kind: 'ignored', reason: expect.stringContaining('is RUNNING') });
    expect(await h.store.getRun(run.runId)).toEqual(running);
    await rm(h.marker('hang-0'));
    const done = await runSettled(run.runId, 'SUCCEEDED');
    await handlersOf(host).onRunRetryRequested(retryRequested(run.runId, 'retry-2'));
    expect(await h.store.getRun(run.runId)).toEqual(done);
    expect(await host.retry.retry('run-nope', { eventId: 'retry-3', requestedBy: 'ops' })).toEqual({ kind: 'ignored', reason: 'there is no run run-nope' });
    await host.compute.idle();
    expect(await h.starts()).toHaveLength(1);
    expect(eventIds(RunSucceeded.detailType)).toEqual([`run-succeeded-${run.runId}`]);
    expect(h.publisher.ofType(RunFailed.detailType)).toEqual([]);
  });

  it('finishes a retry a crash interrupted on its redelivery, never as a third attempt; a second failure is a second Run Failed with its own id', async () => {
    const pipeline = crunchOf({ attempts: 1 });
    let down = false;
    const host = h.startHost({ pipelines: [pipeline], wrapCompute: (compute) => failingSubmissions(compute, () => down) });
    const run = await oneOfThreeFailedForGood(host, pipeline);
    const handlers = handlersOf(host);

    // The first delivery reopens the run, then cannot submit (and the process gives up on the event).
    down = true;
    await expect(handlers.onRunRetryRequested(retryRequested(run.runId, 'retry-1'))).rejects.toThrow('Batch is unavailable');
    expect(await h.store.getRun(run.runId)).toMatchObject({ status: 'RUNNING', attempt: 2, retryEventId: 'retry-1' });
    expect(await h.tasksOf(run.runId).then((t) => t[1])).toMatchObject({ status: 'SUBMITTED', jobId: 'resubmission:retry-a2-crunch-1', maxAttempts: 2 });
    expect(await openRunIds()).toContain(run.runId);

    // The redelivery finishes attempt 2: the task runs again alone and (still broken) fails it.
    down = false;
    await handlers.onRunRetryRequested(retryRequested(run.runId, 'retry-1'));
    const failedAgain = await runSettled(run.runId, 'FAILED');
    await host.compute.idle();
    expect(failedAgain).toMatchObject({ attempt: 2, reason: expect.stringContaining('task crunch#emea-cash failed after 2 attempt(s) with exit code 3') });
    expect(eventIds(RunFailed.detailType)).toEqual([`run-failed-${run.runId}`, `run-failed-${run.runId}-a2`]);
    const [first, second] = h.publisher.ofType(RunFailed.detailType).map((e) => RunFailed.detail.parse(e.detail).data);
    expect(second!.failedTask).toMatchObject({ taskId: 'crunch#emea-cash', attempts: 2, exitCode: 3 });
    expect(first!.failedTask).toMatchObject({ attempts: 1 });
    expect(await h.starts()).toHaveLength(4);

    // Delivered yet again, after the attempt it started ended: no third attempt.
    await handlers.onRunRetryRequested(retryRequested(run.runId, 'retry-1'));
    expect(await host.retry.retry(run.runId, { eventId: 'retry-1', requestedBy: 'ops' })).toEqual({ kind: 'ignored', reason: 'attempt 2, which this request started, already ended FAILED' });
    expect(await h.store.getRun(run.runId)).toEqual(failedAgain);
    expect(await h.starts()).toHaveLength(4);

    // A new request is a new attempt; fixed input, so it succeeds.
    await rm(h.marker('always-1'));
    await handlers.onRunRetryRequested(retryRequested(run.runId, 'retry-2'));
    expect(await h.runReaching(run.runId, 'SUCCEEDED')).toMatchObject({ attempt: 3, retryEventId: 'retry-2' });
    expect(eventIds(RunSucceeded.detailType)).toEqual([`run-succeeded-${run.runId}-a3`]);
    expect((await h.tasksOf(run.runId)).map((t) => t.attempts.length)).toEqual([1, 3, 1]);
  });

  it('redoes the preparation of a retry that crashed before reopening the run, as the same attempt', async () => {
    const pipeline = crunchOf({ attempts: 1 });
    let crash = false;
    const crashingBeforeReopen = (store: JobStore): JobStore =>
      new Proxy(store, {
        get: (target, name) => {
          const method = (Reflect.get(target, name, target) as (...args: unknown[]) => Promise<unknown>).bind(target);
          if (name !== 'retryRun') return method;
          return async (...args: unknown[]) => {
            if (crash) throw new Error('planner died before reopening the run');
            return method(...args);
          };
        },
      });
    const host = h.startHost({ pipelines: [pipeline], wrapStore: crashingBeforeReopen });
    const run = await oneOfThreeFailedForGood(host, pipeline);
    await rm(h.marker('always-1'));

    crash = true;
    await expect(host.retry.retry(run.runId, { eventId: 'retry-1', requestedBy: 'ops' })).rejects.toThrow('planner died');
    // Prepared for attempt 2 while still FAILED (and closed): nothing runs it, nothing sweeps it.
    const stillFailed = await h.store.getRun(run.runId);
    expect([stillFailed?.status, stillFailed?.attempt]).toEqual(['FAILED', undefined]);
    expect((await h.store.listSteps(run.runId))[0]).toMatchObject({ status: 'SUBMITTED', attempt: 2, failed: 0 });
    expect(await openRunIds()).toEqual([]);

    crash = false;
    expect(await host.retry.retry(run.runId, { eventId: 'retry-1', requestedBy: 'ops' })).toMatchObject({ kind: 'retried', resubmitted: 1, run: { attempt: 2 } });
    await runSettled(run.runId, 'SUCCEEDED');
    await host.compute.idle();
    expect(await h.starts()).toHaveLength(4);
    expect((await h.tasksOf(run.runId)).map((t) => t.attempts.length)).toEqual([1, 2, 1]);
  });

  it('lets the sweep finish a retry whose request is never delivered again: it takes the stale claims over', async () => {
    const pipeline = crunchOf({ attempts: 1 });
    let down = false;
    const a = h.startHost({ pipelines: [pipeline], wrapCompute: (compute) => failingSubmissions(compute, () => down) });
    const run = await oneOfThreeFailedForGood(a, pipeline);
    await rm(h.marker('always-1'));
    down = true;
    await expect(a.retry.retry(run.runId, { eventId: 'retry-1', requestedBy: 'ops' })).rejects.toThrow('Batch is unavailable');

    const b = h.startHost({ pipelines: [pipeline], claimTimeoutMs: 0 });
    expect(await b.reconciler.sweep()).toMatchObject({ runs: 1, lost: 1 });
    expect(await runSettled(run.runId, 'SUCCEEDED')).toMatchObject({ attempt: 2 });
    await b.compute.idle();
    expect((await h.tasksOf(run.runId)).map((t) => [t.status, t.attempts.length])).toEqual([
      ['SUCCEEDED', 1],
      ['SUCCEEDED', 2],
      ['SUCCEEDED', 1],
    ]);
    expect(eventIds(RunSucceeded.detailType)).toEqual([`run-succeeded-${run.runId}-a2`]);
  });

  it('runs the step that waited on the failed one once its dependency succeeds', async () => {
    const pipeline = crunchOf({ attempts: 1, then: 'rollup' });
    const host = h.startHost({ pipelines: [pipeline] });
    const run = await oneOfThreeFailedForGood(host, pipeline);
    expect((await h.store.listSteps(run.runId)).map((s) => [s.step, s.status])).toEqual([
      ['crunch', 'FAILED'],
      ['rollup', 'PENDING'],
    ]);

    await rm(h.marker('always-1'));
    expect(await host.retry.retry(run.runId, { eventId: 'retry-1', requestedBy: 'ops' })).toMatchObject({ kind: 'retried', resubmitted: 1 });
    await h.runReaching(run.runId, 'SUCCEEDED');
    expect((await h.store.listSteps(run.runId)).map((s) => [s.step, s.status, s.succeeded, s.attempt])).toEqual([
      ['crunch', 'SUCCEEDED', 3, 2],
      ['rollup', 'SUCCEEDED', 1, undefined],
    ]);
    expect(h.publisher.ofType(RunSucceeded.detailType)).toHaveLength(1);
  });

  it('runs again every task a cancel stopped, each alone', async () => {
    const pipeline = crunchOf({ attempts: 2 });
    for (const i of [0, 1, 2]) await writeFile(h.marker(`hang-${i}`), '');
    const host = h.startHost({ pipelines: [pipeline] });
    const run = await h.startRun(host, pipeline, DESKS3);
    await eventually('the workers to start', async () => ((await h.starts()).length === 3 ? true : undefined));
    await host.engine.cancelRun(run.runId, 'wrong dataset (by ops)');
    await runSettled(run.runId, 'FAILED');
    await host.compute.idle();
    expect((await h.tasksOf(run.runId)).map((t) => [t.status, t.attempts.length])).toEqual([
      ['FAILED', 1],
      ['FAILED', 1],
      ['FAILED', 1],
    ]);

    expect(await host.retry.retry(run.runId, { eventId: 'retry-1', requestedBy: 'ops' })).toMatchObject({ kind: 'retried', resubmitted: 3 });
    await h.runReaching(run.runId, 'SUCCEEDED');
    await host.compute.idle();
    const starts = await h.starts<{ nightshiftIndex: string | null }>();
    expect(starts.slice(3).map((s) => s.nightshiftIndex).sort()).toEqual(['0', '1', '2']);
    // Each stopped attempt counts as failed; each task then had a fresh budget of 2 and needed 1.
    expect((await h.tasksOf(run.runId)).map((t) => [t.attempts.length, t.maxAttempts, t.status])).toEqual([
      [2, 3, 'SUCCEEDED'],
      [2, 3, 'SUCCEEDED'],
      [2, 3, 'SUCCEEDED'],
    ]);
    expect(eventIds(RunSucceeded.detailType)).toEqual([`run-succeeded-${run.runId}-a2`]);
  });
});

describe('RunRetry: a run that cannot run again', () => {
  it('fails the retry of a run that was never planned with the reason, as a Run Failed of its own', async () => {
    const host = h.startHost({ pipelines: [crunchOf({ attempts: 1 })] });
    await host.engine.failUnplannable({ pipeline: 'retry-test', businessDate: '2024-05-02', triggerEventId: 'request-1', correlationId: 'request-1', reason: 'no registered dataset' });
    const [run] = (await h.store.listRuns()).items;

    const outcome = await host.retry.retry(run!.runId, { eventId: 'retry-1', requestedBy: 'ops' });

    const reason = `retry as attempt 2 cannot run: it has no plan (${planKeyFor(run!.runId)}): it was never planned, or its plan is gone`;
    expect(outcome).toMatchObject({ kind: 'refused', reason, run: { status: 'FAILED', attempt: 2, reason } });
    expect(h.publisher.ofType(RunFailed.detailType).map((e) => RunFailed.detail.parse(e.detail).data.reason)).toEqual(['no registered dataset', reason]);
    expect(await openRunIds()).toEqual([]);
  });

  it('fails the retry of a run whose dataset is gone with the reason, running nothing', async () => {
    const pipeline = crunchOf({ attempts: 1 });
    const a = h.startHost({ pipelines: [pipeline] });
    const run = await oneOfThreeFailedForGood(a, pipeline);
    const forgetful = (store: JobStore): JobStore =>
      new Proxy(store, {
        get: (target, name) => (name === 'getDatasetVersion' ? async () => undefined : (Reflect.get(target, name, target) as (...args: unknown[]) => unknown).bind(target)),
      });
    const b = h.startHost({ pipelines: [pipeline], wrapStore: forgetful });

    const outcome = await b.retry.retry(run.runId, { eventId: 'retry-1', requestedBy: 'ops' });

    expect(outcome).toMatchObject({ kind: 'refused', reason: `retry as attempt 2 cannot run: its dataset ${run.datasetId} is no longer registered` });
    expect(await h.store.getRun(run.runId)).toMatchObject({ status: 'FAILED', attempt: 2 });
    expect((await h.tasksOf(run.runId))[1]).toMatchObject({ status: 'FAILED' });
    expect(await h.starts()).toHaveLength(3);
    expect(h.publisher.ofType(RunFailed.detailType)).toHaveLength(2);
  });
});

/** The compute environment, its submissions failing (transiently) while `down()` says so. */
function failingSubmissions(compute: ComputeEnvironment, down: () => boolean): ComputeEnvironment {
  return {
    submitJob: async (job) => {
      if (down()) throw new ComputeSubmissionError('Batch is unavailable', true);
      return compute.submitJob(job);
    },
    describeJobs: (ids) => compute.describeJobs(ids),
    listJobs: (filter) => compute.listJobs(filter),
    cancelJob: (id, reason) => compute.cancelJob(id, reason),
    terminateJob: (id, reason) => compute.terminateJob(id, reason),
  };
}
