import { randomUUID } from 'node:crypto';
import {
  envelope,
  RunFailed,
  RunSucceeded,
  type BatchJobStateChangeDetail,
} from '@nightshift/contracts';
import type { EventPublisher } from '@nightshift/events-domain';
import {
  applyJobObservation,
  finishRun,
  isTerminalRunStatus,
  isTerminalTaskStatus,
  judgeRun,
  manifestKeyFor,
  planRun,
  readySteps,
  resolveLostJob,
  runIdFor,
  StaleStateError,
  stepManifest,
  type Clock,
  type ComputeEnvironment,
  type JobObservation,
  type JobSubmission,
  type JobStore,
  type PlanRequest,
  type PipelineDefinition,
  type Run,
  type StepDefinition,
  type Task,
  type TaskAttempt,
  type TaskTransition,
} from '@nightshift/jobs-domain';
import type { ObjectStore } from '@nightshift/storage-domain';

/** How the planner starts workers: the program and leading arguments, plus environment for them. */
export interface WorkerLaunch {
  /** e.g. `[node, services/worker/dist/main.js]` locally; the image entrypoint's args in AWS Batch. */
  command: string[];
  environment: Record<string, string>;
  jobQueue: string;
  jobDefinition: string;
}

/** Parameters nightshift sets on every job; they come back on every state-change event. */
export const JOB_PARAM_RUN_ID = 'nightshift.runId';
export const JOB_PARAM_STEP = 'nightshift.step';
/** On a job that runs one task of an array step alone: the task's index in the step (the job has no array index). */
export const JOB_PARAM_ARRAY_INDEX = 'nightshift.arrayIndex';
/** On a resubmitted job: how many attempts the task had before it, so its own attempts continue the count. */
export const JOB_PARAM_PRIOR_ATTEMPTS = 'nightshift.priorAttempts';
/** On a resubmitted job: the claim it was submitted under; the task's jobId holds the same claim until the job reports. */
export const JOB_PARAM_RESUBMISSION = 'nightshift.resubmission';

/** What a task's `jobId` holds between its resubmission being claimed and the new job's first event. */
export function resubmissionClaim(token: string): string {
  return `resubmission:${token}`;
}

/** How often a conditional write that lost a race is retried after re-reading. */
const MAX_RACE_RETRIES = 8;

/**
 * The run engine: plans runs, submits steps whose dependencies are done, folds job state changes
 * into tasks, and finishes runs. Every write is conditional, so concurrent and repeated events are
 * safe; terminal run events carry deterministic event ids (`run-succeeded-<runId>`), so re-emitting
 * one after a crash is harmless.
 */
export class RunEngine {
  /**
   * Tasks (`runId/taskId`) whose current job this engine submitted. The local compute environment
   * lives and dies with this process, so these jobs are alive; every other unfinished job is not.
   */
  private readonly live = new Set<string>();

  constructor(
    private readonly store: JobStore,
    private readonly objects: ObjectStore,
    private readonly compute: ComputeEnvironment,
    private readonly publisher: EventPublisher,
    private readonly pipelines: readonly PipelineDefinition[],
    private readonly worker: WorkerLaunch,
    private readonly clock: Clock,
  ) {}

  /** Pipelines a registered dataset triggers. */
  pipelinesFor(dataset: string): PipelineDefinition[] {
    return this.pipelines.filter((p) => p.trigger.datasets.includes(dataset));
  }

  pipeline(name: string): PipelineDefinition | undefined {
    return this.pipelines.find((p) => p.name === name);
  }

  /** Creates (or, on replay, finds) the run for a trigger and submits its first steps. */
  async startRun(args: Omit<PlanRequest, 'now'>): Promise<Run> {
    const planned = planRun({ ...args, now: this.clock.now() });
    await this.store.createRun(planned.run, planned.tasks);
    const run = (await this.store.getRun(planned.run.runId)) ?? planned.run;
    await this.advance(run.runId);
    return (await this.store.getRun(run.runId)) ?? run;
  }

