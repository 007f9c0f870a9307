import { randomUUID } from 'node:crypto';
import { constants as osConstants } from 'node:os';
import { join } from 'node:path';
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { ArnScope } from './job-spec.js';
import type { ProcessJournal } from './process-journal.js';
import { ProcessSpawner } from './process-spawner.js';

/** What one attempt runs, and where it reports. */
export interface LaunchSpec {
  jobId: string;
  arrayIndex?: number;
  /** 1-based: AWS_BATCH_JOB_ATTEMPT. */
  attempt: number;
  command: readonly string[];
  environment: Readonly<Record<string, string>>;
  jobQueueName: string;
  jobDefinitionName: string;
  jobName: string;
  /** Absent: no timeout. */
  timeoutSeconds?: number;
}

/** How an attempt ended, as the container would report it. */
export type AttemptOutcome =
  /** Stopped before its process was started: no attempt was used up. */
  | { kind: 'not-started' }
  | { kind: 'failed-to-start'; reason: string }
  /** `exitCode` is 128 + the signal's number for a process killed by a signal, as a container's is. */
  | { kind: 'exited'; exitCode?: number; reason?: string };

export interface AttemptListener {
  /** The process runs (Node's 'spawn' event): the job is RUNNING. */
  running(attempt: LaunchedAttempt): void;
  /** The attempt is over; called exactly once per attempt. */
  ended(attempt: LaunchedAttempt, outcome: AttemptOutcome): void;
}

export interface ProcessLauncherOptions {
  scope: ArnScope;
  computeEnvironmentName: string;
  cwd?: string;
  logDir?: string;
  killGraceMs: number;
  baseEnv: Readonly<Record<string, string | undefined>>;
  now: () => number;
  journal?: ProcessJournal;
  /** How long the launcher may keep the event loop before yielding it; default 10 ms. */
  sliceMs?: number;
}

/**
 * Starts attempts as child processes, like the ECS agent starts containers: one process group per
 * attempt (stopped as a whole), the job's environment plus AWS_BATCH_*, output to the attempt's log
 * stream (each line stamped, by the spawner), a per-attempt timeout, SIGTERM then SIGKILL to stop.
 *
 * Spawning is synchronous work in Node (fork + exec: a few ms each in a host of a few hundred MiB),
 * so it is done by a small process of its own (`ProcessSpawner`), and kept off the scheduling
 * pass: the pass that placed 10,000 array children only queues them, and a setImmediate loop
 * hands them to the spawner in slices of about `sliceMs`, yielding the event loop between slices.
 */
export class ProcessLauncher {
  private pending: LaunchedAttempt[] = [];
  private head = 0;
  private draining = false;
  private readonly sliceMs: number;
  /** @internal */
  readonly spawner: ProcessSpawner;

  constructor(private readonly options: ProcessLauncherOptions) {
    this.sliceMs = options.sliceMs ?? 10;
    // The base environment is copied once and handed to the spawner once; each child then costs
    // only its own variables (copying a few hundred inherited ones per child was 5% of the host's CPU).
    const base: Record<string, string> = {};
    for (const [name, value] of Object.entries(options.baseEnv)) {
      if (value !== undefined && !name.startsWith('AWS_BATCH')) base[name] = value;
    }
    this.spawner = new ProcessSpawner(base);
  }

  /** Queues an attempt to be started; the handle can be stopped at once, even before its process exists. */
  launch(spec: LaunchSpec, listener: AttemptListener): LaunchedAttempt {
    const taskId = randomUUID().replaceAll('-', '');
    const { scope, computeEnvironmentName, logDir } = this.options;
    const attempt = new LaunchedAttempt(
      spec,
      listener,
      `arn:aws:ecs:${scope.region}:${scope.account}:task/${computeEnvironmentName}/${taskId}`,
      logDir === undefined ? undefined : attemptLogStreamName(spec),
      this,
    );
    this.pending.push(attempt);
    if (!this.draining) {
      this.draining = true;
      setImmediate(() => {
        this.drain().catch((error: unknown) => process.stderr.write(`compute-local: the launcher stopped: ${describe(error)}\n`));
      });
    }
    return attempt;
  }

  /** @internal The log file of an attempt; undefined without `logDir`. */
  logPath(logStreamName: string | undefined): string | undefined {
    if (logStreamName === undefined || this.options.logDir === undefined) return undefined;
    return join(this.options.logDir, ...logStreamName.split('/'));
  }

  /** Stops the spawner process; call once no attempt runs (whatever still runs is killed with it). */
  close(): void {
    this.spawner.close();
  }

  /** @internal */
  get settings(): ProcessLauncherOptions {
    return this.options;
  }

  /**
   * @internal What a child adds to the base environment (the host's without AWS_BATCH_*, which the
   * spawner holds): the job's variables, then AWS Batch's own.
   */
  childEnv(spec: LaunchSpec): Record<string, string> {
    const env: Record<string, string> = { ...spec.environment };
    env.AWS_BATCH_JOB_ID = spec.jobId;
    if (spec.arrayIndex !== undefined) env.AWS_BATCH_JOB_ARRAY_INDEX = String(spec.arrayIndex);
    env.AWS_BATCH_JOB_ATTEMPT = String(spec.attempt);
    env.AWS_BATCH_JQ_NAME = spec.jobQueueName;
    env.AWS_BATCH_CE_NAME = this.options.computeEnvironmentName;
    return env;
  }

  private async drain(): Promise<void> {
    let sliceStart = performance.now();
    while (this.head < this.pending.length) {
      const attempt = this.pending[this.head];
      this.head += 1;
      await attempt.start();
      if (this.head > 1024 && this.head * 2 > this.pending.length) {
        this.pending = this.pending.slice(this.head);
        this.head = 0;
      }
      if (performance.now() - sliceStart >= this.sliceMs) {
        await nextTurn();
        sliceStart = performance.now();
      }
    }
    this.pending = [];
    this.head = 0;
    this.draining = false;
  }
}

