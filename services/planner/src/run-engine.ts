import { Logger } from '@nestjs/common';
import { envelope, RunFailed, RunSucceeded, type BatchJobStateChangeDetail, type RunOutputsListing } from '@nightshift/contracts';
import {
  applyJobObservation,
  assertStepTransition,
  attemptOf,
  evaluateCondition,
  failureHandlers,
  finishRun,
  isTerminalRunStatus,
  judgeRun,
  outputKeyFor,
  outputsKeyFor,
  planKeyFor,
  plannedTask,
  planRun,
  nextSteps,
  runEffectId,
  stepKind,
  runIdFor,
  taskIdFor,
  StaleStateError,
  taskFailureReason,
  waitEnds,
  type ApprovalDecision,
  type JobDependency,
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
import { recordRunSpan, runTraceparent, setActiveSpanAttributes } from '@nightshift/observability';
import type { ObjectStore } from '@nightshift/storage-domain';
import { jobRefOf, resubmissionClaim } from './job-params.js';
import { OutboxRelay } from './outbox-relay.js';
import { recordTaskFinished } from './planner-metrics.js';
import type { PlanCache } from './plan-cache.js';
import { writeLatest } from './race-retries.js';
import type { StepSubmitter } from './step-submitter.js';
import type { WakeTimers } from './wake-timers.js';

/** The task states the engine records; the others (SUBMITTED, PENDING, RUNNABLE, STARTING) are merged into the next one. */
const RECORDED = new Set(['RUNNING', 'SUCCEEDED', 'FAILED']);

/** A run's span is the planner's, whoever ends it (a handler, or the reconciliation sweep). */
const RUN_SPAN = { service: 'nightshift-planner' };

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
  private readonly log = new Logger('planner');

  constructor(
    private readonly store: JobStore,
    private readonly objects: ObjectStore,
    private readonly plans: PlanCache,
    private readonly submitter: StepSubmitter,
    private readonly outbox: OutboxRelay,
    private readonly pipelines: readonly PipelineDefinition[],
    private readonly clock: Clock,
    private readonly wakes: WakeTimers,
  ) {}

  /** Pipelines a registered dataset triggers. */
  pipelinesFor(dataset: string): PipelineDefinition[] {
    return this.pipelines.filter((p) => p.trigger.onLanding && p.trigger.datasets.includes(dataset));
  }

  /** Pipelines chained after this one: a success of its run starts theirs (`trigger.pipelines`). */
  pipelinesAfter(pipeline: string): PipelineDefinition[] {
    return this.pipelines.filter((p) => p.trigger.pipelines.includes(pipeline));
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
      ...(args.backfillId ? { backfillId: args.backfillId } : {}),
      tasksTotal: 0,
      createdAt: at,
      updatedAt: at,
      finishedAt: at,
      reason: args.reason,
    };
    const run: Run = { ...base, outbox: [this.runFailedEntry(base, args.reason)] };
    // A redelivered trigger finds the run: its outbox (drained or not) already says it, and a run an
    // earlier delivery planned and started is never failed here.
    if (await this.store.createRun(run, [])) {
      recordRunSpan(run, RUN_SPAN);
      this.logRunFailed(run, args.reason);
    }
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
    setActiveSpanAttributes({ 'nightshift.task_id': taskIdFor(ref.step, partition), 'nightshift.step': ref.step });
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
    if (result.applied) recordTaskFinished(ref.pipeline, ref.step, detail);
    if (result.applied) this.logAttempts(ref.runId, taskIdFor(ref.step, partition), detail, ref.priorAttempts);
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
    // Waits that ended and approvals that timed out move first: they decide what follows.
    if (await this.endDueWaits(pipeline, steps)) return this.advanceAgain(runId);
    const verdict = judgeRun(steps, pipeline);
    if (verdict.status === 'FAILED') {
      await this.failRun(run, verdict.reason);
      return undefined;
    }
    if (verdict.status === 'SUCCEEDED') {
      await this.succeedRun(run, pipeline, steps);
      return undefined;
    }
    const next = nextSteps(pipeline, steps);
    let changed = false;
    for (const { step, reason } of next.skip) changed = (await this.skipStep(steps, step.name, reason)) || changed;
    let current = run;
    for (const def of next.ready) {
      const exec = steps.find((s) => s.step === def.name);
      if (!exec) continue;
      const kind = stepKind(def);
      if (kind === 'wait' || kind === 'approval') {
        changed = (await this.beginWait(current, def, exec)) || changed;
        continue;
      }
      if (def.when) {
        const outcome = await this.checkCondition(current, def);
        if (typeof outcome === 'string') {
          await this.failRun(current, outcome);
          return undefined;
        }
        if (!outcome.holds) {
          changed = (await this.skipStep(steps, def.name, `skipped: condition ${outcome.explanation}`)) || changed;
          continue;
        }
      }
      const submitted = await this.submit(current, pipeline, def, exec);
      current = submitted ?? current;
      // Its N_TO_N dependents may go now, beside it: their children wait for its children in the compute environment.
      if (submitted && pipeline.steps.some((s) => s.nToN.includes(def.name))) changed = true;
    }
    // A skip, a wait that ended or a step its N_TO_N dependents wait for may have freed (or skipped) further steps, or finished the run.
    return changed ? this.advanceAgain(runId) : current;
  }

  private async advanceAgain(runId: string): Promise<Run | undefined> {
    await this.advance(runId);
    return this.store.getRun(runId);
  }

  /** Marks a PENDING step SKIPPED with the reason; false when it was no longer PENDING. */
  private async skipStep(steps: readonly StepExecution[], name: string, reason: string): Promise<boolean> {
    const exec = steps.find((s) => s.step === name);
    if (!exec) return false;
    return this.updateStep(exec, (s) => (s.status === 'PENDING' ? { ...s, status: 'SKIPPED', reason, finishedAt: this.now(), updatedAt: this.now() } : undefined));
  }

  /** Starts a wait or asks for an approval: the step WAITING until its end (or timeout), with a wake-up then. */
  private async beginWait(run: Run, def: StepDefinition, exec: StepExecution): Promise<boolean> {
    const now = this.clock.now();
    const until = def.wait ? waitEnds(def.wait, now) : new Date(now.getTime() + (def.approval?.timeoutSeconds ?? 0) * 1000);
    const begun = await this.updateStep(exec, (s) => (s.status === 'PENDING' ? { ...s, status: 'WAITING', waitUntil: until.toISOString(), updatedAt: this.now() } : undefined));
    if (run.status === 'PENDING') await this.transition(run, { status: 'RUNNING', startedAt: now.toISOString(), updatedAt: now.toISOString() });
    this.wakes.at(run.runId, until, () => this.advance(run.runId));
    return begun && until.getTime() <= now.getTime();
  }

  /**
   * Ends every WAITING step whose time has come: a wait SUCCEEDS; an approval nobody answered
   * FAILS with the timeout as its reason. True when it moved one.
   */
  private async endDueWaits(pipeline: PipelineDefinition, steps: readonly StepExecution[]): Promise<boolean> {
    const now = this.clock.now().getTime();
    let moved = false;
    for (const exec of steps) {
      if (exec.status !== 'WAITING' || exec.waitUntil === undefined) continue;
      if (Date.parse(exec.waitUntil) > now) {
        // A wait this process did not start (another planner's, or one from before a restart) wakes it too.
        this.wakes.at(exec.runId, new Date(exec.waitUntil), () => this.advance(exec.runId));
        continue;
      }
      const def = pipeline.steps.find((d) => d.name === exec.step);
      const timedOut = def?.approval
        ? `approval of step ${exec.step} timed out: no decision within ${def.approval.timeoutSeconds} s (by ${exec.waitUntil})`
        : undefined;
      moved =
        (await this.updateStep(exec, (s) =>
          s.status !== 'WAITING'
            ? undefined
            : timedOut
              ? { ...s, status: 'FAILED', reason: timedOut, finishedAt: this.now(), updatedAt: this.now() }
              : { ...s, status: 'SUCCEEDED', finishedAt: this.now(), updatedAt: this.now() },
        )) || moved;
    }
    return moved;
  }

  /**
   * Records a person's answer to a WAITING approval step (approved: it succeeds and the run goes on;
   * rejected: it fails, and so does the run), then advances the run. Says what it found when the
   * step is not waiting for one (already answered, timed out, or not an approval).
   */
  async decideApproval(runId: string, step: string, decision: ApprovalDecision): Promise<{ kind: 'decided' } | { kind: 'ignored'; reason: string }> {
    const run = await this.store.getRun(runId);
    const def = run ? this.pipeline(run.pipeline)?.steps.find((s) => s.name === step) : undefined;
    if (!run || !def?.approval) return { kind: 'ignored', reason: `run ${runId} has no approval step ${step}` };
    const exec = await this.store.getStep(runId, step);
    if (!exec || exec.status !== 'WAITING' || isTerminalRunStatus(run.status)) return { kind: 'ignored', reason: `step ${step} of run ${runId} is ${exec?.status ?? 'unknown'} (run ${run.status}), not waiting for a decision` };
    const rejected = decision.decision === 'REJECTED';
    const reason = `approval of step ${step} rejected by ${decision.by}${decision.comment ? `: ${decision.comment}` : ''}`;
    const decided = await this.updateStep(exec, (s) =>
      s.status !== 'WAITING' ? undefined : { ...s, status: rejected ? 'FAILED' : 'SUCCEEDED', decision, ...(rejected ? { reason } : {}), finishedAt: this.now(), updatedAt: this.now() },
    );
    if (!decided) return { kind: 'ignored', reason: `step ${step} of run ${runId} was answered or timed out meanwhile` };
    await this.advance(runId);
    return { kind: 'decided' };
  }

  /**
   * A step's condition against its source step's output: the outcome, or why it cannot be read (a
   * partition the source does not have), which fails the run.
   */
  private async checkCondition(run: Run, def: StepDefinition): Promise<ReturnType<typeof evaluateCondition> | string> {
    const when = def.when!;
    const partitions = await this.plans.partitions(run.runId, when.step);
    const partition = when.partition ?? partitions[0];
    if (partition === undefined || !partitions.includes(partition)) {
      return `step ${def.name}'s condition reads partition ${partition ?? '(none)'} of step ${when.step}, which has ${partitions.join(', ') || 'no partitions'}`;
    }
    const doc = JSON.parse(Buffer.from(await this.objects.get(outputKeyFor(run.runId, when.step, partition))).toString('utf8')) as { result?: unknown };
    return evaluateCondition(when, doc.result);
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
    const outcome = await this.submitter.submitClaimed(current, pipeline, def, claimed, { fresh, dependsOn: await this.jobDependencies(run.runId, def) });
    if (outcome.kind === 'refused') {
      await this.failRun(current, outcome.reason);
      return undefined;
    }
    // A run that ended while its step was being submitted stops the job at once.
    const after = await this.store.getRun(run.runId);
    if (outcome.kind === 'submitted' && after && isTerminalRunStatus(after.status)) await this.restopJobs(after);
    return after;
  }

  /**
   * The compute-level dependencies of a step's job: each N_TO_N dependency still running pairs its
   * children with this step's (an ordinary dependency for single steps); one that already
   * succeeded needs none. ALL dependencies are the engine's: the step was not ready before them.
   */
  private async jobDependencies(runId: string, def: StepDefinition): Promise<JobDependency[]> {
    const dependencies: JobDependency[] = [];
    for (const name of def.nToN) {
      const dep = await this.store.getStep(runId, name);
      if (dep?.status === 'SUBMITTED' && dep.jobId !== undefined) dependencies.push(dep.size > 1 ? { jobId: dep.jobId, type: 'N_TO_N' } : { jobId: dep.jobId });
    }
    return dependencies;
  }

  /**
   * Fails a task's step because the task failed for good (after its attempts, or on an EXIT rule),
   * and with it the run, at once; unless the step has an onFailure handler (or is one): the run
   * then moves on to run the handler, and fails once it finished (`judgeRun`).
   */
  async failRunForTask(task: Task): Promise<void> {
    const reason = taskFailureReason(task);
    const step = await this.store.getStep(task.runId, task.step);
    if (step) await this.updateStep(step, (s) => (s.status === 'SUBMITTED' || s.status === 'SUBMITTING' ? { ...s, status: 'FAILED', reason, finishedAt: this.now(), updatedAt: this.now() } : undefined));
    const run = await this.store.getRun(task.runId);
    if (!run) return;
    const pipeline = this.pipeline(run.pipeline);
    const handled = pipeline !== undefined && (pipeline.steps.find((s) => s.name === task.step)?.onFailure !== undefined || failureHandlers(pipeline).has(task.step));
    if (handled) await this.advance(run.runId);
    else await this.failRun(run, reason, task);
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
      recordRunSpan(failed, RUN_SPAN);
      this.logRunFailed(failed, reason, failedTask);
      await this.outbox.drain(failed);
      return true;
    });
  }

  /**
   * Publishes a run's success: its outputs listing (the steps that ran and write outputs; a skipped
   * step wrote none), then Run Succeeded. A failure handler nothing called is marked SKIPPED first.
   */
  private async succeedRun(run: Run, pipeline: PipelineDefinition, steps: readonly StepExecution[]): Promise<void> {
    for (const handler of failureHandlers(pipeline)) await this.skipStep(steps, handler, 'skipped: no step it handles failed');
    const ran = new Set(steps.filter((s) => s.status === 'SUCCEEDED').map((s) => s.step));
    const plan = await this.plans.get(run.runId);
    const listing: RunOutputsListing = {
      runId: run.runId,
      outputs: plan.steps.flatMap((s) =>
        s.writesOutput && ran.has(s.step) ? s.partitions.map((partition) => ({ step: s.step, partition, key: outputKeyFor(run.runId, s.step, partition) })) : [],
      ),
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
      steps: plan.steps.map((s) => ({ step: s.step, tasks: ran.has(s.step) ? s.partitions.length : 0 })),
      startedAt: run.startedAt ?? run.createdAt,
      finishedAt: finished.finishedAt ?? this.now(),
      ...(run.backfillId ? { backfillId: run.backfillId } : {}),
    };
    const event = OutboxRelay.event(runEffectId('run-succeeded', run), {
      source: RunSucceeded.source,
      detailType: RunSucceeded.detailType,
      resources: [run.runId],
      detail: envelope(data, this.meta(run, 'run-succeeded')),
    });
    const done = await this.transition(run, finished, [event]);
    if (done) recordRunSpan(done, RUN_SPAN);
    if (done) {
      this.log.log({
        msg: `run ${run.runId} (${run.pipeline}, ${run.businessDate}) succeeded: ${listing.outputs.length} output(s)`,
        run_id: run.runId,
        pipeline: run.pipeline,
        business_date: run.businessDate,
        duration_ms: Date.parse(data.finishedAt) - Date.parse(data.startedAt),
      });
    }
    if (done) await this.outbox.drain(done);
  }

  /** One line per run that failed, with why (and the task that failed it), at error: a failed run is what an SRE is paged for. */
  private logRunFailed(run: Run, reason: string, failed?: Task): void {
    this.log.error({
      msg: `run ${run.runId} (${run.pipeline}, ${run.businessDate}) failed: ${reason}`,
      run_id: run.runId,
      pipeline: run.pipeline,
      business_date: run.businessDate,
      reason,
      ...(failed ? { task_id: failed.taskId, attempts: failed.attempts.length, ...(failed.exitCode !== undefined ? { exit_code: failed.exitCode } : {}) } : {}),
    });
  }

  /**
   * A task's attempts that failed, as its job reports them: a job RUNNING again after a failed
   * attempt (AWS Batch retrying it) is a warning; a job FAILED for good, with its last attempt, an error.
   */
  private logAttempts(runId: string, taskId: string, detail: BatchJobStateChangeDetail, priorAttempts: number): void {
    const last = detail.attempts.at(-1);
    if (!last || (detail.status !== 'FAILED' && detail.status !== 'RUNNING')) return;
    // A resubmitted task's job continues its attempts: the task's attempt number counts the earlier jobs'.
    const attempt = priorAttempts + detail.attempts.length;
    const fields = {
      run_id: runId,
      task_id: taskId,
      job_id: detail.jobId,
      attempt,
      status_reason: last.statusReason ?? detail.statusReason,
      ...(last.container?.exitCode !== undefined ? { exit_code: last.container.exitCode } : {}),
      ...(last.container?.reason !== undefined ? { container_reason: last.container.reason } : {}),
      ...(last.container?.logStreamName !== undefined ? { log_stream: last.container.logStreamName } : {}),
    };
    const why = `${last.statusReason ?? detail.statusReason ?? 'no reason given'}${last.container?.exitCode !== undefined ? `, exit code ${last.container.exitCode}` : ''}`;
    if (detail.status === 'FAILED') this.log.error({ msg: `task ${taskId} of run ${runId} failed at attempt ${attempt}: ${why}`, ...fields });
    else this.log.warn({ msg: `task ${taskId} of run ${runId}: attempt ${attempt} failed (${why}); AWS Batch retries it`, ...fields });
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
          ...(run.backfillId ? { backfillId: run.backfillId } : {}),
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

  /** Applies `change` to a step (re-reading after a lost race); `change` returns undefined to leave it. True when it wrote. */
  private async updateStep(step: StepExecution, change: (s: StepExecution) => StepExecution | undefined): Promise<boolean> {
    return writeLatest(step, () => this.store.getStep(step.runId, step.step), async (current) => {
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

  /** A terminal event's metadata: it carries the run attempt's span, which its consumers' work follows. */
  private meta(run: Run, kind: string) {
    return { eventId: runEffectId(kind, run), correlationId: run.correlationId, occurredAt: this.clock.now(), traceparent: runTraceparent(run.runId, attemptOf(run)), tenant: run.tenant };
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
