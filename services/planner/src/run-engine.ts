import { envelope, RunFailed, RunSucceeded, type BatchJobStateChangeDetail, type RunOutputsListing } from '@nightshift/contracts';
import {
  applyJobObservation,
  assertStepTransition,
  attemptOf,
  finishRun,
  isTerminalRunStatus,
  judgeRun,
  outputKeyFor,
  outputsKeyFor,
  planKeyFor,
  plannedTask,
  planRun,
  readySteps,
  runEffectId,
  runIdFor,
  StaleStateError,
  taskFailureReason,
  type Clock,
  type JobObservation,
  type JobStore,
  type OutboxEntry,
  type PipelineDefinition,
  type PlanRequest,
  type Run,
  type StepDefinition,
  type StepExecution,
  type Task,
  type TaskAttempt,
} from '@nightshift/jobs-domain';
import type { ObjectStore } from '@nightshift/storage-domain';
import { jobRefOf, resubmissionClaim } from './job-params.js';
import { OutboxRelay } from './outbox-relay.js';
import type { PlanCache } from './plan-cache.js';
import { writeLatest } from './race-retries.js';
import type { StepSubmitter } from './step-submitter.js';

/** The task states the engine records; the others (SUBMITTED, PENDING, RUNNABLE, STARTING) are merged into the next one. */
const RECORDED = new Set(['RUNNING', 'SUCCEEDED', 'FAILED']);

/** What became of one state-change event. */
export type JobEventOutcome = 'applied' | 'stale' | 'ignored';

/**
 * The run engine: plans runs, submits steps whose dependencies are done, folds job state changes
 * into task records, and finishes runs. Work per event is constant: one conditional write of the
 * task (its step's counts folded in groups), never a read of the whole run. Every transition that
 * must cause an effect (Run Succeeded / Run Failed, stopping jobs) records it in the run's outbox
 * in the same write, and the winner of that write carries it out: a terminal event is published
 * once per transition, whatever is redelivered afterwards.
 */
export class RunEngine {
  constructor(
    private readonly store: JobStore,
    private readonly objects: ObjectStore,
    private readonly plans: PlanCache,
    private readonly submitter: StepSubmitter,
    private readonly outbox: OutboxRelay,
    private readonly pipelines: readonly PipelineDefinition[],
    private readonly clock: Clock,
  ) {}

  /** Pipelines a registered dataset triggers. */
  pipelinesFor(dataset: string): PipelineDefinition[] {
    return this.pipelines.filter((p) => p.trigger.datasets.includes(dataset));
  }

  pipeline(name: string): PipelineDefinition | undefined {
    return this.pipelines.find((p) => p.name === name);
  }

  /** Creates (or, on replay, finds) the run for a trigger and submits its first steps. A few writes, whatever the fan-out. */
  async startRun(args: Omit<PlanRequest, 'now'>): Promise<Run> {
    const planned = planRun({ ...args, now: this.clock.now() });
    // The plan first: whoever reads the run may need it, and it is the same on every replay.
    await this.objects.put(planKeyFor(planned.run.runId), JSON.stringify(planned.plan), 'application/json');
    this.plans.remember(planned.plan);
    this.submitter.rememberDataset(args.dataset);
    // A run just created is known whole (run and steps as planned): it is advanced without reading them back.
    if (await this.store.createRun(planned.run, planned.steps)) return (await this.advanceRun(planned.run, planned.steps)) ?? planned.run;
    await this.advance(planned.run.runId);
    return (await this.store.getRun(planned.run.runId)) ?? planned.run;
  }

  /** Records a run that could not even be planned (unknown pipeline, no dataset, a dataset lacking a table), and says so on the bus. */
  async failUnplannable(
    args: Omit<PlanRequest, 'now' | 'pipeline' | 'dataset'> & { pipeline: string; businessDate: string; datasetId?: string; reason: string },
  ): Promise<void> {
    const at = this.clock.now().toISOString();
    const base: Run = {
      runId: runIdFor(args.pipeline, args.businessDate, args.triggerEventId),
      pipeline: args.pipeline,
      businessDate: args.businessDate,
      datasetId: args.datasetId ?? 'none',
      status: 'FAILED',
      correlationId: args.correlationId,
      ...(args.traceparent ? { traceparent: args.traceparent } : {}),
      ...(args.tenant ? { tenant: args.tenant } : {}),
      tasksTotal: 0,
      createdAt: at,
      updatedAt: at,
      finishedAt: at,
      reason: args.reason,
    };
    const run: Run = { ...base, outbox: [this.runFailedEntry(base, args.reason)] };
    // A redelivered trigger finds the run: its outbox (drained or not) already says it, and a run an
    // earlier delivery planned and started is never failed here.
    await this.store.createRun(run, []);
    const stored = await this.store.getRun(run.runId);
    if (stored) await this.outbox.drain(stored);
  }

