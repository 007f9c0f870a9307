import { randomUUID } from 'node:crypto';
import {
  assertStepTransition,
  attemptOf,
  commandJobDefinitionName,
  ComputeSubmissionError,
  jobNameFor,
  StaleStateError,
  stepManifest,
  WORKER_EXIT_RULES,
  writesOutput,
  type Clock,
  type JobDependency,
  type ComputeEnvironment,
  type DatasetVersion,
  type JobStore,
  type JobSubmission,
  type PipelineDefinition,
  type Run,
  type StepDefinition,
  type StepExecution,
  type SubmittedJob,
  type Task,
} from '@nightshift/jobs-domain';
import { runTraceparent } from '@nightshift/observability';
import type { ObjectStore } from '@nightshift/storage-domain';
import {
  JOB_PARAM_ARRAY_INDEX,
  JOB_PARAM_PIPELINE,
  JOB_PARAM_PRIOR_ATTEMPTS,
  JOB_PARAM_RESUBMISSION,
  JOB_PARAM_RUN_ID,
  JOB_PARAM_STEP,
} from './job-params.js';
import type { PlanCache } from './plan-cache.js';

/** How the planner starts workers: the program and leading arguments, plus environment for them. */
export interface WorkerLaunch {
  /** e.g. `[node, services/worker/dist/main.js]` locally; the image entrypoint's args in AWS Batch. */
  command: string[];
  environment: Record<string, string>;
  jobQueue: string;
  jobDefinition: string;
  /**
   * Queues with a fair-share scheduling policy: their jobs carry a share identifier (the step's, else
   * the run's tenant, else the pipeline's name), and only theirs do (AWS refuses one elsewhere).
   */
  fairShareQueues?: readonly string[];
}

/** How a failed submission is retried before the event is handed back to the bus. */
export interface SubmitRetry {
  /** Tries in all, first included. */
  attempts: number;
  baseDelayMs: number;
}

/** What became of a submission. */
export type SubmitOutcome = { kind: 'submitted'; step: StepExecution } | { kind: 'refused'; reason: string } | { kind: 'lost-claim' };

/**
 * Submits steps and lone tasks to the compute environment, idempotently: each job has a
 * deterministic name, looked up (ListJobs) before anything is submitted again, so a crash between
 * SubmitJob and recording its id never runs a step twice. A refused submission (bad queue, bad
 * definition) is reported, never retried; a transient failure is retried with backoff and then
 * thrown, leaving the step's claim for the next delivery or the reconciliation sweep.
 */
export class StepSubmitter {
  private readonly manifests = new Set<string>();
  /** Dataset versions never change once registered: the ones runs were just planned from, kept to write their manifests. */
  private readonly datasets = new Map<string, DatasetVersion>();

  constructor(
    private readonly store: JobStore,
    private readonly objects: ObjectStore,
    private readonly compute: ComputeEnvironment,
    private readonly plans: PlanCache,
    private readonly worker: WorkerLaunch,
    private readonly clock: Clock,
    private readonly retry: SubmitRetry,
  ) {}

  /** Keeps a dataset version a run was just planned from (bounded; a miss reads the store). */
  rememberDataset(dataset: DatasetVersion): void {
    this.datasets.set(dataset.datasetId, dataset);
    if (this.datasets.size > 100) this.datasets.delete(this.datasets.keys().next().value as string);
  }

  /** Claims a step (one conditional write); false when someone else holds or took it. */
  async claim(exec: StepExecution): Promise<StepExecution | undefined> {
    const now = this.clock.now().toISOString();
    assertStepTransition(exec, 'SUBMITTING');
    try {
      return await this.store.updateStep(exec.version, { ...exec, status: 'SUBMITTING', claimToken: randomUUID(), claimedAt: now, updatedAt: now });
    } catch (e) {
      if (e instanceof StaleStateError) return undefined;
      throw e;
    }
  }

