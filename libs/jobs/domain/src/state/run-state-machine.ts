import type { Run, RunStatus, StepExecution, StepStatus, Task } from '../model/types.js';
import { IllegalTransitionError } from '../errors.js';

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

/** The outcome a run's steps imply: a failed step fails it, all steps succeeded succeed it. */
export type RunVerdict = { status: 'RUNNING' } | { status: 'SUCCEEDED' } | { status: 'FAILED'; step: StepExecution; reason: string };

export function judgeRun(steps: readonly StepExecution[]): RunVerdict {
  const failed = steps.find((s) => s.status === 'FAILED');
  if (failed) return { status: 'FAILED', step: failed, reason: failed.reason ?? `step ${failed.step} failed` };
  if (steps.length > 0 && steps.every((s) => s.status === 'SUCCEEDED')) return { status: 'SUCCEEDED' };
  return { status: 'RUNNING' };
}

/** Why a run fails when one of its tasks failed for good, for people. */
export function taskFailureReason(task: Task): string {
  const exit = task.exitCode === undefined ? '' : ` with exit code ${task.exitCode}`;
  const why = task.statusReason ? `: ${task.statusReason}` : '';
  return `task ${task.taskId} failed after ${task.attempts.length} attempt(s)${exit}${why}`;
}

/** Progress figures for people: tasks done / total, overall and per step, from the steps' counts. */
export interface RunProgress {
  done: number;
  total: number;
  failed: number;
  steps: Record<string, { status: StepExecution['status']; done: number; total: number; failed: number }>;
}

export function runProgress(steps: readonly StepExecution[]): RunProgress {
  const progress: RunProgress = { done: 0, total: 0, failed: 0, steps: {} };
  for (const s of steps) {
    progress.steps[s.step] = { status: s.status, done: s.succeeded, total: s.size, failed: s.failed };
    progress.done += s.succeeded;
    progress.total += s.size;
    progress.failed += s.failed;
  }
  return progress;
}

/** The terminal fields of a run the verdict (or a reason such as a cancel) finishes. */
export function finishRun(status: 'SUCCEEDED' | 'FAILED', now: Date, reason?: string): Partial<Run> & { status: RunStatus } {
  return {
    status,
    finishedAt: now.toISOString(),
    updatedAt: now.toISOString(),
    ...(status === 'FAILED' && reason !== undefined ? { reason } : {}),
  };
}

/**
 * Legal step execution moves: PENDING -> SUBMITTING (claimed) -> SUBMITTED (a job runs it) ->
 * SUCCEEDED | FAILED; a stale SUBMITTING claim may be taken over (SUBMITTING -> SUBMITTING); a
 * step whose submission is refused, or whose run ends first, FAILS from any open state.
 */
export function canTransitionStep(from: StepStatus, to: StepStatus): boolean {
  switch (from) {
    case 'PENDING':
      return to === 'SUBMITTING' || to === 'FAILED';
    case 'SUBMITTING':
      return to === 'SUBMITTING' || to === 'SUBMITTED' || to === 'FAILED';
    case 'SUBMITTED':
      return to === 'SUCCEEDED' || to === 'FAILED';
    case 'SUCCEEDED':
    case 'FAILED':
      return false;
  }
}

export function isTerminalStepStatus(status: StepStatus): boolean {
  return status === 'SUCCEEDED' || status === 'FAILED';
}

/** Throws IllegalTransitionError unless `canTransitionStep(from, to)`: every step write goes through it. */
export function assertStepTransition(step: Pick<StepExecution, 'runId' | 'step' | 'status'>, to: StepStatus): void {
  if (!canTransitionStep(step.status, to)) throw new IllegalTransitionError(`step ${step.runId}/${step.step}`, step.status, to);
}
