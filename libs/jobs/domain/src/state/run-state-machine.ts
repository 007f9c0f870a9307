import type { Run, RunStatus, Task } from '../model/types.js';

/** Legal run transitions. */
export function canTransitionRun(from: RunStatus, to: RunStatus): boolean {
  switch (from) {
    case 'PENDING':
      return to === 'RUNNING' || to === 'FAILED';
    case 'RUNNING':
      return to === 'SUCCEEDED' || to === 'FAILED';
    case 'SUCCEEDED':
    case 'FAILED':
      return false;
  }
}

export function isTerminalRunStatus(status: RunStatus): boolean {
  return status === 'SUCCEEDED' || status === 'FAILED';
}

/** The outcome the tasks of a run imply. */
export type RunVerdict = { status: 'RUNNING' } | { status: 'SUCCEEDED' } | { status: 'FAILED'; failedTask: Task; reason: string };

/** A run fails as soon as one task has failed for good, and succeeds when every task succeeded. */
export function judgeRun(tasks: readonly Task[]): RunVerdict {
  const failed = tasks.find((t) => t.status === 'FAILED');
  if (failed) {
    const exit = failed.exitCode === undefined ? '' : ` with exit code ${failed.exitCode}`;
    const why = failed.statusReason ? `: ${failed.statusReason}` : '';
    return {
      status: 'FAILED',
      failedTask: failed,
      reason: `task ${failed.taskId} failed after ${failed.attempts.length} attempt(s)${exit}${why}`,
    };
  }
  if (tasks.length > 0 && tasks.every((t) => t.status === 'SUCCEEDED')) return { status: 'SUCCEEDED' };
  return { status: 'RUNNING' };
}

/** Progress figures for people: tasks done / total, overall and per step. */
export interface RunProgress {
  done: number;
  total: number;
  failed: number;
  running: number;
  steps: Record<string, { done: number; total: number; failed: number; running: number }>;
}

export function runProgress(tasks: readonly Task[]): RunProgress {
  const progress: RunProgress = { done: 0, total: 0, failed: 0, running: 0, steps: {} };
  for (const t of tasks) {
    const step = (progress.steps[t.step] ??= { done: 0, total: 0, failed: 0, running: 0 });
    for (const bucket of [progress, step]) {
      bucket.total += 1;
      if (t.status === 'SUCCEEDED') bucket.done += 1;
      else if (t.status === 'FAILED') bucket.failed += 1;
      else if (t.status === 'RUNNING' || t.status === 'STARTING') bucket.running += 1;
    }
  }
  return progress;
}

/** Copies a run with the verdict's terminal fields. */
export function finishRun(verdict: Exclude<RunVerdict, { status: 'RUNNING' }>, now: Date): Partial<Run> & { status: RunStatus } {
  return {
    status: verdict.status,
    finishedAt: now.toISOString(),
    updatedAt: now.toISOString(),
    ...(verdict.status === 'FAILED' ? { reason: verdict.reason } : {}),
  };
}
