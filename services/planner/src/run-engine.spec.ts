import { rm, writeFile } from 'node:fs/promises';
import { envelope, RunFailed, RunSucceeded, type RunSucceededDetail } from '@nightshift/contracts';
import { eventSize, MAX_EVENT_BYTES } from '@nightshift/events-domain';
import { ComputeSubmissionError, definePipeline, finishRun, noopPipeline, type ComputeEnvironment, type PipelineDefinition, type Run, type StepManifest } from '@nightshift/jobs-domain';
import { describe, expect, it } from 'vitest';
import { JOB_PARAM_ARRAY_INDEX, JOB_PARAM_PRIOR_ATTEMPTS } from './job-params.js';
import { OutboxRelay } from './outbox-relay.js';
import { eventually, plannerHarnessPerTest, TEST_WORKER } from './testing/planner-harness.js';

const h = plannerHarnessPerTest();


function pipelineOf(options: { fanOut?: 'single' | 'partitions'; attempts?: number; analytic?: boolean; timeoutSeconds?: number; queue?: string; name?: string } = {}): PipelineDefinition {
  const step = options.analytic
    ? { analytic: 'crunch' }
    : { command: TEST_WORKER, bare: true, environment: { TEST_DIR: h.dir } };
  return definePipeline({
    name: options.name ?? 'engine-test',
    description: 'a worker that can be made to fail or hang',
    trigger: { datasets: ['executions'] },
    ...(options.timeoutSeconds !== undefined ? { timeoutSeconds: options.timeoutSeconds } : {}),
    steps: [{ name: 'crunch', ...step, fanOut: options.fanOut ?? 'single', vcpus: 0.25, memoryMiB: 64, attempts: options.attempts ?? 2, timeoutSeconds: 60, ...(options.queue ? { queue: options.queue } : {}) }],
  });
}

const DESKS3 = ['apac-cash', 'emea-cash', 'us-program'];

/** A run of three hanging tasks (3 attempts each) whose host dies while they run: the sweep's starting point. */
async function threeTasksLostWithTheirHost(): Promise<{ pipeline: PipelineDefinition; run: Run }> {
  const pipeline = pipelineOf({ fanOut: 'partitions', attempts: 3 });
  for (const i of [0, 1, 2]) await writeFile(h.marker(`hang-${i}`), '');
  const a = h.startHost({ pipelines: [pipeline] });
  const run = await h.startRun(a, pipeline, DESKS3);
  await eventually('the workers to start', async () => ((await h.starts()).length === 3 ? true : undefined));
  await h.crash(a);
  return { pipeline, run };
}