  /** Submits a claimed step's job (or adopts the one a crashed claimant submitted) and records its id. */
  async submitClaimed(
    run: Run,
    pipeline: PipelineDefinition,
    def: StepDefinition,
    claimed: StepExecution,
    options: { fresh: boolean; dependsOn?: readonly JobDependency[] },
  ): Promise<SubmitOutcome> {
    await this.writeManifest(run, def, claimed);
    const job = { ...this.jobFor(run, pipeline, def, claimed), ...(options.dependsOn && options.dependsOn.length > 0 ? { dependsOn: options.dependsOn } : {}) };
    let submitted: Pick<SubmittedJob, 'jobId'>;
    try {
      submitted = await this.findOrSubmit(job, !options.fresh);
    } catch (e) {
      if (!(e instanceof ComputeSubmissionError) || e.retryable) throw e;
      const reason = `step ${def.name} could not be submitted: ${e.message}`;
      const now = this.clock.now().toISOString();
      assertStepTransition(claimed, 'FAILED');
      try {
        await this.store.updateStep(claimed.version, { ...claimed, status: 'FAILED', reason, finishedAt: now, updatedAt: now });
      } catch (stale) {
        if (!(stale instanceof StaleStateError)) throw stale;
        return { kind: 'lost-claim' };
      }
      return { kind: 'refused', reason };
    }
    const now = this.clock.now().toISOString();
    assertStepTransition(claimed, 'SUBMITTED');
    try {
      const { claimToken: _t, claimedAt: _c, ...rest } = claimed;
      const step = await this.store.updateStep(claimed.version, { ...rest, status: 'SUBMITTED', jobId: submitted.jobId, submittedAt: now, updatedAt: now });
      return { kind: 'submitted', step };
    } catch (e) {
      // Someone took the claim over meanwhile: they look the job up by name and record the same id.
      if (e instanceof StaleStateError) return { kind: 'lost-claim' };
      throw e;
    }
  }

  /**
   * Submits one task of a step as a job of its own, continuing its attempt count: the task was
   * claimed by the caller (`task`, as written: its jobId holds the claim made from `token`). The
   * job's id then replaces the claim at once, conditioned on the claim still being there: a task
   * whose job waits in the queue longer than the claim timeout must not look like an abandoned
   * claim to the sweep, which would claim and resubmit it again and leave the waiting job's events
   * matching no claim (a livelock the chaos run found). If the job's first event got there first,
   * it has already replaced the claim and there is nothing to record. After a retry of the run the
   * job's name carries the run's attempt, so a job an earlier attempt submitted for the task under
   * the same count of prior attempts is never adopted in its place.
   */
  async resubmitTask(run: Run, pipeline: PipelineDefinition, def: StepDefinition, exec: StepExecution, task: Task, token: string, priorAttempts: number, remainingAttempts: number): Promise<void> {
    await this.writeManifest(run, def, exec);
    // A job of its own: never an array, whatever the step's size, and waiting for nothing (the twin
    // an N_TO_N child waited for has finished: its task was submitted and ran).
    const { arraySize: _array, dependsOn: _deps, ...job } = this.jobFor(run, pipeline, def, exec);
    const submitted = await this.findOrSubmit({
      ...job,
      jobName: jobNameFor(exec.jobName, `c${task.arrayIndex}`, `a${priorAttempts}`, ...(attemptOf(run) > 1 ? [`r${attemptOf(run)}`] : [])),
      retryStrategy: { ...job.retryStrategy, attempts: remainingAttempts },
      // AWS_BATCH_* names are reserved to the compute environment; the worker reads this one first.
      environment: { ...job.environment, NIGHTSHIFT_ARRAY_INDEX: String(task.arrayIndex) },
      parameters: {
        ...job.parameters,
        [JOB_PARAM_ARRAY_INDEX]: String(task.arrayIndex),
        [JOB_PARAM_PRIOR_ATTEMPTS]: String(priorAttempts),
        [JOB_PARAM_RESUBMISSION]: token,
      },
    });
    try {
      await this.store.claimTask(task, { ...task, jobId: submitted.jobId, updatedAt: this.clock.now().toISOString() }, exec.size);
    } catch (e) {
      if (!(e instanceof StaleStateError)) throw e;
    }
  }