  /**
   * Folds a "Batch Job State Change" (or a JobDetail from DescribeJobs, during reconciliation) into
   * its task. Only the task's current job counts: events of a job that was lost and replaced are
   * stale. A task that failed for good fails its run; the count that completes a step advances it.
   */
  async onJobStateChange(detail: BatchJobStateChangeDetail): Promise<JobEventOutcome> {
    const ref = jobRefOf(detail);
    if (!ref) return 'ignored';
    if (ref.kind === 'step') {
      // The array job ended: its children's counts may now complete the step (or show what was lost, for the sweep).
      if (detail.status === 'SUCCEEDED' || detail.status === 'FAILED') await this.onStepCounts(await this.store.foldStepCounts(ref.runId, ref.step));
      return 'ignored';
    }
    if (!RECORDED.has(detail.status)) return 'ignored';
    const def = this.pipeline(ref.pipeline)?.steps.find((s) => s.name === ref.step);
    if (!def) return 'ignored';
    const partitions = await this.plans.partitions(ref.runId, ref.step);
    const partition = partitions[ref.arrayIndex];
    if (partition === undefined) return 'ignored';
    // A lone (resubmitted) job continues the task's attempts: they are read from its record.
    const alone = ref.token !== undefined || ref.priorAttempts > 0;
    const base = (alone ? await this.store.getTask(ref.runId, ref.step, ref.arrayIndex) : undefined) ?? plannedTask(ref.runId, def, partition, ref.arrayIndex, this.clock.now());
    const transition = applyJobObservation(base, toObservation(detail, base.attempts.slice(0, ref.priorAttempts)), this.clock.now());
    if (transition.kind === 'stale') return 'stale';
    const result = await this.store.recordTask({
      task: transition.task,
      stepSize: partitions.length,
      currentJobIds: [detail.jobId, ...(ref.token ? [resubmissionClaim(ref.token)] : [])],
    });
    if (result.task.status === 'FAILED') await this.failRunForTask(result.task);
    if (result.step) await this.onStepCounts(result.step);
    return result.applied ? 'applied' : 'stale';
  }

  /** A step whose every task succeeded is SUCCEEDED, and its run moves on. */
  async onStepCounts(step: StepExecution): Promise<void> {
    if (step.status !== 'SUBMITTED' || step.succeeded < step.size) return;
    await this.updateStep(step, (s) => (s.status === 'SUBMITTED' && s.succeeded >= s.size ? { ...s, status: 'SUCCEEDED', finishedAt: this.now(), updatedAt: this.now() } : undefined));
    await this.advance(step.runId);
  }

  /**
   * Moves a run along: carries out an undrained outbox, fails a run past its deadline or with a
   * failed step, succeeds it when every step did, and otherwise submits every step whose
   * dependencies are done. Reads the run and its steps (a handful of items). Safe to call any number of times.
   */
  async advance(runId: string): Promise<void> {
    const run = await this.store.getRun(runId);
    if (!run) return;
    if (isTerminalRunStatus(run.status)) {
      if ((run.outbox ?? []).length > 0) await this.outbox.drain(run);
      return;
    }
    await this.advanceRun(run, await this.store.listSteps(runId));
  }

  /** Advances an open run from its steps as read; resolves the run as it stands after, when it knows it. */
  private async advanceRun(run: Run, steps: readonly StepExecution[]): Promise<Run | undefined> {
    const runId = run.runId;
    if (run.deadline !== undefined && Date.parse(run.deadline) <= this.clock.now().getTime()) {
      await this.failRun(run, `run exceeded its deadline ${run.deadline} (the pipeline's timeoutSeconds)`);
      return;
    }
    const pipeline = this.pipeline(run.pipeline);
    if (!pipeline) throw new StaleStateError('run', runId, `a run of a known pipeline (${run.pipeline} is not configured)`);
    const verdict = judgeRun(steps);
    if (verdict.status === 'FAILED') {
      await this.failRun(run, verdict.reason);
      return undefined;
    }
    if (verdict.status === 'SUCCEEDED') {
      await this.succeedRun(run);
      return undefined;
    }
    let current = run;
    for (const def of readySteps(pipeline, steps)) {
      const exec = steps.find((s) => s.step === def.name);
      if (exec) current = (await this.submit(current, pipeline, def, exec)) ?? current;
    }
    return current;
  }

