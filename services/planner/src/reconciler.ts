import { randomUUID } from 'node:crypto';
import type { BatchJobStateChangeDetail } from '@nightshift/contracts';
import {
  isTerminalRunStatus,
  isTerminalTaskStatus,
  plannedTask,
  resolveLostJob,
  StaleStateError,
  type Clock,
  type ComputeEnvironment,
  type JobStore,
  type PipelineDefinition,
  type Run,
  type StepDefinition,
  type StepExecution,
  type Task,
} from '@nightshift/jobs-domain';
import { jobOwnerOf, resubmissionClaim, tasksOfStep } from './job-params.js';
import type { PlanCache } from './plan-cache.js';
import type { RunEngine } from './run-engine.js';
import type { StepSubmitter } from './step-submitter.js';

/** DescribeJobs takes at most 100 ids. */
const DESCRIBE_BATCH = 100;

/** How the sweep judges claims and lost jobs. */
export interface ReconcilerOptions {
  /** A step or task claimed this long ago and still not submitted is taken over (its claimant died). */
  claimTimeoutMs: number;
}

/** What one sweep did, for logs and tests. */
export interface SweepOutcome {
  runs: number;
  /** Tasks whose job the compute environment no longer knows: resubmitted, or failed when no attempt was left. */
  lost: number;
  /** Job states the compute environment has and the store had missed (lost events), applied. */
  repaired: number;
  /** Step submissions taken over from a claimant that did not finish. */
  resumed: number;
}

/**
 * The reconciliation sweep: compares every open run with the compute environment's own view
 * (DescribeJobs) and repairs the difference, so nothing waits forever on an event or a process
 * that was lost. Run by every planner process at start and then periodically; every repair is a
 * conditional write, so concurrent sweeps (several planners) claim each task once.
 *
 * - A step's job unknown to the environment (lost with the host that ran it): each unfinished
 *   task's attempt under way is recorded as failed with the reason, and the task is resubmitted
 *   alone for its remaining attempts, or FAILS (and its run) when none remain.
 * - A job finished whose events were lost: its state is applied as if the event had arrived.
 * - A step claimed but never submitted (the claimant died): taken over, looked up by its
 *   deterministic job name, submitted if absent.
 * - A terminal run with an undrained outbox: drained. A run past its deadline: failed.
 * Cost: one DescribeJobs per submitted step per sweep; task records are read only for a step
 * whose job is gone or finished without its step being complete.
 */
export class Reconciler {
  constructor(
    private readonly store: JobStore,
    private readonly compute: ComputeEnvironment,
    private readonly engine: RunEngine,
    private readonly submitter: StepSubmitter,
    private readonly plans: PlanCache,
    private readonly clock: Clock,
    private readonly options: ReconcilerOptions,
  ) {}

  async sweep(): Promise<SweepOutcome> {
    const outcome: SweepOutcome = { runs: 0, lost: 0, repaired: 0, resumed: 0 };
    let nextToken: string | undefined;
    do {
      const page = await this.store.listOpenRuns({ limit: 100, ...(nextToken ? { nextToken } : {}) });
      for (const run of page.items) {
        outcome.runs += 1;
        await this.reconcileRun(run, outcome);
      }
      nextToken = page.nextToken;
    } while (nextToken);
    return outcome;
  }

  private async reconcileRun(run: Run, outcome: SweepOutcome): Promise<void> {
    const pipeline = this.engine.pipeline(run.pipeline);
    if (isTerminalRunStatus(run.status) || !pipeline) {
      // advance drains a terminal run's outbox; a run of a pipeline no longer configured is left as it is.
      if (isTerminalRunStatus(run.status)) await this.engine.advance(run.runId);
      return;
    }
    for (const exec of await this.store.listSteps(run.runId)) {
      const def = pipeline.steps.find((s) => s.name === exec.step);
      if (!def) continue;
      if (exec.status === 'SUBMITTING' && this.isStale(exec.claimedAt)) {
        const taken = await this.submitter.claim(exec);
        if (taken) {
          outcome.resumed += 1;
          await this.engine.submit(run, pipeline, def, taken);
        }
      } else if (exec.status === 'SUBMITTED') {
        await this.reconcileStep(run, pipeline, def, exec, outcome);
      }
    }
    await this.engine.advance(run.runId);
  }

