import type { BatchJobStatus } from '@nightshift/contracts';
import { decideRetry } from './evaluate-on-exit.js';
import { DependencyTracker } from './job-dependencies.js';
import type { AttemptRecord } from './job-detail.js';
import type { Job, JobRegistry, Parent, Unit } from './job-registry.js';
import type { AttemptListener, AttemptOutcome, LaunchedAttempt, ProcessLauncher } from './process-launcher.js';
import type { ResourceScheduler } from './resource-scheduler.js';
import type { StateChangeEmitter } from './state-change-emitter.js';
import {
  ARRAY_CHILD_FAILED,
  ATTEMPT_TIMED_OUT,
  CONTAINER_EXITED,
  DEPENDENT_JOB_FAILED,
  hostTerminated,
  neverFits,
  TASK_FAILED_TO_START,
} from './status-reasons.js';

export interface JobLifecycleParts {
  scheduler: ResourceScheduler<Unit>;
  launcher: ProcessLauncher;
  registry: JobRegistry;
  emitter: StateChangeEmitter<Job>;
  computeEnvironmentName: string;
  now: () => number;
  /** Called after every change that may let a waiter of `idle`/`shutdown` go. */
  onProgress: () => void;
}

/**
 * AWS Batch's job lifecycle over the scheduler and the launcher: SUBMITTED -> PENDING -> RUNNABLE
 * -> STARTING -> RUNNING -> SUCCEEDED | FAILED, retries per `retryStrategy`, array parents that
 * summarise their children, job dependencies, cancel and terminate. Every status change goes to the
 * emitter.
 */
export class JobLifecycle {
  private readonly running = new Set<Unit>();
  /** Top-level jobs not yet finished. */
  private unfinished = 0;
  private stopping = false;
  private passScheduled = false;
  private readonly listener: AttemptListener = {
    running: (attempt) => this.onRunning(attempt),
    ended: (attempt, outcome) => this.onEnded(attempt, outcome),
  };
  private readonly units = new WeakMap<LaunchedAttempt, Unit>();
  private readonly dependencies = new DependencyTracker({
    ready: (unit) => {
      this.enqueue(unit);
      this.requestPass();
    },
    failed: (unit) => this.finish(unit, 'FAILED', DEPENDENT_JOB_FAILED),
  });

  constructor(private readonly parts: JobLifecycleParts) {}

  /** Top-level jobs not yet SUCCEEDED or FAILED. */
  get unfinishedJobs(): number {
    return this.unfinished;
  }

  /** Units holding a reservation (STARTING or RUNNING). */
  get runningUnits(): number {
    return this.running.size;
  }

  get isStopping(): boolean {
    return this.stopping;
  }

  /**
   * SUBMITTED, then PENDING, then RUNNABLE in its queue once every job a unit waits for
   * (`waitsFor`, see `prerequisitesOf`) has SUCCEEDED; a unit one of whose prerequisites FAILED
   * fails (`Dependent Job failed`) without running. An array parent goes PENDING with its children.
   */
  admit(job: Job, waitsFor: ReadonlyMap<Unit, readonly Job[]> = new Map()): void {
    const { registry, scheduler } = this.parts;
    registry.add(job);
    this.unfinished += 1;
    const units = job.kind === 'parent' ? job.children : [job];
    this.changed(job);
    for (const unit of units) this.changed(unit);
    const spec = job.spec;
    if (!scheduler.fitsCapacity(spec.demand)) {
      // AWS Batch would leave such a job RUNNABLE forever, waiting for an instance its compute
      // environment can never launch, and someone has to notice the stuck queue. Here the budget is
      // fixed and known, so the job can never run: failing it at once tells the planner now, with
      // the reason, instead of never.
      const reason = neverFits(spec.demand, scheduler.budget);
      if (job.kind === 'parent') job.stopReason = reason;
      for (const unit of units) this.finish(unit, 'FAILED', reason);
      return;
    }
    for (const unit of units) this.transition(unit, 'PENDING');
    const failed: Unit[] = [];
    for (const unit of units) {
      const prerequisites = waitsFor.get(unit);
      const state = prerequisites === undefined ? 'ready' : this.dependencies.wait(unit, prerequisites);
      if (state === 'ready') this.enqueue(unit);
      else if (state === 'failed') failed.push(unit);
    }
    // Before any child can fail: a parent whose children all fail at once must not go back to PENDING.
    if (job.kind === 'parent') this.transition(job, 'PENDING');
    for (const unit of failed) this.finish(unit, 'FAILED', DEPENDENT_JOB_FAILED);
    this.requestPass();
  }