  /** Claims a PENDING step and submits its job; a refused submission fails the run with the reason. */
  async submit(run: Run, pipeline: PipelineDefinition, def: StepDefinition, exec: StepExecution): Promise<Run | undefined> {
    // A step claimed from PENDING has never been submitted; one taken over may have been, and is looked up first.
    const fresh = exec.status === 'PENDING';
    const now = this.now();
    // Three independent writes at once: the claim decides who submits; the run's RUNNING and the
    // manifest (the same content whoever writes it) are harmless if another process wins the claim.
    const [claimed, started] = await Promise.all([
      fresh ? this.submitter.claim(exec) : exec,
      run.status === 'PENDING' ? this.transition(run, { status: 'RUNNING', startedAt: now, updatedAt: now }) : run,
      this.submitter.writeManifest(run, def, exec),
    ]);
    if (!claimed) return undefined;
    const current = started ?? (await this.store.getRun(run.runId)) ?? run;
    const outcome = await this.submitter.submitClaimed(current, pipeline, def, claimed, { fresh });
    if (outcome.kind === 'refused') {
      await this.failRun(current, outcome.reason);
      return undefined;
    }
    // A run that ended while its step was being submitted stops the job at once.
    const after = await this.store.getRun(run.runId);
    if (outcome.kind === 'submitted' && after && isTerminalRunStatus(after.status)) await this.restopJobs(after);
    return after;
  }

  /** Fails a run because one of its tasks failed for good (after its attempts, or on an EXIT rule). */
  async failRunForTask(task: Task): Promise<void> {
    const reason = taskFailureReason(task);
    const step = await this.store.getStep(task.runId, task.step);
    if (step) await this.updateStep(step, (s) => (s.status === 'SUBMITTED' || s.status === 'SUBMITTING' ? { ...s, status: 'FAILED', reason, finishedAt: this.now(), updatedAt: this.now() } : undefined));
    const run = await this.store.getRun(task.runId);
    if (run) await this.failRun(run, reason, task);
  }

  /** Fails a run on request (`POST /runs/:id/cancel`); false when it had already finished. */
  async cancelRun(runId: string, reason: string): Promise<boolean> {
    const run = await this.store.getRun(runId);
    if (!run || isTerminalRunStatus(run.status)) return false;
    return this.failRun(run, `cancelled: ${reason}`);
  }

  /**
   * Fails the run (one conditional write, with Run Failed and "stop its jobs" in its outbox), then
   * carries the outbox out. Of concurrent callers exactly one wins; the others return false. Only
   * the attempt `run` was read at is failed: a decision taken on it does not end a retry.
   */
  async failRun(run: Run, reason: string, failedTask?: Task): Promise<boolean> {
    const attempt = attemptOf(run);
    return writeLatest(run, () => this.store.getRun(run.runId), async (current) => {
      if (isTerminalRunStatus(current.status) || attemptOf(current) !== attempt) return false;
      const finished = finishRun('FAILED', this.clock.now(), reason);
      const outbox: OutboxEntry[] = [
        this.runFailedEntry({ ...current, ...finished }, reason, failedTask),
        { id: runEffectId('stop-jobs', current), kind: 'stop-jobs', reason, attempt },
      ];
      const failed = await this.store.transitionRun(current.runId, { status: current.status, attempt }, finished, outbox);
      await this.outbox.drain(failed);
      return true;
    });
  }

  private async succeedRun(run: Run): Promise<void> {
    const plan = await this.plans.get(run.runId);
    const listing: RunOutputsListing = {
      runId: run.runId,
      outputs: plan.steps.flatMap((s) => (s.writesOutput ? s.partitions.map((partition) => ({ step: s.step, partition, key: outputKeyFor(run.runId, s.step, partition) })) : [])),
    };
    const outputsKey = outputsKeyFor(run.runId);
    await this.objects.put(outputsKey, JSON.stringify(listing), 'application/json');
    const finished = finishRun('SUCCEEDED', this.clock.now());
    const data = {
      runId: run.runId,
      pipeline: run.pipeline,
      businessDate: run.businessDate,
      datasetId: run.datasetId,
      outputs: { key: outputsKey, count: listing.outputs.length },
      steps: plan.steps.map((s) => ({ step: s.step, tasks: s.partitions.length })),
      startedAt: run.startedAt ?? run.createdAt,
      finishedAt: finished.finishedAt ?? this.now(),
    };
    const event = OutboxRelay.event(runEffectId('run-succeeded', run), {
      source: RunSucceeded.source,
      detailType: RunSucceeded.detailType,
      resources: [run.runId],
      detail: envelope(data, this.meta(run, 'run-succeeded')),
    });
    const done = await this.transition(run, finished, [event]);
    if (done) await this.outbox.drain(done);
  }

