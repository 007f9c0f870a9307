import { randomUUID } from 'node:crypto';
import { BATCH_JOB_STATUSES, BatchJobStateChange, type BatchJobStateChangeDetail, type BatchJobStatus } from '@nightshift/contracts';
import { ComputeSubmissionError, type ComputeEnvironment, type JobListFilter, type JobSummary, type SubmittedJob } from '@nightshift/jobs-domain';
import { InvalidComputeRequestError, InvalidLocalComputeOptionsError } from './errors.js';
import { prerequisitesOf } from './job-dependencies.js';
import { parentDetail, summaryOf, unitDetail } from './job-detail.js';
import { JobLifecycle } from './job-lifecycle.js';
import { jobQueueProblems, type JobQueueOptions } from './job-queues.js';
import { JobRegistry, type Job, type Parent, type Unit } from './job-registry.js';
import { jobArn, queueNameOf, toJobSpec, type ArnScope, type JobSpec, type LocalJobSubmission } from './job-spec.js';
import { ProcessJournal, reapOrphans } from './process-journal.js';
import { ProcessLauncher } from './process-launcher.js';
import { ResourceScheduler } from './resource-scheduler.js';
import { StateChangeEmitter, type BatchJobStateChangeEmission } from './state-change-emitter.js';
import { shutDown, waitingReason } from './status-reasons.js';

/** How the local compute environment is set up. */
export interface LocalComputeEnvironmentOptions {
  /** vCPUs the running jobs may reserve together (fractions allowed). */
  vcpus: number;
  /** Memory in MiB the running jobs may reserve together. A reservation, not a limit on the child. */
  memoryMiB: number;
  /**
   * Publishes state-change events: up to 10 per call (PutEvents' limit), in the order the changes
   * happened, a job's intermediate states merged when a newer one was queued before the older was
   * handed over (its terminal state is always emitted). A rejection is retried with backoff; after
   * the last try the events are written to stderr and kept in `undeliveredEvents()`, and
   * `describeJobs` still answers the jobs' state: reconciliation repairs what the bus missed.
   */
  emit: (events: BatchJobStateChangeEmission[]) => Promise<void>;
  /**
   * Job queues sharing this environment, with AWS's priority (higher placed first) and optional
   * fair-share policy. A submission to a queue not listed creates it (FIFO, priority 1): an
   * embedded convenience, unless `strictQueues`.
   */
  jobQueues?: JobQueueOptions[];
  /** Refuse submissions to queues not in `jobQueues` (ComputeSubmissionError, not retryable), as AWS does. */
  strictQueues?: boolean;
  /**
   * Directory for the journal of spawned children (`compute-local-children.jsonl`), so that
   * `LocalComputeEnvironment.reapOrphans(stateDir)` run by the next host can stop the children of
   * one that died. Unset: no journal.
   */
  stateDir?: string;
  /**
   * How long finished jobs stay describable: at most `maxUnits` finished units (a plain job counts
   * 1, an array job 1 + its size; default 50,000) and for `maxAgeSeconds` after they stopped
   * (default 86,400), whichever forgets first. AWS keeps jobs about 7 days.
   */
  finishedJobRetention?: { maxUnits?: number; maxAgeSeconds?: number };
  /** Region in the ARNs; default `us-east-1`. */
  region?: string;
  /** Account in the ARNs; default `000000000000`. */
  account?: string;
  /** Name given to children as AWS_BATCH_CE_NAME; default `nightshift-local`. */
  computeEnvironmentName?: string;
  /** Working directory of the children; default the host's. */
  cwd?: string;
  /**
   * Directory for the children's output. Each attempt's stdout and stderr lines go, each stamped
   * with the time it was read (`<ISO-8601> <line>`, CloudWatch Logs' timestamp and message), to
   * `<logDir>/<logStreamName>`, where `logStreamName` is `<jobDefinitionName>/<jobName>/<jobId>/attempt-<n>`
   * (`attemptLogStreamName`) and is reported in the event (read it with `DirectoryJobLogs`, or
   * GetLogEvents on `LogsHttpEndpoint`). Unset: children write to the host's stdout/stderr.
   */
  logDir?: string;
  /** Time between SIGTERM and SIGKILL when an attempt is stopped; default 10 000 ms (ECS's stopTimeout is 30 s). */
  killGraceMs?: number;
  /** Clock for the timestamps in events; default the system clock. */
  now?: () => Date;
  /**
   * Environment the children start from, before the job's `environment` and the AWS_BATCH_*
   * variables are added; default the host's environment. AWS_BATCH_* variables in it are dropped so
   * a host that itself runs in AWS Batch does not leak its own ids into its children.
   */
  baseEnv?: Readonly<Record<string, string | undefined>>;
  /**
   * How many later jobs may start ahead of the first waiting job that does not fit yet, before it
   * reserves the machine (see `ResourceScheduler`); default 8. 0 is strict order.
   */
  maxOvertakes?: number;
  /**
   * How long state changes may wait to be merged into a fuller batch of events; default 5 ms. A
   * job that runs for less (a no-op, a retry that fails at once) reports RUNNING and SUCCEEDED as
   * one SUCCEEDED event. 0 sends each change as soon as the emitter is free.
   */
  emitLingerMs?: number;
}

