import { connect } from 'node:net';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findRedisServer, startRedisServer } from './bench-bullmq.js';
import { DOCS_BEGIN, DOCS_END, formatControlPlaneMarkdown, targets, type ControlPlaneBenchResult } from './bench-control-plane.js';
import { docsMarkers, writeDocsBlock, writeDocsBlockIfAsked } from './docs-block.js';
import { moduleOf, summarizeProfile, type CpuProfile } from './bench-profile.js';
import { percentiles, processCpuMs } from './bench-stats.js';
import { runCli } from './cli.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nightshift-bench-cp-spec-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('percentiles', () => {
  it('are nearest-rank', () => {
    const values = Array.from({ length: 200 }, (_, i) => 200 - i); // 1..200, unsorted
    expect(percentiles(values)).toMatchObject({ runs: 200, p50_ms: 100, p90_ms: 180, p99_ms: 198, max_ms: 200, mean_ms: 100.5 });
    expect(percentiles([7])).toMatchObject({ p50_ms: 7, p99_ms: 7 });
    expect(percentiles([])).toMatchObject({ runs: 0, p50_ms: 0 });
  });

  it("reads another process's CPU time from /proc", () => {
    // This process has used some CPU by now; a pid that cannot exist has none to read.
    expect(processCpuMs(process.pid)).toBeGreaterThan(0);
    expect(processCpuMs(2 ** 30)).toBeUndefined();
  });
});

describe('profile summary', () => {
  // root -> main -> { spawn (child_process) -> native spawn, bus write -> fs, sdk send }, plus GC and idle.
  const file = (path: string): string => `file:///work/main/${path}`;
  const profile: CpuProfile = {
    nodes: [
      { id: 1, callFrame: { functionName: '(root)', url: '', lineNumber: 0 }, children: [2, 8, 9, 10] },
      { id: 2, callFrame: { functionName: 'drain', url: file('libs/compute/local/dist/process-launcher.js'), lineNumber: 1 }, children: [3, 5] },
      { id: 3, callFrame: { functionName: 'ChildProcess.spawn', url: 'node:internal/child_process', lineNumber: 1 }, children: [4] },
      { id: 4, callFrame: { functionName: 'spawn', url: '', lineNumber: 0 } },
      { id: 5, callFrame: { functionName: 'enqueue', url: file('libs/events/local/dist/local-event-bus.js'), lineNumber: 1 }, children: [6, 7] },
      { id: 6, callFrame: { functionName: 'writev', url: 'node:internal/fs/promises', lineNumber: 1 } },
      { id: 7, callFrame: { functionName: 'send', url: file('node_modules/@smithy/core/dist-cjs/index.js'), lineNumber: 1 } },
      { id: 8, callFrame: { functionName: '(garbage collector)', url: '', lineNumber: 0 } },
      { id: 9, callFrame: { functionName: '(idle)', url: '', lineNumber: 0 } },
      { id: 10, callFrame: { functionName: 'parse', url: file('node_modules/zod/v4/classic/parse.js'), lineNumber: 1 } },
    ],
    startTime: 0,
    endTime: 10_000,
    // Each sample stands for the next time delta: 1 ms each, idle 4 ms.
    samples: [4, 4, 4, 6, 7, 8, 9, 9, 9, 9, 10],
    timeDeltas: [0, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000],
  };

  it('charges spawning, the bus, the SDK, zod and GC, leaving idle out of the busy share', () => {
    const summary = summarizeProfile(profile);
    expect(summary.idle_ms).toBe(4);
    expect(summary.busy_ms).toBe(7);
    const ms = Object.fromEntries(summary.buckets.map((b) => [b.bucket, b.ms]));
    expect(ms).toEqual({
      'spawn (child_process: fork + exec, exit handling)': 3,
      'bus: events-local (files, fsync, routing)': 1,
      'store: AWS SDK (DynamoDB client, HTTP to dynalite)': 1,
      GC: 1,
      'zod parsing': 1,
    });
    expect(summary.buckets[0]).toMatchObject({ ms: 3, share: 3 / 7 });
    expect(summary.top_functions[0]).toMatchObject({ frame: 'spawn (native)', ms: 3 });
  });

  it('names modules by package, project or built-in', () => {
    expect(moduleOf('file:///w/node_modules/@aws-sdk/client-dynamodb/dist-cjs/index.js')).toBe('@aws-sdk/client-dynamodb');
    expect(moduleOf('file:///w/node_modules/zod/v4/index.js')).toBe('zod');
    expect(moduleOf('file:///w/libs/events/local/dist/x.js')).toBe('libs/events/local');
    expect(moduleOf('file:///w/services/planner/dist/run-engine.js')).toBe('services/planner');
    expect(moduleOf('node:internal/fs/promises')).toBe('node:internal/fs/promises');
    expect(moduleOf('')).toBe('native');
  });
});

