import type { Run, RunStatus, StepExecution, StepStatus, Task } from '../model/types.js';
import { failureHandlers, type PipelineDefinition } from '../pipeline/pipeline-definition.js';
import { IllegalTransitionError } from '../errors.js';

/**
 * How a run or a step moves: `forward` through its lifecycle, or as a `retry`, when a FAILED run is
 * reopened as its next attempt (and its unfinished steps with it). A retry is the only way back
 * from FAILED; nothing leaves SUCCEEDED.
 */
export type TransitionKind = 'forward' | 'retry';

/**
 * Legal run transitions. Forward: PENDING -> RUNNING -> SUCCEEDED | FAILED, and PENDING -> FAILED;
 * terminal runs do not move forward. As a retry: only FAILED -> RUNNING (the next attempt).
 */
export function canTransitionRun(from: RunStatus, to: RunStatus, kind: TransitionKind = 'forward'): boolean {
  switch (kind) {
    case 'forward':
      return canMoveRunForward(from, to);
    case 'retry':
      return from === 'FAILED' && to === 'RUNNING';
  }
}

function canMoveRunForward(from: RunStatus, to: RunStatus): boolean {
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

/** The attempt a run is at: `run.attempt`, or 1 for a run never retried. */
export function attemptOf(run: Pick<Run, 'attempt'>): number {
  return run.attempt ?? 1;
}

/**
 * The deterministic id of an effect (an event, an outbox entry) of `kind` for the run's current
 * attempt: `<kind>-<runId>` on the first attempt (the ids runs had before retries existed),
 * `<kind>-<runId>-a<n>` on attempt n. So one attempt's Run Failed is published once however often
 * it is written, and a later attempt's is a new event that consumers do not drop as a repeat.
 */
export function runEffectId(kind: string, run: Pick<Run, 'runId' | 'attempt'>): string {
  const attempt = attemptOf(run);
  return attempt === 1 ? `${kind}-${run.runId}` : `${kind}-${run.runId}-a${attempt}`;
}

export function isTerminalRunStatus(status: RunStatus): boolean {
  return status === 'SUCCEEDED' || status === 'FAILED';
}

/** The outcome a run's steps imply: a failed step fails it, all steps succeeded succeed it. */
export type RunVerdict = { status: 'RUNNING' } | { status: 'SUCCEEDED' } | { status: 'FAILED'; step: StepExecution; reason: string };

/**
 * The run's verdict from its steps. A failed step fails the run at once, unless it names an
 * onFailure handler that has not finished: the run then stays open until the handler ran, and
 * fails with the first failed step's reason (a handler's own failure is added to it). A run
 * succeeds when every step SUCCEEDED or was SKIPPED; a handler no failure called does not count.
 * Without `pipeline` (no handlers known), every step counts.
 */
export function judgeRun(steps: readonly StepExecution[], pipeline?: Pick<PipelineDefinition, 'steps'>): RunVerdict {
  const handlers = pipeline ? failureHandlers(pipeline) : new Set<string>();
  const byName = new Map(steps.map((s) => [s.step, s]));
  const failed = steps.filter((s) => s.status === 'FAILED');
  if (failed.length > 0) {
    const pendingHandler = failed.some((f) => {
      const handler = pipeline?.steps.find((d) => d.name === f.step)?.onFailure;
      const exec = handler === undefined ? undefined : byName.get(handler);
      return exec !== undefined && !isTerminalStepStatus(exec.status);
    });
    if (pendingHandler) return { status: 'RUNNING' };
    const first = failed.find((f) => !handlers.has(f.step)) ?? failed[0]!;
    const also = failed.filter((f) => f !== first && handlers.has(f.step)).map((f) => `; onFailure step ${f.step} failed too: ${f.reason ?? 'failed'}`);
    return { status: 'FAILED', step: first, reason: `${first.reason ?? `step ${first.step} failed`}${also.join('')}` };
  }
  const settled = (s: StepExecution) => s.status === 'SUCCEEDED' || s.status === 'SKIPPED' || (handlers.has(s.step) && s.status === 'PENDING');
  if (steps.length > 0 && steps.every(settled)) return { status: 'SUCCEEDED' };
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
 * Legal step execution moves. Forward: PENDING -> SUBMITTING (claimed) -> SUBMITTED (a job runs it)
 * -> SUCCEEDED | FAILED; a stale SUBMITTING claim may be taken over (SUBMITTING -> SUBMITTING); a
 * step whose submission is refused, or whose run ends first, FAILS from any open state.
 * As a retry of its run: a step whose tasks ran (FAILED, SUBMITTED, or SUBMITTING by a claimant
 * that died after its job reported) -> SUBMITTED, its unfinished tasks resubmitted alone under it;
 * a step that never ran (FAILED before a job took it, or SUBMITTING) -> PENDING, to be submitted
 * whole again. PENDING steps wait as they are; SUCCEEDED ones are not run again.
 */
export function canTransitionStep(from: StepStatus, to: StepStatus, kind: TransitionKind = 'forward'): boolean {
  switch (kind) {
    case 'forward':
      return canMoveStepForward(from, to);
    case 'retry':
      return canReopenStep(from, to);
  }
}

function canReopenStep(from: StepStatus, to: StepStatus): boolean {
  switch (from) {
    case 'FAILED':
    case 'SUBMITTING':
      return to === 'SUBMITTED' || to === 'PENDING';
    case 'SUBMITTED':
      return to === 'SUBMITTED';
    case 'WAITING':
      // A wait or approval its run ended under: a retry waits (asks) again.
      return to === 'PENDING';
    case 'PENDING':
    case 'SUCCEEDED':
    case 'SKIPPED':
      return false;
  }
}

function canMoveStepForward(from: StepStatus, to: StepStatus): boolean {
  switch (from) {
    case 'PENDING':
      return to === 'SUBMITTING' || to === 'FAILED' || to === 'WAITING' || to === 'SKIPPED';
    case 'SUBMITTING':
      return to === 'SUBMITTING' || to === 'SUBMITTED' || to === 'FAILED';
    case 'SUBMITTED':
    case 'WAITING':
      return to === 'SUCCEEDED' || to === 'FAILED';
    case 'SUCCEEDED':
    case 'FAILED':
    case 'SKIPPED':
      return false;
  }
}

export function isTerminalStepStatus(status: StepStatus): boolean {
  return status === 'SUCCEEDED' || status === 'FAILED' || status === 'SKIPPED';
}

/** Throws IllegalTransitionError unless `canTransitionStep(from, to, kind)`: every step write goes through it. */
export function assertStepTransition(step: Pick<StepExecution, 'runId' | 'step' | 'status'>, to: StepStatus, kind: TransitionKind = 'forward'): void {
  if (!canTransitionStep(step.status, to, kind)) throw new IllegalTransitionError(`step ${step.runId}/${step.step}`, step.status, to);
}
