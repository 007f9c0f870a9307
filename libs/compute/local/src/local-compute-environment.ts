import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdir, open, type FileHandle } from 'node:fs/promises';
import { constants as osConstants } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { BatchJobStateChange, type BatchJobStateChangeDetail, type BatchJobStatus } from '@nightshift/contracts';
import { ComputeSubmissionError, type ComputeEnvironment, type JobSubmission, type SubmittedJob } from '@nightshift/jobs-domain';
import { InvalidLocalComputeOptionsError } from './errors.js';
import { parentDetail, unitDetail, type AttemptRecord, type ParentState, type UnitState } from './job-detail.js';
import { jobArn, toJobSpec, type ArnScope, type JobSpec } from './job-spec.js';
import { ResourceScheduler } from './resource-scheduler.js';

/** One "Batch Job State Change" event, in the shape the event bus publishes (`resources` = the job ARN). */
export interface BatchJobStateChangeEmission {
  source: typeof BatchJobStateChange.source;
  detailType: typeof BatchJobStateChange.detailType;
  detail: BatchJobStateChangeDetail;
  resources: string[];
}

/** How the local compute environment is set up. */
export interface LocalComputeEnvironmentOptions {
  /** vCPUs the running jobs may reserve together (fractions allowed). */
  vcpus: number;
  /** Memory in MiB the running jobs may reserve together. A reservation, not a limit on the child. */
  memoryMiB: number;
  /**
   * Publishes one state-change event. Called one event at a time, in the order the changes
   * happened; a rejection is retried with backoff, and after the last try the event is written to
   * stderr, so a failing bus never stops the scheduler.
   */
  emit: (event: BatchJobStateChangeEmission) => Promise<void>;
  /** Region in the ARNs; default `us-east-1`. */
  region?: string;
  /** Account in the ARNs; default `000000000000`. */
  account?: string;
  /** Name given to children as AWS_BATCH_CE_NAME; default `nightshift-local`. */
  computeEnvironmentName?: string;
  /** Working directory of the children; default the host's. */
  cwd?: string;
  /**
   * Directory for the children's output. Each attempt's stdout and stderr go to
   * `<logDir>/<logStreamName>`, where `logStreamName` is `<jobDefinitionName>/default/<taskId>` as in
   * CloudWatch Logs and is reported in the event. Unset: children write to the host's stdout/stderr.
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
   * How many later jobs may start ahead of the oldest waiting job that does not fit yet, before it
   * reserves the machine (see `ResourceScheduler`); default 8. 0 is strict FIFO.
   */
  maxOvertakes?: number;
}

const CONTAINER_EXITED = 'Essential container in task exited';
const ATTEMPT_TIMED_OUT = 'Job attempt duration exceeded timeout';
const TASK_FAILED_TO_START = 'Task failed to start';
const HOST_STOPPED = 'Host terminated: the local compute environment shut down';
const ARRAY_CHILD_FAILED = 'Array Child Job failed';
const EMIT_ATTEMPTS = 5;
const EMIT_BASE_DELAY_MS = 50;

interface Unit extends UnitState {
  kind: 'unit';
  parent?: Parent;
  /** Set by terminateJob: the attempt in flight is stopped and the job FAILS with it, no retry. */
  terminateReason?: string;
  run?: RunningAttempt;
}

interface Parent extends ParentState {
  kind: 'parent';
  children: Unit[];
  /** Children not yet SUCCEEDED or FAILED. */
  remaining: number;
  terminateReason?: string;
}

/** The attempt a unit is in while it is STARTING or RUNNING; it holds the unit's reservation. */
interface RunningAttempt {
  taskArn?: string;
  logStreamName?: string;
  child?: ChildProcess;
  spawned: boolean;
  startedAt?: number;
  timedOut: boolean;
  hostStopped: boolean;
  /** SIGTERM was sent. */
  stopping: boolean;
  ended: boolean;
  timeoutTimer?: NodeJS.Timeout;
  killTimer?: NodeJS.Timeout;
}

type AttemptOutcome =
  | { kind: 'not-started' }
  | { kind: 'start-failed'; error: unknown }
  | { kind: 'exited'; code: number | null; signal: NodeJS.Signals | null };

/**
 * AWS Batch on one machine: jobs run as child processes (no shell) within a vCPU/memory budget,
 * with AWS Batch's statuses, array jobs, retries, per-attempt timeouts and "Batch Job State Change"
 * events shaped like AWS's JobDetail, so the planner cannot tell it from the AWS adapter.
 *
 * Job state lives in memory only: after a host restart the jobs are gone, and it is the planner's
 * job store that finds and resolves the tasks they belonged to.
 */