/** A result as the bench builds it, with figures chosen to land on both sides of each goal. */
function aResult(): ControlPlaneBenchResult {
  const throughput = (jobs: number, seconds: number, cpuMs: number) => ({
    jobs,
    seconds,
    tasks_per_second: jobs / seconds,
    rss_mb: 300,
    cpu_ms_per_task: cpuMs,
    cpu: { process_ms: cpuMs * jobs * 0.75, server_ms: cpuMs * jobs * 0.25 },
    succeeded: jobs,
    failed: 0,
  });
  const latency = (p50: number, p99: number) => ({ runs: 200, p50_ms: p50, p90_ms: p50, p99_ms: p99, mean_ms: p50, max_ms: p99, cpu_ms_per_run: 9 });
  return {
    machine: { cpus: 2, node: 'v20.20.2', loadavg_start: [0.5, 0.4, 0.3], loadavg_end: [1, 0.8, 0.5], started_at: '2026-11-29T12:00:00.000Z' },
    task: { command: ['true'], concurrency: 8, attempts: 2, platform_vcpus: 2, step_vcpus: 0.25 },
    nightshift: {
      throughput: [
        { ...throughput(1_000, 2, 4), store: { writes: 1_050, reads: 20, by_operation: { UpdateItem: 1_040, PutItem: 10, GetItem: 20 }, writes_per_task: 1.05, requests_per_task: 1.07 }, phases_s: { planned: 0.05, first_task_started: 0.1, finished: 1.9, reported: 2 } },
        { ...throughput(10_000, 70, 16), store: { writes: 10_100, reads: 30, by_operation: { UpdateItem: 10_100, GetItem: 30 }, writes_per_task: 1.01, requests_per_task: 1.013 }, phases_s: { reported: 70 } },
      ],
      latency_landed: { ...latency(12, 60), phases_p50_ms: { event_to_run_created: 8, run_created_to_task_running: 4 } },
      latency_api: latency(5, 20),
    },
    bullmq: {
      configs: [
        { persistence: 'aof-fsync-always', redis_version: '7.0.15', throughput: [throughput(1_000, 5, 2), throughput(10_000, 50, 2)], latency: latency(3, 9) },
      ],
    },
    targets: [],
    errors: [],
  };
}

