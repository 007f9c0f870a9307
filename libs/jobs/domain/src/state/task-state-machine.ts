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
