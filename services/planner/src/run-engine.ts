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
  runIdFor,
  StaleStateError,
  stepManifest,
  type Clock,
  type ComputeEnvironment,
  type DatasetVersion,
  type JobObservation,
  type JobStore,
  type PipelineDefinition,
  type Run,
  type StepDefinition,
  type Task,
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

/** How often a conditional write that lost a race is retried after re-reading. */
const MAX_RACE_RETRIES = 8;

/**
 * The run engine: plans runs, submits steps whose dependencies are done, folds job state changes
 * into tasks, and finishes runs. Every write is conditional, so concurrent and repeated events are
 * safe; terminal run events carry deterministic event ids (`run-succeeded-<runId>`), so re-emitting
 * one after a crash is harmless.
 */
export class RunEngine {
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
  async startRun(args: {
    pipeline: PipelineDefinition;
    dataset: DatasetVersion;
    triggerEventId: string;
    correlationId: string;
    traceparent?: string;
    tenant?: string;
  }): Promise<Run> {
    const planned = planRun({ ...args, now: this.clock.now() });
    await this.store.createRun(planned.run, planned.tasks);
    const run = (await this.store.getRun(planned.run.runId)) ?? planned.run;
    await this.advance(run.runId);
    return (await this.store.getRun(run.runId)) ?? run;
  }

  /** Records a run that could not even be planned (unknown pipeline, no dataset), and says so on the bus. */
  async failUnplannable(args: {
    pipeline: string;
    businessDate: string;
    reason: string;
    triggerEventId: string;
    correlationId: string;
    traceparent?: string;
    tenant?: string;
  }): Promise<void> {
    const at = this.clock.now().toISOString();
    const run: Run = {
      runId: runIdFor(args.pipeline, args.businessDate, args.triggerEventId),
      pipeline: args.pipeline,
      businessDate: args.businessDate,
      datasetId: 'none',
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
    await this.store.createRun(run, []);
    await this.publishRunFailed(run, args.reason);
  }

  /** Folds a "Batch Job State Change" into its task; advances the run when the task finished. */
  async onJobStateChange(detail: BatchJobStateChangeDetail): Promise<'applied' | 'stale' | 'ignored'> {
    const runId = detail.parameters[JOB_PARAM_RUN_ID];
    const step = detail.parameters[JOB_PARAM_STEP];
    if (!runId || !step) return 'ignored';
    // An array parent's status only summarises its children, which report for themselves.
    if (detail.arrayProperties?.size !== undefined && detail.arrayProperties.index === undefined) return 'ignored';
    const arrayIndex = detail.arrayProperties?.index ?? 0;
    const observation = toObservation(detail);
    for (let i = 0; i < MAX_RACE_RETRIES; i++) {
      const task = (await this.store.listTasks(runId)).find((t) => t.step === step && t.arrayIndex === arrayIndex);
      if (!task) return 'ignored';
      const transition = applyJobObservation(task, observation, this.clock.now());
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
      if (isTerminalTaskStatus(transition.task.status)) await this.advance(runId);
      return 'applied';
    }
    throw new StaleStateError('task', `${runId}/${step}[${arrayIndex}]`, 'stable after retries');
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
    // Claim the step: whoever moves its first task PENDING -> SUBMITTED submits the job.
    try {
      for (const t of own) {
        await this.store.updateTask({ runId: run.runId, taskId: t.taskId, status: 'PENDING', attempts: 0 }, { ...t, status: 'SUBMITTED', updatedAt: now });
      }
    } catch (e) {
      if (e instanceof StaleStateError) return;
      throw e;
    }
    if (run.status === 'PENDING') {
      await this.transition(run, { status: 'RUNNING', startedAt: now, updatedAt: now });
    }
    const dataset = await this.store.getDatasetVersion(run.datasetId);
    if (!dataset) throw new StaleStateError('dataset', run.datasetId, 'registered');
    const manifestKey = manifestKeyFor(run.runId, step.name);
    await this.objects.put(manifestKey, JSON.stringify(stepManifest(run, step, dataset, own), null, 2), 'application/json');
    await this.compute.submitJob({
      jobName: `${run.runId}-${step.name}`.slice(0, 128),
      jobQueue: step.queue === 'default' ? this.worker.jobQueue : step.queue,
      jobDefinition: this.worker.jobDefinition,
      command: [...this.worker.command, 'run-task'],
      vcpus: step.vcpus,
      memoryMiB: step.memoryMiB,
      timeoutSeconds: step.timeoutSeconds,
      retryAttempts: step.attempts,
      ...(own.length > 1 ? { arraySize: own.length } : {}),
      environment: {
        ...this.worker.environment,
        NIGHTSHIFT_MANIFEST_KEY: manifestKey,
        ...(run.traceparent ? { TRACEPARENT: run.traceparent } : {}),
      },
      parameters: { [JOB_PARAM_RUN_ID]: run.runId, [JOB_PARAM_STEP]: step.name, pipeline: pipeline.name },
    });
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
      await this.publisher.publish([
        {
          source: RunSucceeded.source,
          detailType: RunSucceeded.detailType,
          resources: [run.runId],
          detail: envelope(
            {
              runId: run.runId,
              pipeline: run.pipeline,
              businessDate: run.businessDate,
              datasetId: run.datasetId,
              outputs: tasks.map((t) => ({ step: t.step, partition: t.partition, key: t.outputKey })),
              startedAt: run.startedAt ?? run.createdAt,
              finishedAt: run.finishedAt ?? run.updatedAt,
            },
            this.meta(run, 'run-succeeded'),
          ),
        },
      ]);
    } else if (run.status === 'FAILED') {
      await this.publishRunFailed(run, run.reason ?? 'run failed', judgeRun(tasks));
    }
  }

  private async publishRunFailed(run: Run, reason: string, verdict?: ReturnType<typeof judgeRun>): Promise<void> {
    const failed = verdict?.status === 'FAILED' ? verdict.failedTask : undefined;
    await this.publisher.publish([
      {
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
            finishedAt: run.finishedAt ?? this.clock.now().toISOString(),
          },
          this.meta(run, 'run-failed'),
        ),
      },
    ]);
  }

  private meta(run: Run, kind: string) {
    return { eventId: `${kind}-${run.runId}`, correlationId: run.correlationId, occurredAt: this.clock.now(), traceparent: run.traceparent, tenant: run.tenant };
  }
}

/** Reduces AWS Batch's JobDetail to what the task state machine needs. */
export function toObservation(detail: BatchJobStateChangeDetail): JobObservation {
  const iso = (ms?: number) => (ms === undefined ? undefined : new Date(ms).toISOString());
  return {
    jobId: detail.jobId,
    status: detail.status,
    ...(detail.statusReason ? { statusReason: detail.statusReason } : {}),
    attempts: detail.attempts.map((a, i) => ({
      attempt: i + 1,
      ...(a.startedAt !== undefined ? { startedAt: iso(a.startedAt) } : {}),
      ...(a.stoppedAt !== undefined ? { stoppedAt: iso(a.stoppedAt) } : {}),
      ...(a.container?.exitCode !== undefined ? { exitCode: a.container.exitCode } : {}),
      ...(a.statusReason || a.container?.reason ? { statusReason: a.statusReason ?? a.container?.reason } : {}),
    })),
    ...(detail.startedAt !== undefined ? { startedAt: iso(detail.startedAt) } : {}),
    ...(detail.stoppedAt !== undefined ? { stoppedAt: iso(detail.stoppedAt) } : {}),
  };
}