  /** AWS's CancelJob: jobs (children) not yet STARTING FAIL with `reason`; the others are left running. */
  cancel(job: Job, reason: string): void {
    const units = job.kind === 'parent' ? job.children : [job];
    let cancelled = false;
    for (const unit of units) {
      if (isQueued(unit.status)) {
        if (job.kind === 'parent') job.stopReason ??= reason;
        this.failQueued(unit, reason);
        cancelled = true;
      }
    }
    if (cancelled) this.requestPass();
  }

  /** AWS's TerminateJob: queued jobs (children) FAIL at once, running attempts are stopped and FAIL with `reason`, no retry. */
  terminate(job: Job, reason: string): void {
    const units = job.kind === 'parent' ? job.children : [job];
    if (job.kind === 'parent' && !isFinished(job.status)) job.stopReason ??= reason;
    for (const unit of units) {
      if (isQueued(unit.status)) {
        this.failQueued(unit, reason);
      } else if (unit.status === 'STARTING' || unit.status === 'RUNNING') {
        unit.terminateReason ??= reason;
        unit.attempt?.stop();
      }
    }
    this.requestPass();
  }

  /** Starts nothing more and stops every attempt in flight as if its host had been terminated. */
  stopAll(): void {
    this.stopping = true;
    for (const unit of this.running) {
      if (!unit.attempt) continue;
      unit.attempt.hostStopped = true;
      unit.attempt.stop();
    }
  }

  private enqueue(unit: Unit): void {
    this.transition(unit, 'RUNNABLE');
    const spec = unit.spec;
    this.parts.scheduler.enqueue(unit, spec.demand, {
      queue: spec.jobQueueName,
      ...(spec.shareIdentifier !== undefined && { share: spec.shareIdentifier }),
      ...(spec.schedulingPriority !== undefined && { schedulingPriority: spec.schedulingPriority }),
    });
  }

  /** Runs one scheduling pass soon; a burst of changes (a 10,000-child array) needs only one. */
  private requestPass(): void {
    if (this.passScheduled || this.stopping) return;
    this.passScheduled = true;
    setImmediate(() => {
      this.passScheduled = false;
      if (this.stopping) return;
      for (const unit of this.parts.scheduler.take()) this.start(unit);
    });
  }

  /** STARTING: the reservation is held; the launcher starts the process on one of its next turns. */
  private start(unit: Unit): void {
    this.running.add(unit);
    this.transition(unit, 'STARTING');
    const spec = unit.spec;
    const attempt = this.parts.launcher.launch(
      {
        jobId: unit.jobId,
        ...(unit.index !== undefined && { arrayIndex: unit.index }),
        attempt: unit.attempts.length + 1,
        command: spec.command,
        environment: spec.environment,
        jobQueueName: spec.jobQueueName,
        jobDefinitionName: spec.jobDefinitionName,
        jobName: spec.jobName,
        ...(spec.timeoutSeconds !== undefined && { timeoutSeconds: spec.timeoutSeconds }),
      },
      this.listener,
    );
    unit.attempt = attempt;
    this.units.set(attempt, unit);
  }

  private onRunning(attempt: LaunchedAttempt): void {
    const unit = this.units.get(attempt);
    if (!unit || unit.attempt !== attempt) return;
    unit.startedAt = attempt.startedAt;
    this.transition(unit, 'RUNNING');
  }

