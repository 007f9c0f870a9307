import { describe, expect, it } from 'vitest';
import type { Task } from '../model/types.js';
import { aTask, anAttempt, minutesAfter } from '../testing/builders.js';
import { applyJobObservation, isAttemptUnderway, resolveLostJob, retryTask, taskProgress, type LostJobResolution } from './task-state-machine.js';

const REASON = 'nightshift host restarted; the job\'s process was lost';
const jobId = 'b7e3c1d2-0a4f-4e58-9c6b-2d1e0f9a8b7c:1';
const now = minutesAfter(40);

function expectKind<K extends LostJobResolution['kind']>(resolution: LostJobResolution, kind: K): Extract<LostJobResolution, { kind: K }> {
  if (resolution.kind !== kind) return expect.unreachable(`expected ${kind}, got ${JSON.stringify(resolution)}`);
  return resolution as Extract<LostJobResolution, { kind: K }>;
}

describe('isAttemptUnderway', () => {
  it('is true only while a process is starting or running', () => {
    expect((['SUBMITTED', 'PENDING', 'RUNNABLE', 'STARTING', 'RUNNING', 'SUCCEEDED', 'FAILED'] as const).filter(isAttemptUnderway)).toEqual(['STARTING', 'RUNNING']);
  });
});

describe('resolveLostJob', () => {
  const failed1 = anAttempt(1, { exitCode: 3 });

  it('records the attempt that was running as failed with the reason, and resubmits for the attempts left', () => {
    const running: Task = aTask({ status: 'RUNNING', jobId, maxAttempts: 3, attempts: [failed1], startedAt: minutesAfter(10).toISOString() });
    const r = expectKind(resolveLostJob(running, REASON, now), 'resubmit');
    expect(r.priorAttempts).toBe(2);
    expect(r.remainingAttempts).toBe(1);
    expect(r.task).toMatchObject({ status: 'SUBMITTED', statusReason: REASON, updatedAt: now.toISOString(), startedAt: minutesAfter(10).toISOString() });
    expect(r.task.jobId).toBeUndefined();
    expect(r.task.attempts).toEqual([failed1, { attempt: 2, stoppedAt: now.toISOString(), statusReason: REASON }]);
  });

  it('loses no attempt of a task that was only waiting for a host', () => {
    for (const status of ['SUBMITTED', 'PENDING', 'RUNNABLE'] as const) {
      const r = expectKind(resolveLostJob(aTask({ status, jobId, maxAttempts: 3, attempts: [failed1] }), REASON, now), 'resubmit');
      expect(r.task.attempts).toEqual([failed1]);
      expect(r.priorAttempts).toBe(1);
      expect(r.remainingAttempts).toBe(2);
    }
  });

  it('fails the task with the reason when the lost attempt was its last', () => {
    const r = expectKind(resolveLostJob(aTask({ status: 'STARTING', jobId, maxAttempts: 2, attempts: [failed1] }), REASON, now), 'fail');
    expect(r.task).toMatchObject({ status: 'FAILED', statusReason: REASON, stoppedAt: now.toISOString() });
    expect(r.task.exitCode).toBeUndefined();
    expect(r.task.attempts.map((a) => a.statusReason)).toEqual(['Essential container in task exited', REASON]);
  });

  it('leaves a terminal task alone', () => {
    for (const status of ['SUCCEEDED', 'FAILED'] as const) {
      expect(resolveLostJob(aTask({ status, jobId, attempts: [failed1] }), REASON, now).kind).toBe('stale');
    }
  });

  it('lets the resubmitted job continue the attempt count, and keeps the lost job\'s late events out', () => {
    const r = expectKind(resolveLostJob(aTask({ status: 'RUNNING', jobId, maxAttempts: 3 }), REASON, now), 'resubmit');
    // The lost job's RUNNING of its first attempt, delivered late: it has fewer attempts than the task now.
    expect(applyJobObservation(r.task, { jobId, status: 'RUNNING', attempts: [] }, minutesAfter(41)).kind).toBe('stale');
    // The new job's events, offset by the attempts before it, move the task on.
    const done = applyJobObservation(r.task, { jobId: 'new-job', status: 'SUCCEEDED', attempts: [...r.task.attempts, anAttempt(2, { exitCode: 0 })] }, minutesAfter(45));
    expect(done.kind).toBe('applied');
  });
});

describe('retryTask (a task of a FAILED run, made ready for its retry)', () => {
  const RETRY = 'retried as attempt 2 of the run (by ops@example.com)';
  const failed: Task = aTask({
    status: 'FAILED',
    jobId,
    maxAttempts: 2,
    attempts: [anAttempt(1, { exitCode: 3 }), anAttempt(2, { exitCode: 3 })],
    exitCode: 3,
    statusReason: 'Essential container in task exited',
    stoppedAt: minutesAfter(24).toISOString(),
  });

  it('puts a FAILED task back at SUBMITTED with its attempts kept and a fresh budget counted from the retry', () => {
    const r = retryTask(failed, 3, RETRY, now)!;
    expect(r.priorAttempts).toBe(2);
    expect(r.task).toEqual({ ...failed, status: 'SUBMITTED', jobId: undefined, maxAttempts: 5, updatedAt: now.toISOString(), stoppedAt: undefined, exitCode: undefined, statusReason: RETRY });
    // Its new job's attempts continue the count and move it forward from there.
    const next = applyJobObservation(r.task, { jobId: 'lone-job', status: 'RUNNING', attempts: [...failed.attempts, { attempt: 3 }] }, now);
    expect(next.kind === 'applied' && taskProgress(next.task)).toBeGreaterThan(taskProgress(r.task));
  });

  it('counts an attempt that was under way when the run stopped as failed, and loses none of a waiting task', () => {
    const running = retryTask(aTask({ status: 'RUNNING', jobId, maxAttempts: 1, attempts: [] }), 1, RETRY, now)!;
    expect(running.task.attempts).toEqual([{ attempt: 1, stoppedAt: now.toISOString(), statusReason: RETRY }]);
    expect([running.priorAttempts, running.task.maxAttempts]).toEqual([1, 2]);
    const waiting = retryTask(aTask({ status: 'RUNNABLE', jobId, maxAttempts: 1, attempts: [] }), 1, RETRY, now)!;
    expect([waiting.task.attempts, waiting.priorAttempts, waiting.task.maxAttempts]).toEqual([[], 0, 1]);
  });

  it('never runs a SUCCEEDED task again', () => {
    expect(retryTask(aTask({ status: 'SUCCEEDED', attempts: [anAttempt(1, { exitCode: 0 })] }), 3, RETRY, now)).toBeUndefined();
  });
});
