import {
  assertStepTransition,
  attemptOf,
  ComputeSubmissionError,
  deadlineOf,
  isTerminalRunStatus,
  jobNameFor,
  planKeyFor,
  plannedTask,
  retryTask,
  StaleStateError,
  type Clock,
  type JobStore,
  type Run,
  type StepDefinition,
  type StepExecution,
  type Task,
} from '@nightshift/jobs-domain';
import { resubmissionClaim, retryClaimToken, tasksOfStep } from './job-params.js';
import type { PlanCache } from './plan-cache.js';
import { MAX_RACE_RETRIES, writeLatest } from './race-retries.js';
import type { RunEngine } from './run-engine.js';
import type { StepSubmitter } from './step-submitter.js';

/** A request to retry a run: the event that carries it (the key of its idempotency), who asked and why. */
export interface RetryRequest {
  eventId: string;
  requestedBy: string;
  reason?: string;
}

/** What became of a retry request. */
export type RetryOutcome =
  /** The run runs again as attempt `run.attempt` (started now, or finished after an interrupted delivery). */
  | { kind: 'retried'; run: Run; resubmitted: number }
  /** The run cannot run again (its plan, dataset or pipeline is gone): the new attempt failed at once with `reason`. */
  | { kind: 'refused'; run: Run; reason: string }
  /** Nothing was done, for `reason`: the run is not FAILED, is unknown, or another request retried it first. */
  | { kind: 'ignored'; reason: string };

/**
 * Retries a FAILED run: reopens it as its next attempt and runs again only what did not succeed.
 * The steps are done in an order that lets a crash anywhere be finished by a redelivery of the
 * request (or by the reconciliation sweep), never by a further attempt:
 *
 * 1. While the run is still FAILED (closed: nothing advances or sweeps it), each step that was
 *    started and did not succeed is reopened for attempt n + 1: every task of it that did not
 *    succeed is claimed for a resubmission under a token of that attempt (a FAILED task reopened
 *    out of its step's failed count, an unfinished one as the sweep claims a lost one), then the
 *    step is recounted and marked with the attempt (`retryStep`). A step that never ran goes back
 *    to PENDING under a job name of the attempt. Claims and steps of the attempt are recognised, so
 *    doing this twice does it once.
 * 2. The run is reopened (`retryRun`): RUNNING at attempt n + 1, by this request, with a fresh
 *    deadline. That one write decides between two requests.
 * 3. Each claimed task is resubmitted alone (`StepSubmitter.resubmitTask`) with a fresh budget of
 *    its step's attempts; the run then advances as any run (PENDING steps are submitted once their
 *    dependencies succeed) and ends with its attempt's Run Succeeded or Run Failed.
 *
 * A redelivery that finds the run at the attempt it started resumes at 3 (resubmission looks each
 * job up by its deterministic name first); one that finds it still FAILED redoes 1 and 2. A claim a
 * crash left unsubmitted is also taken over by the sweep once stale. A run whose pipeline, plan or
 * dataset is gone is reopened and failed at once with the reason, so the requester sees why.
 */
export class RunRetry {
  constructor(
    private readonly store: JobStore,
    private readonly engine: RunEngine,
    private readonly submitter: StepSubmitter,
    private readonly plans: PlanCache,
    private readonly clock: Clock,
  ) {}

  async retry(runId: string, request: RetryRequest): Promise<RetryOutcome> {
    let run = await this.store.getRun(runId);
    if (!run) return { kind: 'ignored', reason: `there is no run ${runId}` };
    if (run.retryEventId === request.eventId) {
      // This request reopened the run already: a redelivery after a crash finishes that attempt.
      if (isTerminalRunStatus(run.status)) return { kind: 'ignored', reason: `attempt ${attemptOf(run)}, which this request started, already ended ${run.status}` };
      return this.resume(run);
    }
    if (run.status !== 'FAILED') return { kind: 'ignored', reason: `run ${runId} is ${run.status} (attempt ${attemptOf(run)}); only a FAILED run is retried` };
    if ((run.outbox ?? []).length > 0) {
      // The failure's own effects first (its Run Failed, stopping its jobs): none may reach the next attempt.
      await this.engine.advance(runId);
      run = (await this.store.getRun(runId)) ?? run;
    }
    const attempt = attemptOf(run) + 1;
    if ((await this.problemOf(run)) === undefined) await this.prepare(run, attempt, retryReason(request, attempt));
    const reopened = await this.reopen(run, request);
    if (!reopened) return { kind: 'ignored', reason: `run ${runId} was no longer FAILED at attempt ${attempt - 1}: another request retried it first` };
    return this.resume(reopened);
  }

