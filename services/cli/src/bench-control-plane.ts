import { rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { assertBullmqInstalled, findRedisServer, type RedisPersistence, type RedisServer, startRedisServer } from './bench-bullmq.js';
import type { NightshiftThroughputFigure } from './bench-nightshift.js';
import type { ProfileSummary } from './bench-profile.js';
import { measureInSideProcess, type SideResult, type SideWork, stopSideProcesses } from './bench-side-process.js';
import { type LatencyFigure, PLATFORM_VCPUS, STEP_VCPUS, type TaskShape, type ThroughputFigure } from './bench-stats.js';
import { docsMarkers } from './docs-block.js';
import { BenchCheckFailedError, BenchUnavailableError } from './errors.js';

export interface ControlPlaneBenchOptions {
  /** Children of the throughput runs (default 1,000 and 10,000); 1..10,000 each. */
  children: number[];
  /** One-task runs of each latency figure (default 200). */
  latencyRuns: number;
  /** Unmeasured runs before each latency figure, and the size of the unmeasured throughput warm-up run (default 10). */
  warmupRuns: number;
  /** Children of the separate, profiled run (default the largest of `children`); 0 skips it. */
  profileChildren: number;
  /** Which sides to measure (default both); figures then have no ratio for the side left out. */
  sides: { nightshift: boolean; bullmq: boolean };
  /** The redis-server binary; default `redis-server` on the PATH. Without one the BullMQ side is skipped. */
  redisServer?: string;
  /** Parent of the temporary directories (platform home, redis data); all deleted at the end. */
  tmpDir?: string;
  /** Also write the nightshift profile here (a `.cpuprofile` for Chrome DevTools). */
  profileOut?: string;
  log?: (line: string) => void;
}

export const DEFAULT_CONTROL_PLANE_OPTIONS: ControlPlaneBenchOptions = {
  children: [1_000, 10_000],
  latencyRuns: 200,
  warmupRuns: 10,
  profileChildren: 10_000,
  sides: { nightshift: true, bullmq: true },
};

/** The task both sides run: a fresh `true` process (not a Node program), as many at once as nightshift's slots, 2 attempts. */
export const TASK_SHAPE: TaskShape = { command: ['true'], concurrency: Math.floor(PLATFORM_VCPUS / STEP_VCPUS), attempts: 2 };

/** Upper bound of one throughput run: 60 s plus 50 ms per task (10,000 tasks: 560 s), room for a loaded machine. */
const throughputTimeoutMs = (tasks: number): number => 60_000 + 50 * tasks;
const LATENCY_RUN_TIMEOUT_MS = 30_000;

export interface BullmqConfigFigures {
  persistence: RedisPersistence;
  redis_version: string;
  throughput: ThroughputFigure[];
  latency?: LatencyFigure;
}

export interface ControlPlaneBenchResult {
  machine: { cpus: number; node: string; loadavg_start: number[]; loadavg_end: number[]; started_at: string };
  task: TaskShape & { platform_vcpus: number; step_vcpus: number };
  nightshift: {
    /** Why the nightshift side did not run, when it did not. */
    skipped?: string;
    throughput: NightshiftThroughputFigure[];
    latency_landed?: LatencyFigure;
    latency_api?: LatencyFigure;
    profile?: { tasks: number; seconds: number; summary: ProfileSummary; server_cpu_ms: number; process_cpu_ms: number; helpers_ms?: Record<string, number> };
  };
  bullmq: {
    /** Why the BullMQ side did not run, when it did not. */
    skipped?: string;
    configs: BullmqConfigFigures[];
    profile?: { tasks: number; persistence: RedisPersistence; seconds: number; summary: ProfileSummary };
  };
  /** The goals, each with the figure it is read from. */
  targets: Target[];
  /** Measurements that failed (the others are still reported); the command exits 1 when there are any. */
  errors: string[];
}

export interface Target {
  goal: string;
  value: string;
  met: boolean | undefined;
}

/**
 * `nightshift bench --control-plane`: the embedded platform against BullMQ on a local
 * redis-server, same task (a fresh `true` process), same job counts, concurrency and attempts.
 * Every figure is measured in a fresh process of its own (see bench-side-process.ts), and the
 * figures are interleaved side by side, so that a change in the machine's load hits both sides
 * alike. Everything it starts (side processes, redis servers, and through the sides the platform)
 * is stopped and its directories deleted at the end, also on Ctrl-C; every wait is bounded.
 */
export async function runControlPlaneBench(options: ControlPlaneBenchOptions): Promise<ControlPlaneBenchResult> {
  const log = options.log ?? ((): void => undefined);
  const dir = await mkdtemp(join(options.tmpDir ?? tmpdir(), 'nightshift-bench-cp-'));
  const result: ControlPlaneBenchResult = {
    machine: { cpus: availableParallelism(), node: process.version, loadavg_start: loadavg(), loadavg_end: [], started_at: new Date().toISOString() },
    task: { ...TASK_SHAPE, platform_vcpus: PLATFORM_VCPUS, step_vcpus: STEP_VCPUS },
    nightshift: { throughput: [] },
    bullmq: { configs: [] },
    targets: [],
    errors: [],
  };
  const redisServers: RedisServer[] = [];
  const stopAll = async (): Promise<void> => {
    await stopSideProcesses();
    for (const redis of redisServers.splice(0)) await redis.stop().catch((e: unknown) => log(`could not stop redis-server: ${String(e)}`));
  };
  // Ctrl-C: stop the sides and the servers and delete the directories before exiting.
  const onSignal = (): void => {
    void stopAll().finally(() => {
      rmSync(dir, { recursive: true, force: true });
      process.exit(130);
    });
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const warmup = Math.max(1, options.warmupRuns);
  /** Measures one figure in its own process; a failure is recorded and the bench goes on with the next figure. */
  const measure = async (what: string, work: SideWork, boundMs: number): Promise<SideResult | undefined> => {
    try {
      return await measureInSideProcess({ ...work, shape: TASK_SHAPE, dir, warmup }, boundMs, log);
    } catch (error) {
      const message = `${what}: ${error instanceof Error ? error.message : String(error)}`;
      result.errors.push(message);
      log(`FAILED ${message}`);
      return undefined;
    }
  };

  try {
    if (!options.sides.nightshift) result.nightshift.skipped = 'not asked for (--sides)';
    if (!options.sides.bullmq) {
      result.bullmq.skipped = 'not asked for (--sides)';
    } else {
      try {
        await assertBullmqInstalled();
        const redisBinary = findRedisServer(options.redisServer);
        if (redisBinary === undefined) {
          throw new BenchUnavailableError(`${options.redisServer ?? 'redis-server'} cannot be run: not installed? (Debian: apt-get install -y redis-server)`);
        }
        for (const persistence of ['aof-fsync-always', 'none'] as const) redisServers.push(await startRedisServer(redisBinary, persistence, dir));
      } catch (error) {
        if (!(error instanceof BenchUnavailableError)) throw error;
        result.bullmq.skipped = `${error.message}; the BullMQ baseline was not measured`;
        for (const redis of redisServers.splice(0)) await redis.stop();
        log(`BullMQ skipped: ${result.bullmq.skipped}`);
      }
    }
    result.bullmq.configs = redisServers.map((redis) => ({ persistence: redis.persistence, redis_version: redis.version, throughput: [] }));
    const endpoint = (redis: RedisServer) => ({ host: redis.host, port: redis.port, pid: redis.pid, persistence: redis.persistence, version: redis.version });

    for (const tasks of options.children) {
      log(`throughput: ${tasks} tasks (after a warm-up run of ${warmup}), each side in a fresh process`);
      const timeoutMs = throughputTimeoutMs(tasks);
      if (options.sides.nightshift) {
        const r = await measure(`nightshift ${tasks} tasks`, { kind: 'nightshift-throughput', tasks, timeoutMs }, 2 * timeoutMs);
        if (r?.kind === 'throughput') {
          const figure = r.figure as NightshiftThroughputFigure;
          result.nightshift.throughput.push(figure);
          log(`nightshift: ${tasks} tasks in ${figure.seconds.toFixed(2)} s (${figure.store.writes_per_task.toFixed(2)} store writes per task)`);
        }
      }
      for (const [i, redis] of redisServers.entries()) {
        const r = await measure(`bullmq (${redis.persistence}) ${tasks} jobs`, { kind: 'bullmq-throughput', redis: endpoint(redis), tasks, timeoutMs }, 2 * timeoutMs);
        if (r?.kind === 'throughput') {
          result.bullmq.configs[i]!.throughput.push(r.figure);
          log(`bullmq (${redis.persistence}): ${tasks} jobs in ${r.figure.seconds.toFixed(2)} s`);
        }
      }
    }

    log(`latency: ${options.latencyRuns} one-task runs per figure, one at a time`);
    // Per run 30 s at most; the whole figure (warm-up included, both nightshift paths) within 60 s + 2 s a run.
    const latencyBoundMs = 60_000 + 2 * 2_000 * (warmup + options.latencyRuns);
    if (options.sides.nightshift) {
      const r = await measure('nightshift latency', { kind: 'nightshift-latency', runs: options.latencyRuns, timeoutMs: LATENCY_RUN_TIMEOUT_MS }, latencyBoundMs);
      if (r?.kind === 'nightshift-latency') {
        result.nightshift.latency_landed = r.landed;
        result.nightshift.latency_api = r.api;
        log(`nightshift: p50 ${r.landed.p50_ms} ms (Dataset Landed), ${r.api.p50_ms} ms (POST /runs)`);
      }
    }
    for (const [i, redis] of redisServers.entries()) {
      const r = await measure(`bullmq (${redis.persistence}) latency`, { kind: 'bullmq-latency', redis: endpoint(redis), runs: options.latencyRuns, timeoutMs: LATENCY_RUN_TIMEOUT_MS }, latencyBoundMs);
      if (r?.kind === 'bullmq-latency') {
        result.bullmq.configs[i]!.latency = r.figure;
        log(`bullmq (${redis.persistence}): p50 ${r.figure.p50_ms.toFixed(1)} ms`);
      }
    }

    if (options.profileChildren > 0) {
      const tasks = options.profileChildren;
      const timeoutMs = 2 * throughputTimeoutMs(tasks);
      log(`profile: a separate run of ${tasks} tasks on each side, sampled (not timed)`);
      if (options.sides.nightshift) {
        const profile = options.profileOut ? { out: options.profileOut } : {};
        const r = await measure('nightshift profile', { kind: 'nightshift-throughput', tasks, timeoutMs, profile }, 2 * timeoutMs);
        if (r?.kind === 'throughput' && r.profile) {
          result.nightshift.profile = {
            tasks,
            seconds: r.figure.seconds,
            summary: r.profile,
            server_cpu_ms: r.figure.cpu.server_ms,
            process_cpu_ms: r.figure.cpu.process_ms,
            ...(r.figure.cpu.helpers_ms ? { helpers_ms: r.figure.cpu.helpers_ms } : {}),
          };
        }
      }
      const redis = redisServers[0];
      if (redis) {
        const r = await measure('bullmq profile', { kind: 'bullmq-throughput', redis: endpoint(redis), tasks, timeoutMs, profile: {} }, 2 * timeoutMs);
        if (r?.kind === 'throughput' && r.profile) result.bullmq.profile = { tasks, persistence: redis.persistence, seconds: r.figure.seconds, summary: r.profile };
      }
    }
  } finally {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    await stopAll();
    await rm(dir, { recursive: true, force: true });
  }
  result.machine.loadavg_end = loadavg();
  result.targets = targets(result);
  return result;
}

/** Throws when a measurement failed (after the figures were printed, so they are not lost). */
export function assertControlPlaneChecks(result: ControlPlaneBenchResult): void {
  if (result.errors.length > 0) throw new BenchCheckFailedError(`${result.errors.length} measurement(s) failed, first: ${result.errors[0]}`);
}

/** The goals, read from the figures (a goal whose figure is missing is undecided). */
export function targets(r: ControlPlaneBenchResult): Target[] {
  const out: Target[] = [];
  const fig = (tasks: number): NightshiftThroughputFigure | undefined => r.nightshift.throughput.find((f) => f.jobs === tasks);
  for (const [tasks, limit] of [
    [10_000, 60],
    [1_000, 6],
  ] as const) {
    const f = fig(tasks);
    out.push({ goal: `${n(tasks)} tasks planned, run and reported in < ${limit} s`, value: f ? `${f.seconds.toFixed(2)} s` : 'not measured', met: f ? f.seconds < limit : undefined });
  }
  const sorted = [...r.nightshift.throughput].sort((a, b) => a.jobs - b.jobs);
  if (sorted.length >= 2) {
    const small = sorted[0]!;
    const large = sorted.at(-1)!;
    const growth = large.seconds / large.jobs / (small.seconds / small.jobs);
    out.push({
      goal: `cost linear in the tasks: time per task at ${n(large.jobs)} / at ${n(small.jobs)} <= 1.25`,
      value: `${growth.toFixed(2)} (${((small.seconds / small.jobs) * 1000).toFixed(2)} -> ${((large.seconds / large.jobs) * 1000).toFixed(2)} ms per task)`,
      met: growth <= 1.25,
    });
  }
  for (const f of sorted) {
    out.push({ goal: `about one store write per task (<= 1.5) at ${n(f.jobs)}`, value: f.store.writes_per_task.toFixed(2), met: f.store.writes_per_task <= 1.5 });
  }
  for (const [label, l] of [
    ['Dataset Landed', r.nightshift.latency_landed],
    ['POST /runs', r.nightshift.latency_api],
  ] as const) {
    out.push({ goal: `event -> task RUNNING p50 < 15 ms (${label})`, value: l ? `${l.p50_ms.toFixed(1)} ms` : 'not measured', met: l ? l.p50_ms < 15 : undefined });
    out.push({ goal: `event -> task RUNNING p99 < 50 ms (${label})`, value: l ? `${l.p99_ms.toFixed(1)} ms` : 'not measured', met: l ? l.p99_ms < 50 : undefined });
  }
  for (const f of sorted) out.push({ goal: `control-plane CPU per task < 15 ms at ${n(f.jobs)}`, value: `${f.cpu_ms_per_task.toFixed(2)} ms`, met: f.cpu_ms_per_task < 15 });
  for (const config of r.bullmq.configs) {
    for (const f of sorted) {
      const b = config.throughput.find((x) => x.jobs === f.jobs);
      const ratio = b ? f.tasks_per_second / b.tasks_per_second : undefined;
      out.push({
        goal: `no-op tasks/s >= 2x BullMQ's fresh-process rate (${PERSISTENCE_LABEL[config.persistence]}) at ${n(f.jobs)}`,
        value: ratio === undefined ? 'not measured' : `${ratio.toFixed(2)}x`,
        met: ratio === undefined ? undefined : ratio >= 2,
      });
    }
  }
  return out;
}

export const PERSISTENCE_LABEL: Record<RedisPersistence, string> = { 'aof-fsync-always': 'redis AOF, fsync always', none: 'redis, no persistence' };

const n = (x: number): string => x.toLocaleString('en-US');
/** `name 12 ms, name 3 ms`, or the total when the split is unknown. */
const helperCpu = (each: Record<string, number> | undefined, total: number, digits = 0): string =>
  each && Object.keys(each).length > 0
    ? Object.entries(each)
        .map(([name, ms]) => `${name} ${digits === 0 ? n(Math.round(ms)) : ms.toFixed(digits)} ms`)
        .join(', ')
    : `${digits === 0 ? n(Math.round(total)) : total.toFixed(digits)} ms`;
const perTask = (each: Record<string, number>, tasks: number): Record<string, number> => Object.fromEntries(Object.entries(each).map(([k, v]) => [k, v / tasks]));
const ms = (x: number): string => `${x.toFixed(1)} ms`;
const pct = (x: number): string => `${(x * 100).toFixed(1)}%`;
const ratio = (a: number, b: number | undefined): string => (b === undefined || b === 0 ? '-' : `${(a / b).toFixed(2)}x`);

/** The figures as markdown tables: printed by the bench and written between the markers of docs/performance.md. */
export function formatControlPlaneMarkdown(r: ControlPlaneBenchResult): string {
  const lines: string[] = [];
  const load = (l: number[]): string => l.map((x) => x.toFixed(2)).join(' ');
  lines.push(
    `Measured ${r.machine.started_at.slice(0, 16).replace('T', ' ')} UTC: ${r.machine.cpus} CPUs, Node ${r.machine.node}, load average ${load(r.machine.loadavg_start)} at the start, ${load(r.machine.loadavg_end)} at the end. ` +
      `Task: \`${r.task.command.join(' ')}\`, a fresh process each; ${r.task.concurrency} at once (${r.task.platform_vcpus} vCPUs / ${r.task.step_vcpus} per task); ${r.task.attempts} attempts.` +
      (r.bullmq.configs[0] ? ` BullMQ 6.7.0 on redis-server ${r.bullmq.configs[0].redis_version}, started by the bench on 127.0.0.1.` : ''),
    '',
  );
  if (r.nightshift.skipped) lines.push(`nightshift side skipped: ${r.nightshift.skipped}.`, '');
  if (r.bullmq.skipped) lines.push(`BullMQ side skipped: ${r.bullmq.skipped}.`, '');

  lines.push('### Throughput: N no-op tasks started by one event', '');
  lines.push(
    '| tasks | side | wall | tasks/s | nightshift tasks/s vs this | CPU ms/task (process + helpers) | write syscalls/task (process + helpers) | RSS of the side\'s process | store writes/task |',
    '|---:|---|---:|---:|---:|---:|---:|---:|---:|',
  );
  const tasksCounts = [...new Set([...r.nightshift.throughput.map((f) => f.jobs), ...r.bullmq.configs.flatMap((c) => c.throughput.map((f) => f.jobs))])].sort((a, b) => a - b);
  for (const tasks of tasksCounts) {
    const f = r.nightshift.throughput.find((x) => x.jobs === tasks);
    const cpu = (t: ThroughputFigure): string => `${t.cpu_ms_per_task.toFixed(2)} (${(t.cpu.process_ms / t.jobs).toFixed(2)} + ${(t.cpu.server_ms / t.jobs).toFixed(2)})`;
    const writes = (t: ThroughputFigure): string => (t.write_syscalls_per_task ? `${t.write_syscalls_per_task.process.toFixed(1)} + ${t.write_syscalls_per_task.server.toFixed(1)}` : '-');
    const rss = (t: ThroughputFigure): string => `${n(Math.round(t.rss_mb))} MB`;
    if (f) lines.push(`| ${n(tasks)} | nightshift (embedded) | ${f.seconds.toFixed(2)} s | ${f.tasks_per_second.toFixed(0)} | 1.00x | ${cpu(f)} | ${writes(f)} | ${rss(f)} | ${f.store.writes_per_task.toFixed(2)} |`);
    for (const c of r.bullmq.configs) {
      const b = c.throughput.find((x) => x.jobs === tasks);
      if (b) {
        const vs = f ? ratio(f.tasks_per_second, b.tasks_per_second) : '-';
        lines.push(`| ${n(tasks)} | BullMQ, ${PERSISTENCE_LABEL[c.persistence]} | ${b.seconds.toFixed(2)} s | ${b.tasks_per_second.toFixed(0)} | ${vs} | ${cpu(b)} | ${writes(b)} | ${rss(b)} | - |`);
      }
    }
  }
  lines.push('');
  const helperNames = [...new Set([...r.nightshift.throughput, ...r.bullmq.configs.flatMap((c) => c.throughput)].flatMap((t) => t.helpers ?? []))];
  if (helperNames.length > 0) lines.push(`Helper processes counted: ${helperNames.join(', ')}.`, '');
  for (const f of r.nightshift.throughput) {
    if (f.cpu.helpers_ms) lines.push(`- nightshift ${n(f.jobs)} tasks, helper CPU per task: ${helperCpu(perTask(f.cpu.helpers_ms, f.jobs), f.cpu.server_ms / f.jobs, 2)}`);
  }
  if (r.nightshift.throughput.some((f) => f.cpu.helpers_ms)) lines.push('');
  if (r.nightshift.throughput.length > 0) {
    lines.push('nightshift runs, from the PutEvents call (s): run created (planned) / first task started / run finished / report received; DynamoDB requests by operation:', '');
    for (const f of r.nightshift.throughput) {
      const p = f.phases_s;
      const s = (x: number | undefined): string => (x === undefined ? '-' : x.toFixed(2));
      const ops = Object.entries(f.store.by_operation)
        .sort((a, b) => b[1] - a[1])
        .map(([op, count]) => `${op} ${n(count)}`)
        .join(', ');
      lines.push(`- ${n(f.jobs)} tasks: ${s(p.planned)} / ${s(p.first_task_started)} / ${s(p.finished)} / ${s(p.reported)}; ${n(f.store.writes)} writes + ${n(f.store.reads)} reads (${ops})`);
    }
    lines.push('');
  }

  lines.push('### Latency: one-task runs, one at a time, event -> task RUNNING', '');
  lines.push('| side | from | runs | p50 | p90 | p99 | max | CPU ms per run | nightshift p50 vs this |', '|---|---|---:|---:|---:|---:|---:|---:|---:|');
  const ref = r.nightshift.latency_landed;
  const latencyRow = (side: string, from: string, l: LatencyFigure | undefined): void => {
    if (l) lines.push(`| ${side} | ${from} | ${l.runs} | ${ms(l.p50_ms)} | ${ms(l.p90_ms)} | ${ms(l.p99_ms)} | ${ms(l.max_ms)} | ${l.cpu_ms_per_run.toFixed(1)} | ${ref ? ratio(ref.p50_ms, l.p50_ms) : '-'} |`);
  };
  latencyRow('nightshift', 'Dataset Landed PutEvents call -> task startedAt', r.nightshift.latency_landed);
  latencyRow('nightshift', 'POST /runs call -> task startedAt', r.nightshift.latency_api);
  for (const c of r.bullmq.configs) {
    latencyRow(`BullMQ, ${PERSISTENCE_LABEL[c.persistence]}`, "queue.add call -> child 'spawn'", c.latency);
    if (c.latency?.to_processor) latencyRow(`BullMQ, ${PERSISTENCE_LABEL[c.persistence]}`, 'queue.add call -> processor called', { ...c.latency.to_processor, cpu_ms_per_run: c.latency.cpu_ms_per_run });
  }
  lines.push('');
  const split = (label: string, l: LatencyFigure | undefined): void => {
    const p = l?.phases_p50_ms;
    if (p) lines.push(`- nightshift, ${label}, medians: event -> run created (planned) ${ms(p['event_to_run_created'] ?? 0)}, run created -> task RUNNING ${ms(p['run_created_to_task_running'] ?? 0)}`);
  };
  split('Dataset Landed', r.nightshift.latency_landed);
  split('POST /runs', r.nightshift.latency_api);
  if (r.nightshift.latency_landed?.phases_p50_ms || r.nightshift.latency_api?.phases_p50_ms) lines.push('');

  const profiles: Array<[string, { tasks: number; seconds: number; summary: ProfileSummary }]> = [];
  if (r.nightshift.profile) profiles.push(['nightshift', r.nightshift.profile]);
  if (r.bullmq.profile) profiles.push([`BullMQ, ${PERSISTENCE_LABEL[r.bullmq.profile.persistence]}`, r.bullmq.profile]);
  for (const [side, p] of profiles) {
    lines.push(`### Where the time goes: ${side}, profiled run of ${n(p.tasks)} tasks (${p.seconds.toFixed(2)} s with the profiler on)`, '');
    lines.push(`Main thread sampled every 1 ms: ${n(Math.round(p.summary.busy_ms))} ms busy, ${n(Math.round(p.summary.idle_ms))} ms idle.`);
    if (side === 'nightshift' && r.nightshift.profile) {
      const np = r.nightshift.profile;
      lines.push(
        `Whole-process CPU in that run (all threads: main, libuv pool, GC helpers): ${n(Math.round(np.process_cpu_ms))} ms; its helper processes (from /proc): ${helperCpu(np.helpers_ms, np.server_cpu_ms)}.`,
      );
    }
    lines.push('', '| bucket | ms | share of busy |', '|---|---:|---:|');
    for (const b of p.summary.buckets.slice(0, 14)) lines.push(`| ${b.bucket} | ${n(Math.round(b.ms))} | ${pct(b.share)} |`);
    lines.push('', 'Top self time:', '');
    for (const t of p.summary.top_functions.slice(0, 8)) lines.push(`- ${t.frame.replaceAll('|', '\\|')}: ${n(Math.round(t.ms))} ms (${pct(t.share)})`);
    lines.push('');
  }

  lines.push('### Goals', '', '| goal | figure | met |', '|---|---:|---|');
  for (const t of r.targets) lines.push(`| ${t.goal} | ${t.value} | ${t.met === undefined ? '-' : t.met ? 'yes' : 'no'} |`);
  if (r.errors.length > 0) lines.push('', 'Failed measurements:', '', ...r.errors.map((e) => `- ${e}`));
  lines.push('');
  return lines.join('\n');
}

export const { begin: DOCS_BEGIN, end: DOCS_END } = docsMarkers('control-plane');