export class LocalComputeEnvironment implements ComputeEnvironment {
  private readonly scope: ArnScope;
  private readonly name: string;
  private readonly emit: LocalComputeEnvironmentOptions['emit'];
  private readonly cwd?: string;
  private readonly logDir?: string;
  private readonly killGraceMs: number;
  private readonly now: () => Date;
  private readonly baseEnv: Readonly<Record<string, string | undefined>>;
  private readonly scheduler: ResourceScheduler<Unit>;

  /** Jobs not yet SUCCEEDED or FAILED, by job id (array children under `${parentId}:${index}`). */
  private readonly jobs = new Map<string, Unit | Parent>();
  /** Units holding a reservation (STARTING or RUNNING). */
  private readonly running = new Set<Unit>();
  private accepting = true;
  private stopping = false;
  private passScheduled = false;
  private emitChain: Promise<void> = Promise.resolve();
  private pendingEmits = 0;
  private waiters: { done: () => boolean; resolve: () => void }[] = [];
  private shutdownPromise?: Promise<void>;

  constructor(options: LocalComputeEnvironmentOptions) {
    const problems: string[] = [];
    if (!(Number.isFinite(options.vcpus) && options.vcpus > 0)) problems.push(`vcpus must be a positive number, got ${options.vcpus}`);
    if (!(Number.isInteger(options.memoryMiB) && options.memoryMiB > 0)) problems.push(`memoryMiB must be a positive integer, got ${options.memoryMiB}`);
    const killGraceMs = options.killGraceMs ?? 10_000;
    if (!(Number.isFinite(killGraceMs) && killGraceMs >= 0)) problems.push(`killGraceMs must be >= 0, got ${killGraceMs}`);
    const maxOvertakes = options.maxOvertakes ?? 8;
    if (!(Number.isInteger(maxOvertakes) && maxOvertakes >= 0)) problems.push(`maxOvertakes must be an integer >= 0, got ${maxOvertakes}`);
    if (problems.length > 0) throw new InvalidLocalComputeOptionsError(problems);

    this.scope = { region: options.region ?? 'us-east-1', account: options.account ?? '000000000000' };
    this.name = options.computeEnvironmentName ?? 'nightshift-local';
    this.emit = options.emit;
    this.cwd = options.cwd;
    this.logDir = options.logDir;
    this.killGraceMs = killGraceMs;
    this.now = options.now ?? (() => new Date());
    // Children inherit the host's environment as a container inherits its image's. This passes it
    // through untouched; it is not configuration, which is read by the host's config schema.
    // eslint-disable-next-line no-restricted-properties
    this.baseEnv = options.baseEnv ?? process.env;
    this.scheduler = new ResourceScheduler<Unit>({ milliVcpus: Math.round(options.vcpus * 1000), memoryMiB: options.memoryMiB }, maxOvertakes);
  }

  /**
   * Accepts a job and returns its id at once; its progress arrives as events. A job that can never
   * fit in this machine's budget is accepted and then FAILS (see `admit`).
   *
   * @throws ComputeSubmissionError not retryable when the submission breaks AWS Batch's rules;
   *   retryable once `shutdown` has been called.
   */
  async submitJob(job: JobSubmission): Promise<SubmittedJob> {
    if (!this.accepting) {
      throw new ComputeSubmissionError(`compute environment ${this.name} is shutting down and takes no more jobs`, true);
    }
    const spec = toJobSpec(job, this.scope);
    const jobId = randomUUID();
    const arn = jobArn(this.scope, jobId);
    const createdAt = this.nowMs();
    if (spec.arraySize === undefined) {
      this.admit([this.newUnit(jobId, spec, createdAt)]);
    } else {
      const parent: Parent = { kind: 'parent', jobId, jobArn: arn, spec, status: 'SUBMITTED', children: [], remaining: spec.arraySize, createdAt };
      for (let index = 0; index < spec.arraySize; index += 1) {
        parent.children.push(this.newUnit(`${jobId}:${index}`, spec, createdAt, index, parent));
      }
      this.jobs.set(jobId, parent);
      this.publish(parent);
      this.admit(parent.children, parent);
    }
    return { jobId, jobArn: arn, jobName: spec.jobName };
  }

  /**
   * Stops a job, or every child of an array job, with `reason` as its statusReason: queued ones
   * FAIL at once; running attempts get SIGTERM, then SIGKILL after `killGraceMs`, and FAIL when the
   * process has exited, without retry. Resolves once the stop is under way, not when it is done
   * (like AWS's TerminateJob). A job that is unknown or already finished is left as it is.
   */
  async terminateJob(jobId: string, reason: string): Promise<void> {
    const job = this.jobs.get(jobId);
    if (!job) return;
    if (job.kind === 'parent') {
      job.terminateReason ??= reason;
      for (const child of job.children) this.terminateUnit(child, reason);
    } else {
      this.terminateUnit(job, reason);
    }
  }

