import { BATCH_JOB_STATUSES } from '@nightshift/contracts';
import { describe, expect, it } from 'vitest';
import type { Task, TaskStatus } from '../model/types.js';
import { aTask, anAttempt, anObservation, minutesAfter } from '../testing/builders.js';
import { applyJobObservation, canTransitionTask, isTerminalTaskStatus, taskProgress, type JobObservation } from './task-state-machine.js';

/** Applies observations in order, as a consumer would, returning the final task and which ones applied. */
function replay(task: Task, observations: JobObservation[]): { task: Task; applied: TaskStatus[]; stale: TaskStatus[] } {
  const applied: TaskStatus[] = [];
  const stale: TaskStatus[] = [];
  let current = task;
  observations.forEach((obs, i) => {
    const result = applyJobObservation(current, obs, minutesAfter(i + 1));
    if (result.kind === 'applied') {
      current = result.task;
      applied.push(obs.status);
    } else {
      stale.push(obs.status);
    }
  });
  return { task: current, applied, stale };
}

function expectApplied(result: ReturnType<typeof applyJobObservation>): Task {
  if (result.kind !== 'applied') return expect.unreachable(`expected the observation to apply, it was stale: ${result.reason}`);
  return result.task;
}

describe('canTransitionTask within one attempt', () => {
  // Lifecycle order of AWS Batch; within an attempt a task only moves forward (skipping is fine,
  // events can be lost or reordered), and the two terminal states are final.
  const forward: Record<TaskStatus, TaskStatus[]> = {
    SUBMITTED: ['PENDING', 'RUNNABLE', 'STARTING', 'RUNNING', 'SUCCEEDED', 'FAILED'],
    PENDING: ['RUNNABLE', 'STARTING', 'RUNNING', 'SUCCEEDED', 'FAILED'],
    RUNNABLE: ['STARTING', 'RUNNING', 'SUCCEEDED', 'FAILED'],
    STARTING: ['RUNNING', 'SUCCEEDED', 'FAILED'],
    RUNNING: ['SUCCEEDED', 'FAILED'],
    SUCCEEDED: [],
    FAILED: [],
  };

  for (const from of BATCH_JOB_STATUSES) {
    for (const to of BATCH_JOB_STATUSES) {
      const legal = forward[from].includes(to);
      it(`${from} -> ${to} is ${legal ? 'legal' : 'refused'}`, () => {
        expect(canTransitionTask(from, to, false)).toBe(legal);
      });
    }
  }
});

describe('canTransitionTask into a new attempt', () => {
  it('lets a non-terminal task start its next attempt at RUNNABLE or later, never back at SUBMITTED/PENDING', () => {
    for (const from of BATCH_JOB_STATUSES.filter((s) => !isTerminalTaskStatus(s))) {
      expect(canTransitionTask(from, 'RUNNABLE', true)).toBe(true);
      expect(canTransitionTask(from, 'RUNNING', true)).toBe(true);
      expect(canTransitionTask(from, 'FAILED', true)).toBe(true);
      expect(canTransitionTask(from, 'SUBMITTED', true)).toBe(false);
      expect(canTransitionTask(from, 'PENDING', true)).toBe(false);
    }
  });

  it('keeps terminal states final even when an observation claims another attempt', () => {
    for (const from of ['SUCCEEDED', 'FAILED'] as const) {
      for (const to of BATCH_JOB_STATUSES) expect(canTransitionTask(from, to, true)).toBe(false);
    }
  });
});

