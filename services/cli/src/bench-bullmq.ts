import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import type { Job, Queue, Worker } from 'bullmq';
import { BenchTimeoutError, BenchUnavailableError } from './errors.js';
import { cpuSample, cpuSince, type LatencyFigure, percentiles, type TaskShape, type ThroughputFigure, writesSince } from './bench-stats.js';

/**
 * The side-by-side baseline of the control-plane bench: BullMQ (a Queue and a Worker in this
 * process) on a `redis-server` the bench starts on a loopback port, each job spawning a fresh
 * process and waiting for it, with the same job count, concurrency and attempts as nightshift.
 */

/** How the bench's redis-server persists: AOF with an fsync per write (as durable as nightshift's bus), or not at all. */
export type RedisPersistence = 'aof-fsync-always' | 'none';

export const REDIS_PERSISTENCE_ARGS: Record<RedisPersistence, string[]> = {
  'aof-fsync-always': ['--appendonly', 'yes', '--appendfsync', 'always', '--save', ''],
  none: ['--appendonly', 'no', '--save', ''],
};

/** Where a redis-server listens, and its process (whose CPU the bench reads). */
export interface RedisEndpoint {
  host: '127.0.0.1';
  port: number;
  pid: number;
  persistence: RedisPersistence;
  version: string;
}

/** A redis-server started by the bench. */
export interface RedisServer extends RedisEndpoint {
  /** Stops the server (SIGTERM, then SIGKILL after 5 s) and deletes its directory. Idempotent. */
  stop(): Promise<void>;
}

/**
 * The redis-server to start: `binary` when given, else `redis-server` as the PATH resolves it;
 * undefined when it cannot be run (not installed).
 */
export function findRedisServer(binary = 'redis-server'): string | undefined {
  try {
    execFileSync(binary, ['--version'], { stdio: 'ignore', timeout: 5_000 });
    return binary;
  } catch {
    return undefined;
  }
}

const REDIS_START_TIMEOUT_MS = 10_000;
const REDIS_STOP_TIMEOUT_MS = 5_000;

/**
 * Starts `redis-server` on a free 127.0.0.1 port with its data in a new directory under `parentDir`.
 * A port taken between the probe and the bind is retried (three times).
 */
export async function startRedisServer(binary: string, persistence: RedisPersistence, parentDir: string): Promise<RedisServer> {
  const version = redisVersion(binary);
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const dir = await mkdtemp(join(parentDir, 'redis-'));
    const port = await freeLoopbackPort();
    const child = spawn(
      binary,
      ['--bind', '127.0.0.1', '--port', String(port), '--dir', dir, '--daemonize', 'no', '--protected-mode', 'yes', '--logfile', '', ...REDIS_PERSISTENCE_ARGS[persistence]],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    try {
      await waitForReady(child);
    } catch (error) {
      lastError = error;
      await stopChild(child);
      await rm(dir, { recursive: true, force: true });
      continue;
    }
    let stopping: Promise<void> | undefined;
    return {
      host: '127.0.0.1',
      port,
      pid: child.pid!,
      persistence,
      version,
      stop: () =>
        (stopping ??= (async () => {
          await stopChild(child);
          await rm(dir, { recursive: true, force: true });
        })()),
    };
  }
  throw new BenchUnavailableError(`redis-server did not start: ${lastError instanceof Error ? lastError.message : String(lastError)}`, { cause: lastError });
}

function redisVersion(binary: string): string {
  try {
    return /v=(\S+)/.exec(execFileSync(binary, ['--version'], { encoding: 'utf8', timeout: 5_000 }))?.[1] ?? 'unknown';
  } catch (cause) {
    throw new BenchUnavailableError(`${binary} --version failed`, { cause });
  }
}

