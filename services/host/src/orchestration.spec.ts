import { PutEventsCommand, type EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { DatasetLanded } from '@nightshift/contracts';
import { definePipeline, type PipelineDefinition } from '@nightshift/jobs-domain';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EmbeddedPlatform } from './embedded-platform.js';
import { ensureSampleDay } from './sample-day.js';
import { apiFetch } from './testing/api-fetch.js';
import { startTestPlatform, type TestPlatform } from './testing/test-platform.js';
import { waitFor } from './testing/wait.js';

/*
 * Pipelines users write, run by the real embedded platform: shell command steps under the worker
 * (their manifest entry, inputs and output), N_TO_N dependencies, Choice conditions, onFailure
 * handlers, waits, approvals through the API, and chaining one pipeline's run to another's.
 */

const DESKS = ['cash', 'program'];

/** Counts the partition's orders rows and writes them as the task's result. */
const COUNT_ROWS = [
  'sh',
  '-c',
  'test -f "$NIGHTSHIFT_ENTRY_FILE" || exit 9; rows=$(cat "$NIGHTSHIFT_INPUT_DIR"/orders/* | wc -l); ' +
    'printf \'{"partition":"%s","rows":%d,"batchIndex":"%s"}\' "$NIGHTSHIFT_PARTITION" "$rows" "$AWS_BATCH_JOB_ARRAY_INDEX" > "$NIGHTSHIFT_OUTPUT_DIR/result.json"',
];

const SHELL: PipelineDefinition = definePipeline({
  name: 'user-shell',
  description: 'test: shell command steps, the second after the first child by child (N_TO_N)',
  trigger: { datasets: ['orch-shell'] },
  steps: [
    { name: 'count-rows', command: COUNT_ROWS, fanOut: 'partitions', vcpus: 0.5, memoryMiB: 128, timeoutSeconds: 120 },
    {
      name: 'stamp',
      command: ['sh', '-c', 'printf \'{"partition":"%s","after":"count-rows"}\' "$NIGHTSHIFT_PARTITION" > "$NIGHTSHIFT_OUTPUT_DIR/result.json"'],
      fanOut: 'partitions',
      dependsOn: [{ step: 'count-rows', type: 'N_TO_N' }],
      vcpus: 0.5,
      memoryMiB: 128,
      timeoutSeconds: 120,
    },
  ],
});

/** The second stage of user-shell: reads what the first stage's run wrote. */
const STAGE_TWO: PipelineDefinition = definePipeline({
  name: 'user-shell-stage-two',
  description: 'test: chained after user-shell, over its outputs',
  trigger: { pipelines: ['user-shell'] },
  steps: [
    {
      name: 'summarise',
      command: ['sh', '-c', 'n=$(ls "$NIGHTSHIFT_UPSTREAM_DIR"/*/*.json | wc -l); printf \'{"upstreamOutputs":%d}\' "$n" > "$NIGHTSHIFT_OUTPUT_DIR/result.json"'],
      vcpus: 0.5,
      memoryMiB: 128,
      timeoutSeconds: 120,
    },
  ],
});

const CHOICE: PipelineDefinition = definePipeline({
  name: 'choice',
  description: 'test: a step that runs only when the first found orders',
  trigger: { datasets: ['orch-choice'] },
  steps: [
    { name: 'measure', command: ['sh', '-c', 'echo \'{"orders":0}\' > "$NIGHTSHIFT_OUTPUT_DIR/result.json"'], vcpus: 0.5, memoryMiB: 128 },
    { name: 'publish', command: ['sh', '-c', 'exit 7'], dependsOn: ['measure'], when: { step: 'measure', path: 'orders', greaterThan: 0 }, vcpus: 0.5, memoryMiB: 128 },
    { name: 'notify', command: ['sh', '-c', 'exit 7'], dependsOn: ['publish'], vcpus: 0.5, memoryMiB: 128 },
    { name: 'archive', command: ['true'], dependsOn: ['measure'], vcpus: 0.5, memoryMiB: 128 },
  ],
});