  private runFailedEntry(run: Run, reason: string, failed?: Task): OutboxEntry {
    return OutboxRelay.event(runEffectId('run-failed', run), {
      source: RunFailed.source,
      detailType: RunFailed.detailType,
      resources: [run.runId],
      detail: envelope(
        {
          runId: run.runId,
          pipeline: run.pipeline,
          businessDate: run.businessDate,
          reason,
          ...(failed
            ? {
                failedTask: {
                  taskId: failed.taskId,
                  step: failed.step,
                  partition: failed.partition,
                  attempts: failed.attempts.length,
                  ...(failed.exitCode !== undefined ? { exitCode: failed.exitCode } : {}),
                  ...(failed.statusReason ? { statusReason: failed.statusReason } : {}),
                },
              }
            : {}),
          finishedAt: run.finishedAt ?? this.now(),
        },
        this.meta(run, 'run-failed'),
      ),
    });
  }

  /** Stops the jobs of a run that finished while one of its steps (or, in a retry, its tasks) was being submitted. */
  async restopJobs(run: Run): Promise<void> {
    const entry: OutboxEntry = { id: runEffectId('stop-jobs-late', run), kind: 'stop-jobs', reason: run.reason ?? `run ${run.status}`, attempt: attemptOf(run) };
    await this.outbox.drain({ ...run, outbox: [entry] });
  }

  /** Applies `change` to a step (re-reading after a lost race); `change` returns undefined to leave it. */
  private async updateStep(step: StepExecution, change: (s: StepExecution) => StepExecution | undefined): Promise<void> {
    await writeLatest(step, () => this.store.getStep(step.runId, step.step), async (current) => {
      const next = change(current);
      if (!next) return false;
      assertStepTransition(current, next.status);
      await this.store.updateStep(current.version, next);
      return true;
    });
  }

  private async transition(run: Run, next: Partial<Run> & { status: Run['status'] }, outbox?: OutboxEntry[]): Promise<Run | undefined> {
    try {
      return await this.store.transitionRun(run.runId, { status: run.status, attempt: attemptOf(run) }, next, outbox);
    } catch (e) {
      if (e instanceof StaleStateError) return undefined;
      throw e;
    }
  }

  private meta(run: Run, kind: string) {
    return { eventId: runEffectId(kind, run), correlationId: run.correlationId, occurredAt: this.clock.now(), traceparent: run.traceparent, tenant: run.tenant };
  }

  private now(): string {
    return this.clock.now().toISOString();
  }
}

/**
 * Reduces AWS Batch's JobDetail to what the task state machine needs. A resubmitted job counts its
 * attempts from 1; `prior` (the task's attempts before that job) puts them after the earlier ones.
 */
export function toObservation(detail: BatchJobStateChangeDetail, prior: readonly TaskAttempt[] = []): JobObservation {
  const iso = (ms?: number) => (ms === undefined ? undefined : new Date(ms).toISOString());
  return {
    jobId: detail.jobId,
    status: detail.status,
    ...(detail.statusReason ? { statusReason: detail.statusReason } : {}),
    attempts: [
      ...prior,
      ...detail.attempts.map((a, i) => ({
        attempt: prior.length + i + 1,
        ...(a.startedAt !== undefined ? { startedAt: iso(a.startedAt) } : {}),
        ...(a.stoppedAt !== undefined ? { stoppedAt: iso(a.stoppedAt) } : {}),
        ...(a.container?.exitCode !== undefined ? { exitCode: a.container.exitCode } : {}),
        ...(a.statusReason ? { statusReason: a.statusReason } : {}),
        ...(a.container?.reason ? { reason: a.container.reason } : {}),
        ...(a.container?.logStreamName ? { logStreamName: a.container.logStreamName } : {}),
      })),
    ],
    ...(detail.startedAt !== undefined ? { startedAt: iso(detail.startedAt) } : {}),
    ...(detail.stoppedAt !== undefined ? { stoppedAt: iso(detail.stoppedAt) } : {}),
  };
}