const DEFAULT_QUEUE_PRIORITY = 1;

/**
 * AWS Batch on one machine: jobs run as child processes (no shell) within a vCPU/memory budget,
 * with AWS Batch's statuses, job queues (priority, fair share), array jobs, retry strategies with
 * evaluateOnExit, per-attempt timeouts, cancel vs terminate, DescribeJobs/ListJobs and "Batch Job
 * State Change" events shaped like AWS's JobDetail, so the planner cannot tell it from the AWS adapter.
 *
 * Job state lives in memory: after a host restart the jobs are gone (describeJobs answers nothing
 * for them, as the port allows), and the planner's job store finds and resolves their tasks.
 */
export class LocalComputeEnvironment implements ComputeEnvironment {
  /**
   * Stops the children a previous host using `stateDir` left running (it died without `shutdown`),
   * and returns how many process groups it killed. Call it before creating the environment.
   */
  static reapOrphans(stateDir: string): Promise<number> {
    return reapOrphans(stateDir);
  }

  private readonly scope: ArnScope;
  private readonly name: string;
  private readonly strictQueues: boolean;
  private readonly clock: () => Date;
  private readonly scheduler: ResourceScheduler<Unit>;
  private readonly registry: JobRegistry;
  private readonly emitter: StateChangeEmitter<Job>;
  private readonly lifecycle: JobLifecycle;
  private readonly journal?: ProcessJournal;
  private accepting = true;
  private waiters: { done: () => boolean; resolve: () => void }[] = [];
  private shutdownPromise?: Promise<void>;
  private readonly launcher: ProcessLauncher;

