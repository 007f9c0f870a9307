import { runDetailSchema, type RunDetail } from '@nightshift/api-contract';
import { describe, expect, it } from 'vitest';
import { formatDuration, formatTable } from './format.js';
import { describeRun, explanationLines, stepNote, stepsOf, tail, waitsFor, watchBlock, watchLine } from './run-view.js';

/** A RUNNING run of two steps: `tca` half done with one child waiting for vCPUs, `merge` not submitted. */
function aRunningRun(): RunDetail {
  return runDetailSchema.parse({
    runId: 'run-1',
    pipeline: 'nightly-tca',
    businessDate: '2026-11-20',
    datasetId: 'executions@2026-11-20#v1',
    status: 'RUNNING',
    correlationId: 'c-1',
    tasksTotal: 5,
    createdAt: '2026-11-21T06:00:00.000Z',
    updatedAt: '2026-11-21T06:00:05.000Z',
    progress: { done: 2, total: 5, failed: 0, steps: { tca: { status: 'SUBMITTED', done: 2, total: 4, failed: 0 }, merge: { status: 'PENDING', done: 0, total: 1, failed: 0 } } },
    steps: [
      {
        runId: 'run-1', step: 'tca', status: 'SUBMITTED', size: 4, jobName: 'j', jobId: 'job-1', succeeded: 2, failed: 0, updatedAt: '2026-11-21T06:00:05.000Z',
        job: { jobId: 'job-1', status: 'RUNNING', statusSummary: { RUNNING: 1, RUNNABLE: 1, SUCCEEDED: 2 }, waitingReason: 'needs 2 vCPU / 256 MiB; 2 of 2 vCPU in use' },
      },
    ],
    tasks: [],
  });
}

/** A RUNNING run whose steps are done, skipped, waiting (a wait, an approval) and approved, listed by the API in another order. */
function aRunAwaiting(): RunDetail {
  const step = (step: string, status: string, size: number, extra: Record<string, unknown> = {}) => ({
    runId: 'run-3', step, status, size, jobName: `j-${step}`, succeeded: status === 'SUCCEEDED' ? size : 0, failed: 0, updatedAt: '2026-11-21T06:00:05.000Z', ...extra,
  });
  return runDetailSchema.parse({
    runId: 'run-3',
    pipeline: 'desk-signoff',
    businessDate: '2026-11-20',
    datasetId: 'executions@2026-11-20#v1',
    status: 'RUNNING',
    correlationId: 'c-3',
    tasksTotal: 1,
    createdAt: '2026-11-21T06:00:00.000Z',
    updatedAt: '2026-11-21T06:00:05.000Z',
    progress: { done: 1, total: 1, failed: 0, steps: {} },
    steps: [
      step('checked', 'SUCCEEDED', 0, { decision: { decision: 'APPROVED', by: 'ops@example.com', at: '2026-11-21T06:00:04.000Z', comment: 'numbers checked' } }),
      step('sign-off', 'WAITING', 0, { waitUntil: '2026-11-22T06:00:00.000Z' }),
      step('load', 'SUCCEEDED', 1),
      step('settle', 'WAITING', 0, { waitUntil: '2026-11-21T07:00:00.000Z' }),
      step('when-clean', 'SKIPPED', 0, { reason: 'skipped: condition not met: load.rows > 0' }),
    ],
    tasks: [],
  });
}