  /** Why the run cannot run again, or undefined: its pipeline, its plan and its dataset must all still be there. */
  private async problemOf(run: Run): Promise<string | undefined> {
    const pipeline = this.engine.pipeline(run.pipeline);
    if (!pipeline) return `pipeline ${run.pipeline} is not configured`;
    let planned: string[];
    try {
      planned = (await this.plans.get(run.runId)).steps.map((s) => s.step);
    } catch (e) {
      if (e instanceof StaleStateError) return `it has no plan (${planKeyFor(run.runId)}): it was never planned, or its plan is gone`;
      throw e;
    }
    const dropped = planned.find((step) => !pipeline.steps.some((def) => def.name === step));
    if (dropped !== undefined) return `its step ${dropped} is no longer in pipeline ${pipeline.name}`;
    if (!(await this.store.getDatasetVersion(run.datasetId))) return `its dataset ${run.datasetId} is no longer registered`;
    return undefined;
  }

  /** Step 1: reopens, for `attempt`, every step of the run that was started and did not succeed. */
  private async prepare(run: Run, attempt: number, reason: string): Promise<void> {
    const pipeline = this.engine.pipeline(run.pipeline)!;
    for (const exec of await this.store.listSteps(run.runId)) {
      // A skipped step stays skipped: its condition was decided on outputs a retry does not change.
      if (exec.status === 'SUCCEEDED' || exec.status === 'PENDING' || exec.status === 'SKIPPED' || exec.attempt === attempt) continue;
      const def = pipeline.steps.find((s) => s.name === exec.step)!;
      const tasks = await tasksOfStep(this.store, run.runId, exec.step);
      if (exec.jobId === undefined && tasks.size === 0) {
        // It never ran: submitted whole again, under a name no earlier claimant can have used.
        await this.reopenStep(exec, attempt, (s) => {
          // An approval asked again starts without the earlier attempt's answer and deadline.
          const { jobId: _j, claimToken: _c, claimedAt: _a, submittedAt: _s, finishedAt: _f, reason: _r, waitUntil: _w, decision: _d, ...rest } = s;
          return { ...rest, status: 'PENDING', jobName: jobNameFor(run.runId, s.step, `r${attempt}`), attempt, updatedAt: this.now() };
        });
        continue;
      }
      const partitions = await this.plans.partitions(run.runId, exec.step);
      for (let index = 0; index < exec.size; index++) await this.claimTask(run, def, exec, partitions[index]!, index, tasks.get(index), attempt, reason);
      await this.reopenStep(exec, attempt, (s) => {
        const { claimToken: _c, claimedAt: _a, finishedAt: _f, reason: _r, ...rest } = s;
        return { ...rest, status: 'SUBMITTED', attempt, updatedAt: this.now() };
      });
    }
  }

  /** Claims one task that did not succeed for its resubmission in `attempt` (a FAILED one is reopened); leaves it if already claimed so. */
  private async claimTask(run: Run, def: StepDefinition, exec: StepExecution, partition: string, index: number, stored: Task | undefined, attempt: number, reason: string): Promise<void> {
    const claim = resubmissionClaim(retryClaimToken(attempt, exec.step, index));
    let current = stored;
    for (let i = 0; i < MAX_RACE_RETRIES; i++) {
      if (current?.jobId === claim) return;
      const ready = retryTask(current ?? plannedTask(run.runId, def, partition, index, this.clock.now()), def.attempts, reason, this.clock.now());
      if (!ready) return;
      const next: Task = { ...ready.task, jobId: claim };
      try {
        if (current?.status === 'FAILED') await this.store.reopenTask(current, next, exec.size);
        else await this.store.claimTask(current, next, exec.size);
        return;
      } catch (e) {
        if (!(e instanceof StaleStateError)) throw e;
        current = await this.store.getTask(run.runId, exec.step, index);
      }
    }
    throw new StaleStateError('task', `${run.runId}/${exec.step}/${index}`, 'claimable for the retry');
  }