  constructor(options: LocalComputeEnvironmentOptions) {
    const problems: string[] = [];
    if (!(Number.isFinite(options.vcpus) && options.vcpus > 0)) problems.push(`vcpus must be a positive number, got ${options.vcpus}`);
    if (!(Number.isInteger(options.memoryMiB) && options.memoryMiB > 0)) problems.push(`memoryMiB must be a positive integer, got ${options.memoryMiB}`);
    const killGraceMs = options.killGraceMs ?? 10_000;
    if (!(Number.isFinite(killGraceMs) && killGraceMs >= 0)) problems.push(`killGraceMs must be >= 0, got ${killGraceMs}`);
    const maxOvertakes = options.maxOvertakes ?? 8;
    if (!(Number.isInteger(maxOvertakes) && maxOvertakes >= 0)) problems.push(`maxOvertakes must be an integer >= 0, got ${maxOvertakes}`);
    const maxUnits = options.finishedJobRetention?.maxUnits ?? 50_000;
    const maxAgeSeconds = options.finishedJobRetention?.maxAgeSeconds ?? 86_400;
    if (!(Number.isInteger(maxUnits) && maxUnits >= 0)) problems.push(`finishedJobRetention.maxUnits must be an integer >= 0, got ${maxUnits}`);
    if (!(Number.isFinite(maxAgeSeconds) && maxAgeSeconds >= 0)) problems.push(`finishedJobRetention.maxAgeSeconds must be >= 0, got ${maxAgeSeconds}`);
    problems.push(...jobQueueProblems(options.jobQueues));
    if (problems.length > 0) throw new InvalidLocalComputeOptionsError(problems);

    this.scope = { region: options.region ?? 'us-east-1', account: options.account ?? '000000000000' };
    this.name = options.computeEnvironmentName ?? 'nightshift-local';
    this.strictQueues = options.strictQueues ?? false;
    this.clock = options.now ?? (() => new Date());
    const now = () => this.clock().getTime();
    this.scheduler = new ResourceScheduler<Unit>({ milliVcpus: Math.round(options.vcpus * 1000), memoryMiB: options.memoryMiB }, maxOvertakes);
    for (const queue of options.jobQueues ?? []) this.scheduler.defineQueue(queue);
    this.registry = new JobRegistry({ maxUnits, maxAgeMs: maxAgeSeconds * 1000 }, now);
    this.emitter = new StateChangeEmitter<Job>({
      emit: options.emit,
      snapshot: (job) => {
        const detail = detailOf(job);
        return { source: BatchJobStateChange.source, detailType: BatchJobStateChange.detailType, detail, resources: [detail.jobArn] };
      },
      isTerminal: (job) => job.status === 'SUCCEEDED' || job.status === 'FAILED',
      onProgress: () => this.settle(),
      lingerMs: options.emitLingerMs ?? 5,
    });
    if (options.stateDir !== undefined) this.journal = new ProcessJournal(options.stateDir);
    const launcher = (this.launcher = new ProcessLauncher({
      scope: this.scope,
      computeEnvironmentName: this.name,
      ...(options.cwd !== undefined && { cwd: options.cwd }),
      ...(options.logDir !== undefined && { logDir: options.logDir }),
      killGraceMs,
      // Children inherit the host's environment as a container inherits its image's. This passes it
      // through untouched; it is not configuration, which is read by the host's config schema.
      // eslint-disable-next-line no-restricted-properties
      baseEnv: options.baseEnv ?? process.env,
      now,
      ...(this.journal && { journal: this.journal }),
    }));
    this.lifecycle = new JobLifecycle({
      scheduler: this.scheduler,
      launcher,
      registry: this.registry,
      emitter: this.emitter,
      computeEnvironmentName: this.name,
      now,
      onProgress: () => this.settle(),
    });
  }

  /**
   * Accepts a job and returns its id at once; its progress arrives as events. A job that can never
   * fit in this machine's budget is accepted and then FAILS at once, saying so. A job with
   * `dependsOn` waits PENDING for its dependencies (see the port's `JobDependency`).
   *
   * @throws ComputeSubmissionError not retryable when the submission breaks AWS Batch's rules (names,
   *   retry strategy, a fair-share queue without shareIdentifier or a FIFO one with it, an unknown
   *   queue with `strictQueues`, a dependency on a job the environment does not know); retryable
   *   once `shutdown` has been called.
   */
  async submitJob(job: LocalJobSubmission): Promise<SubmittedJob> {
    if (!this.accepting) {
      throw new ComputeSubmissionError(`compute environment ${this.name} is shutting down and takes no more jobs`, true);
    }
    const spec = toJobSpec(job, this.scope);
    this.checkQueue(spec);
    const jobId = randomUUID();
    const createdAt = this.clock().getTime();
    const unit = (id: string, index?: number, parent?: Parent): Unit => ({
      kind: 'unit',
      jobId: id,
      jobArn: jobArn(this.scope, id),
      spec,
      status: 'SUBMITTED',
      attempts: [],
      createdAt,
      ...(index !== undefined && { index }),
      ...(parent && { parent }),
    });
    let created: Job;
    if (spec.arraySize === undefined) {
      created = unit(jobId);
    } else {
      const parent: Parent = { kind: 'parent', jobId, jobArn: jobArn(this.scope, jobId), spec, status: 'SUBMITTED', children: [], remaining: spec.arraySize, createdAt };
      for (let index = 0; index < spec.arraySize; index += 1) parent.children.push(unit(`${jobId}:${index}`, index, parent));
      created = parent;
    }
    this.lifecycle.admit(created, prerequisitesOf(created, spec, (id) => this.registry.get(id)));
    return { jobId, jobArn: jobArn(this.scope, jobId), jobName: spec.jobName };
  }