  private async reconcileStep(run: Run, pipeline: PipelineDefinition, def: StepDefinition, exec: StepExecution, outcome: SweepOutcome): Promise<void> {
    // A step a retry reopened may have no job of its own (its claimant died before recording one):
    // then only its tasks' own jobs are looked at.
    const [job] = exec.jobId === undefined ? [] : await this.compute.describeJobs([exec.jobId]);
    const finished = job !== undefined && (job.status === 'SUCCEEDED' || job.status === 'FAILED');
    // A job still under way reports for itself; its tasks are read only once it is gone or done.
    if (job && !finished) return;
    const tasks = await tasksOfStep(this.store, run.runId, exec.step);
    const partitions = await this.plans.partitions(run.runId, exec.step);
    const ofStepJob: number[] = [];
    const alone: Task[] = [];
    for (let index = 0; index < exec.size; index++) {
      const task = tasks.get(index);
      if (task && isTerminalTaskStatus(task.status)) continue;
      const owner = task ? jobOwnerOf(task, exec.jobId) : 'step';
      if (owner === 'claim') {
        if (this.isStale(task!.updatedAt)) await this.resolveLost(run, pipeline, def, exec, task!, `the resubmission of task ${task!.taskId} was claimed and not completed`, outcome);
      } else if (owner === 'alone') alone.push(task!);
      else ofStepJob.push(index);
    }
    if (!job && exec.jobId !== undefined) {
      const reason = lostReason(exec.jobId);
      for (const index of ofStepJob) await this.resolveLost(run, pipeline, def, exec, tasks.get(index) ?? plannedTask(run.runId, def, partitions[index]!, index, this.clock.now()), reason, outcome);
    } else if (finished) {
      const ids = exec.size > 1 ? ofStepJob.map((i) => `${exec.jobId}:${i}`) : [exec.jobId!];
      await this.apply(ids, outcome);
    }
    // Tasks resubmitted alone: their own jobs, described in batches.
    for (let i = 0; i < alone.length; i += DESCRIBE_BATCH) {
      const batch = alone.slice(i, i + DESCRIBE_BATCH);
      const known = new Map((await this.compute.describeJobs(batch.map((t) => t.jobId!))).map((d) => [d.jobId, d]));
      for (const task of batch) {
        const detail = known.get(task.jobId!);
        if (!detail) await this.resolveLost(run, pipeline, def, exec, task, lostReason(task.jobId!), outcome);
        else if (detail.status === 'SUCCEEDED' || detail.status === 'FAILED') await this.applyOne(detail, outcome);
      }
    }
    const step = await this.store.foldStepCounts(run.runId, exec.step);
    await this.engine.onStepCounts(step);
  }

  /** Applies what the environment says of these jobs, as if their events had arrived. */
  private async apply(jobIds: readonly string[], outcome: SweepOutcome): Promise<void> {
    for (let i = 0; i < jobIds.length; i += DESCRIBE_BATCH) {
      for (const detail of await this.compute.describeJobs(jobIds.slice(i, i + DESCRIBE_BATCH))) await this.applyOne(detail, outcome);
    }
  }

  private async applyOne(detail: BatchJobStateChangeDetail, outcome: SweepOutcome): Promise<void> {
    if ((await this.engine.onJobStateChange(detail)) === 'applied') outcome.repaired += 1;
  }

  /**
   * Takes over a task whose job is gone: an exclusive claim (conditional on the record as read),
   * then a resubmission for the attempts left, or the task's failure (and its run's).
   */
  private async resolveLost(run: Run, pipeline: PipelineDefinition, def: StepDefinition, exec: StepExecution, task: Task, reason: string, outcome: SweepOutcome): Promise<void> {
    const stored = await this.store.getTask(task.runId, task.step, task.arrayIndex);
    // Judged lost under the job it had when read: if another job has it now (another sweep
    // resubmitted it, or an event moved it), it is not this sweep's to take.
    if (stored?.jobId !== task.jobId) return;
    const base = stored ?? task;
    const resolution = resolveLostJob(base, reason, this.clock.now());
    if (resolution.kind === 'stale') return;
    const token = randomUUID();
    const next = resolution.kind === 'resubmit' ? { ...resolution.task, jobId: resubmissionClaim(token) } : resolution.task;
    try {
      await this.store.claimTask(stored, next, exec.size);
    } catch (e) {
      // Another planner's sweep (or the job's late event) got there first.
      if (e instanceof StaleStateError) return;
      throw e;
    }
    outcome.lost += 1;
    if (resolution.kind === 'fail') {
      await this.engine.failRunForTask(next);
      return;
    }
    await this.submitter.resubmitTask(run, pipeline, def, exec, next, token, resolution.priorAttempts, resolution.remainingAttempts);
  }

  private isStale(at: string | undefined): boolean {
    return at === undefined || this.clock.now().getTime() - Date.parse(at) >= this.options.claimTimeoutMs;
  }
}

function lostReason(jobId: string): string {
  return `job ${jobId} is unknown to the compute environment: it was lost with the host that ran it`;
}