  private onEnded(attempt: LaunchedAttempt, outcome: AttemptOutcome): void {
    const unit = this.units.get(attempt);
    if (!unit || unit.attempt !== attempt) return;
    unit.attempt = undefined;
    this.running.delete(unit);
    this.parts.scheduler.release(unit);

    const record = this.attemptRecord(unit, attempt, outcome);
    if (record) unit.attempts.push(record);
    if (unit.terminateReason !== undefined) {
      this.finish(unit, 'FAILED', unit.terminateReason);
    } else if (!record) {
      // Stopped by shutdown before it started: no attempt was used up.
      this.enqueue(unit);
    } else if (record.exitCode === 0 && !attempt.timedOut && !attempt.hostStopped) {
      this.finish(unit, 'SUCCEEDED', CONTAINER_EXITED);
    } else if (attempt.timedOut && !attempt.hostStopped) {
      // AWS: "If a job is terminated for exceeding the timeout duration, it isn't retried."
      // (https://docs.aws.amazon.com/batch/latest/userguide/job_timeouts.html)
      this.finish(unit, 'FAILED', ATTEMPT_TIMED_OUT);
    } else {
      const exit = { ...(record.exitCode !== undefined && { exitCode: record.exitCode }), statusReason: record.statusReason, ...(record.containerReason !== undefined && { reason: record.containerReason }) };
      const decision = decideRetry(unit.spec.retryStrategy, exit, unit.attempts.length);
      if (decision.action === 'RETRY') this.enqueue(unit);
      else this.finish(unit, 'FAILED', record.statusReason);
    }
    this.requestPass();
    this.parts.onProgress();
  }

  private attemptRecord(unit: Unit, attempt: LaunchedAttempt, outcome: AttemptOutcome): AttemptRecord | undefined {
    const where = { taskArn: attempt.taskArn, ...(attempt.logStreamName !== undefined && { logStreamName: attempt.logStreamName }) };
    switch (outcome.kind) {
      case 'not-started':
        return undefined;
      case 'failed-to-start':
        return { ...where, stoppedAt: this.parts.now(), containerReason: outcome.reason, statusReason: TASK_FAILED_TO_START };
      case 'exited':
        return {
          ...where,
          ...(attempt.startedAt !== undefined && { startedAt: attempt.startedAt }),
          stoppedAt: this.parts.now(),
          ...(outcome.exitCode !== undefined && { exitCode: outcome.exitCode }),
          ...(outcome.reason !== undefined && { containerReason: outcome.reason }),
          statusReason:
            unit.terminateReason ?? (attempt.hostStopped ? hostTerminated(this.parts.computeEnvironmentName) : attempt.timedOut ? ATTEMPT_TIMED_OUT : CONTAINER_EXITED),
        };
    }
  }

  private failQueued(unit: Unit, reason: string): void {
    this.parts.scheduler.remove(unit);
    this.finish(unit, 'FAILED', reason);
  }

  private finish(unit: Unit, status: 'SUCCEEDED' | 'FAILED', reason: string): void {
    unit.stoppedAt = this.parts.now();
    this.transition(unit, status, reason);
    const parent = unit.parent;
    if (parent) {
      parent.remaining -= 1;
      if (parent.remaining === 0) this.finishParent(parent);
    } else {
      this.retire(unit);
    }
    this.dependencies.settled(unit);
    this.parts.onProgress();
  }

  /** An array parent ends when all its children have: SUCCEEDED if every child did, else FAILED. */
  private finishParent(parent: Parent): void {
    for (const child of parent.children) {
      if (child.startedAt !== undefined && (parent.startedAt === undefined || child.startedAt < parent.startedAt)) parent.startedAt = child.startedAt;
    }
    parent.stoppedAt = this.parts.now();
    const failed = parent.children.some((c) => c.status === 'FAILED');
    // Every child failed for a dependency (the array job's own dependency failed): so did the job.
    const dependencyFailed = parent.children.every((c) => c.statusReason === DEPENDENT_JOB_FAILED);
    if (failed) this.transition(parent, 'FAILED', parent.stopReason ?? (dependencyFailed ? DEPENDENT_JOB_FAILED : ARRAY_CHILD_FAILED));
    else this.transition(parent, 'SUCCEEDED');
    this.retire(parent);
    this.dependencies.settled(parent);
  }

  private retire(job: Job): void {
    this.unfinished -= 1;
    this.parts.registry.retire(job);
  }

  private transition(job: Job, status: BatchJobStatus, reason?: string): void {
    job.status = status;
    job.statusReason = reason;
    this.changed(job);
  }

  private changed(job: Job): void {
    this.parts.emitter.changed(job);
  }
}

function isQueued(status: BatchJobStatus): boolean {
  return status === 'SUBMITTED' || status === 'PENDING' || status === 'RUNNABLE';
}

function isFinished(status: BatchJobStatus): boolean {
  return status === 'SUCCEEDED' || status === 'FAILED';
}