function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** Resolves once redis logs that it accepts connections; rejects when it exits or takes too long. */
function waitForReady(child: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => done(new Error(`not ready within ${REDIS_START_TIMEOUT_MS} ms: ${output.trim().slice(-500)}`)), REDIS_START_TIMEOUT_MS);
    const onData = (chunk: Buffer): void => {
      output = (output + chunk.toString('utf8')).slice(-4_000);
      if (output.includes('Ready to accept connections')) done();
    };
    const onExit = (code: number | null, signal: NodeJS.Signals | null): void => done(new Error(`exited during start (${signal ?? `code ${code}`}): ${output.trim().slice(-500)}`));
    const onError = (error: Error): void => done(error);
    const done = (error?: Error): void => {
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.off('exit', onExit);
      child.off('error', onError);
      // Keep draining its output so a chatty server never blocks on a full pipe.
      child.stdout?.resume();
      child.stderr?.resume();
      if (error) reject(error);
      else resolve();
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', onExit);
    child.once('error', onError);
  });
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), REDIS_STOP_TIMEOUT_MS);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

type BullmqModule = typeof import('bullmq');
type Connection = { host: string; port: number; maxRetriesPerRequest: null };

/** Throws BenchUnavailableError when bullmq (or ioredis, its driver) cannot be loaded. */
export async function assertBullmqInstalled(): Promise<void> {
  await loadBullmq();
  try {
    await import('ioredis');
  } catch (cause) {
    throw new BenchUnavailableError('the ioredis package (BullMQ\'s Redis driver) is not installed (a devDependency: run npm ci in the checkout)', { cause });
  }
}

/** bullmq is a devDependency: the CLI itself must run without it. */
async function loadBullmq(): Promise<BullmqModule> {
  try {
    return await import('bullmq');
  } catch (cause) {
    throw new BenchUnavailableError('the bullmq package is not installed (it is a devDependency: run npm ci in the checkout)', { cause });
  }
}

/** Spawns the command with no shell and resolves when it exits 0; any other end rejects (the job fails, BullMQ retries it). */
function runProcess(command: readonly string[], onSpawn?: () => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command[0]!, command.slice(1), { stdio: 'ignore' });
    if (onSpawn) child.once('spawn', onSpawn);
    child.once('error', reject);
    child.once('exit', (code, signal) => (code === 0 ? resolve() : reject(new Error(`${command.join(' ')} exited ${signal ?? code}`))));
  });
}

/**
 * BullMQ on one redis-server started for it: a Queue and a Worker in this process per figure, each
 * job spawning a fresh process (no shell, output discarded) and waiting for its exit. Jobs keep
 * BullMQ's defaults otherwise (finished jobs are kept in redis, as nightshift keeps task records).
 */
export class BullmqSide {
  private figures = 0;

  private constructor(
    private readonly bullmq: BullmqModule,
    readonly redis: RedisEndpoint,
    private readonly shape: TaskShape,
  ) {}

  /** Loads bullmq (throws BenchUnavailableError when it is not installed) for the redis-server at `redis`. */
  static async open(redis: RedisEndpoint, shape: TaskShape): Promise<BullmqSide> {
    return new BullmqSide(await loadBullmq(), redis, shape);
  }

  private get connection(): Connection {
    return { host: this.redis.host, port: this.redis.port, maxRetriesPerRequest: null };
  }