  /**
   * The job a step runs as (an array job of `size` children when size > 1). An analytic runs the
   * worker's `run-task`; a command runs under the worker's `run-command` (its entry and inputs
   * staged, its output published), or alone when bare; only the worker's own exit codes carry the
   * worker's EXIT rule (a user's command decides what its codes mean).
   */
  jobFor(run: Run, pipeline: PipelineDefinition, def: StepDefinition, exec: StepExecution): JobSubmission {
    const analytic = def.analytic !== undefined;
    const underWorker = writesOutput(def);
    const jobQueue = def.queue === 'default' ? this.worker.jobQueue : def.queue;
    const share = def.shareIdentifier ?? (this.worker.fairShareQueues?.includes(jobQueue) ? shareOf(run.tenant ?? pipeline.name) : undefined);
    const command = analytic ? [...this.worker.command, 'run-task'] : underWorker ? [...this.worker.command, 'run-command', '--', ...(def.command ?? [])] : [...(def.command ?? [])];
    return {
      jobName: exec.jobName,
      jobQueue,
      jobDefinition: analytic ? this.worker.jobDefinition : commandJobDefinitionName(pipeline.name, def.name),
      command,
      vcpus: def.vcpus,
      memoryMiB: def.memoryMiB,
      timeoutSeconds: def.timeoutSeconds,
      retryStrategy: { attempts: def.attempts, evaluateOnExit: [...(analytic ? WORKER_EXIT_RULES : []), ...def.evaluateOnExit] },
      ...(exec.size > 1 ? { arraySize: exec.size } : {}),
      environment: {
        ...(underWorker ? this.worker.environment : {}),
        ...def.environment,
        NIGHTSHIFT_MANIFEST_KEY: exec.manifestKey,
        // The run attempt's span: the worker's task span and the planner's handling of the job's events go under it.
        TRACEPARENT: runTraceparent(run.runId, attemptOf(run)),
      },
      parameters: { [JOB_PARAM_RUN_ID]: run.runId, [JOB_PARAM_STEP]: def.name, [JOB_PARAM_PIPELINE]: pipeline.name },
      ...(share !== undefined ? { shareIdentifier: share } : {}),
      ...(def.schedulingPriority !== undefined ? { schedulingPriority: def.schedulingPriority } : {}),
    };
  }

  /**
   * Adopts the job already submitted under this name, if any; otherwise submits, retrying transient
   * failures with backoff. The look-up is skipped only on the first try of a submission nobody can
   * have made before (`mayExist` false: a step claimed from PENDING); a retry always looks, since
   * the failed try may have gone through.
   */
  private async findOrSubmit(job: JobSubmission, mayExist = true): Promise<Pick<SubmittedJob, 'jobId'>> {
    for (let attempt = 1; ; attempt++) {
      try {
        if (mayExist || attempt > 1) {
          const [existing] = await this.compute.listJobs({ jobQueue: job.jobQueue, jobName: job.jobName });
          if (existing) return existing;
        }
        return await this.compute.submitJob(job);
      } catch (e) {
        const retryable = !(e instanceof ComputeSubmissionError) || e.retryable;
        if (!retryable || attempt >= this.retry.attempts) throw e;
        await new Promise((resolve) => setTimeout(resolve, this.retry.baseDelayMs * 2 ** (attempt - 1)));
      }
    }
  }

  /**
   * The manifest the step's workers read: the same content every time for the same run and step,
   * so writing it again is harmless; a process skips manifests it wrote itself.
   */
  async writeManifest(run: Run, def: StepDefinition, exec: Pick<StepExecution, 'manifestKey'>): Promise<void> {
    if (this.manifests.has(exec.manifestKey)) return;
    const dataset = this.datasets.get(run.datasetId) ?? (await this.store.getDatasetVersion(run.datasetId));
    if (!dataset) throw new StaleStateError('dataset', run.datasetId, 'registered');
    const partitions = await this.plans.partitions(run.runId, def.name);
    await this.objects.put(exec.manifestKey, JSON.stringify(stepManifest(run, def, dataset, partitions)), 'application/json');
    this.manifests.add(exec.manifestKey);
    if (this.manifests.size > 1_000) this.manifests.delete(this.manifests.values().next().value as string);
  }
}

/** A share identifier AWS accepts (letters and digits) from a tenant or pipeline name. */
function shareOf(name: string): string {
  return name.replace(/[^A-Za-z0-9]/g, '').slice(0, 255) || 'default';
}