describe('goals and the markdown block', () => {
  it('reads each goal from its figure', () => {
    const goals = Object.fromEntries(targets(aResult()).map((t) => [t.goal, [t.value, t.met]]));
    expect(goals['10,000 tasks planned, run and reported in < 60 s']).toEqual(['70.00 s', false]);
    expect(goals['1,000 tasks planned, run and reported in < 6 s']).toEqual(['2.00 s', true]);
    // 7 ms per task at 10,000 against 2 ms at 1,000: not linear.
    expect(goals['cost linear in the tasks: time per task at 10,000 / at 1,000 <= 1.25']).toEqual(['3.50 (2.00 -> 7.00 ms per task)', false]);
    expect(goals['about one store write per task (<= 1.5) at 10,000']).toEqual(['1.01', true]);
    expect(goals['event -> task RUNNING p50 < 15 ms (Dataset Landed)']).toEqual(['12.0 ms', true]);
    expect(goals['event -> task RUNNING p99 < 50 ms (Dataset Landed)']).toEqual(['60.0 ms', false]);
    expect(goals['control-plane CPU per task < 15 ms at 10,000']).toEqual(['16.00 ms', false]);
    // 500/s against 200/s at 1,000; 142.9/s against 200/s at 10,000.
    expect(goals["no-op tasks/s >= 2x BullMQ's fresh-process rate (redis AOF, fsync always) at 1,000"]).toEqual(['2.50x', true]);
    expect(goals["no-op tasks/s >= 2x BullMQ's fresh-process rate (redis AOF, fsync always) at 10,000"]).toEqual(['0.71x', false]);
  });

  it('prints both sides with ratios, and leaves a goal without its figure undecided', () => {
    const r = aResult();
    delete r.nightshift.latency_api;
    r.targets = targets(r);
    const markdown = formatControlPlaneMarkdown(r);
    expect(markdown).toContain('| 1,000 | nightshift (embedded) | 2.00 s | 500 | 1.00x | 4.00 (3.00 + 1.00) | - | 300 MB | 1.05 |');
    expect(markdown).toContain('| 1,000 | BullMQ, redis AOF, fsync always | 5.00 s | 200 | 2.50x | 2.00 (1.50 + 0.50) | - | 300 MB | - |');
    expect(markdown).toContain('event -> run created (planned) 8.0 ms, run created -> task RUNNING 4.0 ms');
    expect(markdown).toContain('| event -> task RUNNING p50 < 15 ms (POST /runs) | not measured | - |');
  });

  it('replaces the generated block of the docs and keeps the text around it', async () => {
    const path = join(dir, 'performance.md');
    await writeFile(path, `# Performance\n\nBefore.\n\n${DOCS_BEGIN}\nold figures\n${DOCS_END}\n\nAfter.\n`);
    await writeDocsBlock(path, 'new figures\n');
    await writeDocsBlock(path, 'newer figures\n');
    expect(await readFile(path, 'utf8')).toBe(`# Performance\n\nBefore.\n\n${DOCS_BEGIN}\n\nnewer figures\n\n${DOCS_END}\n\nAfter.\n`);
    const fresh = join(dir, 'fresh.md');
    await writeDocsBlock(fresh, 'figures');
    expect(await readFile(fresh, 'utf8')).toBe(`# Performance\n\n${DOCS_BEGIN}\n\nfigures\n\n${DOCS_END}\n`);
  });

  it('writes a block of its own per name (chaos, soak) only when a file was asked for, and says so', async () => {
    const path = join(dir, 'reliability.md');
    await writeFile(path, '# Reliability\n');
    const said: string[] = [];
    await writeDocsBlockIfAsked(undefined, 'figures', (l) => said.push(l), 'chaos', 'chaos');
    expect(await readFile(path, 'utf8')).toBe('# Reliability\n');
    await writeDocsBlockIfAsked(path, 'figures', (l) => said.push(l), 'chaos', 'chaos');
    const { begin, end } = docsMarkers('chaos', 'chaos');
    expect(begin).toContain('`npm run chaos`');
    expect(await readFile(path, 'utf8')).toBe(`# Reliability\n\n${begin}\n\nfigures\n\n${end}\n`);
    expect(said).toEqual([`wrote the figures into ${path}`]);
  });
});

describe('nightshift bench --control-plane, command line', () => {
  const run = async (argv: string[]) => {
    let stdout = '';
    let stderr = '';
    const code = await runCli(argv, { stdout: { write: (s: string) => (stdout += s) }, stderr: { write: (s: string) => (stderr += s) } });
    return { code, stdout, stderr };
  };

  it('refuses the TCA flags with --control-plane and the control-plane flags without it', async () => {
    expect(await run(['bench', '--control-plane', '--quotes', '1000'])).toMatchObject({ code: 2, stderr: expect.stringContaining('--quotes only applies to the TCA bench') });
    expect(await run(['bench', '--children', '10'])).toMatchObject({ code: 2, stderr: expect.stringContaining('--children only applies to --control-plane') });
    expect(await run(['bench', '--control-plane', '--children', '20000'])).toMatchObject({ code: 2, stderr: expect.stringContaining("AWS Batch's array limit") });
    expect(await run(['bench', '--control-plane', '--sides', 'celery'])).toMatchObject({ code: 2, stderr: expect.stringContaining('--sides has unknown value(s) celery') });
  });
});

describe.runIf(findRedisServer() !== undefined)('the redis-server the bench starts', () => {
  it('answers on a loopback port with either persistence, and is gone after stop', async () => {
    for (const persistence of ['aof-fsync-always', 'none'] as const) {
      const redis = await startRedisServer(findRedisServer()!, persistence, dir);
      try {
        const reply = await new Promise<string>((resolve, reject) => {
          const socket = connect(redis.port, redis.host, () => socket.write('CONFIG GET appendfsync\r\nCONFIG GET appendonly\r\n'));
          let data = '';
          socket.on('data', (chunk) => {
            data += chunk.toString('utf8');
            if ((data.match(/\r\n/g) ?? []).length >= 10) socket.end(() => resolve(data));
          });
          socket.on('error', reject);
        });
        expect(reply).toContain(persistence === 'none' ? 'appendonly\r\n$2\r\nno' : 'appendonly\r\n$3\r\nyes');
        if (persistence === 'aof-fsync-always') expect(reply).toContain('appendfsync\r\n$6\r\nalways');
      } finally {
        await redis.stop();
      }
      expect(processCpuMs(redis.pid)).toBeUndefined();
    }
  });
});
