import { describe, expect, it } from 'vitest';
import { RUN_STATUSES, STEP_STATUSES, type RunStatus, type StepExecution, type StepStatus } from '../model/types.js';
import { aStepExecution, aTask, anAttempt, minutesAfter } from '../testing/builders.js';
import {
  attemptOf,
  canTransitionRun,
  canTransitionStep,
  finishRun,
  isTerminalRunStatus,
  isTerminalStepStatus,
  judgeRun,
  runEffectId,
  runProgress,
  taskFailureReason,
} from './run-state-machine.js';

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

  // A retry reopens a FAILED run as its next attempt: FAILED -> RUNNING, and nothing else. A
  // SUCCEEDED run is final whichever way it is asked to move.
  for (const from of RUN_STATUSES) {
    for (const to of RUN_STATUSES) {
      const legal = from === 'FAILED' && to === 'RUNNING';
      it(`${from} -> ${to} as a retry is ${legal ? 'legal' : 'refused'}`, () => {
        expect(canTransitionRun(from, to, 'retry')).toBe(legal);
      });
    }
  }

  it('never moves a SUCCEEDED run, forward or as a retry', () => {
    for (const kind of ['forward', 'retry'] as const) expect(RUN_STATUSES.filter((to) => canTransitionRun('SUCCEEDED', to, kind))).toEqual([]);
  });
});

describe('attempts and effect ids', () => {
  it('counts a run never retried as attempt 1', () => {
    expect(attemptOf({})).toBe(1);
    expect(attemptOf({ attempt: 3 })).toBe(3);
  });

  it("keeps the first attempt's ids as they were, and gives every later attempt ids of its own", () => {
    expect(runEffectId('run-failed', { runId: 'run-1' })).toBe('run-failed-run-1');
    expect(runEffectId('run-failed', { runId: 'run-1', attempt: 1 })).toBe('run-failed-run-1');
    expect(runEffectId('run-failed', { runId: 'run-1', attempt: 2 })).toBe('run-failed-run-1-a2');
    expect(runEffectId('run-succeeded', { runId: 'run-1', attempt: 2 })).toBe('run-succeeded-run-1-a2');
    const ids = [1, 2, 3].flatMap((attempt) => ['run-failed', 'run-succeeded', 'stop-jobs'].map((kind) => runEffectId(kind, { runId: 'run-1', attempt })));
    expect(new Set(ids).size).toBe(ids.length);
  });
});

describe('canTransitionStep', () => {
  // PENDING -> SUBMITTING (claimed) -> SUBMITTED (a job runs it) -> SUCCEEDED | FAILED. A stale
  // claim is taken over (SUBMITTING -> SUBMITTING); a refused submission, or a run that ends
  // first, fails the step from any open state. A wait or approval: PENDING -> WAITING ->
  // SUCCEEDED | FAILED (rejected, timed out); a condition that does not hold: PENDING -> SKIPPED.
  // Terminal steps never move again.
  const row = (legal: StepStatus[]): Record<StepStatus, boolean> => Object.fromEntries(STEP_STATUSES.map((s) => [s, legal.includes(s)])) as Record<StepStatus, boolean>;
  const table: Record<StepStatus, Record<StepStatus, boolean>> = {
    PENDING: row(['SUBMITTING', 'WAITING', 'FAILED', 'SKIPPED']),
    SUBMITTING: row(['SUBMITTING', 'SUBMITTED', 'FAILED']),
    SUBMITTED: row(['SUCCEEDED', 'FAILED']),
    WAITING: row(['SUCCEEDED', 'FAILED']),
    SUCCEEDED: row([]),
    FAILED: row([]),
    SKIPPED: row([]),
  };

  for (const from of STEP_STATUSES) {
    for (const to of STEP_STATUSES) {
      it(`${from} -> ${to} is ${table[from][to] ? 'legal' : 'refused'}`, () => {
        expect(canTransitionStep(from, to)).toBe(table[from][to]);
      });
    }
  }

  it('calls exactly SUCCEEDED, FAILED and SKIPPED terminal, and lets every open state fail', () => {
    expect(STEP_STATUSES.filter(isTerminalStepStatus)).toEqual(['SUCCEEDED', 'FAILED', 'SKIPPED']);
    for (const from of STEP_STATUSES.filter((s) => !isTerminalStepStatus(s))) expect(canTransitionStep(from, 'FAILED')).toBe(true);
  });

  it('never lets a step succeed without a job having run it, or its wait or approval having ended', () => {
    expect(STEP_STATUSES.filter((from) => canTransitionStep(from, 'SUCCEEDED'))).toEqual(['SUBMITTED', 'WAITING']);
  });

  // As a retry of its run: a step whose tasks ran goes back to SUBMITTED (its unfinished tasks are
  // resubmitted alone under it), one that never ran back to PENDING (submitted whole again). A
  // PENDING step waits as it is, a SUCCEEDED one is not run again.
  const retryTable: Record<StepStatus, Record<StepStatus, boolean>> = {
    PENDING: row([]),
    SUBMITTING: row(['PENDING', 'SUBMITTED']),
    SUBMITTED: row(['SUBMITTED']),
    // A wait or approval its run ended under is asked (waited) again.
    WAITING: row(['PENDING']),
    SUCCEEDED: row([]),
    FAILED: row(['PENDING', 'SUBMITTED']),
    SKIPPED: row([]),
  };

  for (const from of STEP_STATUSES) {
    for (const to of STEP_STATUSES) {
      it(`${from} -> ${to} as a retry is ${retryTable[from][to] ? 'legal' : 'refused'}`, () => {
        expect(canTransitionStep(from, to, 'retry')).toBe(retryTable[from][to]);
      });
    }
  }
});

