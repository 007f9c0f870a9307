import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { RedisEndpoint } from './bench-bullmq.js';
import type { NightshiftThroughputFigure } from './bench-nightshift.js';
import { profile, saveProfile, summarizeProfile, type ProfileSummary } from './bench-profile.js';
import { type LatencyFigure, type TaskShape, type ThroughputFigure } from './bench-stats.js';
import { BenchCheckFailedError, BenchTimeoutError, BenchUnavailableError } from './errors.js';

/*
 * Each figure of the control-plane bench is measured in a fresh Node process of its own, started by
 * the bench and told what to measure over IPC: one side, one figure, then it stops what it started
 * and exits. A side never shares a process with the other side, or with an earlier figure: fork()
 * copies the parent's page tables, so spawning a task costs more in a larger process, and a platform
 * left running (its sweeps, its queues' polling) would be charged to whatever runs next to it.
 */

/** What one side process measures. */
export type SideWork =
  | { kind: 'nightshift-throughput'; tasks: number; timeoutMs: number; profile?: { out?: string } }
  | { kind: 'nightshift-latency'; runs: number; timeoutMs: number }
  | { kind: 'bullmq-throughput'; redis: RedisEndpoint; tasks: number; timeoutMs: number; profile?: { out?: string } }
  | { kind: 'bullmq-latency'; redis: RedisEndpoint; runs: number; timeoutMs: number };

/** How every figure is measured. */
export interface SideSettings {
  shape: TaskShape;
  /** Parent of the side's temporary directories (the platform's home). */
  dir: string;
  /** Unmeasured runs first: tasks of a warm-up run, or one-task runs before a latency figure. */
  warmup: number;
}

export type SideRequest = SideWork & SideSettings;

export type SideResult =
  | { kind: 'throughput'; figure: ThroughputFigure | NightshiftThroughputFigure; profile?: ProfileSummary }
  | { kind: 'nightshift-latency'; landed: LatencyFigure; api: LatencyFigure }
  | { kind: 'bullmq-latency'; figure: LatencyFigure };

type SideReply = { ok: true; result: SideResult } | { ok: false; name: string; message: string };

const ENTRY = fileURLToPath(new URL('./bench-side-process.js', import.meta.url));
/** The marker argument that makes this module serve one request (it is also imported by the bench itself). */
const SIDE_ARG = '--nightshift-bench-side';
/** How long a side has to stop what it started after SIGTERM before it is killed. */
const STOP_GRACE_MS = 30_000;

const running = new Set<ChildProcess>();

/**
 * Measures `request` in a new process and returns what it measured. Rejects with the side's own
 * error class (BenchUnavailableError, BenchCheckFailedError, BenchTimeoutError) when it failed, and
 * with BenchTimeoutError when it did not answer within `boundMs` (it is then stopped: SIGTERM, and
 * SIGKILL if it has not stopped its platform 30 s later).
 */
export function measureInSideProcess(request: SideRequest, boundMs: number, log: (line: string) => void): Promise<SideResult> {
  return new Promise((resolve, reject) => {
    // No inherited --inspect/--cpu-prof flags: the side is measured as a plain process.
    const child = fork(ENTRY, [SIDE_ARG], { execArgv: [], stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
    running.add(child);
    let stderr = '';
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-4_000);
      for (const line of chunk.split('\n')) if (line.startsWith('bench: ')) log(line.slice('bench: '.length));
    });
    let settled = false;
    const settle = (outcome: SideResult | Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (outcome instanceof Error) reject(outcome);
      else resolve(outcome);
    };
    const timer = setTimeout(() => {
      void stopSide(child);
      settle(new BenchTimeoutError(`${request.kind}: no answer within ${Math.round(boundMs / 1000)} s`));
    }, boundMs);
    child.on('message', (reply: SideReply) => {
      if (reply.ok) settle(reply.result);
      else settle(errorOf(reply));
    });
    child.once('exit', (code, signal) => {
      running.delete(child);
      settle(new BenchCheckFailedError(`${request.kind}: the side process exited (${signal ?? `code ${code}`}) without an answer: ${lastLines(stderr)}`));
    });
    child.once('error', (error) => settle(error));
    child.send(request);
  });
}

