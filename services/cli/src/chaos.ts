import { type ChildProcess, fork } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { DatasetLanded, ReportPublished, RunFailed, RunSucceeded } from '@nightshift/contracts';
import { descendantsOf, isAlive } from './processes.js';
import type { ChaosFacts, ChaosHostMessage, ChaosParentMessage, RunProgress } from './chaos-protocol.js';
import { ChaosCheckFailedError, ChaosHostFailedError } from './errors.js';

/**
 * `nightshift chaos`: a run of `tasks` backtest tasks on the embedded platform, once undisturbed
 * and once with its host killed -9 at random points (restarted each time, sometimes before it was
 * even up) and workers killed -9 in between; then checks what the two homes hold: 0 tasks lost,
 * 0 results committed twice, exactly one terminal event per run, the disturbed run's report equal
 * to the undisturbed one's, and no process of a killed host left behind.
 */

export interface ChaosOptions {
  tasks: number;
  /** Host kills (-9), each followed by a restart on the same home. */
  hostKills: number;
  /** Worker kills (-9), between the host kills. */
  workerKills: number;
  /** Seeds when and what is killed: the same seed kills at the same offsets. */
  seed: number;
  /** The compute environment's vCPUs (each task takes 0.5). */
  vcpus: number;
  tmpDir?: string;
  /** Keep the two homes (their paths are in the result) instead of deleting them. */
  keepHomes?: boolean;
  log?: (line: string) => void;
}

export const DEFAULT_CHAOS_OPTIONS: ChaosOptions = { tasks: 1000, hostKills: 20, workerKills: 10, seed: 1, vcpus: 2 };

export interface ChaosKill {
  /** Seconds since the landing was sent. */
  at_s: number;
  target: 'host' | 'host-starting' | 'worker';
  /** Tasks the store had counted finished when the kill came (from the host's last progress report). */
  finished_tasks: number;
  pid: number;
}

export interface ChaosCheck {
  name: string;
  ok: boolean;
  detail: string;
}

export interface ChaosRunSummary {
  home: string;
  /** From the landing to the run's end (report published, outbox drained). */
  seconds: number;
  attempts: number;
  kills: ChaosKill[];
  /** Processes of a killed host still alive 30 s after it died. */
  orphans: number[];
}

export interface ChaosResult {
  options: Omit<ChaosOptions, 'log'>;
  undisturbed: ChaosRunSummary;
  disturbed: ChaosRunSummary;
  checks: ChaosCheck[];
}

const HOST_ENTRYPOINT = new URL('../dist/chaos-host.js', import.meta.url);
const HOST_READY_TIMEOUT_MS = 180_000;
const ORPHAN_DEADLINE_MS = 30_000;
/** A worker is a process running the worker's entrypoint. */
const WORKER_MAIN = /worker\/dist\/main\.js$/;

/** A forked chaos host: what it last said, and how to stop or kill it. */
class ChaosHost {
  latest: RunProgress[] = [];
  private readonly exited: Promise<void>;
  private stderrTail = '';
  private readonly ready: Promise<Extract<ChaosHostMessage, { type: 'ready' }>>;
  private factsWaiter: ((m: ChaosHostMessage) => void) | undefined;

  private constructor(
    private readonly child: ChildProcess,
    onProgress: (runs: RunProgress[]) => void,
  ) {
    this.child.stderr?.on('data', (chunk: Buffer) => {
      this.stderrTail = (this.stderrTail + chunk.toString('utf8')).slice(-4000);
    });
    this.child.stdout?.resume();
    this.exited = new Promise((resolve) => this.child.once('exit', () => resolve()));
    this.ready = new Promise((resolve, reject) => {
      this.child.on('message', (m: ChaosHostMessage) => {
        if (m.type === 'ready') resolve(m);
        else if (m.type === 'progress') {
          this.latest = m.runs;
          onProgress(m.runs);
        } else this.factsWaiter?.(m);
        if (m.type === 'error') reject(new ChaosHostFailedError(`the chaos host failed: ${m.message}`));
      });
      void this.exited.then(() => reject(new ChaosHostFailedError(`the chaos host exited (${this.child.exitCode ?? this.child.signalCode}) before it was up: ${this.stderrTail.trim().slice(-1000)}`)));
    });
    this.ready.catch(() => undefined);
  }