describe('run views', () => {
  it('lists the steps in plan order, the recorded ones first, with their progress and job', () => {
    expect(stepsOf(aRunningRun()).map((s) => [s.step, s.status, s.done, s.total, s.job?.jobId])).toEqual([
      ['tca', 'SUBMITTED', 2, 4, 'job-1'],
      ['merge', 'PENDING', 0, 1, undefined],
    ]);
  });

  it('says what an unfinished step waits for', () => {
    const [tca, merge] = stepsOf(aRunningRun());
    expect(waitsFor(tca!, { dependsOn: [] })).toBe('1 RUNNING, 1 RUNNABLE, 2 SUCCEEDED; waiting: needs 2 vCPU / 256 MiB; 2 of 2 vCPU in use');
    expect(waitsFor(merge!, { dependsOn: ['tca'], kind: 'job' })).toBe('not submitted: waits for step(s) tca to succeed');
  });

  it('draws a progress bar per step for a terminal, and one line per change otherwise', () => {
    expect(watchBlock(aRunningRun())).toEqual([
      'run run-1 RUNNING  2/5 done, 0 failed',
      '  tca   [############------------]         2/4  0 failed  SUBMITTED',
      '        waiting: needs 2 vCPU / 256 MiB; 2 of 2 vCPU in use',
      '  merge [------------------------]         0/1  0 failed  PENDING',
    ]);
    expect(watchLine(aRunningRun(), new Date('2026-11-21T06:00:07Z'))).toBe(
      '06:00:07Z RUNNING 2/5 done, 0 failed | tca SUBMITTED 2/4 waiting: needs 2 vCPU / 256 MiB; 2 of 2 vCPU in use | merge PENDING 0/1',
    );
  });

  it('describes a run with its step table', () => {
    const lines = describeRun(aRunningRun(), []);
    expect(lines[2]).toBe('status    RUNNING   2/5 tasks done, 0 failed');
    expect(lines.slice(5)).toEqual(
      formatTable(['STEP', 'STATUS', 'DONE', 'FAILED', 'JOB', 'NOTE'], [
        ['tca', 'SUBMITTED', '2/4', '0', '1 RUNNING, 1 RUNNABLE, 2 SUCCEEDED', 'needs 2 vCPU / 256 MiB; 2 of 2 vCPU in use'],
        ['merge', 'PENDING', '0/1', '0', '', ''],
      ]),
    );
  });

  it("lists the steps in the pipeline's order when it is given, unknown ones last", () => {
    const pipeline = new Map([['merge', { dependsOn: ['tca'] }], ['tca', { dependsOn: [] }], ['publish', { dependsOn: ['merge'] }]]);
    expect(stepsOf(aRunningRun(), pipeline).map((s) => s.step)).toEqual(['merge', 'tca']);
    expect(stepsOf(aRunningRun(), new Map([['merge', { dependsOn: [] }]])).map((s) => s.step)).toEqual(['merge', 'tca']);
  });

  it("shows a skipped step's reason, a waiting step's end, and an approval's answer", () => {
    const run = aRunAwaiting();
    const pipeline = new Map([
      ['load', { dependsOn: [], kind: 'job' as const }],
      ['when-clean', { dependsOn: ['load'], kind: 'job' as const }],
      ['settle', { dependsOn: ['load'], kind: 'wait' as const }],
      ['sign-off', { dependsOn: ['load'], kind: 'approval' as const }],
      ['checked', { dependsOn: ['load'], kind: 'approval' as const }],
    ]);
    const steps = stepsOf(run, pipeline);
    expect(steps.map((s) => [s.step, stepNote(s, pipeline.get(s.step)?.kind)])).toEqual([
      ['load', ''],
      ['when-clean', 'skipped: condition not met: load.rows > 0'],
      ['settle', 'until 2026-11-21 07:00:00Z'],
      ['sign-off', 'approval: times out 2026-11-22 06:00:00Z'],
      ['checked', 'APPROVED by ops@example.com: numbers checked'],
    ]);
    expect(describeRun(run, [], pipeline).slice(5)).toEqual(
      formatTable(['STEP', 'STATUS', 'DONE', 'FAILED', 'JOB', 'NOTE'], [
        ['load', 'SUCCEEDED', '1/1', '0', '', ''],
        ['when-clean', 'SKIPPED', '0/0', '0', '', 'skipped: condition not met: load.rows > 0'],
        ['settle', 'WAITING', '0/0', '0', '', 'until 2026-11-21 07:00:00Z'],
        ['sign-off', 'WAITING', '0/0', '0', '', 'approval: times out 2026-11-22 06:00:00Z'],
        ['checked', 'SUCCEEDED', '0/0', '0', '', 'APPROVED by ops@example.com: numbers checked'],
      ]),
    );
  });

  it('says a waiting approval is to be answered, and a wait when it ends', () => {
    const steps = stepsOf(aRunAwaiting());
    const settle = steps.find((s) => s.step === 'settle')!;
    const signOff = steps.find((s) => s.step === 'sign-off')!;
    expect(waitsFor(signOff, { dependsOn: ['load'], kind: 'approval' })).toBe('approval: answer with nightshift runs approve|reject <run-id> sign-off before 2026-11-22T06:00:00.000Z');
    expect(waitsFor(settle, { dependsOn: ['load'], kind: 'wait' })).toBe('waiting until 2026-11-21T07:00:00.000Z');
    // A pipeline that does not say (no longer defined): either.
    expect(waitsFor(settle, undefined)).toBe('waiting until 2026-11-21T07:00:00.000Z: a wait, or an approval to answer with nightshift runs approve|reject <run-id> settle (it times out then)');
  });

  it('explains a failed run with its tasks and log tails', () => {
    const lines = explanationLines({
      runId: 'run-2',
      pipeline: 'p',
      status: 'FAILED',
      reason: 'task a#x failed after 2 attempt(s) with exit code 1',
      failedTaskCount: 2,
      failedTasks: [
        { taskId: 'a#x', attempts: 2, maxAttempts: 2, exitCode: 1, reason: 'Essential container in task exited', logTail: ['boom'] },
        { taskId: 'a#y', attempts: 1, maxAttempts: 2, reason: 'terminated', logUnavailable: 'the attempt never started' },
      ],
      waiting: [],
    });
    expect(lines).toEqual([
      'run run-2 (p) FAILED: task a#x failed after 2 attempt(s) with exit code 1',
      '2 tasks failed:',
      '  a#x: attempt 2 of 2, exit code 1, Essential container in task exited',
      '    last 1 line of its log (nightshift runs logs run-2 a#x --attempt 2):',
      '    | boom',
      '  a#y: attempt 1 of 2, terminated',
      '    (no log: the attempt never started)',
    ]);
  });

  it('formats durations and log tails', () => {
    expect([850, 12_340, 245_000, 7_380_000].map(formatDuration)).toEqual(['850 ms', '12.3 s', '4 min 05 s', '2 h 03 min']);
    expect(tail('a\nb\nc\n', 2)).toEqual(['b', 'c']);
    expect(tail('a\n', 0)).toEqual([]);
  });
});