describe('applyJobObservation', () => {
  const jobId = 'b7e3c1d2-0a4f-4e58-9c6b-2d1e0f9a8b7c:0';

  it('walks a submitted task through one successful attempt', () => {
    const submitted = aTask({ status: 'SUBMITTED', jobId });
    const { task, applied, stale } = replay(submitted, [
      anObservation({ jobId, status: 'PENDING' }),
      anObservation({ jobId, status: 'RUNNABLE' }),
      anObservation({ jobId, status: 'STARTING' }),
      anObservation({ jobId, status: 'RUNNING', startedAt: minutesAfter(3).toISOString() }),
      anObservation({
        jobId,
        status: 'SUCCEEDED',
        attempts: [anAttempt(1, { exitCode: 0, statusReason: undefined })],
        startedAt: minutesAfter(3).toISOString(),
        stoppedAt: minutesAfter(5).toISOString(),
      }),
    ]);
    expect(applied).toEqual(['PENDING', 'RUNNABLE', 'STARTING', 'RUNNING', 'SUCCEEDED']);
    expect(stale).toEqual([]);
    expect(task).toMatchObject({
      status: 'SUCCEEDED',
      jobId,
      exitCode: 0,
      startedAt: minutesAfter(3).toISOString(),
      stoppedAt: minutesAfter(5).toISOString(),
      updatedAt: minutesAfter(5).toISOString(),
    });
    expect(task.attempts).toHaveLength(1);
  });

  it('records the first start time it learns and keeps it', () => {
    const running = expectApplied(applyJobObservation(aTask({ status: 'RUNNABLE', jobId }), anObservation({ jobId }), minutesAfter(2)));
    expect(running.startedAt).toBe(minutesAfter(2).toISOString());
    const done = expectApplied(
      applyJobObservation(running, anObservation({ jobId, status: 'SUCCEEDED', attempts: [anAttempt(1, { exitCode: 0 })] }), minutesAfter(9)),
    );
    expect(done.startedAt).toBe(minutesAfter(2).toISOString());
    expect(done.stoppedAt).toBe(minutesAfter(9).toISOString());
  });

  it('ignores a duplicate observation (at-least-once delivery) and changes nothing', () => {
    const obs = anObservation({ jobId, status: 'RUNNING' });
    const once = expectApplied(applyJobObservation(aTask({ status: 'RUNNABLE', jobId }), obs, minutesAfter(1)));
    const twice = applyJobObservation(once, obs, minutesAfter(2));
    expect(twice.kind).toBe('stale');
  });

  it('ignores observations that arrive out of order', () => {
    const { task, applied, stale } = replay(aTask({ status: 'SUBMITTED', jobId }), [
      anObservation({ jobId, status: 'RUNNING' }),
      anObservation({ jobId, status: 'RUNNABLE' }),
      anObservation({ jobId, status: 'STARTING' }),
      anObservation({ jobId, status: 'SUCCEEDED', attempts: [anAttempt(1, { exitCode: 0 })] }),
      anObservation({ jobId, status: 'RUNNING' }),
    ]);
    expect(applied).toEqual(['RUNNING', 'SUCCEEDED']);
    expect(stale).toEqual(['RUNNABLE', 'STARTING', 'RUNNING']);
    expect(task.status).toBe('SUCCEEDED');
  });

  it('explains a stale observation and leaves the task untouched', () => {
    const task = aTask({ status: 'RUNNING', jobId });
    const before = structuredClone(task);
    const result = applyJobObservation(task, anObservation({ jobId, status: 'STARTING' }), minutesAfter(1));
    expect(result).toEqual({ kind: 'stale', reason: 'RUNNING -> STARTING does not move the task forward' });
    expect(task).toEqual(before);
  });

  it('does not move a planned PENDING task back to SUBMITTED', () => {
    expect(applyJobObservation(aTask(), anObservation({ jobId, status: 'SUBMITTED' }), minutesAfter(1)).kind).toBe('stale');
  });

  describe('retries', () => {
    const attempt1 = anAttempt(1, { exitCode: 137, statusReason: 'OutOfMemoryError: Container killed due to memory usage' });
    const attempt2 = anAttempt(2, { exitCode: 3, statusReason: 'Essential container in task exited' });

    it('accepts RUNNING -> RUNNABLE when the observation carries one more finished attempt', () => {
      const running = aTask({ status: 'RUNNING', jobId, startedAt: minutesAfter(1).toISOString() });
      const retry = expectApplied(applyJobObservation(running, anObservation({ jobId, status: 'RUNNABLE', attempts: [attempt1] }), minutesAfter(5)));
      expect(retry.status).toBe('RUNNABLE');
      expect(retry.attempts).toEqual([attempt1]);
      // The retry is not an outcome: nothing terminal is recorded on the task yet.
      expect(retry.exitCode).toBeUndefined();
      expect(retry.stoppedAt).toBeUndefined();
      expect(retry.startedAt).toBe(minutesAfter(1).toISOString());
    });

    it('ignores late events of the previous attempt once the next one started', () => {
      const { task, applied, stale } = replay(aTask({ status: 'RUNNING', jobId }), [
        anObservation({ jobId, status: 'RUNNABLE', attempts: [attempt1] }),
        anObservation({ jobId, status: 'STARTING', attempts: [attempt1] }),
        anObservation({ jobId, status: 'RUNNING', attempts: [] }), // attempt 1's RUNNING, redelivered late
        anObservation({ jobId, status: 'RUNNABLE', attempts: [attempt1] }), // duplicate of the retry
        anObservation({ jobId, status: 'RUNNING', attempts: [attempt1] }),
      ]);
      expect(applied).toEqual(['RUNNABLE', 'STARTING', 'RUNNING']);
      expect(stale).toEqual(['RUNNING', 'RUNNABLE']);
      expect(task.status).toBe('RUNNING');
      expect(task.attempts).toEqual([attempt1]);
    });

    it('refuses an observation with fewer attempts than the task has seen', () => {
      const result = applyJobObservation(aTask({ status: 'RUNNABLE', jobId, attempts: [attempt1, attempt2] }), anObservation({ jobId, status: 'FAILED', attempts: [attempt1] }), minutesAfter(1));
      expect(result).toEqual({ kind: 'stale', reason: 'observation has 1 attempts, task has 2' });
    });

    it('does not let a new attempt restart at SUBMITTED or PENDING', () => {
      for (const status of ['SUBMITTED', 'PENDING'] as const) {
        expect(applyJobObservation(aTask({ status: 'RUNNING', jobId }), anObservation({ jobId, status, attempts: [attempt1] }), minutesAfter(1)).kind).toBe('stale');
      }
    });

    it('accepts the final attempt failing straight from RUNNING', () => {
      const running2 = aTask({ status: 'RUNNING', jobId, attempts: [attempt1] });
      const failed = expectApplied(applyJobObservation(running2, anObservation({ jobId, status: 'FAILED', attempts: [attempt1, attempt2] }), minutesAfter(30)));
      expect(failed.status).toBe('FAILED');
      expect(failed.attempts).toHaveLength(2);
    });
  });

  describe('FAILED carries the outcome', () => {
    const attempts = [
      anAttempt(1, { exitCode: 137, statusReason: 'OutOfMemoryError: Container killed due to memory usage' }),
      anAttempt(2, { exitCode: 2, statusReason: 'Essential container in task exited' }),
    ];

    it('takes the exit code of the last attempt and the job-level reason when given', () => {
      const failed = expectApplied(
        applyJobObservation(
          aTask({ status: 'RUNNING', jobId, attempts: attempts.slice(0, 1) }),
          anObservation({ jobId, status: 'FAILED', attempts, statusReason: 'Job attempt duration exceeded timeout', stoppedAt: minutesAfter(20).toISOString() }),
          minutesAfter(21),
        ),
      );
      expect(failed).toMatchObject({ status: 'FAILED', exitCode: 2, statusReason: 'Job attempt duration exceeded timeout', stoppedAt: minutesAfter(20).toISOString() });
    });

    it("falls back to the last attempt's reason when the job-level reason is absent", () => {
      const failed = expectApplied(applyJobObservation(aTask({ status: 'RUNNING', jobId, attempts: attempts.slice(0, 1) }), anObservation({ jobId, status: 'FAILED', attempts }), minutesAfter(21)));
      expect(failed.exitCode).toBe(2);
      expect(failed.statusReason).toBe('Essential container in task exited');
      expect(failed.stoppedAt).toBe(minutesAfter(21).toISOString());
    });
  });

  describe('terminal states are final', () => {
    it('ignores anything after SUCCEEDED, even with more attempts', () => {
      const done = aTask({ status: 'SUCCEEDED', jobId, attempts: [anAttempt(1, { exitCode: 0 })], exitCode: 0 });
      for (const status of BATCH_JOB_STATUSES) {
        expect(applyJobObservation(done, anObservation({ jobId, status, attempts: [anAttempt(1), anAttempt(2)] }), minutesAfter(1)).kind).toBe('stale');
        expect(applyJobObservation(done, anObservation({ jobId, status, attempts: done.attempts }), minutesAfter(1)).kind).toBe('stale');
      }
    });

    it('ignores a retry reported after FAILED', () => {
      const failed = aTask({ status: 'FAILED', jobId, attempts: [anAttempt(1)], exitCode: 1 });
      const result = applyJobObservation(failed, anObservation({ jobId, status: 'RUNNABLE', attempts: [anAttempt(1), anAttempt(2)] }), minutesAfter(1));
      expect(result.kind).toBe('stale');
    });
  });
});