  /**
   * Takes no more jobs, stops every running attempt (SIGTERM, then SIGKILL after `killGraceMs`) as
   * if its host had been terminated, and resolves when every child has exited and every event has
   * been handed to `emit`. A stopped attempt counts as failed: its job goes back to RUNNABLE if it
   * has attempts left, else FAILS. Jobs still RUNNABLE stay so, as in a disabled AWS compute
   * environment, and are not kept across restarts.
   */
  shutdown(): Promise<void> {
    this.shutdownPromise ??= this.stopAll();
    return this.shutdownPromise;
  }

  /** Resolves when no job is queued or running and every event has been handed to `emit`. */
  idle(): Promise<void> {
    return this.until(() => this.pendingEmits === 0 && (this.jobs.size === 0 || (this.stopping && this.running.size === 0)));
  }

  private newUnit(jobId: string, spec: JobSpec, createdAt: number, index?: number, parent?: Parent): Unit {
    return {
      kind: 'unit',
      jobId,
      jobArn: jobArn(this.scope, jobId),
      spec,
      status: 'SUBMITTED',
      attempts: [],
      createdAt,
      ...(index !== undefined && { index }),
      ...(parent && { parent }),
    };
  }

  /** SUBMITTED, then PENDING (no dependencies to wait for), then RUNNABLE in the queue. */
  private admit(units: Unit[], parent?: Parent): void {
    for (const unit of units) {
      this.jobs.set(unit.jobId, unit);
      this.publish(unit);
    }
    const spec = units[0].spec;
    if (!this.scheduler.fitsCapacity(spec.demand)) {
      // AWS Batch would leave such a job RUNNABLE forever, waiting for an instance its compute
      // environment can never launch, and someone has to notice the stuck queue. Here the budget is
      // fixed and known, so the job can never run: failing it at once tells the planner now, with
      // the reason, instead of never.
      const reason =
        `Job needs ${spec.vcpus} vCPU and ${spec.memoryMiB} MiB but compute environment ${this.name} has ` +
        `${this.scheduler.capacityVcpus} vCPU and ${this.scheduler.capacityMemoryMiB} MiB in all; it can never run here`;
      for (const unit of units) this.finish(unit, 'FAILED', reason);
      return;
    }
    for (const unit of units) this.transition(unit, 'PENDING');
    for (const unit of units) {
      this.transition(unit, 'RUNNABLE');
      this.scheduler.enqueue(unit, spec.demand);
      // AWS moves an array parent to PENDING when its first child becomes RUNNABLE.
      if (parent && parent.status === 'SUBMITTED') this.transition(parent, 'PENDING');
    }
    this.requestPass();
  }

  /** Runs one scheduling pass soon; a burst of changes (a 10,000-child array) needs only one. */
  private requestPass(): void {
    if (this.passScheduled || this.stopping) return;
    this.passScheduled = true;
    setImmediate(() => {
      this.passScheduled = false;
      if (this.stopping) return;
      for (const unit of this.scheduler.take()) this.start(unit);
    });
  }

  private start(unit: Unit): void {
    const run: RunningAttempt = { spawned: false, timedOut: false, hostStopped: false, stopping: false, ended: false };
    unit.run = run;
    this.running.add(unit);
    this.transition(unit, 'STARTING');
    this.launch(unit, run).catch((error: unknown) => this.endAttempt(unit, run, { kind: 'start-failed', error }));
  }