/** A condition on a desk the day's dataset does not have: the run fails, saying so. */
const CHOICE_NO_DESK: PipelineDefinition = definePipeline({
  name: 'choice-no-desk',
  description: 'test: a condition on a partition that is not there',
  trigger: { datasets: ['orch-choice-no-desk'] },
  steps: [
    { name: 'measure', command: ['true'], fanOut: 'partitions', vcpus: 0.5, memoryMiB: 128 },
    { name: 'publish', command: ['true'], dependsOn: ['measure'], when: { step: 'measure', partition: 'futures', path: 'orders', exists: true }, vcpus: 0.5, memoryMiB: 128 },
  ],
});

/** A publication behind a person's sign-off, with `timeoutSeconds` to give it. */
function gate(name: string, dataset: string, timeoutSeconds: number): PipelineDefinition {
  return definePipeline({
    name,
    description: `test: a sign-off that times out after ${timeoutSeconds} s`,
    trigger: { datasets: [dataset] },
    steps: [
      { name: 'prepare', command: ['true'], vcpus: 0.5, memoryMiB: 128 },
      { name: 'sign-off', approval: { timeoutSeconds, description: 'Publish the numbers?' }, dependsOn: ['prepare'] },
      { name: 'publish', command: ['true'], dependsOn: ['sign-off'], vcpus: 0.5, memoryMiB: 128 },
    ],
  });
}
const SHORT_GATE = gate('gate-short', 'orch-gate-short', 2);
const LONG_GATE = gate('gate-long', 'orch-gate-long', 3_600);

const CATCH: PipelineDefinition = definePipeline({
  name: 'catch',
  description: 'test: a failing step with a cleanup handler',
  trigger: { datasets: ['orch-catch'] },
  steps: [
    { name: 'work', command: ['sh', '-c', 'echo failing on purpose >&2; exit 3'], onFailure: 'cleanup', vcpus: 0.5, memoryMiB: 128 },
    { name: 'after-work', command: ['true'], dependsOn: ['work'], vcpus: 0.5, memoryMiB: 128 },
    { name: 'cleanup', command: ['sh', '-c', 'echo \'{"cleaned":true}\' > "$NIGHTSHIFT_OUTPUT_DIR/result.json"'], vcpus: 0.5, memoryMiB: 128 },
  ],
});

const WAIT: PipelineDefinition = definePipeline({
  name: 'waiter',
  description: 'test: a two-second wait between two steps',
  trigger: { datasets: ['orch-wait'] },
  steps: [
    { name: 'first', command: ['true'], vcpus: 0.5, memoryMiB: 128 },
    { name: 'pause', wait: { seconds: 2 }, dependsOn: ['first'] },
    { name: 'second', command: ['true'], dependsOn: ['pause'], vcpus: 0.5, memoryMiB: 128 },
  ],
});

/** Reads orch-wait datasets too, but runs only when asked (schedules, backfills, requests), not at each landing. */
const ON_REQUEST: PipelineDefinition = definePipeline({
  name: 'on-request',
  description: 'test: a pipeline whose dataset does not start it',
  trigger: { datasets: ['orch-wait'], onLanding: false },
  steps: [{ name: 'only', command: ['true'], vcpus: 0.5, memoryMiB: 128 }],
});

interface StepView {
  step: string;
  status: string;
  reason?: string;
  jobId?: string;
  finishedAt?: string;
  submittedAt?: string;
  waitUntil?: string;
  decision?: { decision: string; by: string; comment?: string };
}
interface RunView {
  runId: string;
  pipeline: string;
  status: string;
  reason?: string;
  steps: StepView[];
  tasks: Array<{ taskId: string; step: string; partition: string; status: string; startedAt?: string; stoppedAt?: string }>;
}

let started: TestPlatform | undefined;
let platform: EmbeddedPlatform;
let events: EventBridgeClient;