describe('RunEngine: a run from plan to outcome', () => {
  it('runs an array step to SUCCEEDED with one record per task, and publishes Run Succeeded once with its outputs by reference', async () => {
    const pipeline = definePipeline({
      name: 'outputs',
      description: 'analytic steps write outputs',
      trigger: { datasets: ['executions'] },
      steps: [{ name: 'crunch', analytic: 'crunch', fanOut: 'partitions', vcpus: 0.25, memoryMiB: 64, attempts: 1, timeoutSeconds: 60 }],
    });
    const host = h.startHost({ pipelines: [pipeline], workerCommand: TEST_WORKER });
    const run = await h.startRun(host, pipeline, DESKS3);
    await h.runReaching(run.runId, 'SUCCEEDED');
    const tasks = await h.tasksOf(run.runId);
    expect(tasks.map((t) => [t.partition, t.status, t.attempts.length, t.exitCode])).toEqual(DESKS3.map((d) => [d, 'SUCCEEDED', 1, 0]));
    expect(tasks.every((t) => t.attempts[0]?.logStreamName)).toBe(true);
    const [step] = await h.store.listSteps(run.runId);
    expect(step).toMatchObject({ status: 'SUCCEEDED', size: 3, succeeded: 3, failed: 0 });
    const events = h.publisher.ofType(RunSucceeded.detailType);
    expect(events).toHaveLength(1);
    const data = RunSucceeded.detail.parse(events[0]!.detail).data;
    expect(data.outputs.count).toBe(3);
    expect(data.steps).toEqual([{ step: 'crunch', tasks: 3 }]);
    const listing = JSON.parse(Buffer.from(await h.objects.get(data.outputs.key)).toString('utf8')) as { outputs: Array<{ partition: string }> };
    expect(listing.outputs.map((o) => o.partition)).toEqual(DESKS3);
    // The outbox was drained and the run left the open-run index.
    expect((await h.store.getRun(run.runId))?.outbox ?? []).toEqual([]);
    expect((await h.store.listOpenRuns()).items.map((r) => r.runId)).not.toContain(run.runId);
  });

  it('does not retry a worker that exits 2 (bad input): the built-in EXIT rule fails the task after one attempt', async () => {
    const pipeline = pipelineOf({ analytic: true, attempts: 3 });
    await writeFile(h.marker('always-0'), '2');
    const host = h.startHost({ pipelines: [pipeline], workerCommand: TEST_WORKER });
    const run = await h.startRun(host, pipeline, ['emea-cash']);
    const failed = await h.runReaching(run.runId, 'FAILED');
    expect(failed.reason).toBe('task crunch#all failed after 1 attempt(s) with exit code 2: Essential container in task exited');
    expect(await h.starts()).toHaveLength(1);
    expect(h.publisher.ofType(RunFailed.detailType)).toHaveLength(1);
  });

  it('retries any other exit code while attempts remain', async () => {
    const pipeline = pipelineOf({ analytic: true, attempts: 3 });
    await writeFile(h.marker('fail-0'), '1');
    const host = h.startHost({ pipelines: [pipeline], workerCommand: TEST_WORKER });
    const run = await h.startRun(host, pipeline, ['emea-cash']);
    await h.runReaching(run.runId, 'SUCCEEDED');
    const [task] = await h.tasksOf(run.runId);
    expect(task!.attempts.map((a) => a.exitCode)).toEqual([1, 0]);
  });

  it('terminates the siblings of a task that failed for good, and publishes Run Failed exactly once', async () => {
    const pipeline = pipelineOf({ fanOut: 'partitions', attempts: 1 });
    await writeFile(h.marker('hang-1'), '');
    await writeFile(h.marker('hang-2'), '');
    await writeFile(h.marker('fail-0'), '3');
    const host = h.startHost({ pipelines: [pipeline] });
    const run = await h.startRun(host, pipeline, DESKS3);
    const failed = await h.runReaching(run.runId, 'FAILED');
    expect(failed.reason).toContain('task crunch#apac-cash failed after 1 attempt(s) with exit code 3');
    // The hanging siblings are stopped, not left to run: every task ends FAILED with the run's reason.
    const tasks = await eventually('every sibling to be stopped', async () => {
      const all = await h.tasksOf(run.runId);
      return all.length === 3 && all.every((t) => t.status === 'FAILED') ? all : undefined;
    });
    expect(tasks.slice(1).map((t) => t.statusReason)).toEqual([failed.reason, failed.reason]);
    await host.compute.idle();
    expect(h.publisher.ofType(RunFailed.detailType)).toHaveLength(1);
    expect(h.publisher.ofType(RunSucceeded.detailType)).toHaveLength(0);
  });

  it('cancels a whole run: its running tasks are terminated and Run Failed says why, once', async () => {
    const pipeline = pipelineOf({ fanOut: 'partitions', attempts: 2 });
    for (const i of [0, 1, 2]) await writeFile(h.marker(`hang-${i}`), '');
    const host = h.startHost({ pipelines: [pipeline] });
    const run = await h.startRun(host, pipeline, DESKS3);
    await eventually('the workers to start', async () => ((await h.starts()).length === 3 ? true : undefined));
    expect(await host.engine.cancelRun(run.runId, 'wrong dataset (by ops)')).toBe(true);
    expect(await host.engine.cancelRun(run.runId, 'again')).toBe(false);
    const failed = await h.runReaching(run.runId, 'FAILED');
    expect(failed.reason).toBe('cancelled: wrong dataset (by ops)');
    await host.compute.idle();
    const tasks = await h.tasksOf(run.runId);
    expect(tasks.map((t) => [t.status, t.attempts.length])).toEqual([['FAILED', 1], ['FAILED', 1], ['FAILED', 1]]);
    expect(await h.starts()).toHaveLength(3);
    expect(h.publisher.ofType(RunFailed.detailType)).toHaveLength(1);
  });

  it('fails a run past its deadline with the reason, and stops its jobs', async () => {
    const pipeline = pipelineOf({ timeoutSeconds: 1 });
    await writeFile(h.marker('hang-0'), '');
    const host = h.startHost({ pipelines: [pipeline] });
    const run = await h.startRun(host, pipeline, ['emea-cash']);
    await eventually('the worker to start', async () => ((await h.starts()).length === 1 ? true : undefined));
    const failed = await eventually('the sweep to fail the run after its deadline', async () => {
      await host.reconciler.sweep();
      const r = await h.store.getRun(run.runId);
      return r?.status === 'FAILED' ? r : undefined;
    });
    expect(failed.reason).toMatch(/^run exceeded its deadline .* \(the pipeline's timeoutSeconds\)$/);
    await host.compute.idle();
    expect((await h.tasksOf(run.runId))[0]?.status).toBe('FAILED');
  });
});

describe('RunEngine: the step manifest carries the step', () => {
  it("writes an analytic step's options into its manifest, where every child reads them", async () => {
    const pipeline = definePipeline({
      name: 'performance-periods',
      description: 'a performance step declaring its periods',
      trigger: { datasets: ['returns'] },
      steps: [{ name: 'perf', analytic: 'performance', options: { periods: ['daily', 'monthly'] }, fanOut: 'partitions', vcpus: 0.25, memoryMiB: 64, attempts: 1, timeoutSeconds: 60 }],
    });
    const host = h.startHost({ pipelines: [pipeline] });
    const run = await h.startRun(host, pipeline, ['growth', 'value']);
    const [step] = await h.store.listSteps(run.runId);
    const manifest = await eventually('the manifest to be written', async () => {
      const body = await h.objects.get(step!.manifestKey).catch(() => undefined);
      return body === undefined ? undefined : (JSON.parse(Buffer.from(body).toString('utf8')) as StepManifest);
    });
    expect(manifest).toMatchObject({ step: 'perf', analytic: 'performance', options: { periods: ['daily', 'monthly'] } });
    expect(manifest.entries.map((e) => e.partition)).toEqual(['growth', 'value']);
  });
});

describe('RunEngine: submission never strands a run', () => {
  it('fails the run with the reason when the compute environment refuses the job (a queue that does not exist)', async () => {
    const pipeline = pipelineOf({ queue: 'no-such-queue' });
    const host = h.startHost({ pipelines: [pipeline], compute: { strictQueues: true, jobQueues: [{ name: 'default', priority: 1 }] } });
    const run = await h.startRun(host, pipeline, ['emea-cash']);
    const failed = await h.runReaching(run.runId, 'FAILED');
    expect(failed.reason).toMatch(/^step crunch could not be submitted: .*no-such-queue/);
    expect((await h.store.listSteps(run.runId))[0]).toMatchObject({ status: 'FAILED' });
    expect(h.publisher.ofType(RunFailed.detailType)).toHaveLength(1);
    expect(await h.starts()).toHaveLength(0);
  });

  it('retries a transient submission failure with backoff, and the run completes', async () => {
    const pipeline = pipelineOf();
    let failures = 2;
    const host = h.startHost({
      pipelines: [pipeline],
      wrapCompute: (compute) => flaky(compute, { submitJob: () => (failures-- > 0 ? new ComputeSubmissionError('throttled', true) : undefined) }),
    });
    const run = await h.startRun(host, pipeline, ['emea-cash']);
    await h.runReaching(run.runId, 'SUCCEEDED');
    expect(await h.starts()).toHaveLength(1);
  });

  it('never submits twice when a submission went through but its answer was lost: the job is found by its name', async () => {
    const pipeline = pipelineOf();
    let lose = true;
    const host = h.startHost({
      pipelines: [pipeline],
      wrapCompute: (compute) => ({
        ...bind(compute),
        submitJob: async (job) => {
          const submitted = await compute.submitJob(job);
          if (lose) {
            lose = false;
            throw new ComputeSubmissionError('socket hang up after the request was sent', true);
          }
          return submitted;
        },
      }),
    });
    await writeFile(h.marker('hang-0'), '');
    const run = await h.startRun(host, pipeline, ['emea-cash']);
    await eventually('the worker to start', async () => ((await h.starts()).length === 1 ? true : undefined));
    await rm(h.marker('hang-0'));
    await h.runReaching(run.runId, 'SUCCEEDED');
    await host.compute.idle();
    expect(await h.starts()).toHaveLength(1);
    expect(new Set(host.delivered.map((d) => d.jobId)).size).toBe(1);
  });

  it('leaves a step claimed when submission keeps failing, and the sweep resumes it once the claim is stale', async () => {
    const pipeline = pipelineOf();
    let down = true;
    const host = h.startHost({
      pipelines: [pipeline],
      claimTimeoutMs: 0,
      wrapCompute: (compute) => flaky(compute, { submitJob: () => (down ? new ComputeSubmissionError('Batch is unavailable', true) : undefined) }),
    });
    const dataset = await h.registerDataset(['emea-cash']);
    await expect(host.engine.startRun({ pipeline, dataset, triggerEventId: 't', correlationId: 'c' })).rejects.toThrow('Batch is unavailable');
    const [claimed] = await h.store.listRuns().then((p) => h.store.listSteps(p.items[0]!.runId));
    expect(claimed).toMatchObject({ status: 'SUBMITTING' });
    down = false;
    const outcome = await host.reconciler.sweep();
    expect(outcome.resumed).toBe(1);
    await h.runReaching(claimed!.runId, 'SUCCEEDED');
    expect(await h.starts()).toHaveLength(1);
  });
});

describe('Reconciler: repairs what events and hosts lose', () => {
  it('applies a finished job whose state-change event was lost', async () => {
    const pipeline = pipelineOf({ fanOut: 'partitions', attempts: 1 });
    const host = h.startHost({ pipelines: [pipeline] });
    // The bus loses child 1's SUCCEEDED.
    host.drop = (d) => d.arrayProperties?.index === 1 && d.status === 'SUCCEEDED';
    const run = await h.startRun(host, pipeline, DESKS3);
    await host.compute.idle();
    expect(host.undelivered.map((d) => [d.arrayProperties?.index, d.status])).toEqual([[1, 'SUCCEEDED']]);
    expect((await h.store.getRun(run.runId))?.status).toBe('RUNNING');
    const outcome = await host.reconciler.sweep();
    expect(outcome.repaired).toBe(1);
    await h.runReaching(run.runId, 'SUCCEEDED');
    expect(h.publisher.ofType(RunSucceeded.detailType)).toHaveLength(1);
  });

  it("carries out an outbox a crash left behind: the terminal event is published, the run's jobs stopped, the run closed", async () => {
    const pipeline = pipelineOf({ fanOut: 'partitions', attempts: 1 });
    for (const i of [0, 1]) await writeFile(h.marker(`hang-${i}`), '');
    const host = h.startHost({ pipelines: [pipeline] });
    const run = await h.startRun(host, pipeline, ['apac-cash', 'emea-cash']);
    await eventually('the workers to start', async () => ((await h.starts()).length === 2 ? true : undefined));
    // The transition a planner wrote just before it died: the run FAILED, its effects in the outbox, none carried out.
    const stored = (await h.store.getRun(run.runId))!;
    const reason = 'operator failed it, then the planner died';
    const event = OutboxRelay.event(`run-failed-${run.runId}`, {
      source: RunFailed.source,
      detailType: RunFailed.detailType,
      resources: [run.runId],
      detail: envelope({ runId: run.runId, pipeline: run.pipeline, businessDate: run.businessDate, reason, finishedAt: new Date().toISOString() }, { eventId: `run-failed-${run.runId}`, correlationId: run.correlationId, occurredAt: new Date() }),
    });
    await h.store.transitionRun(run.runId, stored.status, finishRun('FAILED', new Date(), reason), [event, { id: `stop-jobs-${run.runId}`, kind: 'stop-jobs', reason }]);
    expect((await h.store.listOpenRuns()).items.map((r) => r.runId)).toContain(run.runId);
    expect(h.publisher.ofType(RunFailed.detailType)).toHaveLength(0);

    await host.reconciler.sweep();
    expect(h.publisher.ofType(RunFailed.detailType)).toHaveLength(1);
    const tasks = await eventually('both workers to be stopped', async () => {
      const all = await h.tasksOf(run.runId);
      return all.length === 2 && all.every((t) => t.status === 'FAILED') ? all : undefined;
    });
    expect(tasks.map((t) => t.statusReason)).toEqual([reason, reason]);
    expect((await h.store.getRun(run.runId))?.outbox ?? []).toEqual([]);
    expect((await h.store.listOpenRuns()).items.map((r) => r.runId)).not.toContain(run.runId);
    // A second sweep has nothing left to say.
    await host.reconciler.sweep();
    expect(h.publisher.ofType(RunFailed.detailType)).toHaveLength(1);
  });

  it('after a host restart records the lost attempt with the reason, resubmits the task alone, and the run succeeds', async () => {
    const pipeline = pipelineOf({ attempts: 2 });
    await writeFile(h.marker('hang-0'), '');
    const a = h.startHost({ pipelines: [pipeline] });
    const run = await h.startRun(a, pipeline, ['emea-cash']);
    await eventually('the worker to start', async () => ((await h.starts()).length === 1 ? true : undefined));
    await eventually('the task to be RUNNING', async () => ((await h.tasksOf(run.runId))[0]?.status === 'RUNNING' ? true : undefined));
    const lostJobId = (await h.tasksOf(run.runId))[0]!.jobId;
    await h.crash(a);

    const b = h.startHost({ pipelines: [pipeline] });
    expect(await b.reconciler.sweep()).toMatchObject({ lost: 1 });
    await rm(h.marker('hang-0'));
    await h.runReaching(run.runId, 'SUCCEEDED');
    await b.compute.idle();
    const [task] = await h.tasksOf(run.runId);
    expect(task!.attempts.map((x) => [x.attempt, x.exitCode, x.statusReason])).toEqual([
      [1, undefined, `job ${lostJobId} is unknown to the compute environment: it was lost with the host that ran it`],
      [2, 0, 'Essential container in task exited'],
    ]);
    expect(b.delivered.every((d) => d.parameters[JOB_PARAM_PRIOR_ATTEMPTS] === '1' && d.parameters[JOB_PARAM_ARRAY_INDEX] === '0')).toBe(true);
    // The lost job's late events are stale now.
    for (const detail of a.delivered) expect(await b.engine.onJobStateChange(detail)).not.toBe('applied');
    expect(h.publisher.ofType(RunSucceeded.detailType)).toHaveLength(1);
  });

  it('fails the task and the run when the lost attempt was the last', async () => {
    const pipeline = pipelineOf({ attempts: 1 });
    await writeFile(h.marker('hang-0'), '');
    const a = h.startHost({ pipelines: [pipeline] });
    const run = await h.startRun(a, pipeline, ['emea-cash']);
    await eventually('the worker to start', async () => ((await h.starts()).length === 1 ? true : undefined));
    await h.crash(a);
    const b = h.startHost({ pipelines: [pipeline] });
    await b.reconciler.sweep();
    const failed = await h.runReaching(run.runId, 'FAILED');
    expect(failed.reason).toContain('is unknown to the compute environment');
    expect(h.publisher.ofType(RunFailed.detailType)).toHaveLength(1);
    expect(await h.starts()).toHaveLength(1);
  });

  it('claims each lost task once when two planners sweep at the same time', async () => {
    const { pipeline, run } = await threeTasksLostWithTheirHost();
    for (const i of [0, 1, 2]) await writeFile(h.marker(`hang-${i}-alone`), '');
    const b = h.startHost({ pipelines: [pipeline] });
    const c = h.startHost({ pipelines: [pipeline], wrapCompute: () => b.compute });
    const outcomes = await Promise.all([b.reconciler.sweep(), c.reconciler.sweep(), b.reconciler.sweep()]);
    expect(outcomes.reduce((n, o) => n + o.lost, 0)).toBe(3);
    await eventually('three resubmitted workers', async () => ((await h.starts()).length === 6 ? true : undefined));
    for (const i of [0, 1, 2]) await rm(h.marker(`hang-${i}-alone`));
    await h.runReaching(run.runId, 'SUCCEEDED');
    await b.compute.idle();
    const resubmitted = (await h.starts<{ nightshiftIndex: string | null }>()).slice(3).map((s) => s.nightshiftIndex).sort();
    expect(resubmitted).toEqual(['0', '1', '2']);
    expect(h.publisher.ofType(RunSucceeded.detailType)).toHaveLength(1);
  });
});

describe('Reconciler: a resubmitted task waiting in the queue', () => {
  it('is not claimed again while its job waits longer than the claim timeout, and its job, once it runs, finishes the task', async () => {
    const { pipeline, run } = await threeTasksLostWithTheirHost();
    // One task at a time on the new host (0.25 vCPU each), and the first to run hangs: the other two
    // resubmitted jobs wait RUNNABLE through every sweep below, each far past the claim timeout (0).
    for (const i of [0, 1, 2]) await writeFile(h.marker(`hang-${i}-alone`), '');
    const b = h.startHost({ pipelines: [pipeline], compute: { vcpus: 0.25 }, claimTimeoutMs: 0 });
    expect(await b.reconciler.sweep()).toMatchObject({ lost: 3 });
    await eventually('the first resubmitted worker', async () => ((await h.starts()).length === 4 ? true : undefined));
    const jobs = (await h.tasksOf(run.runId)).map((t) => t.jobId);
    expect(jobs.every((id) => id !== undefined && !id.startsWith('resubmission:'))).toBe(true);
    for (let i = 0; i < 3; i++) expect(await b.reconciler.sweep()).toMatchObject({ lost: 0 });
    expect((await h.tasksOf(run.runId)).map((t) => t.jobId)).toEqual(jobs);
    for (const i of [0, 1, 2]) await rm(h.marker(`hang-${i}-alone`));
    await h.runReaching(run.runId, 'SUCCEEDED');
    await b.compute.idle();
    // Three first attempts lost with the host, then one resubmitted job per task: no more.
    expect(await h.starts()).toHaveLength(6);
    expect((await h.tasksOf(run.runId)).map((t) => t.attempts.map((x) => x.exitCode ?? 'lost'))).toEqual([
      ['lost', 0],
      ['lost', 0],
      ['lost', 0],
    ]);
    expect(h.publisher.ofType(RunSucceeded.detailType)).toHaveLength(1);
  });
});

describe('RunEngine.failUnplannable on a redelivered trigger', () => {
  it('never fails a run that an earlier delivery of the same trigger planned and started', async () => {
    const pipeline = pipelineOf();
    await writeFile(h.marker('hang-0'), '');
    const host = h.startHost({ pipelines: [pipeline] });
    const run = await h.startRun(host, pipeline, ['emea-cash']);
    await eventually('the worker to start', async () => ((await h.starts()).length === 1 ? true : undefined));
    // The second delivery of the same trigger now resolves to something unplannable (say, a newer dataset version lacking a table).
    await host.engine.failUnplannable({ pipeline: pipeline.name, businessDate: run.businessDate, triggerEventId: h.lastTriggerEventId, correlationId: run.correlationId, reason: 'lacks prices' });
    expect(h.publisher.ofType(RunFailed.detailType)).toEqual([]);
    expect((await h.store.getRun(run.runId))?.status).toBe('RUNNING');
    await rm(h.marker('hang-0'));
    expect((await h.runReaching(run.runId, 'SUCCEEDED')).reason).toBeUndefined();
    expect(h.publisher.ofType(RunFailed.detailType)).toEqual([]);
  });

  it('records the failure once, under the run id the trigger names, however often the trigger is delivered', async () => {
    const host = h.startHost({ pipelines: [pipelineOf()] });
    const args = { pipeline: 'no-such', businessDate: '2024-05-02', triggerEventId: 'request-1', correlationId: 'request-1' };
    await host.engine.failUnplannable({ ...args, reason: 'unknown pipeline "no-such"' });
    await host.engine.failUnplannable({ ...args, reason: 'a different reason on the second delivery' });
    const failures = h.publisher.ofType(RunFailed.detailType).map((e) => RunFailed.detail.parse(e.detail));
    expect(failures).toHaveLength(1);
    expect(failures[0]!.data.reason).toBe('unknown pipeline "no-such"');
    expect((await h.store.listRuns()).items.map((r) => [r.status, r.reason])).toEqual([['FAILED', 'unknown pipeline "no-such"']]);
    // Closed: terminal, its outbox carried out.
    expect((await h.store.listOpenRuns()).items).toEqual([]);
  });
});

describe('RunEngine at the sizes the design promises', () => {
  it('runs a 2,500-child no-op step (`true`) to SUCCEEDED; Run Succeeded of a 10,000-task run stays far under 256 KiB', async () => {
    const children = 2_500;
    const pipeline = noopPipeline('noop', children);
    const host = h.startHost({ pipelines: [pipeline] });
    const run = await h.startRun(host, pipeline, []);
    await h.runReaching(run.runId, 'SUCCEEDED', 240_000);
    expect((await h.store.listSteps(run.runId))[0]).toMatchObject({ status: 'SUCCEEDED', size: children, succeeded: children, failed: 0 });
    const [event] = h.publisher.ofType(RunSucceeded.detailType);
    expect(event).toBeDefined();
    // The event does not grow with the run: the same event for 10,000 tasks differs only in counts.
    const data = (event!.detail as { data: RunSucceededDetail['data'] }).data;
    const tenThousand = { ...event!, detail: { ...(event!.detail as object), data: { ...data, steps: [{ step: 'noop', tasks: 10_000 }], outputs: { ...data.outputs, count: 10_000 } } } };
    expect(eventSize(tenThousand)).toBeLessThan(MAX_EVENT_BYTES / 100);
  }, 300_000);
});

/** A compute environment whose calls fail as `failures` say (an error to throw, or undefined to go through). */
function flaky(compute: ComputeEnvironment, failures: { submitJob?: () => Error | undefined }): ComputeEnvironment {
  return {
    ...bind(compute),
    submitJob: async (job) => {
      const error = failures.submitJob?.();
      if (error) throw error;
      return compute.submitJob(job);
    },
  };
}

function bind(compute: ComputeEnvironment): ComputeEnvironment {
  return {
    submitJob: (job) => compute.submitJob(job),
    describeJobs: (ids) => compute.describeJobs(ids),
    listJobs: (filter) => compute.listJobs(filter),
    cancelJob: (id, reason) => compute.cancelJob(id, reason),
    terminateJob: (id, reason) => compute.terminateJob(id, reason),
  };
}