/**
 * The log stream of an attempt: `<jobDefinitionName>/<jobName>/<jobId>/attempt-<n>` (an array
 * child's `<parent id>:<index>` as `<parent id>-<index>`), so that its file under `logDir` says
 * whose it is: the planner's job names carry the run and step. AWS Batch names its streams
 * `<jobDefinitionName>/default/<ECS task id>`; any name is one to a reader (`container.logStreamName`).
 */
export function attemptLogStreamName(spec: Pick<LaunchSpec, 'jobDefinitionName' | 'jobName' | 'jobId' | 'attempt'>): string {
  return `${spec.jobDefinitionName}/${spec.jobName}/${spec.jobId.replace(':', '-')}/attempt-${spec.attempt}`;
}

/** One attempt's process. It holds the unit's reservation from STARTING until `ended`. */
export class LaunchedAttempt {
  startedAt?: number;
  /** The attempt outlived its timeout and was stopped. */
  timedOut = false;
  /** The environment stopped the attempt because it shuts down, as if its host were terminated. */
  hostStopped = false;
  private pid?: number;
  private startTime?: string;
  private state: 'queued' | 'running' | 'ended' = 'queued';
  private spawned = false;
  private stopRequested = false;
  private signalled = false;
  private timeoutTimer?: NodeJS.Timeout;
  private killTimer?: NodeJS.Timeout;

  constructor(
    readonly spec: LaunchSpec,
    private readonly listener: AttemptListener,
    readonly taskArn: string,
    readonly logStreamName: string | undefined,
    private readonly launcher: ProcessLauncher,
  ) {}

  /**
   * Stops the attempt: SIGTERM to its process group, SIGKILL after the grace period. An attempt
   * whose process has not started yet ends as `not-started` instead.
   */
  stop(): void {
    this.stopRequested = true;
    const pid = this.pid;
    if (pid === undefined || this.state === 'ended' || this.signalled) return;
    this.signalled = true;
    signalGroup(pid, 'SIGTERM');
    this.killTimer = setTimeout(() => signalGroup(pid, 'SIGKILL'), this.launcher.settings.killGraceMs);
  }

  /** @internal Called by the launcher when the attempt's turn comes; never rejects. */
  async start(): Promise<void> {
    try {
      await this.startProcess();
    } catch (error) {
      this.end({ kind: 'failed-to-start', reason: `CannotStartContainerError: ${describe(error)}` });
    }
  }

  private async startProcess(): Promise<void> {
    if (this.stopRequested) return this.end({ kind: 'not-started' });
    const [program, ...args] = this.spec.command;
    const logPath = this.launcher.logPath(this.logStreamName);
    this.launcher.spawner.spawn(
      { program: program!, args, env: this.launcher.childEnv(this.spec), ...(this.launcher.settings.cwd !== undefined && { cwd: this.launcher.settings.cwd }), ...(logPath !== undefined && { logPath }) },
      {
        spawned: (pid) => {
          this.pid = pid;
          this.startTime = this.launcher.settings.journal?.spawned(pid, this.spec.jobId);
          this.onSpawn();
          // stop() before the process existed: it is stopped as soon as it does.
          if (this.stopRequested) this.stop();
        },
        failed: (reason) =>
          this.spawned
            ? this.end({ kind: 'exited', reason: `CannotInspectContainerError: ${reason}` })
            : this.end({ kind: 'failed-to-start', reason: `CannotStartContainerError: ${reason}` }),
        exited: (code, signal) => {
          // A process killed by a signal reports 128 + the signal's number, as a container does.
          const exitCode = code ?? (signal ? 128 + (osConstants.signals[signal] ?? 0) : undefined);
          this.end({ kind: 'exited', ...(exitCode !== undefined && { exitCode }), ...(signal && { reason: `Process exited on ${signal}` }) });
        },
      },
    );
  }

  private onSpawn(): void {
    if (this.spawned || this.state === 'ended') return;
    this.spawned = true;
    this.state = 'running';
    this.startedAt = this.launcher.settings.now();
    if (this.spec.timeoutSeconds !== undefined) this.armTimeout(this.spec.timeoutSeconds * 1000);
    this.listener.running(this);
  }

  /** Node fires a timer longer than about 24.8 days at once, so a longer timeout is waited out in legs. */
  private armTimeout(ms: number): void {
    const leg = Math.min(ms, MAX_TIMER_MS);
    this.timeoutTimer = setTimeout(() => {
      if (ms > leg) return this.armTimeout(ms - leg);
      this.timedOut = true;
      this.stop();
    }, leg);
  }

  private end(outcome: AttemptOutcome): void {
    if (this.state === 'ended') return;
    this.state = 'ended';
    clearTimeout(this.timeoutTimer);
    clearTimeout(this.killTimer);
    const pid = this.pid;
    if (pid !== undefined && outcome.kind === 'exited') {
      // The essential process is gone, so the "container" is torn down: whatever it left running in
      // its process group goes with it.
      signalGroup(pid, 'SIGKILL');
      this.launcher.settings.journal?.exited(pid, this.startTime);
    }
    this.listener.ended(this, outcome);
  }
}

/** The longest delay `setTimeout` takes (2^31 - 1 ms); a longer one fires after 1 ms. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Signals the process group the child leads; falls back to the child alone if there is no group. */
function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch (error) {
    // ESRCH: the group is already gone, which is what the signal was for.
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return;
    try {
      process.kill(pid, signal);
    } catch {
      // Gone as well.
    }
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