  /** Records a run that could not even be planned (unknown pipeline, no dataset, a dataset lacking a table), and says so on the bus. */
  async failUnplannable(
    args: Omit<PlanRequest, 'now' | 'pipeline' | 'dataset'> & { pipeline: string; businessDate: string; datasetId?: string; reason: string },
  ): Promise<void> {
    const at = this.clock.now().toISOString();
    const run: Run = {
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
    if (await this.store.createRun(run, [])) {
      await this.publishRunFailed(run, args.reason);
      return;
    }
    // A redelivered trigger: say again only what is stored (the first publish may have been lost
    // in a crash), never fail a run that an earlier delivery planned and started.
    const stored = await this.store.getRun(run.runId);
    if (stored?.status === 'FAILED') await this.publishRunFailed(stored, stored.reason ?? args.reason);
  }

  /**
   * Folds a "Batch Job State Change" into its task; advances the run when the task finished. Only
   * the task's current job counts: events of a job that was lost and replaced are stale.
   */
  async onJobStateChange(detail: BatchJobStateChangeDetail): Promise<'applied' | 'stale' | 'ignored'> {
    const runId = detail.parameters[JOB_PARAM_RUN_ID];
    const step = detail.parameters[JOB_PARAM_STEP];
    if (!runId || !step) return 'ignored';
    // An array parent's status only summarises its children, which report for themselves.
    if (detail.arrayProperties?.size !== undefined && detail.arrayProperties.index === undefined) return 'ignored';
    const arrayIndex = count(detail.parameters[JOB_PARAM_ARRAY_INDEX]) ?? detail.arrayProperties?.index ?? 0;
    const priorAttempts = count(detail.parameters[JOB_PARAM_PRIOR_ATTEMPTS]) ?? 0;
    for (let i = 0; i < MAX_RACE_RETRIES; i++) {
      const task = (await this.store.listTasks(runId)).find((t) => t.step === step && t.arrayIndex === arrayIndex);
      if (!task) return 'ignored';
      const transition: TaskTransition =
        isCurrentJob(task, detail) && task.attempts.length >= priorAttempts
          ? applyJobObservation(task, toObservation(detail, task.attempts.slice(0, priorAttempts)), this.clock.now())
          : { kind: 'stale', reason: `job ${detail.jobId} no longer runs task ${task.taskId}` };
      if (transition.kind === 'stale') {
        if (isTerminalTaskStatus(task.status)) await this.advance(runId);
        return 'stale';
      }
      try {
        await this.store.updateTask({ runId, taskId: task.taskId, status: task.status, attempts: task.attempts.length }, transition.task);
      } catch (e) {
        if (e instanceof StaleStateError) continue;
        throw e;
      }
      if (isTerminalTaskStatus(transition.task.status)) {
        this.live.delete(liveKey(task));
        await this.advance(runId);
      }
      return 'applied';
    }
    throw new StaleStateError('task', `${runId}/${step}[${arrayIndex}]`, 'stable after retries');
  }

  /**
   * Resolves the tasks whose jobs were lost with the previous host: the local compute environment
   * keeps jobs in memory, so after a restart every task that was submitted and has not finished has
   * no job behind it. For each, an attempt that was under way is recorded as failed with `reason`;
   * the task is then resubmitted alone for its remaining attempts, or FAILS when none remain (and
   * its run fails). Runs are then advanced, so steps that became ready are submitted too.
   *
   * Call it once at start, with a compute environment that is new with this process, before the
   * engine takes events. It must not be used where jobs outlive the planner (AWS Batch). Calling it
   * again resubmits nothing twice: every resolution is a conditional write that claims the task,
   * and a task whose job this engine submitted is never taken for lost. Runs of a pipeline that is
   * no longer configured are left as they are (nothing to resubmit them with).
   */
  async recoverLostTasks(reason: string): Promise<{ resubmitted: number; failed: number }> {
    const outcome = { resubmitted: 0, failed: 0 };
    for (const listed of await this.store.listRuns()) {
      if (isTerminalRunStatus(listed.status)) continue;
      const pipeline = this.pipeline(listed.pipeline);
      if (!pipeline) continue;
      const tasks = await this.store.listTasks(listed.runId);
      // A step is claimed once any of its tasks left its planned state; a crash while claiming can
      // leave siblings PENDING, and the step's job may never have been submitted at all.
      const claimedSteps = new Set(tasks.filter((t) => !(t.status === 'PENDING' && t.attempts.length === 0 && !t.jobId)).map((t) => t.step));
      let run = listed;
      for (const planned of tasks) {
        if (!claimedSteps.has(planned.step)) continue;
        const step = pipeline.steps.find((s) => s.name === planned.step);
        if (!step) continue;
        const resolved = await this.resolveLostTask(run, pipeline, step, planned, reason);
        if (resolved === 'none') continue;
        outcome[resolved] += 1;
        if (resolved === 'resubmitted' && run.status === 'PENDING') {
          const now = this.clock.now().toISOString();
          run = (await this.transition(run, { status: 'RUNNING', startedAt: now, updatedAt: now })) ?? (await this.store.getRun(run.runId)) ?? run;
        }
      }
      await this.advance(run.runId);
    }
    return outcome;
  }

  /** Claims one lost task (conditional on what was read; a lost race re-reads and re-decides), then resubmits or fails it. */
  private async resolveLostTask(run: Run, pipeline: PipelineDefinition, step: StepDefinition, planned: Task, reason: string): Promise<'resubmitted' | 'failed' | 'none'> {
    const key = liveKey(planned);
    let task: Task | undefined = planned;
    for (let i = 0; i < MAX_RACE_RETRIES; i++) {
      if (i > 0) task = await this.store.getTask(planned.runId, planned.taskId);
      if (!task || this.live.has(key)) return 'none';
      const resolution = resolveLostJob(task, reason, this.clock.now());
      if (resolution.kind === 'stale') return 'none';
      const token = randomUUID();
      const next = resolution.kind === 'resubmit' ? { ...resolution.task, jobId: resubmissionClaim(token) } : resolution.task;
      // Marked before the write, so that a concurrent call deciding now sees the claim coming.
      if (resolution.kind === 'resubmit') this.live.add(key);
      try {
        await this.store.updateTask({ runId: task.runId, taskId: task.taskId, status: task.status, attempts: task.attempts.length }, next);
      } catch (e) {
        this.live.delete(key);
        if (e instanceof StaleStateError) continue;
        throw e;
      }
      if (resolution.kind === 'fail') return 'failed';
      try {
        await this.submitAlone(run, pipeline, step, next, token, resolution.priorAttempts, resolution.remainingAttempts);
      } catch (e) {
        // Claimed but not submitted: no job runs it, so a later call may take it for lost again.
        this.live.delete(key);
        throw e;
      }
      return 'resubmitted';
    }
    throw new StaleStateError('task', `${planned.runId}/${planned.taskId}`, 'stable after retries');
  }

  /** Submits one task of a step as a job of its own, continuing its attempt count. */
  private async submitAlone(run: Run, pipeline: PipelineDefinition, step: StepDefinition, task: Task, token: string, priorAttempts: number, retryAttempts: number): Promise<void> {
    const manifestKey = await this.writeManifest(run, step, await this.store.listTasks(run.runId));
    const job = this.jobFor(run, pipeline, step, manifestKey);
    await this.compute.submitJob({
      ...job,
      jobName: `${run.runId}-${step.name}-${task.arrayIndex}-resubmitted`.slice(0, 128),
      retryAttempts,
      // AWS_BATCH_* names are reserved to the compute environment; the worker reads this one first.
      environment: { ...job.environment, NIGHTSHIFT_ARRAY_INDEX: String(task.arrayIndex) },
      parameters: {
        ...job.parameters,
        [JOB_PARAM_ARRAY_INDEX]: String(task.arrayIndex),
        [JOB_PARAM_PRIOR_ATTEMPTS]: String(priorAttempts),
        [JOB_PARAM_RESUBMISSION]: token,
      },
    });
  }

  /**
   * Moves a run along: fails it when a task failed for good, succeeds it when all tasks did, and
   * otherwise submits every step whose dependencies are done. Safe to call any number of times.
   */
  async advance(runId: string): Promise<void> {
    const run = await this.store.getRun(runId);
    if (!run) return;
    const tasks = await this.store.listTasks(runId);
    if (isTerminalRunStatus(run.status)) {
      await this.publishOutcome(run, tasks);
      return;
    }
    const pipeline = this.pipeline(run.pipeline);
    if (!pipeline) throw new StaleStateError('run', runId, `a run of a known pipeline (${run.pipeline} is not configured)`);
    const verdict = judgeRun(tasks);
    if (verdict.status !== 'RUNNING') {
      const finished = await this.transition(run, finishRun(verdict, this.clock.now()));
      if (finished) await this.publishOutcome(finished, tasks);
      return;
    }
    for (const step of readySteps(pipeline, tasks)) await this.submitStep(run, pipeline, step, tasks);
  }

  private async submitStep(run: Run, pipeline: PipelineDefinition, step: StepDefinition, tasks: readonly Task[]): Promise<void> {
    const own = tasks.filter((t) => t.step === step.name).sort((a, b) => a.arrayIndex - b.arrayIndex);
    const now = this.clock.now().toISOString();
    // Ours from the start of the claim, so that a recovery running meanwhile does not take a task
    // between its claim and the job's submission for lost.
    for (const t of own) this.live.add(liveKey(t));
    // Claim the step: whoever moves its first task PENDING -> SUBMITTED submits the job.
    try {
      for (const t of own) {
        await this.store.updateTask({ runId: run.runId, taskId: t.taskId, status: 'PENDING', attempts: 0 }, { ...t, status: 'SUBMITTED', updatedAt: now });
      }
    } catch (e) {
      for (const t of own) this.live.delete(liveKey(t));
      if (e instanceof StaleStateError) return;
      throw e;
    }
    if (run.status === 'PENDING') {
      await this.transition(run, { status: 'RUNNING', startedAt: now, updatedAt: now });
    }
    const manifestKey = await this.writeManifest(run, step, own);
    await this.compute.submitJob({
      ...this.jobFor(run, pipeline, step, manifestKey),
      ...(own.length > 1 ? { arraySize: own.length } : {}),
    });
  }

  /** Writes the manifest the step's workers read (the same content every time for the same run). */
  private async writeManifest(run: Run, step: StepDefinition, tasks: readonly Task[]): Promise<string> {
    const dataset = await this.store.getDatasetVersion(run.datasetId);
    if (!dataset) throw new StaleStateError('dataset', run.datasetId, 'registered');
    const manifestKey = manifestKeyFor(run.runId, step.name);
    await this.objects.put(manifestKey, JSON.stringify(stepManifest(run, step, dataset, tasks), null, 2), 'application/json');
    return manifestKey;
  }

  /** The job that runs a step, for all its tasks (as an array) unless the caller narrows it. */
  private jobFor(run: Run, pipeline: PipelineDefinition, step: StepDefinition, manifestKey: string): JobSubmission {
    return {
      jobName: `${run.runId}-${step.name}`.slice(0, 128),
      jobQueue: step.queue === 'default' ? this.worker.jobQueue : step.queue,
      jobDefinition: this.worker.jobDefinition,
      command: [...this.worker.command, 'run-task'],
      vcpus: step.vcpus,
      memoryMiB: step.memoryMiB,
      timeoutSeconds: step.timeoutSeconds,
      retryAttempts: step.attempts,
      environment: {
        ...this.worker.environment,
        NIGHTSHIFT_MANIFEST_KEY: manifestKey,
        ...(run.traceparent ? { TRACEPARENT: run.traceparent } : {}),
      },
      parameters: { [JOB_PARAM_RUN_ID]: run.runId, [JOB_PARAM_STEP]: step.name, pipeline: pipeline.name },
    };
  }

  private async transition(run: Run, next: Partial<Run> & { status: Run['status'] }): Promise<Run | undefined> {
    try {
      return await this.store.transitionRun(run.runId, run.status, next);
    } catch (e) {
      if (e instanceof StaleStateError) return undefined;
      throw e;
    }
  }

  private async publishOutcome(run: Run, tasks: readonly Task[]): Promise<void> {
    if (run.status === 'SUCCEEDED') {
      await this.publishRunEvent(run, RunSucceeded, 'run-succeeded', {
        datasetId: run.datasetId,
        outputs: tasks.map((t) => ({ step: t.step, partition: t.partition, key: t.outputKey })),
        startedAt: run.startedAt ?? run.createdAt,
        finishedAt: run.finishedAt ?? run.updatedAt,
      });
    } else if (run.status === 'FAILED') {
      await this.publishRunFailed(run, run.reason ?? 'run failed', judgeRun(tasks));
    }
  }

  private async publishRunFailed(run: Run, reason: string, verdict?: ReturnType<typeof judgeRun>): Promise<void> {
    const failed = verdict?.status === 'FAILED' ? verdict.failedTask : undefined;
    await this.publishRunEvent(run, RunFailed, 'run-failed', {
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
      finishedAt: run.finishedAt ?? this.clock.now().toISOString(),
    });
  }

  /** A run's terminal event: the run's identity plus `data`, under the deterministic id `<prefix>-<runId>`. */
  private async publishRunEvent(run: Run, event: { source: string; detailType: string }, prefix: string, data: Record<string, unknown>): Promise<void> {
    await this.publisher.publish([
      {
        source: event.source,
        detailType: event.detailType,
        resources: [run.runId],
        detail: envelope({ runId: run.runId, pipeline: run.pipeline, businessDate: run.businessDate, ...data }, this.meta(run, prefix)),
      },
    ]);
  }

  private meta(run: Run, kind: string) {
    return { eventId: `${kind}-${run.runId}`, correlationId: run.correlationId, occurredAt: this.clock.now(), traceparent: run.traceparent, tenant: run.tenant };
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
        ...(a.statusReason || a.container?.reason ? { statusReason: a.statusReason ?? a.container?.reason } : {}),
      })),
    ],
    ...(detail.startedAt !== undefined ? { startedAt: iso(detail.startedAt) } : {}),
    ...(detail.stoppedAt !== undefined ? { stoppedAt: iso(detail.stoppedAt) } : {}),
  };
}

/**
 * Whether an event comes from the job the task is waiting on: the first job to report for it, the
 * one it reported from since, or the resubmission it was claimed for. A lost job's late events
 * (still queued when the host restarted) are from neither.
 */
function isCurrentJob(task: Task, detail: BatchJobStateChangeDetail): boolean {
  if (task.jobId === undefined || task.jobId === detail.jobId) return true;
  const token = detail.parameters[JOB_PARAM_RESUBMISSION];
  return token !== undefined && task.jobId === resubmissionClaim(token);
}

/** A non-negative integer job parameter, or undefined when absent or malformed. */
function count(value: string | undefined): number | undefined {
  if (value === undefined || !/^\d+$/.test(value)) return undefined;
  return Number(value);
}

function liveKey(task: Pick<Task, 'runId' | 'taskId'>): string {
  return `${task.runId}/${task.taskId}`;
}