describe('judgeRun', () => {
  const step = (name: string, status: StepStatus, overrides: Partial<StepExecution> = {}) => aStepExecution({ step: name, status, ...overrides });

  it('keeps a run with no steps running rather than calling it a success', () => {
    expect(judgeRun([])).toEqual({ status: 'RUNNING' });
  });

  it.each(['PENDING', 'SUBMITTING', 'SUBMITTED'] as const)('keeps the run RUNNING while a step is %s', (status) => {
    expect(judgeRun([step('tca', 'SUCCEEDED', { succeeded: 3 }), step('rollup', status)])).toEqual({ status: 'RUNNING' });
  });

  it('does not fail the run while a step is still submitted, whatever its counts say', () => {
    // A step's failure is its own transition (the engine fails it with the task's reason); the verdict follows it.
    expect(judgeRun([step('tca', 'SUBMITTED', { succeeded: 1, failed: 1 })])).toEqual({ status: 'RUNNING' });
  });

  it('succeeds when every step succeeded', () => {
    expect(judgeRun([step('tca', 'SUCCEEDED', { succeeded: 3 }), step('rollup', 'SUCCEEDED', { size: 1, succeeded: 1 })])).toEqual({ status: 'SUCCEEDED' });
  });

  it("fails as soon as one step failed, even while others still run, with the step's reason", () => {
    const failedTask = aTask({
      partition: 'us-program',
      arrayIndex: 2,
      status: 'FAILED',
      attempts: [anAttempt(1, { exitCode: 3 }), anAttempt(2, { exitCode: 3 }), anAttempt(3, { exitCode: 3 })],
      exitCode: 3,
      statusReason: 'Essential container in task exited',
    });
    const failed = step('letters', 'FAILED', { succeeded: 2, failed: 1, reason: taskFailureReason(failedTask) });
    const verdict = judgeRun([step('tca', 'SUCCEEDED', { succeeded: 3 }), step('rollup', 'SUBMITTED'), failed]);
    if (verdict.status !== 'FAILED') return expect.unreachable(`expected FAILED, got ${verdict.status}`);
    expect(verdict.step).toBe(failed);
    expect(verdict.reason).toBe('task tca#us-program failed after 3 attempt(s) with exit code 3: Essential container in task exited');
  });

  it('names the step when the failed step carries no reason', () => {
    expect(judgeRun([step('rollup', 'FAILED')])).toEqual({ status: 'FAILED', step: step('rollup', 'FAILED'), reason: 'step rollup failed' });
  });

  it('reports the first failed step in the order given', () => {
    const verdict = judgeRun([step('tca', 'FAILED', { reason: 'submission refused: unknown queue' }), step('rollup', 'FAILED', { reason: 'run cancelled' })]);
    expect(verdict.status === 'FAILED' && [verdict.step.step, verdict.reason]).toEqual(['tca', 'submission refused: unknown queue']);
  });
});