  /**
   * The details of up to 100 jobs or array children, as their events carry them; ids the
   * environment does not know (or no longer keeps, see `finishedJobRetention`) are left out. A
   * RUNNABLE job's `statusReason` says why it waits (what it needs, what is in use, how many jobs
   * are ahead of it), computed now.
   *
   * @throws InvalidComputeRequestError for more than 100 ids.
   */
  async describeJobs(jobIds: readonly string[]): Promise<BatchJobStateChangeDetail[]> {
    if (!Array.isArray(jobIds) || jobIds.length > 100) {
      throw new InvalidComputeRequestError(`describeJobs takes an array of at most 100 job ids, got ${Array.isArray(jobIds) ? jobIds.length : typeof jobIds}`);
    }
    const jobs: Job[] = [];
    for (const id of new Set(jobIds)) {
      const job = this.registry.get(id);
      if (job) jobs.push(job);
    }
    const reasons = this.reasonsOnRead(jobs);
    return jobs.map((job) => detailOf(job, reasons.get(job)));
  }

  /**
   * AWS's ListJobs: the jobs of a queue (name or ARN; array parents, not their children) or the
   * children of an array job, newest first (children by index); filtered by `jobName` (exact) and
   * `jobStatus`; with neither, RUNNING ones only.
   *
   * @throws InvalidComputeRequestError unless exactly one of `jobQueue` and `arrayJobId` is given, or
   *   for a status that is not one.
   */
  async listJobs(filter: JobListFilter): Promise<JobSummary[]> {
    return this.list(filter);
  }

  /**
   * Every job the environment keeps of a queue (top-level jobs, newest first) or every child of an
   * array job (by index), whatever its status: what AWS's ListJobs applies its `filters` to (the
   * Batch endpoint does). Unknown queue or array job: none.
   *
   * @throws InvalidComputeRequestError unless exactly one of `jobQueue` and `arrayJobId` is given.
   */
  async listAllJobs(scope: Pick<JobListFilter, 'jobQueue' | 'arrayJobId'>): Promise<JobSummary[]> {
    return this.list({ ...scope, jobStatus: 'ANY' });
  }

  /**
   * AWS's CancelJob: the job, or every child of an array job, that is SUBMITTED, PENDING or RUNNABLE
   * FAILS with `reason`; STARTING and RUNNING ones run on. An array parent ends once all its
   * children have. Unknown or finished jobs are left alone.
   */
  async cancelJob(jobId: string, reason: string): Promise<void> {
    const job = this.registry.get(jobId);
    if (job) this.lifecycle.cancel(job, reason);
  }

  /**
   * AWS's TerminateJob: stops a job, or every child of an array job, with `reason` as its
   * statusReason: queued ones FAIL at once; running attempts get SIGTERM to their process group,
   * then SIGKILL after `killGraceMs`, and FAIL once the process has exited, without retry. Resolves
   * once the stop is under way. A job that is unknown or already finished is left as it is.
   */
  async terminateJob(jobId: string, reason: string): Promise<void> {
    const job = this.registry.get(jobId);
    if (job) this.lifecycle.terminate(job, reason);
  }

  /**
   * Events `emit` kept rejecting after every retry (the newest 1000), oldest first. They are also on
   * stderr. The jobs' current state is still answered by `describeJobs`; this is for operators and
   * tests, not a second delivery path.
   */
  undeliveredEvents(): BatchJobStateChangeEmission[] {
    return this.emitter.undelivered();
  }

  /**
   * Takes no more jobs, stops every running attempt (SIGTERM, then SIGKILL after `killGraceMs`) as
   * if its host had been terminated, and resolves when every child has exited and every event has
   * been handed to `emit`. A stopped attempt counts as failed (statusReason `Host EC2 (instance
   * <name>) terminated: ...`) and is retried per the job's retry strategy: back to RUNNABLE, where it
   * stays, as in a disabled AWS compute environment. Queued jobs are not kept across restarts.
   */
  shutdown(): Promise<void> {
    this.shutdownPromise ??= this.stopAll();
    return this.shutdownPromise;
  }

  /** Resolves when no job is queued or running (after shutdown: none running) and every event has been handed to `emit`. */
  idle(): Promise<void> {
    return this.until(
      () => this.emitter.pending === 0 && (this.lifecycle.unfinishedJobs === 0 || (this.lifecycle.isStopping && this.lifecycle.runningUnits === 0)),
    );
  }