  static spawn(home: string, options: ChaosOptions, onProgress: (runs: RunProgress[]) => void): ChaosHost {
    const child = fork(HOST_ENTRYPOINT, ['--home', home, '--tasks', String(options.tasks), '--vcpus', String(options.vcpus)], {
      // The built host, whoever forks it (vitest's --conditions would make it load TypeScript sources).
      execArgv: [],
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    return new ChaosHost(child, onProgress);
  }

  get pid(): number {
    return this.child.pid!;
  }

  async whenReady(): Promise<Extract<ChaosHostMessage, { type: 'ready' }>> {
    return withDeadline(this.ready, HOST_READY_TIMEOUT_MS, () => new ChaosHostFailedError(`the chaos host was not up within ${HOST_READY_TIMEOUT_MS / 1000} s`));
  }

  /** Kills the host -9 and waits for it; answers the processes it had started that are still alive after {@link ORPHAN_DEADLINE_MS}. */
  async kill9(): Promise<number[]> {
    const family = descendantsOf(this.pid).map((p) => p.pid);
    this.child.kill('SIGKILL');
    await this.exited;
    const deadline = Date.now() + ORPHAN_DEADLINE_MS;
    let alive = family.filter(isAlive);
    while (alive.length > 0 && Date.now() < deadline) {
      await pause(100);
      alive = alive.filter(isAlive);
    }
    return alive;
  }

  /** The worker processes this host's compute environment is running now. */
  workers(): number[] {
    return descendantsOf(this.pid)
      .filter((p) => p.argv.some((a) => WORKER_MAIN.test(a)))
      .map((p) => p.pid);
  }

  async facts(): Promise<ChaosFacts> {
    const answer = new Promise<ChaosHostMessage>((resolve) => (this.factsWaiter = resolve));
    this.child.send({ type: 'facts' } satisfies ChaosParentMessage);
    const m = await withDeadline(answer, 120_000, () => new ChaosHostFailedError('the chaos host did not answer with its facts within 120 s'));
    if (m.type !== 'facts') throw new ChaosHostFailedError(`the chaos host could not read its facts: ${m.type === 'error' ? m.message : m.type}`);
    return m.facts;
  }

  /** SIGTERM: the platform stops cleanly. */
  async stop(): Promise<void> {
    this.child.kill('SIGTERM');
    await withDeadline(this.exited, 60_000, () => new ChaosHostFailedError('the chaos host did not stop within 60 s of SIGTERM'));
  }
}

/** Runs the undisturbed and the disturbed run, checks them, and answers both with the checks. Throws ChaosCheckFailedError when a check failed. */
export async function runChaos(options: ChaosOptions): Promise<ChaosResult> {
  const log = options.log ?? (() => undefined);
  const parent = options.tmpDir ?? tmpdir();
  log(`undisturbed run of ${options.tasks} tasks`);
  const undisturbed = await runOnce(await mkdtemp(join(parent, 'nightshift-chaos-calm-')), options, undefined, log);
  log(`undisturbed: ${undisturbed.summary.seconds.toFixed(1)} s; now with ${options.hostKills} host kills and ${options.workerKills} worker kills`);
  const plan = killPlan(options, undisturbed.summary.seconds);
  const disturbed = await runOnce(await mkdtemp(join(parent, 'nightshift-chaos-')), options, plan, log);
  const checks = chaosChecks(options, undisturbed.facts, disturbed.facts, disturbed.summary);
  const { log: _log, ...shown } = options;
  const result: ChaosResult = { options: shown, undisturbed: undisturbed.summary, disturbed: disturbed.summary, checks };
  if (!options.keepHomes) {
    await rm(undisturbed.summary.home, { recursive: true, force: true });
    await rm(disturbed.summary.home, { recursive: true, force: true });
  }
  return result;
}

/** The result as markdown for the docs: the runs, every kill, every check. */
export function formatChaosMarkdown(result: ChaosResult): string {
  const { options, undisturbed, disturbed } = result;
  const kills = disturbed.kills;
  return [
    `Chaos run (seed ${options.seed}, ${options.vcpus} vCPUs): a backtest sweep of ${options.tasks} tasks, undisturbed in ${undisturbed.seconds.toFixed(1)} s (${undisturbed.attempts} attempts); ` +
      `disturbed by ${kills.filter((k) => k.target !== 'worker').length} host kills -9 (${kills.filter((k) => k.target === 'host-starting').length} while the host was starting) and ${kills.filter((k) => k.target === 'worker').length} worker kills -9, ` +
      `in ${disturbed.seconds.toFixed(1)} s (${disturbed.attempts} attempts, **${(disturbed.seconds / undisturbed.seconds).toFixed(2)}x** the undisturbed run).`,
    '',
    '| check | result | seen |',
    '| --- | --- | --- |',
    ...result.checks.map((c) => `| ${c.name} | ${c.ok ? 'ok' : 'FAILED'} | ${c.detail.replaceAll('|', '/')} |`),
    '',
    `Kills (seconds after the landing, tasks finished then): ${kills.map((k) => `${k.at_s} ${k.target} (${k.finished_tasks})`).join(', ')}.`,
  ].join('\n');
}

/** Throws ChaosCheckFailedError naming every failed check. */
export function assertChaosChecks(result: ChaosResult): void {
  const failed = result.checks.filter((c) => !c.ok);
  if (failed.length > 0) throw new ChaosCheckFailedError(`chaos: ${failed.map((c) => `${c.name}: ${c.detail}`).join('; ')}`);
}

interface PlannedKill {
  /** Wait this long after the previous kill (or the landing) before it. */
  afterMs: number;
  target: 'host' | 'worker';
  /** Which of the running workers a worker kill takes, as a fraction of their list. */
  pick: number;
  /** A host kill while the restarted host is still starting, this long after it was spawned. */
  duringStartMs?: number;
}

/**
 * When and what to kill: the host and worker kills shuffled, spaced so that they spread over about
 * the undisturbed run's length (each kill also adds a restart and a recovery, so they end well
 * before the disturbed run does); one host kill in five hits the next host while it starts.
 */
export function killPlan(options: Pick<ChaosOptions, 'hostKills' | 'workerKills' | 'seed'>, undisturbedSeconds: number): PlannedKill[] {
  const random = mulberry32(options.seed);
  const targets: Array<'host' | 'worker'> = [...Array<'host'>(options.hostKills).fill('host'), ...Array<'worker'>(options.workerKills).fill('worker')];
  for (let i = targets.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [targets[i], targets[j]] = [targets[j]!, targets[i]!];
  }
  const meanGapMs = (undisturbedSeconds * 1000 * 0.8) / Math.max(1, targets.length);
  return targets.map((target) => ({
    afterMs: Math.round(random() * 2 * meanGapMs),
    target,
    pick: random(),
    ...(target === 'host' && random() < 0.2 ? { duringStartMs: Math.round(random() * 1500) } : {}),
  }));
}

async function runOnce(home: string, options: ChaosOptions, plan: PlannedKill[] | undefined, log: (line: string) => void): Promise<{ summary: ChaosRunSummary; facts: ChaosFacts }> {
  let finished = 0;
  const onProgress = (runs: RunProgress[]): void => {
    finished = runs.reduce((n, r) => n + r.succeeded + r.failed, 0);
  };
  let host = ChaosHost.spawn(home, options, onProgress);
  const kills: ChaosKill[] = [];
  const orphans: number[] = [];
  try {
    const ready = await host.whenReady();
    const started = performance.now();
    await land(ready);
    const at = (): number => Math.round((performance.now() - started) / 100) / 10;
    for (const kill of plan ?? []) {
      await pause(kill.afterMs);
      if (kill.target === 'worker') {
        const workers = await waitFor(() => (host.workers().length > 0 ? host.workers() : undefined), 10_000);
        if (!workers) {
          log(`  ${at()} s: no worker running to kill`);
          continue;
        }
        const pid = workers[Math.floor(kill.pick * workers.length)]!;
        process.kill(pid, 'SIGKILL');
        kills.push({ at_s: at(), target: 'worker', finished_tasks: finished, pid });
        log(`  ${at()} s: killed worker ${pid} (${finished}/${options.tasks} finished)`);
        continue;
      }
      kills.push({ at_s: at(), target: 'host', finished_tasks: finished, pid: host.pid });
      orphans.push(...(await host.kill9()));
      log(`  ${at()} s: killed host ${kills.at(-1)!.pid} (${finished}/${options.tasks} finished); restarting`);
      host = ChaosHost.spawn(home, options, onProgress);
      if (kill.duringStartMs !== undefined) {
        await pause(kill.duringStartMs);
        kills.push({ at_s: at(), target: 'host-starting', finished_tasks: finished, pid: host.pid });
        orphans.push(...(await host.kill9()));
        log(`  ${at()} s: killed host ${kills.at(-1)!.pid} while it started; restarting`);
        host = ChaosHost.spawn(home, options, onProgress);
      }
      await host.whenReady();
    }
    const ended = await waitFor(() => (host.latest.length > 0 && host.latest.every(runEnded) ? true : undefined), Math.max(600_000, options.tasks * 2_000));
    if (!ended) throw new ChaosHostFailedError(`the run did not end (last seen: ${JSON.stringify(host.latest)})`);
    const seconds = (performance.now() - started) / 1000;
    const facts = await host.facts();
    await host.stop();
    return { summary: { home, seconds, attempts: facts.tasks.attempts, kills, orphans }, facts };
  } catch (error) {
    await host.kill9().catch(() => undefined);
    throw error;
  }
}

/** A run has ended once it is terminal, its outbox is carried out and, if it succeeded, its report is published. */
function runEnded(run: RunProgress): boolean {
  return ['SUCCEEDED', 'FAILED', 'CANCELLED'].includes(run.status) && run.outboxPending === 0 && (run.status !== 'SUCCEEDED' || run.reportId !== undefined);
}

/** Sends the Dataset Landed event as an upstream system does: PutEvents through the AWS SDK with the upstream key. */
async function land(ready: Extract<ChaosHostMessage, { type: 'ready' }>): Promise<void> {
  const events = new EventBridgeClient({ endpoint: ready.eventsUrl, region: 'us-east-1', credentials: ready.credentials });
  try {
    const out = await events.send(new PutEventsCommand({ Entries: [{ Source: 'com.example.chaos', DetailType: DatasetLanded.detailType, Detail: JSON.stringify(ready.landing) }] }));
    const entry = out.Entries?.[0];
    if (!entry?.EventId) throw new ChaosHostFailedError(`PutEvents refused the landing: ${entry?.ErrorCode} ${entry?.ErrorMessage}`);
  } finally {
    events.destroy();
  }
}

/** The checks the issue asks for, each with what was seen. */
export function chaosChecks(options: Pick<ChaosOptions, 'tasks'>, calm: ChaosFacts, chaos: ChaosFacts, summary: ChaosRunSummary): ChaosCheck[] {
  const run = chaos.runs[0];
  const terminal = (type: string): number => chaos.terminal.filter((t) => t.detailType === type && t.runId === run?.runId).reduce((n, t) => n + t.events, 0);
  const strays = chaos.terminal.filter((t) => t.runId !== run?.runId);
  const hostKills = summary.kills.filter((k) => k.target !== 'worker').length;
  return [
    { name: 'one run', ok: chaos.runs.length === 1, detail: `${chaos.runs.length} run(s) of the pipeline for one landing` },
    {
      name: 'run succeeded',
      ok: run?.status === 'SUCCEEDED' && run.tasksTotal === options.tasks,
      detail: `${run?.status ?? 'no run'} with ${run?.tasksTotal ?? 0}/${options.tasks} tasks planned`,
    },
    {
      name: '0 tasks lost',
      ok: chaos.tasks.total === options.tasks && chaos.tasks.succeeded === options.tasks && chaos.steps.succeeded === options.tasks && chaos.steps.failed === 0,
      detail: `${chaos.tasks.succeeded}/${options.tasks} task records SUCCEEDED, step counts ${chaos.steps.succeeded} succeeded / ${chaos.steps.failed} failed${chaos.tasks.notSucceeded.length ? `; e.g. ${chaos.tasks.notSucceeded.join(', ')}` : ''}`,
    },
    {
      name: '0 duplicate results committed',
      ok: chaos.tasks.withSeveralSuccesses.length === 0 && chaos.outputs.entries === options.tasks && chaos.outputs.distinctTasks === options.tasks,
      detail: `${chaos.tasks.withSeveralSuccesses.length} task(s) with more than one successful attempt; outputs listing ${chaos.outputs.entries} entries for ${chaos.outputs.distinctTasks} distinct tasks`,
    },
    {
      name: 'exactly one terminal event per run',
      ok: terminal(RunSucceeded.detailType) === 1 && terminal(RunFailed.detailType) === 0 && terminal(ReportPublished.detailType) === 1 && strays.length === 0,
      detail: `Run Succeeded ${terminal(RunSucceeded.detailType)}, Run Failed ${terminal(RunFailed.detailType)}, Report Published ${terminal(ReportPublished.detailType)} (distinct events; deliveries ${chaos.terminal.reduce((n, t) => n + t.deliveries, 0)}); ${strays.length} for other runs`,
    },
    {
      name: 'report equal to the undisturbed run',
      ok: calm.report !== undefined && isDeepStrictEqual(calm.report, chaos.report),
      detail: calm.report === undefined ? 'the undisturbed run has no report' : isDeepStrictEqual(calm.report, chaos.report) ? 'equal (sections, headline, partitions, task counts)' : `differs: ${firstDifference(calm.report, chaos.report)}`,
    },
    { name: 'no process outlives its host', ok: summary.orphans.length === 0, detail: `${summary.orphans.length} process(es) of killed hosts alive ${ORPHAN_DEADLINE_MS / 1000} s later` },
    { name: 'kills carried out', ok: hostKills >= 1 || summary.kills.length === 0, detail: `${hostKills} host kill(s) (${summary.kills.filter((k) => k.target === 'host-starting').length} while starting), ${summary.kills.filter((k) => k.target === 'worker').length} worker kill(s)` },
  ];
}

function firstDifference(a: unknown, b: unknown, path = '$'): string {
  if (isDeepStrictEqual(a, b)) return '';
  if (a && b && typeof a === 'object' && typeof b === 'object') {
    for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
      const d = firstDifference((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], `${path}.${k}`);
      if (d) return d;
    }
  }
  return `${path}: ${JSON.stringify(a)?.slice(0, 120)} vs ${JSON.stringify(b)?.slice(0, 120)}`;
}

/** Polls `probe` every 200 ms until it answers something, or `timeoutMs` passes (then undefined). */
async function waitFor<T>(probe: () => T | undefined, timeoutMs: number): Promise<T | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) return undefined;
    await pause(200);
  }
}

const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function withDeadline<T>(p: Promise<T>, ms: number, error: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(error()), ms)))]).finally(() => clearTimeout(timer));
}

/** A small seeded PRNG (mulberry32): the same seed, the same kill plan. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