describe('taskProgress', () => {
  const jobId = 'b7e3c1d2-0a4f-4e58-9c6b-2d1e0f9a8b7c:0';
  const attempt1 = anAttempt(1, { exitCode: 137, statusReason: 'OutOfMemoryError: Container killed due to memory usage' });
  const attempt2 = anAttempt(2, { exitCode: 0, statusReason: undefined });

  /** The tasks a consumer writes as it applies `observations` in order: the planned task, then each applied state. */
  function written(task: Task, observations: JobObservation[]): Task[] {
    const tasks = [task];
    observations.forEach((obs, i) => {
      const result = applyJobObservation(tasks.at(-1)!, obs, minutesAfter(i + 1));
      if (result.kind === 'applied') tasks.push(result.task);
    });
    return tasks;
  }

  it('grows at every state a task goes through, across a retry into a new attempt', () => {
    const lifecycle = written(aTask({ status: 'SUBMITTED', jobId }), [
      anObservation({ jobId, status: 'PENDING' }),
      anObservation({ jobId, status: 'RUNNABLE' }),
      anObservation({ jobId, status: 'STARTING' }),
      anObservation({ jobId, status: 'RUNNING' }),
      anObservation({ jobId, status: 'RUNNABLE', attempts: [attempt1] }), // attempt 1 failed: retried
      anObservation({ jobId, status: 'STARTING', attempts: [attempt1] }),
      anObservation({ jobId, status: 'RUNNING', attempts: [attempt1] }),
      anObservation({ jobId, status: 'SUCCEEDED', attempts: [attempt1, attempt2] }),
    ]);
    expect(lifecycle.map((t) => [t.status, t.attempts.length])).toEqual([
      ['SUBMITTED', 0],
      ['PENDING', 0],
      ['RUNNABLE', 0],
      ['STARTING', 0],
      ['RUNNING', 0],
      ['RUNNABLE', 1],
      ['STARTING', 1],
      ['RUNNING', 1],
      ['SUCCEEDED', 2],
    ]);
    const progress = lifecycle.map(taskProgress);
    for (let i = 1; i < progress.length; i++) expect(progress[i]).toBeGreaterThan(progress[i - 1]);
  });

  it('ranks a new attempt above everything the previous attempt reached', () => {
    const lastOfAttempt1 = taskProgress({ status: 'RUNNING', attempts: [] });
    for (const status of ['RUNNABLE', 'STARTING', 'RUNNING', 'SUCCEEDED', 'FAILED'] as const) {
      expect(taskProgress({ status, attempts: [attempt1] })).toBeGreaterThan(lastOfAttempt1);
    }
    expect(taskProgress({ status: 'RUNNABLE', attempts: [attempt1, attempt2] })).toBeGreaterThan(taskProgress({ status: 'FAILED', attempts: [attempt1] }));
  });

  it('grows with every move canTransitionTask allows, within an attempt or into the next', () => {
    for (const attempts of [[], [attempt1]]) {
      for (const from of BATCH_JOB_STATUSES) {
        for (const to of BATCH_JOB_STATUSES) {
          if (canTransitionTask(from, to, false)) expect(taskProgress({ status: to, attempts })).toBeGreaterThan(taskProgress({ status: from, attempts }));
          if (canTransitionTask(from, to, true)) expect(taskProgress({ status: to, attempts: [...attempts, attempt2] })).toBeGreaterThan(taskProgress({ status: from, attempts }));
        }
      }
    }
  });

  it('does not grow for a duplicate or an older state of the same attempt, so a store conditioned on it refuses them', () => {
    const running = taskProgress({ status: 'RUNNING', attempts: [attempt1] });
    expect(taskProgress({ status: 'RUNNING', attempts: [attempt1] })).toBe(running);
    for (const status of ['SUBMITTED', 'PENDING', 'RUNNABLE', 'STARTING'] as const) expect(taskProgress({ status, attempts: [attempt1] })).toBeLessThan(running);
  });

  it('ranks both outcomes of the same attempts alike, so one never overwrites the other', () => {
    const attempts = [attempt1];
    expect(taskProgress({ status: 'FAILED', attempts })).toBe(taskProgress({ status: 'SUCCEEDED', attempts }));
  });
});