  private async launch(unit: Unit, run: RunningAttempt): Promise<void> {
    const attempt = unit.attempts.length + 1;
    // An ECS task id: 32 hex digits.
    const taskId = randomUUID().replaceAll('-', '');
    run.taskArn = `arn:aws:ecs:${this.scope.region}:${this.scope.account}:task/${this.name}/${taskId}`;
    let out: FileHandle | undefined;
    if (this.logDir !== undefined) {
      run.logStreamName = `${unit.spec.jobDefinitionName}/default/${taskId}`;
      const path = join(this.logDir, ...run.logStreamName.split('/'));
      await mkdir(dirname(path), { recursive: true });
      out = await open(path, 'a');
    }
    if (unit.terminateReason !== undefined || run.hostStopped) {
      await out?.close();
      this.endAttempt(unit, run, { kind: 'not-started' });
      return;
    }
    const [program, ...args] = unit.spec.command;
    let child: ChildProcess;
    try {
      child = spawn(program, args, {
        cwd: this.cwd,
        env: this.childEnv(unit, attempt),
        stdio: out ? ['ignore', out.fd, out.fd] : ['ignore', 'inherit', 'inherit'],
        // Its own process group, so that stopping the attempt stops everything it started, as
        // stopping a container does.
        detached: true,
        windowsHide: true,
      });
    } finally {
      // The child holds its own copy of the descriptor once spawn has returned.
      out?.close().catch((error: unknown) => process.stderr.write(`compute-local: could not close log ${run.logStreamName}: ${describe(error)}\n`));
    }
    run.child = child;
    child.once('spawn', () => this.onRunning(unit, run));
    child.once('error', (error) => {
      // After a successful spawn, 'error' only reports a failed kill; 'exit' still follows.
      if (!run.spawned) this.endAttempt(unit, run, { kind: 'start-failed', error });
    });
    child.once('exit', (code, signal) => this.endAttempt(unit, run, { kind: 'exited', code, signal }));
  }

  private childEnv(unit: Unit, attempt: number): Record<string, string> {
    const env: Record<string, string> = {};
    for (const [name, value] of Object.entries(this.baseEnv)) {
      if (value !== undefined && !name.startsWith('AWS_BATCH')) env[name] = value;
    }
    Object.assign(env, unit.spec.environment);
    env.AWS_BATCH_JOB_ID = unit.jobId;
    if (unit.index !== undefined) env.AWS_BATCH_JOB_ARRAY_INDEX = String(unit.index);
    env.AWS_BATCH_JOB_ATTEMPT = String(attempt);
    env.AWS_BATCH_JQ_NAME = unit.spec.jobQueueName;
    env.AWS_BATCH_CE_NAME = this.name;
    return env;
  }

  private onRunning(unit: Unit, run: RunningAttempt): void {
    if (run.ended || run.spawned) return;
    run.spawned = true;
    run.startedAt = this.nowMs();
    unit.startedAt = run.startedAt;
    this.transition(unit, 'RUNNING');
    run.timeoutTimer = setTimeout(() => {
      run.timedOut = true;
      this.stop(run);
    }, unit.spec.timeoutSeconds * 1000);
  }

  /** SIGTERM to the attempt's process group, SIGKILL after the grace period. */
  private stop(run: RunningAttempt): void {
    const child = run.child;
    if (!child || run.stopping || run.ended) return;
    run.stopping = true;
    signalGroup(child, 'SIGTERM');
    run.killTimer = setTimeout(() => signalGroup(child, 'SIGKILL'), this.killGraceMs);
  }

  private endAttempt(unit: Unit, run: RunningAttempt, outcome: AttemptOutcome): void {
    if (run.ended) return;
    if (outcome.kind === 'exited' && !run.spawned) this.onRunning(unit, run);
    run.ended = true;
    clearTimeout(run.timeoutTimer);
    clearTimeout(run.killTimer);
    // The essential process is gone, so the "container" is torn down: whatever it left running in
    // its process group goes with it.
    if (outcome.kind === 'exited' && run.child) signalGroup(run.child, 'SIGKILL');
    unit.run = undefined;
    this.running.delete(unit);
    this.scheduler.release(unit.spec.demand);

    const attempt = this.attemptRecord(unit, run, outcome);
    if (attempt) unit.attempts.push(attempt);
    if (unit.terminateReason !== undefined) {
      this.finish(unit, 'FAILED', unit.terminateReason);
    } else if (!attempt) {
      // Stopped by shutdown before it started: no attempt was used up.
      this.requeue(unit);
    } else if (attempt.exitCode === 0 && !run.timedOut && !run.hostStopped) {
      this.finish(unit, 'SUCCEEDED', CONTAINER_EXITED);
    } else if (unit.attempts.length < unit.spec.retryAttempts) {
      this.requeue(unit);
    } else {
      this.finish(unit, 'FAILED', attempt.statusReason);
    }
    this.requestPass();
    this.settle();
  }

