import { describe, expect, it } from 'vitest';
import { RUN_STATUSES, type RunStatus } from '../model/types.js';
import { aTask, anAttempt, minutesAfter } from '../testing/builders.js';
import { canTransitionRun, finishRun, isTerminalRunStatus, judgeRun, runProgress } from './run-state-machine.js';

describe('canTransitionRun', () => {
  // PENDING -> RUNNING once a task is submitted; PENDING -> FAILED when submission itself fails;
  // RUNNING ends in SUCCEEDED or FAILED; terminal runs never move again.
  const table: Record<RunStatus, Record<RunStatus, boolean>> = {
    PENDING: { PENDING: false, RUNNING: true, SUCCEEDED: false, FAILED: true },
    RUNNING: { PENDING: false, RUNNING: false, SUCCEEDED: true, FAILED: true },
    SUCCEEDED: { PENDING: false, RUNNING: false, SUCCEEDED: false, FAILED: false },
    FAILED: { PENDING: false, RUNNING: false, SUCCEEDED: false, FAILED: false },
  };

  for (const from of RUN_STATUSES) {
    for (const to of RUN_STATUSES) {
      it(`${from} -> ${to} is ${table[from][to] ? 'legal' : 'refused'}`, () => {
        expect(canTransitionRun(from, to)).toBe(table[from][to]);
      });
    }
  }

  it('calls exactly SUCCEEDED and FAILED terminal', () => {
    expect(RUN_STATUSES.filter(isTerminalRunStatus)).toEqual(['SUCCEEDED', 'FAILED']);
  });
});

describe('judgeRun', () => {
  const desk = (partition: string, arrayIndex: number, status: 'PENDING' | 'RUNNABLE' | 'RUNNING' | 'SUCCEEDED' | 'FAILED') =>
    aTask({ partition, arrayIndex, status, jobId: `job-1:${arrayIndex}` });

  it('keeps a run with no tasks running rather than calling it a success', () => {
    expect(judgeRun([])).toEqual({ status: 'RUNNING' });
  });

  it('keeps the run RUNNING while any task is unfinished', () => {
    expect(judgeRun([desk('apac-cash', 0, 'SUCCEEDED'), desk('emea-cash', 1, 'RUNNING'), desk('us-program', 2, 'PENDING')])).toEqual({ status: 'RUNNING' });
  });

  it('does not fail the run for a failed attempt that will be retried', () => {
    const retrying = aTask({ status: 'RUNNABLE', attempts: [anAttempt(1, { exitCode: 137 })] });
    expect(judgeRun([desk('apac-cash', 0, 'SUCCEEDED'), retrying])).toEqual({ status: 'RUNNING' });
  });

  it('succeeds when every task succeeded', () => {
    expect(judgeRun([desk('apac-cash', 0, 'SUCCEEDED'), desk('emea-cash', 1, 'SUCCEEDED')])).toEqual({ status: 'SUCCEEDED' });
  });

  it('fails as soon as one task failed for good, even while others still run', () => {
    const failed = aTask({
      partition: 'us-program',
      arrayIndex: 2,
      status: 'FAILED',
      attempts: [anAttempt(1, { exitCode: 3 }), anAttempt(2, { exitCode: 3 }), anAttempt(3, { exitCode: 3 })],
      exitCode: 3,
      statusReason: 'Essential container in task exited',
    });
    const verdict = judgeRun([desk('apac-cash', 0, 'SUCCEEDED'), desk('emea-cash', 1, 'RUNNING'), failed]);
    if (verdict.status !== 'FAILED') return expect.unreachable(`expected FAILED, got ${verdict.status}`);
    expect(verdict.failedTask.taskId).toBe('tca#us-program');
    expect(verdict.reason).toBe('task tca#us-program failed after 3 attempt(s) with exit code 3: Essential container in task exited');
  });

  it('reports exit code 0 (a timeout kill can report it) and omits what it does not know', () => {
    const zero = judgeRun([aTask({ status: 'FAILED', attempts: [anAttempt(1)], exitCode: 0, statusReason: 'Job attempt duration exceeded timeout' })]);
    expect(zero.status === 'FAILED' && zero.reason).toBe('task tca#emea-cash failed after 1 attempt(s) with exit code 0: Job attempt duration exceeded timeout');
    const bare = judgeRun([aTask({ status: 'FAILED', attempts: [] })]);
    expect(bare.status === 'FAILED' && bare.reason).toBe('task tca#emea-cash failed after 0 attempt(s)');
  });
});

describe('runProgress', () => {
  it('counts done, failed and running tasks overall and per step', () => {
    const tasks = [
      aTask({ step: 'tca', partition: 'apac-cash', arrayIndex: 0, status: 'SUCCEEDED' }),
      aTask({ step: 'tca', partition: 'emea-cash', arrayIndex: 1, status: 'RUNNING' }),
      aTask({ step: 'tca', partition: 'us-program', arrayIndex: 2, status: 'STARTING' }),
      aTask({ step: 'tca', partition: 'latam-cash', arrayIndex: 3, status: 'FAILED' }),
      aTask({ step: 'rollup', partition: 'all', status: 'PENDING' }),
      aTask({ step: 'notify', partition: 'all', status: 'RUNNABLE' }),
    ];
    expect(runProgress(tasks)).toEqual({
      done: 1,
      total: 6,
      failed: 1,
      running: 2,
      steps: {
        tca: { done: 1, total: 4, failed: 1, running: 2 },
        rollup: { done: 0, total: 1, failed: 0, running: 0 },
        notify: { done: 0, total: 1, failed: 0, running: 0 },
      },
    });
  });

  it('is all zeros for no tasks', () => {
    expect(runProgress([])).toEqual({ done: 0, total: 0, failed: 0, running: 0, steps: {} });
  });
});

describe('finishRun', () => {
  it('stamps a failed run with its reason and finish time', () => {
    const failed = aTask({ status: 'FAILED', attempts: [anAttempt(1, { exitCode: 2 })], exitCode: 2 });
    const verdict = judgeRun([failed]);
    if (verdict.status !== 'FAILED') return expect.unreachable('the run should have failed');
    expect(finishRun(verdict, minutesAfter(40))).toEqual({
      status: 'FAILED',
      finishedAt: minutesAfter(40).toISOString(),
      updatedAt: minutesAfter(40).toISOString(),
      reason: 'task tca#emea-cash failed after 1 attempt(s) with exit code 2',
    });
  });

  it('stamps a successful run without a reason', () => {
    expect(finishRun({ status: 'SUCCEEDED' }, minutesAfter(40))).toEqual({
      status: 'SUCCEEDED',
      finishedAt: minutesAfter(40).toISOString(),
      updatedAt: minutesAfter(40).toISOString(),
    });
  });
});