  private checkQueue(spec: JobSpec): void {
    const refuse = (problem: string) => {
      throw new ComputeSubmissionError(`job "${spec.jobName}" was refused: ${problem}`, false);
    };
    let queue = this.scheduler.queue(spec.jobQueueName);
    if (!queue) {
      if (this.strictQueues) refuse(`job queue ${spec.jobQueueName} does not exist`);
      // Embedded convenience: a queue nobody configured is created on first use, FIFO, priority 1.
      this.scheduler.defineQueue({ name: spec.jobQueueName, priority: DEFAULT_QUEUE_PRIORITY });
      queue = this.scheduler.queue(spec.jobQueueName)!;
    }
    if (queue.fairShare && spec.shareIdentifier === undefined) refuse(`job queue ${queue.name} has a fair-share scheduling policy: shareIdentifier is required`);
    if (!queue.fairShare && spec.shareIdentifier !== undefined) refuse(`job queue ${queue.name} has no fair-share scheduling policy: shareIdentifier must not be given`);
  }

  /** `jobStatus: 'ANY'`: every status, even without `jobName`. */
  private list(filter: Omit<JobListFilter, 'jobStatus'> & { jobStatus?: BatchJobStatus | 'ANY' }): JobSummary[] {
    if ((filter.jobQueue === undefined) === (filter.arrayJobId === undefined)) {
      throw new InvalidComputeRequestError('listJobs needs exactly one of jobQueue and arrayJobId');
    }
    if (filter.jobStatus !== undefined && filter.jobStatus !== 'ANY' && !BATCH_JOB_STATUSES.includes(filter.jobStatus)) {
      throw new InvalidComputeRequestError(`listJobs: "${filter.jobStatus}" is not a job status`);
    }
    let queueName: string | undefined;
    if (filter.jobQueue !== undefined) {
      queueName = queueNameOf(filter.jobQueue);
      if (queueName === undefined) throw new InvalidComputeRequestError(`listJobs: "${filter.jobQueue}" is neither a job queue name nor a job queue ARN`);
    }
    const jobs = this.registry.list({
      ...(queueName !== undefined && { queueName }),
      ...(filter.arrayJobId !== undefined && { arrayJobId: filter.arrayJobId }),
      ...(filter.jobName !== undefined && { jobName: filter.jobName }),
      ...(filter.jobStatus !== undefined && { status: filter.jobStatus }),
    });
    const reasons = this.reasonsOnRead(jobs);
    return jobs.map((job) => summaryOf(job, reasons.get(job)));
  }

  /** The statusReason of every RUNNABLE unit among `jobs`, from one look at the placement order. */
  private reasonsOnRead(jobs: readonly Job[]): Map<Job, string> {
    const runnable = jobs.filter((job): job is Unit => job.kind === 'unit' && job.status === 'RUNNABLE');
    const reasons = new Map<Job, string>();
    if (runnable.length === 0) return reasons;
    if (this.lifecycle.isStopping) {
      for (const unit of runnable) reasons.set(unit, shutDown(unit.spec.demand, this.name));
      return reasons;
    }
    const waiting = this.scheduler.explain(runnable);
    const inUse = this.scheduler.inUse;
    const budget = this.scheduler.budget;
    for (const unit of runnable) {
      const where = waiting.get(unit);
      if (where) reasons.set(unit, waitingReason(unit.spec.demand, where, inUse, budget));
    }
    return reasons;
  }

  private async stopAll(): Promise<void> {
    this.accepting = false;
    this.lifecycle.stopAll();
    await this.until(() => this.lifecycle.runningUnits === 0 && this.emitter.pending === 0);
    this.launcher.close();
    this.journal?.close();
  }

  private until(done: () => boolean): Promise<void> {
    if (done()) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ done, resolve }));
  }

  private settle(): void {
    if (this.waiters.length === 0) return;
    const still: typeof this.waiters = [];
    for (const waiter of this.waiters) {
      if (waiter.done()) waiter.resolve();
      else still.push(waiter);
    }
    this.waiters = still;
  }
}

function detailOf(job: Job, statusReason?: string): BatchJobStateChangeDetail {
  return job.kind === 'parent' ? parentDetail(job) : unitDetail(job, statusReason);
}