  private attemptRecord(unit: Unit, run: RunningAttempt, outcome: AttemptOutcome): AttemptRecord | undefined {
    const where = {
      ...(run.taskArn !== undefined && { taskArn: run.taskArn }),
      ...(run.logStreamName !== undefined && { logStreamName: run.logStreamName }),
    };
    switch (outcome.kind) {
      case 'not-started':
        return undefined;
      case 'start-failed':
        return { ...where, stoppedAt: this.nowMs(), containerReason: `CannotStartContainerError: ${describe(outcome.error)}`, statusReason: TASK_FAILED_TO_START };
      case 'exited': {
        // A process killed by a signal reports 128 + the signal's number, as a container does.
        const exitCode = outcome.code ?? (outcome.signal ? 128 + (osConstants.signals[outcome.signal] ?? 0) : undefined);
        const statusReason = unit.terminateReason ?? (run.hostStopped ? HOST_STOPPED : run.timedOut ? ATTEMPT_TIMED_OUT : CONTAINER_EXITED);
        return {
          ...where,
          ...(run.startedAt !== undefined && { startedAt: run.startedAt }),
          stoppedAt: this.nowMs(),
          ...(exitCode !== undefined && { exitCode }),
          ...(outcome.signal && { containerReason: `Process exited on ${outcome.signal}` }),
          statusReason,
        };
      }
    }
  }

  private terminateUnit(unit: Unit, reason: string): void {
    switch (unit.status) {
      case 'SUBMITTED':
      case 'PENDING':
      case 'RUNNABLE':
        this.scheduler.remove(unit);
        this.finish(unit, 'FAILED', reason);
        // The head of the queue may have changed.
        this.requestPass();
        return;
      case 'STARTING':
      case 'RUNNING':
        unit.terminateReason ??= reason;
        if (unit.run) this.stop(unit.run);
        return;
      case 'SUCCEEDED':
      case 'FAILED':
        return;
    }
  }

  private requeue(unit: Unit): void {
    this.transition(unit, 'RUNNABLE');
    this.scheduler.enqueue(unit, unit.spec.demand);
  }

  private finish(unit: Unit, status: 'SUCCEEDED' | 'FAILED', reason: string): void {
    unit.stoppedAt = this.nowMs();
    this.transition(unit, status, reason);
    this.jobs.delete(unit.jobId);
    const parent = unit.parent;
    if (parent) {
      parent.remaining -= 1;
      if (parent.remaining === 0) this.finishParent(parent);
    }
    this.settle();
  }

  /** An array parent ends when all its children have: SUCCEEDED if every child did, else FAILED. */
  private finishParent(parent: Parent): void {
    for (const child of parent.children) {
      if (child.startedAt !== undefined && (parent.startedAt === undefined || child.startedAt < parent.startedAt)) parent.startedAt = child.startedAt;
    }
    parent.stoppedAt = this.nowMs();
    const failed = parent.children.some((c) => c.status === 'FAILED');
    if (failed) this.transition(parent, 'FAILED', parent.terminateReason ?? ARRAY_CHILD_FAILED);
    else this.transition(parent, 'SUCCEEDED');
    this.jobs.delete(parent.jobId);
  }

  private transition(job: Unit | Parent, status: BatchJobStatus, reason?: string): void {
    job.status = status;
    job.statusReason = reason;
    this.publish(job);
  }

  /** Queues the job's current state for `emit`; the detail is a snapshot, later changes do not leak in. */
  private publish(job: Unit | Parent): void {
    const detail = job.kind === 'parent' ? parentDetail(job) : unitDetail(job);
    const event: BatchJobStateChangeEmission = {
      source: BatchJobStateChange.source,
      detailType: BatchJobStateChange.detailType,
      detail,
      resources: [detail.jobArn],
    };
    this.pendingEmits += 1;
    this.emitChain = this.emitChain
      .then(() => this.deliver(event))
      .finally(() => {
        this.pendingEmits -= 1;
        this.settle();
      });
  }

  /** Never rejects: a status that cannot be delivered is written to stderr rather than lost silently. */
  private async deliver(event: BatchJobStateChangeEmission): Promise<void> {
    for (let attempt = 1; ; attempt += 1) {
      try {
        await this.emit(event);
        return;
      } catch (error) {
        if (attempt >= EMIT_ATTEMPTS) {
          process.stderr.write(
            `compute-local: could not emit ${event.detail.status} of job ${event.detail.jobId} after ${attempt} tries: ${describe(error)}\n` +
              `${JSON.stringify(event)}\n`,
          );
          return;
        }
        await sleep(EMIT_BASE_DELAY_MS * 2 ** (attempt - 1));
      }
    }
  }

  private async stopAll(): Promise<void> {
    this.accepting = false;
    this.stopping = true;
    for (const unit of this.running) {
      if (!unit.run) continue;
      unit.run.hostStopped = true;
      this.stop(unit.run);
    }
    await this.until(() => this.running.size === 0 && this.pendingEmits === 0);
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

  private nowMs(): number {
    return this.now().getTime();
  }
}

/** Signals the process group the child leads; falls back to the child alone if there is no group. */
function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch (error) {
    // ESRCH: the group is already gone, which is what the signal was for.
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') child.kill(signal);
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
