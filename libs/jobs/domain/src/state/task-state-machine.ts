import type { Task, TaskAttempt, TaskStatus } from '../model/types.js';

/** Lifecycle rank of a task status; the two terminal states share the top rank. */
export function taskStatusRank(status: TaskStatus): number {
  switch (status) {
    case 'SUBMITTED':
      return 0;
    case 'PENDING':
      return 1;
    case 'RUNNABLE':
      return 2;
    case 'STARTING':
      return 3;
    case 'RUNNING':
      return 4;
    case 'SUCCEEDED':
    case 'FAILED':
      return 5;
  }
}

export function isTerminalTaskStatus(status: TaskStatus): boolean {
  return status === 'SUCCEEDED' || status === 'FAILED';
}

/**
 * Whether `from -> to` is a legal move within one attempt, or (`to === 'RUNNABLE'` after a failed
 * attempt) the start of the next one. Terminal states are final.
 */
export function canTransitionTask(from: TaskStatus, to: TaskStatus, newAttempt: boolean): boolean {
  if (isTerminalTaskStatus(from)) return false;
  if (newAttempt) return to !== 'SUBMITTED' && to !== 'PENDING';
  return taskStatusRank(to) > taskStatusRank(from);
}

/** What the compute environment reported about a job (a "Batch Job State Change", reduced). */
export interface JobObservation {
  jobId: string;
  status: TaskStatus;
  statusReason?: string;
  /** All attempts made so far, finished ones carrying exit code and stop time. */
  attempts: TaskAttempt[];
  startedAt?: string;
  stoppedAt?: string;
}

export type TaskTransition = { kind: 'applied'; task: Task } | { kind: 'stale'; reason: string };

/**
 * Applies an observation to a task. Events arrive at least once and possibly out of order, so an
 * observation is applied only when it moves the task forward: more attempts made, or a later
 * status within the same attempt. Anything else is stale and changes nothing.
 */
export function applyJobObservation(task: Task, obs: JobObservation, now: Date): TaskTransition {
  const newAttempt = obs.attempts.length > task.attempts.length;
  if (!newAttempt && obs.attempts.length < task.attempts.length) {
    return { kind: 'stale', reason: `observation has ${obs.attempts.length} attempts, task has ${task.attempts.length}` };
  }
  if (!canTransitionTask(task.status, obs.status, newAttempt)) {
    return { kind: 'stale', reason: `${task.status} -> ${obs.status} does not move the task forward` };
  }
  const last = obs.attempts.at(-1);
  const terminal = isTerminalTaskStatus(obs.status);
  const next: Task = {
    ...task,
    status: obs.status,
    jobId: obs.jobId,
    attempts: obs.attempts,
    updatedAt: now.toISOString(),
    startedAt: task.startedAt ?? obs.startedAt ?? (obs.status === 'RUNNING' ? now.toISOString() : undefined),
    stoppedAt: terminal ? (obs.stoppedAt ?? now.toISOString()) : undefined,
    exitCode: terminal ? last?.exitCode : undefined,
    statusReason: obs.statusReason ?? last?.statusReason,
  };
  return { kind: 'applied', task: next };
}

/** Whether the task's current attempt has a host: its process is starting or running. */
export function isAttemptUnderway(status: TaskStatus): boolean {
  return status === 'STARTING' || status === 'RUNNING';
}

/**
 * What becomes of a task whose job was lost: `resubmit` (the task is back at SUBMITTED, its
 * attempts so far kept, for a new job of `remainingAttempts`), `fail` (no attempts left), or
 * `stale` (a terminal task has no job to lose).
 */
export type LostJobResolution =
  | { kind: 'resubmit'; task: Task; priorAttempts: number; remainingAttempts: number }
  | { kind: 'fail'; task: Task }
  | { kind: 'stale'; reason: string };

/**
 * Resolves a task whose job is gone with the compute environment that ran it (a host restart).
 * An attempt that was under way counts as failed with `reason`, since its process died and
 * whether it would have succeeded is unknown; a task that was only waiting (SUBMITTED, PENDING,
 * RUNNABLE) loses no attempt. The task is then retried per its `maxAttempts`, as the lost job
 * would have been. The caller writes the result conditionally on the task it read.
 *
 * @param reason why the job is gone, for people; it becomes the lost attempt's and the task's statusReason.
 */
export function resolveLostJob(task: Task, reason: string, now: Date): LostJobResolution {
  if (isTerminalTaskStatus(task.status)) return { kind: 'stale', reason: `task is ${task.status}, it has no job to lose` };
  const at = now.toISOString();
  const lost: TaskAttempt[] = isAttemptUnderway(task.status) ? [{ attempt: task.attempts.length + 1, stoppedAt: at, statusReason: reason }] : [];
  const attempts = [...task.attempts, ...lost];
  const remainingAttempts = task.maxAttempts - attempts.length;
  if (remainingAttempts <= 0) {
    return {
      kind: 'fail',
      task: {
        ...task,
        status: 'FAILED',
        attempts,
        updatedAt: at,
        stoppedAt: at,
        // A lost attempt has no exit code; one that had finished before keeps its own.
        exitCode: lost.length > 0 ? undefined : attempts.at(-1)?.exitCode,
        statusReason: reason,
      },
    };
  }
  return {
    kind: 'resubmit',
    // The lost job's id no longer names the task's job; the caller records the one it submits.
    task: { ...task, status: 'SUBMITTED', jobId: undefined, attempts, updatedAt: at, stoppedAt: undefined, exitCode: undefined, statusReason: reason },
    priorAttempts: attempts.length,
    remainingAttempts,
  };
}

/**
 * A task of a FAILED run made ready for the run's retry: back at SUBMITTED (the caller claims it
 * and resubmits it alone), its attempts so far kept, and `budget` attempts more: its `maxAttempts`
 * is counted from the retry. An attempt under way when the run stopped counts as failed with
 * `reason`, as `resolveLostJob` counts one; `reason` is the task's statusReason until its new job
 * reports. Undefined for a SUCCEEDED task: it is not run again.
 */
export function retryTask(task: Task, budget: number, reason: string, now: Date): { task: Task; priorAttempts: number } | undefined {
  if (task.status === 'SUCCEEDED') return undefined;
  const at = now.toISOString();
  const lost: TaskAttempt[] = isAttemptUnderway(task.status) ? [{ attempt: task.attempts.length + 1, stoppedAt: at, statusReason: reason }] : [];
  const attempts = [...task.attempts, ...lost];
  return {
    task: {
      ...task,
      status: 'SUBMITTED',
      jobId: undefined,
      attempts,
      maxAttempts: attempts.length + budget,
      updatedAt: at,
      stoppedAt: undefined,
      exitCode: undefined,
      statusReason: reason,
    },
    priorAttempts: attempts.length,
  };
}

/**
 * How far a task has come, as one number that only grows as events move it forward: attempts
 * made, then the status's rank within the attempt. The store conditions task writes on it, so an
 * older or repeated event can never overwrite a newer state.
 */
export function taskProgress(task: Pick<Task, 'status' | 'attempts'>): number {
  return task.attempts.length * 8 + taskStatusRank(task.status);
}