beforeAll(async () => {
  started = await startTestPlatform({
    prefix: 'nightshift-orchestration-',
    extraPipelines: [SHELL, STAGE_TWO, CHOICE, CHOICE_NO_DESK, SHORT_GATE, LONG_GATE, CATCH, WAIT, ON_REQUEST],
  });
  ({ platform, events } = started);
}, 120_000);

afterAll(() => started?.stop());

/** Lands the small sample day under `dataset` and resolves the id of the run of `pipeline` it starts. */
async function landAndFindRun(dataset: string, pipeline: string, businessDate = '2026-11-16'): Promise<string> {
  const day = (await ensureSampleDay(platform.objects, { businessDate, seed: 11, desks: DESKS, ordersPerDesk: 5, quotesPerSymbol: 10, symbols: 2 })).detail;
  const out = await events.send(new PutEventsCommand({ Entries: [{ Source: 'com.example.oms', DetailType: DatasetLanded.detailType, Detail: JSON.stringify({ ...day, dataset }) }] }));
  expect(out.FailedEntryCount).toBe(0);
  const correlationId = out.Entries![0]!.EventId!;
  return (await waitFor(
    async () => (await platform.store.listRuns({ limit: 100 })).items.find((r) => r.correlationId === correlationId && r.pipeline === pipeline)?.runId,
    (runId) => runId !== undefined,
    { what: `the ${pipeline} run of the ${dataset} landing`, timeoutMs: 60_000 },
  ))!;
}

async function runView(runId: string): Promise<RunView> {
  return (await (await apiFetch(`${platform.apiUrl}/runs/${runId}?tasksLimit=500`)).json()) as RunView;
}

async function finished(runId: string, timeoutMs = 120_000): Promise<RunView> {
  return waitFor(() => runView(runId), (v) => v.status === 'SUCCEEDED' || v.status === 'FAILED', { what: `run ${runId} to finish`, timeoutMs, intervalMs: 100 });
}

/** The run's reason and the logs of its failed tasks: what a failed expectation should show. */
async function explain(view: RunView): Promise<string> {
  const logs = await Promise.all(
    view.tasks
      .filter((t) => t.status === 'FAILED')
      .map(async (t) => `${t.taskId}:\n${await (await apiFetch(`${platform.apiUrl}/runs/${view.runId}/tasks/${encodeURIComponent(t.taskId)}/attempts/1/log`)).text()}`),
  );
  return [view.reason ?? '', ...logs].join('\n');
}

function step(view: RunView, name: string): StepView {
  const found = view.steps.find((s) => s.step === name);
  if (!found) throw new Error(`run ${view.runId} has no step ${name}: ${JSON.stringify(view.steps)}`);
  return found;
}

async function reportOf(runId: string): Promise<{ sections: Record<string, unknown> }> {
  const reports = await waitFor(
    async () => ((await (await apiFetch(`${platform.apiUrl}/reports?runId=${runId}`)).json()) as { items: Array<{ reportId: string }> }).items,
    (items) => items.length === 1,
    { what: `the report of ${runId}`, timeoutMs: 60_000 },
  );
  return ((await (await apiFetch(`${platform.apiUrl}/reports/${reports[0]!.reportId}`)).json()) as { document: { sections: Record<string, unknown> } }).document;
}