  /** Reopens a step for `attempt` as `change` says, recounted by the store; leaves one already reopened for it, or one that succeeded meanwhile. */
  private async reopenStep(exec: StepExecution, attempt: number, change: (s: StepExecution) => StepExecution): Promise<void> {
    await writeLatest(exec, () => this.store.getStep(exec.runId, exec.step), async (current) => {
      if (current.attempt === attempt || current.status === 'SUCCEEDED') return false;
      const next = change(current);
      assertStepTransition(current, next.status, 'retry');
      await this.store.retryStep(current.version, next);
      return true;
    });
  }

  /** Step 2: the run RUNNING again as the next attempt, by this request; undefined when another request reopened it first. */
  private async reopen(run: Run, request: RetryRequest): Promise<Run | undefined> {
    const now = this.clock.now();
    const pipeline = this.engine.pipeline(run.pipeline);
    try {
      return await this.store.retryRun(run.runId, attemptOf(run), {
        retryEventId: request.eventId,
        retriedAt: now.toISOString(),
        updatedAt: now.toISOString(),
        ...(pipeline ? deadlineOf(pipeline, now) : {}),
      });
    } catch (e) {
      if (e instanceof StaleStateError) return undefined;
      throw e;
    }
  }

  /** Step 3: resubmits the tasks claimed for the run's attempt, then advances the run as any other. */
  private async resume(run: Run): Promise<RetryOutcome> {
    const problem = await this.problemOf(run);
    if (problem !== undefined) return this.refuse(run, problem);
    const pipeline = this.engine.pipeline(run.pipeline)!;
    const attempt = attemptOf(run);
    let resubmitted = 0;
    for (const exec of await this.store.listSteps(run.runId)) {
      if (exec.attempt !== attempt || exec.status !== 'SUBMITTED') continue;
      // A task resubmitted earlier may have failed the attempt already: nothing more is submitted for it.
      if (!(await this.stillRunning(run))) break;
      const def = pipeline.steps.find((s) => s.name === exec.step)!;
      for (const task of (await tasksOfStep(this.store, run.runId, exec.step)).values()) {
        const token = retryClaimToken(attempt, exec.step, task.arrayIndex);
        if (task.jobId !== resubmissionClaim(token)) continue;
        try {
          await this.submitter.resubmitTask(run, pipeline, def, exec, task, token, task.attempts.length, task.maxAttempts - task.attempts.length);
        } catch (e) {
          if (!(e instanceof ComputeSubmissionError) || e.retryable) throw e;
          return this.refuse(run, `task ${task.taskId} could not be resubmitted: ${e.message}`);
        }
        resubmitted += 1;
      }
      // A step with nothing left to run (its last tasks finished meanwhile) completes from its counts.
      await this.engine.onStepCounts(await this.store.foldStepCounts(run.runId, exec.step));
    }
    await this.engine.advance(run.runId);
    const after = (await this.store.getRun(run.runId)) ?? run;
    // An attempt that failed while its tasks were being resubmitted stops the ones submitted after its stop-jobs.
    if (resubmitted > 0 && after.status === 'FAILED' && attemptOf(after) === attempt) await this.engine.restopJobs(after);
    return { kind: 'retried', run: after, resubmitted };
  }

  /** Whether the run is still RUNNING at the attempt `run` was read at. */
  private async stillRunning(run: Run): Promise<boolean> {
    const current = await this.store.getRun(run.runId);
    return current?.status === 'RUNNING' && attemptOf(current) === attemptOf(run);
  }

  /** Fails the reopened attempt at once with why it cannot run (its Run Failed says so). */
  private async refuse(run: Run, problem: string): Promise<RetryOutcome> {
    const reason = `retry as attempt ${attemptOf(run)} cannot run: ${problem}`;
    await this.engine.failRun(run, reason);
    return { kind: 'refused', run: (await this.store.getRun(run.runId)) ?? run, reason };
  }

  private now(): string {
    return this.clock.now().toISOString();
  }
}

/** The statusReason of a task claimed for a retry, until its new job reports. */
function retryReason(request: RetryRequest, attempt: number): string {
  return `retried as attempt ${attempt} of its run by ${request.requestedBy}${request.reason ? `: ${request.reason}` : ''}`;
}