/** Stops every side process still running (Ctrl-C, or a bench that gave up on one). */
export async function stopSideProcesses(): Promise<void> {
  await Promise.all([...running].map((child) => stopSide(child)));
}

function stopSide(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const kill = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
    child.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    // The side stops its platform (and so its DynamoDB server and workers) on SIGTERM.
    child.kill('SIGTERM');
  });
}

function errorOf(reply: { name: string; message: string }): Error {
  if (reply.name === 'BenchUnavailableError') return new BenchUnavailableError(reply.message);
  if (reply.name === 'BenchTimeoutError') return new BenchTimeoutError(reply.message);
  return new BenchCheckFailedError(reply.message);
}

function lastLines(text: string): string {
  return text.trim().split('\n').slice(-5).join(' | ') || 'no output';
}

/**
 * Serves one request in this process. Each side's code is loaded only for its own requests, so a
 * BullMQ process holds BullMQ and not the platform.
 */
async function serve(request: SideRequest): Promise<SideResult> {
  const { shape, warmup, timeoutMs } = request;
  switch (request.kind) {
    case 'nightshift-throughput': {
      const { NightshiftSide } = await import('./bench-nightshift.js');
      const side = await NightshiftSide.start(request.dir, [warmup, request.tasks], shape);
      const unregister = stopOnSignal(() => side.stop());
      try {
        await side.throughput(warmup, timeoutMs);
        return await measured(() => side.throughput(request.tasks, timeoutMs), request.profile);
      } finally {
        await side.stop();
        unregister();
      }
    }
    case 'nightshift-latency': {
      const { NightshiftSide } = await import('./bench-nightshift.js');
      const side = await NightshiftSide.start(request.dir, [], shape);
      const unregister = stopOnSignal(() => side.stop());
      try {
        const landed = await side.latency('landed', request.runs, warmup, timeoutMs);
        const api = await side.latency('api', request.runs, warmup, timeoutMs);
        return { kind: 'nightshift-latency', landed, api };
      } finally {
        await side.stop();
        unregister();
      }
    }
    case 'bullmq-throughput': {
      const { BullmqSide } = await import('./bench-bullmq.js');
      const side = await BullmqSide.open(request.redis, shape);
      await side.throughput(warmup, timeoutMs);
      return measured(() => side.throughput(request.tasks, timeoutMs), request.profile);
    }
    case 'bullmq-latency': {
      const { BullmqSide } = await import('./bench-bullmq.js');
      const side = await BullmqSide.open(request.redis, shape);
      return { kind: 'bullmq-latency', figure: await side.latency(request.runs, warmup, timeoutMs) };
    }
  }
}

/** The figure, or with `profiled` the figure of a run sampled by the profiler and where its time went. */
async function measured(run: () => Promise<ThroughputFigure>, profiled: { out?: string } | undefined): Promise<SideResult> {
  if (!profiled) return { kind: 'throughput', figure: await run() };
  const { result, profile: cpuProfile } = await profile(run);
  if (profiled.out) await saveProfile(profiled.out, cpuProfile);
  return { kind: 'throughput', figure: result, profile: summarizeProfile(cpuProfile) };
}

/** Stops what the side started when told to (SIGTERM, Ctrl-C) or when the bench goes away; returns the unregistration. */
function stopOnSignal(stop: () => Promise<void>): () => void {
  const onSignal = (): void => {
    void stop().finally(() => process.exit(130));
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  process.once('disconnect', onSignal);
  return () => {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
    process.off('disconnect', onSignal);
  };
}

if (process.argv.includes(SIDE_ARG) && process.send) {
  process.once('message', (request: SideRequest) => {
    serve(request)
      .then(
        (result): SideReply => ({ ok: true, result }),
        (error: unknown): SideReply => ({ ok: false, name: error instanceof Error ? error.name : 'Error', message: error instanceof Error ? error.message : String(error) }),
      )
      .then((reply) =>
        process.send!(reply, () => {
          process.disconnect();
          // Everything this process started is stopped by now; do not let a forgotten handle keep it.
          setTimeout(() => process.exit(0), 5_000).unref();
        }),
      )
      .catch((error: unknown) => {
        process.stderr.write(`bench side: ${String(error)}\n`);
        process.exitCode = 1;
      });
  });
}