describe('taskFailureReason', () => {
  it('names the task, its attempts, exit code and reason', () => {
    const task = aTask({
      status: 'FAILED',
      attempts: [anAttempt(1, { exitCode: 137 }), anAttempt(2, { exitCode: 3 })],
      exitCode: 3,
      statusReason: 'Essential container in task exited',
    });
    expect(taskFailureReason(task)).toBe('task tca#emea-cash failed after 2 attempt(s) with exit code 3: Essential container in task exited');
  });

  it('reports exit code 0 (a timeout kill can report it) and omits what it does not know', () => {
    const zero = aTask({ status: 'FAILED', attempts: [anAttempt(1)], exitCode: 0, statusReason: 'Job attempt duration exceeded timeout' });
    expect(taskFailureReason(zero)).toBe('task tca#emea-cash failed after 1 attempt(s) with exit code 0: Job attempt duration exceeded timeout');
    expect(taskFailureReason(aTask({ status: 'FAILED', attempts: [] }))).toBe('task tca#emea-cash failed after 0 attempt(s)');
  });
});

describe('runProgress', () => {
  it("adds up the steps' counts overall and per step, with each step's status", () => {
    const steps = [
      aStepExecution({ step: 'tca', status: 'SUBMITTED', size: 4, succeeded: 1, failed: 1 }),
      aStepExecution({ step: 'rollup', status: 'PENDING', size: 1 }),
      aStepExecution({ step: 'notify', status: 'SUBMITTING', size: 1 }),
      aStepExecution({ step: 'load', status: 'SUCCEEDED', size: 10_000, succeeded: 10_000 }),
    ];
    expect(runProgress(steps)).toEqual({
      done: 10_001,
      total: 10_006,
      failed: 1,
      steps: {
        tca: { status: 'SUBMITTED', done: 1, total: 4, failed: 1 },
        rollup: { status: 'PENDING', done: 0, total: 1, failed: 0 },
        notify: { status: 'SUBMITTING', done: 0, total: 1, failed: 0 },
        load: { status: 'SUCCEEDED', done: 10_000, total: 10_000, failed: 0 },
      },
    });
  });

  it('is all zeros for no steps', () => {
    expect(runProgress([])).toEqual({ done: 0, total: 0, failed: 0, steps: {} });
  });
});

describe('finishRun', () => {
  it('stamps a failed run with the reason of its verdict and its finish time', () => {
    const failed = aTask({ status: 'FAILED', attempts: [anAttempt(1, { exitCode: 2 })], exitCode: 2 });
    const verdict = judgeRun([aStepExecution({ status: 'FAILED', failed: 1, reason: taskFailureReason(failed) })]);
    if (verdict.status !== 'FAILED') return expect.unreachable('the run should have failed');
    expect(finishRun(verdict.status, minutesAfter(40), verdict.reason)).toEqual({
      status: 'FAILED',
      finishedAt: minutesAfter(40).toISOString(),
      updatedAt: minutesAfter(40).toISOString(),
      reason: 'task tca#emea-cash failed after 1 attempt(s) with exit code 2',
    });
  });

  it('stamps a run failed for another reason, such as a cancel, with that reason', () => {
    expect(finishRun('FAILED', minutesAfter(5), 'cancelled by ops@example.com')).toMatchObject({ status: 'FAILED', reason: 'cancelled by ops@example.com' });
  });

  it('leaves the reason out of a failed run when none is given', () => {
    expect(finishRun('FAILED', minutesAfter(40))).toEqual({
      status: 'FAILED',
      finishedAt: minutesAfter(40).toISOString(),
      updatedAt: minutesAfter(40).toISOString(),
    });
  });

  it('stamps a successful run without a reason, even when one is passed', () => {
    const expected = { status: 'SUCCEEDED', finishedAt: minutesAfter(40).toISOString(), updatedAt: minutesAfter(40).toISOString() };
    expect(finishRun('SUCCEEDED', minutesAfter(40))).toEqual(expected);
    expect(finishRun('SUCCEEDED', minutesAfter(40), 'all steps succeeded')).toEqual(expected);
  });

  it('only finishes a run it may move to a terminal status', () => {
    for (const status of ['SUCCEEDED', 'FAILED'] as const) expect(canTransitionRun('RUNNING', finishRun(status, minutesAfter(1)).status)).toBe(true);
  });
});
