import type { BatchJobStateChangeDetail } from '@nightshift/contracts';
import { isTerminalRunStatus, type JobStore, type Run, type RunExpectation, type RunStatus } from '@nightshift/jobs-domain';
import { platformMetrics, type FinishedTask, type PlatformMetrics } from '@nightshift/observability';

/*
 * The planner's metrics, recorded where its state changes are decided: a run's transitions are
 * counted by the store writes that win them (conditional writes: of two planners, or of an event
 * and its redelivery, one wins), so each start and end is counted once across processes, whatever
 * is redelivered; a task is counted by the job state change whose write recorded its end.
 */

/**
 * The planner's JobStore, counting runs as the writes that move them succeed: started (PENDING to
 * RUNNING, or a retry reopening a FAILED run), succeeded, failed (a run failed before it started,
 * unplannable or cancelled while pending, counts as failed only). Every other call goes to `store`.
 */
export function withRunMetrics(store: JobStore, metrics: PlatformMetrics = platformMetrics()): JobStore {
  const observed: Pick<JobStore, 'createRun' | 'transitionRun' | 'retryRun'> = {
    createRun: async (run, steps) => {
      const created = await store.createRun(run, steps);
      if (created) countTransition(metrics, undefined, run);
      return created;
    },
    transitionRun: async (runId, expected, next, outbox) => {
      const run = await store.transitionRun(runId, expected, next, outbox);
      countTransition(metrics, statusOf(expected), run);
      return run;
    },
    retryRun: async (runId, expectedAttempt, next) => {
      const run = await store.retryRun(runId, expectedAttempt, next);
      // retryRun is idempotent per retry event: a replay returns the run as the first call stored it, with that call's retriedAt.
      if (run.retryEventId === next.retryEventId && run.retriedAt === next.retriedAt) metrics.runStarted(run.pipeline);
      return run;
    },
  };
  return new Proxy(store, {
    get(target, property) {
      if (property === 'createRun' || property === 'transitionRun' || property === 'retryRun') return observed[property];
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}

function statusOf(expected: RunStatus | RunExpectation): RunStatus {
  return typeof expected === 'string' ? expected : expected.status;
}

function countTransition(metrics: PlatformMetrics, from: RunStatus | undefined, run: Run): void {
  if (from !== undefined && isTerminalRunStatus(from)) return;
  if (run.status === 'RUNNING' && from !== 'RUNNING') metrics.runStarted(run.pipeline);
  else if (run.status === 'SUCCEEDED' || run.status === 'FAILED') metrics.runFinished(run.pipeline, run.status);
}

/**
 * What a terminal "Batch Job State Change" of a task's job says about the task: how long its
 * attempts ran (summed: what the compute was busy with, failed attempts included), how long it
 * waited from submission to its first attempt's start (Batch reports no RUNNABLE timestamp; the
 * planner submits a step only once its dependencies are done, so this is the RUNNABLE and STARTING
 * wait), and the vCPUs each attempt reserved. Undefined for a job that has not ended.
 */
export function finishedTaskOf(pipeline: string, step: string, detail: BatchJobStateChangeDetail): FinishedTask | undefined {
  if (detail.status !== 'SUCCEEDED' && detail.status !== 'FAILED') return undefined;
  const ran = detail.attempts.filter((a) => a.startedAt !== undefined && a.stoppedAt !== undefined);
  const runMs =
    ran.length > 0
      ? ran.reduce((sum, a) => sum + (a.stoppedAt! - a.startedAt!), 0)
      : detail.startedAt !== undefined && detail.stoppedAt !== undefined
        ? detail.stoppedAt - detail.startedAt
        : 0;
  const starts = [...detail.attempts.map((a) => a.startedAt), detail.startedAt].filter((t): t is number => t !== undefined);
  const firstStart = starts.length > 0 ? Math.min(...starts) : undefined;
  return {
    pipeline,
    step,
    status: detail.status,
    durationS: runMs / 1000,
    ...(firstStart !== undefined ? { runnableWaitS: (firstStart - detail.createdAt) / 1000 } : {}),
    vcpus: vcpusOf(detail),
  };
}

/** The job's vCPUs: its VCPU resource requirement (or the legacy `container.vcpus`); 0 when it names none. */
function vcpusOf(detail: BatchJobStateChangeDetail): number {
  const requirement = detail.container.resourceRequirements?.find((r) => r.type === 'VCPU')?.value;
  const vcpus = requirement !== undefined ? Number(requirement) : (detail.container as { vcpus?: unknown }).vcpus;
  return typeof vcpus === 'number' && Number.isFinite(vcpus) && vcpus > 0 ? vcpus : 0;
}

/** Records a task whose end a job state change just wrote (the write that applied it: once per task, whatever is redelivered). */
export function recordTaskFinished(pipeline: string, step: string, detail: BatchJobStateChangeDetail, metrics: PlatformMetrics = platformMetrics()): void {
  const task = finishedTaskOf(pipeline, step, detail);
  if (task) metrics.taskFinished(task);
}