async function answer(runId: string, stepName: string, action: 'approve' | 'reject', comment: string): Promise<Response> {
  return apiFetch(`${platform.apiUrl}/runs/${runId}/steps/${stepName}/${action}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ comment }) });
}

describe('pipelines users define, on the embedded platform', () => {
  it('runs shell command steps with their manifest entry and inputs, the second N_TO_N after the first, to a report; and chains a second stage over its outputs', async () => {
    const runId = await landAndFindRun('orch-shell', 'user-shell');
    const run = await finished(runId);
    expect(run.status, await explain(run)).toBe('SUCCEEDED');

    // N_TO_N: child i of stamp started after child i of count-rows stopped, and its job waited on the first step's array job.
    for (const desk of DESKS) {
      const first = run.tasks.find((t) => t.taskId === `count-rows#${desk}`)!;
      const second = run.tasks.find((t) => t.taskId === `stamp#${desk}`)!;
      expect(Date.parse(second.startedAt!)).toBeGreaterThanOrEqual(Date.parse(first.stoppedAt!));
    }
    const [stampJob] = await platform.compute.describeJobs([step(run, 'stamp').jobId!]);
    expect(stampJob!.dependsOn).toEqual([{ jobId: step(run, 'count-rows').jobId, type: 'N_TO_N' }]);

    // The report holds what each command wrote: the rows of its own desk's orders file (a header and 5 orders).
    const report = await reportOf(runId);
    const counted = report.sections['count-rows'] as Array<{ partition: string; rows: number; batchIndex: string }>;
    expect(counted.map((c) => c.partition).sort()).toEqual(DESKS);
    for (const c of counted) expect(c.rows).toBe(6);
    expect((report.sections['stamp'] as Array<{ after: string }>).every((s) => s.after === 'count-rows')).toBe(true);

    // Chaining: user-shell's success started the second stage, over the same dataset, reading its 4 outputs.
    const stageTwo = await waitFor(
      async () => (await platform.store.listRuns({ limit: 100 })).items.find((r) => r.pipeline === 'user-shell-stage-two' && r.upstream?.runId === runId),
      (r) => r !== undefined,
      { what: 'the chained second stage to start', timeoutMs: 60_000 },
    );
    const second = await finished(stageTwo!.runId);
    expect(second.status, second.reason).toBe('SUCCEEDED');
    expect((await reportOf(stageTwo!.runId)).sections['summarise']).toEqual([{ upstreamOutputs: 4 }]);
  }, 240_000);

  it('skips a step whose condition does not hold, and the steps after it, and the run still succeeds', async () => {
    const run = await finished(await landAndFindRun('orch-choice', 'choice'));
    expect(run.status, await explain(run)).toBe('SUCCEEDED');
    expect(step(run, 'measure').status).toBe('SUCCEEDED');
    expect(step(run, 'publish')).toMatchObject({ status: 'SKIPPED', reason: expect.stringMatching(/^skipped: condition measure orders greaterThan 0: the value is 0, so the condition does not hold$/) });
    expect(step(run, 'notify')).toMatchObject({ status: 'SKIPPED', reason: 'skipped: step publish was skipped' });
    expect(step(run, 'archive').status).toBe('SUCCEEDED');
    // Neither skipped step ever had a job.
    expect(step(run, 'publish').jobId).toBeUndefined();
    expect(run.tasks.filter((t) => t.step === 'publish' || t.step === 'notify')).toEqual([]);
  }, 180_000);

  it('fails the run, naming the partitions there are, when a condition reads a partition the step does not have', async () => {
    const run = await finished(await landAndFindRun('orch-choice-no-desk', 'choice-no-desk'));
    expect(run.status).toBe('FAILED');
    expect(run.reason).toBe("step publish's condition reads partition futures of step measure, which has cash, program");
    expect(step(run, 'publish').status).toBe('PENDING');
  }, 180_000);

  it('fails the run with the timeout as its reason when an approval never comes', async () => {
    const runId = await landAndFindRun('orch-gate-short', 'gate-short');
    const run = await finished(runId);
    expect(run.status).toBe('FAILED');
    expect(run.reason).toMatch(/^approval of step sign-off timed out: no decision within 2 s \(by \d{4}-\d\d-\d\dT[\d:.]+Z\)$/);
    expect(step(run, 'sign-off').status).toBe('FAILED');
    expect(step(run, 'publish').status).toBe('PENDING');
    // Answering now is too late.
    expect((await answer(runId, 'sign-off', 'approve', 'late')).status).toBe(409);
  }, 180_000);

  it('goes on when a person approves through the API, and fails with their words when they reject', async () => {
    const approved = await landAndFindRun('orch-gate-long', 'gate-long', '2026-11-16');
    const rejected = await landAndFindRun('orch-gate-long', 'gate-long', '2026-11-17');
    for (const runId of [approved, rejected]) {
      const waiting = await waitFor(() => runView(runId), (v) => step(v, 'sign-off').status === 'WAITING', { what: `run ${runId} to wait for its sign-off`, timeoutMs: 120_000 });
      expect(Date.parse(step(waiting, 'sign-off').waitUntil!)).toBeGreaterThan(Date.now() + 3_000_000);
    }
    expect((await answer(approved, 'publish', 'approve', 'not an approval')).status).toBe(404);
    const yes = await answer(approved, 'sign-off', 'approve', 'numbers checked');
    expect(yes.status).toBe(202);
    expect(yes.headers.get('location')).toBe(`/runs/${approved}`);
    expect((await answer(rejected, 'sign-off', 'reject', 'the fills look wrong')).status).toBe(202);

    const done = await finished(approved);
    expect(done.status, done.reason).toBe('SUCCEEDED');
    expect(step(done, 'sign-off')).toMatchObject({ status: 'SUCCEEDED', decision: { decision: 'APPROVED', comment: 'numbers checked' } });
    expect(step(done, 'publish').status).toBe('SUCCEEDED');

    const refused = await finished(rejected);
    expect(refused.status).toBe('FAILED');
    expect(refused.reason).toMatch(/^approval of step sign-off rejected by .+: the fills look wrong$/);
    expect(step(refused, 'publish').status).toBe('PENDING');

    // A retry asks again: the step waits anew, without the earlier answer.
    const retry = await apiFetch(`${platform.apiUrl}/runs/${rejected}/retry`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ reason: 'fills fixed' }) });
    expect(retry.status).toBe(202);
    const asked = await waitFor(() => runView(rejected), (v) => v.status === 'RUNNING' && step(v, 'sign-off').status === 'WAITING', { what: 'the retried sign-off to wait again', timeoutMs: 60_000 });
    expect(step(asked, 'sign-off').decision).toBeUndefined();
    expect(Date.parse(step(asked, 'sign-off').waitUntil!)).toBeGreaterThan(Date.parse(step(refused, 'sign-off').finishedAt!));
  }, 240_000);

  it('runs the onFailure step after a step fails, then fails the run with the failed step\'s reason', async () => {
    const run = await finished(await landAndFindRun('orch-catch', 'catch'));
    expect(run.status).toBe('FAILED');
    expect(run.reason).toMatch(/^task work#all failed after 1 attempt\(s\) with exit code 3/);
    expect(step(run, 'work').status).toBe('FAILED');
    expect(step(run, 'cleanup').status).toBe('SUCCEEDED');
    expect(step(run, 'after-work').status).toBe('PENDING');
    const cleanup = run.tasks.find((t) => t.step === 'cleanup')!;
    expect(Date.parse(cleanup.startedAt!)).toBeGreaterThanOrEqual(Date.parse(run.tasks.find((t) => t.step === 'work')!.stoppedAt!));
  }, 180_000);

  it('holds the run for a wait, then goes on; a pipeline over the same dataset with onLanding false does not start', async () => {
    expect(platform.pipelinesFor('orch-wait')).toEqual(['waiter']);
    const run = await finished(await landAndFindRun('orch-wait', 'waiter'));
    expect((await platform.store.listRuns({ limit: 100 })).items.filter((r) => r.pipeline === 'on-request')).toEqual([]);
    expect(run.status, await explain(run)).toBe('SUCCEEDED');
    const pause = step(run, 'pause');
    expect(pause.status).toBe('SUCCEEDED');
    const first = run.tasks.find((t) => t.step === 'first')!;
    const second = run.tasks.find((t) => t.step === 'second')!;
    expect(Date.parse(pause.waitUntil!) - Date.parse(first.stoppedAt!)).toBeGreaterThanOrEqual(2_000);
    expect(Date.parse(second.startedAt!)).toBeGreaterThanOrEqual(Date.parse(pause.waitUntil!));
  }, 180_000);
});