  /** `jobs` jobs added with addBulk (1,000 per call), timed from the first add until the last job finished. */
  async throughput(jobs: number, timeoutMs: number): Promise<ThroughputFigure> {
    const { bullmq, connection, shape } = this;
    const name = `bench-throughput-${this.figures++}`;
    const queue: Queue = new bullmq.Queue(name, { connection });
    let worker: Worker | undefined;
    try {
      await queue.waitUntilReady();
      let succeeded = 0;
      let failed = 0;
      let finish: () => void = () => undefined;
      const allDone = new Promise<void>((resolve) => (finish = resolve));
      worker = new bullmq.Worker(name, async () => runProcess(shape.command), { connection, concurrency: shape.concurrency });
      worker.on('completed', () => {
        if (++succeeded + failed === jobs) finish();
      });
      worker.on('failed', (job: Job | undefined) => {
        // A failure with attempts left is retried; only the last one is final.
        if (job && job.attemptsMade >= shape.attempts && succeeded + ++failed === jobs) finish();
      });
      await worker.waitUntilReady();

      const rssMb = process.memoryUsage().rss / 2 ** 20;
      const cpu = cpuSample([{ pid: this.redis.pid, name: 'redis-server' }]);
      const started = performance.now();
      for (let from = 0; from < jobs; from += 1_000) {
        const batch = Array.from({ length: Math.min(1_000, jobs - from) }, (_, k) => ({ name: 'noop', data: { n: from + k }, opts: { attempts: shape.attempts } }));
        await queue.addBulk(batch);
      }
      await withTimeout(allDone, timeoutMs, `bullmq: ${jobs} jobs did not finish`);
      const seconds = (performance.now() - started) / 1000;
      const used = cpuSince(cpu);
      const writes = writesSince(cpu, jobs);
      return {
        jobs,
        seconds,
        rss_mb: rssMb,
        tasks_per_second: jobs / seconds,
        cpu_ms_per_task: (used.process_ms + used.server_ms) / jobs,
        cpu: used,
        helpers: ['redis-server'],
        ...(writes ? { write_syscalls_per_task: writes } : {}),
        succeeded,
        failed,
      };
    } finally {
      await this.dispose(queue, worker);
    }
  }

  /**
   * One job at a time, `warmup` unmeasured first: from the add call to the job's process running
   * (the child's 'spawn' event) and to the processor being called; each job finishes before the next is added.
   */
  async latency(runs: number, warmup: number, timeoutMs: number): Promise<LatencyFigure> {
    const { bullmq, connection, shape } = this;
    const name = `bench-latency-${this.figures++}`;
    const queue: Queue = new bullmq.Queue(name, { connection });
    let worker: Worker | undefined;
    try {
      await queue.waitUntilReady();
      type Mark = { processor?: number; spawned?: number; done: () => void };
      const marks = new Map<string, Mark>();
      worker = new bullmq.Worker(
        name,
        async (job: Job) => {
          const mark = marks.get(job.id!);
          if (mark) mark.processor ??= performance.now();
          await runProcess(shape.command, () => {
            if (mark) mark.spawned ??= performance.now();
          });
        },
        { connection, concurrency: shape.concurrency },
      );
      worker.on('completed', (job: Job) => marks.get(job.id!)?.done());
      worker.on('failed', (job: Job | undefined) => {
        if (job && job.attemptsMade >= shape.attempts) marks.get(job.id!)?.done();
      });
      await worker.waitUntilReady();

      const toSpawn: number[] = [];
      const toProcessor: number[] = [];
      let cpuMs = 0;
      for (let i = 0; i < warmup + runs; i++) {
        const jobId = `latency-${i}`;
        let done: () => void = () => undefined;
        const finished = new Promise<void>((resolve) => (done = resolve));
        const mark: Mark = { done };
        marks.set(jobId, mark);
        const cpu = cpuSample([{ pid: this.redis.pid, name: 'redis-server' }]);
        const started = performance.now();
        await queue.add('noop', { n: i }, { jobId, attempts: shape.attempts });
        await withTimeout(finished, timeoutMs, `bullmq: latency job ${i} did not finish`);
        const used = cpuSince(cpu);
        marks.delete(jobId);
        if (i < warmup || mark.spawned === undefined || mark.processor === undefined) continue;
        cpuMs += used.process_ms + used.server_ms;
        toSpawn.push(mark.spawned - started);
        toProcessor.push(mark.processor - started);
      }
      return { ...percentiles(toSpawn), to_processor: percentiles(toProcessor), cpu_ms_per_run: cpuMs / Math.max(1, runs) };
    } finally {
      await this.dispose(queue, worker);
    }
  }

  private async dispose(queue: Queue, worker: Worker | undefined): Promise<void> {
    await worker?.close(true);
    // The next figure starts on an empty redis: no finished jobs of this one left to slow it.
    await queue.obliterate({ force: true }).catch(() => undefined);
    await queue.close();
  }
}

/** Rejects with BenchTimeoutError when `promise` takes longer than `ms`: every wait of the bench is bounded. */
export async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new BenchTimeoutError(`${what} within ${Math.round(ms / 1000)} s`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

