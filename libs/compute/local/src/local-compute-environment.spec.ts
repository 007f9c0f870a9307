import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { BatchJobStateChange, type BatchJobStateChangeDetail, type BatchJobStatus } from '@nightshift/contracts';
import { ComputeSubmissionError, type JobSubmission } from '@nightshift/jobs-domain';
import { DirectoryJobLogs } from './directory-job-logs.js';
import { InvalidComputeRequestError, InvalidLocalComputeOptionsError } from './errors.js';
import { LocalComputeEnvironment, type LocalComputeEnvironmentOptions } from './local-compute-environment.js';
import type { BatchJobStateChangeEmission } from './state-change-emitter.js';

const NODE = process.execPath;
const node = (script: string) => [NODE, '-e', script];
/** Runs until the file named by $GO exists: a job that holds its slot until the test lets it go. */
const UNTIL_GO = node("const fs = require('fs'); const t = setInterval(() => { if (fs.existsSync(process.env.GO)) clearInterval(t); }, 20)");
const FOREVER = node('setInterval(() => {}, 1000)');

/** Rank of a status within one attempt; a job's events must move strictly forward (attempts, then rank). */
const RANK: Record<BatchJobStatus, number> = { SUBMITTED: 0, PENDING: 1, RUNNABLE: 2, STARTING: 3, RUNNING: 4, SUCCEEDED: 5, FAILED: 5 };
const progress = (d: BatchJobStateChangeDetail) => d.attempts.length * 8 + RANK[d.status];

interface Recorder {
  events: BatchJobStateChangeEmission[];
  batchSizes: number[];
  emit: LocalComputeEnvironmentOptions['emit'];
  mustFinish: boolean;
}

let tmp: string;
let environments: LocalComputeEnvironment[];
let recorders: Recorder[];

beforeEach(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'compute-local-'));
  environments = [];
  recorders = [];
});

afterEach(async () => {
  await Promise.all(environments.map((e) => e.shutdown()));
  await rm(tmp, { recursive: true, force: true });
  for (const recorder of recorders) expectAwsLifecycle(recorder);
});

function recorder(opts: { mustFinish?: boolean } = {}): Recorder {
  const r: Recorder = {
    events: [],
    batchSizes: [],
    emit: async (events) => {
      r.batchSizes.push(events.length);
      for (const e of events) r.events.push(structuredClone(e));
    },
    mustFinish: opts.mustFinish ?? true,
  };
  recorders.push(r);
  return r;
}

function environment(options: Partial<LocalComputeEnvironmentOptions> & { emit: LocalComputeEnvironmentOptions['emit'] }): LocalComputeEnvironment {
  const env = new LocalComputeEnvironment({ vcpus: 2, memoryMiB: 2048, killGraceMs: 300, ...options });
  environments.push(env);
  return env;
}

function aJob(overrides: Partial<JobSubmission> = {}): JobSubmission {
  return {
    jobName: 'tca-fills',
    jobQueue: 'nightshift-default',
    jobDefinition: 'nightshift-worker',
    command: node(''),
    vcpus: 1,
    memoryMiB: 256,
    timeoutSeconds: 30,
    retryStrategy: { attempts: 1 },
    environment: {},
    parameters: { runId: 'run-1', taskId: 'tca#p0' },
    ...overrides,
  };
}

const of = (r: Recorder, jobId: string) => r.events.filter((e) => e.detail.jobId === jobId).map((e) => e.detail);
const statuses = (r: Recorder, jobId: string) => of(r, jobId).map((d) => d.status);
const last = (r: Recorder, jobId: string) => of(r, jobId).at(-1)!;
const describeOne = async (env: LocalComputeEnvironment, jobId: string) => (await env.describeJobs([jobId]))[0];

/**
 * Every event valid against the contract, at most 10 per emit call, and each job's events moving
 * strictly forward through AWS Batch's lifecycle (intermediate states may be merged away), ending
 * SUCCEEDED or FAILED.
 */
function expectAwsLifecycle(r: Recorder): void {
  for (const size of r.batchSizes) expect(size).toBeLessThanOrEqual(10);
  const byJob = new Map<string, BatchJobStateChangeDetail[]>();
  for (const event of r.events) {
    const parsed = BatchJobStateChange.detail.safeParse(event.detail);
    expect(parsed.success, JSON.stringify(parsed.error?.issues)).toBe(true);
    expect(event.source).toBe(BatchJobStateChange.source);
    expect(event.detailType).toBe(BatchJobStateChange.detailType);
    expect(event.resources).toEqual([event.detail.jobArn]);
    byJob.set(event.detail.jobId, [...(byJob.get(event.detail.jobId) ?? []), event.detail]);
  }
  for (const [jobId, details] of byJob) {
    const seq = details.map((d) => `${d.status}/${d.attempts.length}`).join(' > ');
    for (let i = 1; i < details.length; i += 1) expect(progress(details[i]), `${jobId}: ${seq}`).toBeGreaterThan(progress(details[i - 1]));
    if (details[0].arrayProperties?.size !== undefined) {
      for (const d of details) expect(['SUBMITTED', 'PENDING', 'SUCCEEDED', 'FAILED'], `parent ${jobId}: ${seq}`).toContain(d.status);
    }
    if (r.mustFinish) expect(['SUCCEEDED', 'FAILED'], `${jobId}: ${seq}`).toContain(details.at(-1)!.status);
  }
}

async function waitFor(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const waitForStatus = (env: LocalComputeEnvironment, jobId: string, status: BatchJobStatus) =>
  waitFor(async () => (await describeOne(env, jobId))?.status === status, `${jobId} ${status}`);

/** The most child processes that were alive at once, from [start, end] intervals. */
function maxConcurrent(intervals: { s: number; e: number }[]): number {
  const points = intervals.flatMap(({ s, e }) => [
    { t: s, d: 1 },
    { t: e, d: -1 },
  ]);
  points.sort((a, b) => a.t - b.t || a.d - b.d);
  let now = 0;
  let max = 0;
  for (const p of points) max = Math.max(max, (now += p.d));
  return max;
}

const RECORD_INTERVAL = `
  const fs = require('fs');
  const s = Date.now();
  setTimeout(() => fs.writeFileSync(process.env.OUT, JSON.stringify({ s, e: Date.now() })), Number(process.env.SLEEP_MS));
`;

async function readIntervals(dir: string): Promise<{ s: number; e: number }[]> {
  const files = await readdir(dir);
  return Promise.all(files.map(async (f) => JSON.parse(await readFile(join(dir, f), 'utf8')) as { s: number; e: number }));
}

describe('LocalComputeEnvironment: running jobs', () => {
  it('runs a job through the AWS lifecycle and reports it like AWS Batch', async () => {
    const r = recorder();
    const logDir = join(tmp, 'logs');
    const env = environment({ emit: r.emit, logDir, region: 'eu-west-1', account: '123456789012' });

    const submitted = await env.submitJob(
      aJob({
        command: node("console.log('to stdout'); console.error('to stderr')"),
        environment: { STEP: 'tca' },
        vcpus: 0.5,
        memoryMiB: 512,
        timeoutSeconds: 60,
        retryStrategy: { attempts: 2 },
      }),
    );
    await env.idle();

    expect(submitted.jobName).toBe('tca-fills');
    expect(submitted.jobArn).toBe(`arn:aws:batch:eu-west-1:123456789012:job/${submitted.jobId}`);
    expect(statuses(r, submitted.jobId).at(-1)).toBe('SUCCEEDED');
    const done = last(r, submitted.jobId);
    expect(done).toMatchObject({
      jobArn: submitted.jobArn,
      jobName: 'tca-fills',
      jobQueue: 'arn:aws:batch:eu-west-1:123456789012:job-queue/nightshift-default',
      jobDefinition: 'arn:aws:batch:eu-west-1:123456789012:job-definition/nightshift-worker:1',
      statusReason: 'Essential container in task exited',
      parameters: { runId: 'run-1', taskId: 'tca#p0' },
      retryStrategy: { attempts: 2 },
      timeout: { attemptDurationSeconds: 60 },
      dependsOn: [],
      tags: {},
      propagateTags: false,
      platformCapabilities: ['EC2'],
      container: {
        command: [NODE, '-e', "console.log('to stdout'); console.error('to stderr')"],
        environment: [{ name: 'STEP', value: 'tca' }],
        exitCode: 0,
        resourceRequirements: [
          { type: 'VCPU', value: '0.5' },
          { type: 'MEMORY', value: '512' },
        ],
      },
    });
    expect(done.arrayProperties).toBeUndefined();
    expect(done.attempts).toHaveLength(1);
    const [attempt] = done.attempts;
    expect(attempt.container?.exitCode).toBe(0);
    expect(attempt.statusReason).toBe('Essential container in task exited');
    expect(attempt.startedAt).toBeGreaterThanOrEqual(done.createdAt);
    expect(attempt.stoppedAt).toBeGreaterThanOrEqual(attempt.startedAt!);
    expect(done.startedAt).toBe(attempt.startedAt);
    expect(done.stoppedAt).toBeGreaterThanOrEqual(attempt.stoppedAt!);
    // describeJobs answers exactly what the last event carried.
    expect(await env.describeJobs([submitted.jobId])).toEqual([done]);

    const stream = attempt.container!.logStreamName!;
    // Named for what it is: job definition, job name, job id, attempt.
    expect(stream).toBe(`nightshift-worker/tca-fills/${submitted.jobId}/attempt-1`);
    expect(done.container.logStreamName).toBe(stream);
    // Each line the child wrote, to stdout or stderr, is an event stamped with the time it was read.
    const log = await new DirectoryJobLogs(logDir).read(stream);
    const lines = log!.text.trimEnd().split('\n');
    expect(lines.map((l) => l.slice(25)).sort()).toEqual(['to stderr', 'to stdout']);
    for (const line of lines) {
      const at = Date.parse(line.slice(0, 24));
      expect(line).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z /);
      expect(at).toBeGreaterThanOrEqual(attempt.startedAt! - 1000);
      expect(at).toBeLessThanOrEqual(attempt.stoppedAt!);
    }
  });

  it('gives the child the job environment and the AWS_BATCH_* variables on top of the host environment', async () => {
    process.env.NIGHTSHIFT_COMPUTE_LOCAL_SPEC = 'from-host';
    try {
      const r = recorder();
      const env = environment({ emit: r.emit, computeEnvironmentName: 'laptop' });
      const out = join(tmp, 'env.json');
      const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
      const { jobId } = await env.submitJob(
        aJob({
          jobQueue: 'arn:aws:batch:us-east-1:000000000000:job-queue/nightly-high',
          command: node("require('fs').writeFileSync(process.env.OUT, JSON.stringify(process.env))"),
          environment: { OUT: out, TRACEPARENT: traceparent, NIGHTSHIFT_STEP: 'tca' },
        }),
      );
      await env.idle();

      expect(statuses(r, jobId).at(-1)).toBe('SUCCEEDED');
      const childEnv = JSON.parse(await readFile(out, 'utf8')) as Record<string, string>;
      expect(childEnv).toMatchObject({
        NIGHTSHIFT_COMPUTE_LOCAL_SPEC: 'from-host',
        NIGHTSHIFT_STEP: 'tca',
        TRACEPARENT: traceparent,
        AWS_BATCH_JOB_ID: jobId,
        AWS_BATCH_JOB_ATTEMPT: '1',
        AWS_BATCH_JQ_NAME: 'nightly-high',
        AWS_BATCH_CE_NAME: 'laptop',
      });
      expect(childEnv.AWS_BATCH_JOB_ARRAY_INDEX).toBeUndefined();
    } finally {
      delete process.env.NIGHTSHIFT_COMPUTE_LOCAL_SPEC;
    }
  });

  it('starts children from baseEnv without the AWS_BATCH_* variables it may carry, in cwd, with the given clock', async () => {
    const r = recorder();
    const out = join(tmp, 'env.json');
    const clock = new Date('2025-03-14T02:00:00Z');
    const env = environment({ emit: r.emit, cwd: tmp, now: () => clock, baseEnv: { FROM_BASE: 'yes', AWS_BATCH_JOB_ARRAY_INDEX: '7', AWS_BATCH_JOB_ID: 'host-job' } });
    const { jobId } = await env.submitJob(
      aJob({ command: node("require('fs').writeFileSync(process.env.OUT, JSON.stringify({ env: process.env, cwd: process.cwd() }))"), environment: { OUT: out } }),
    );
    await env.idle();

    const child = JSON.parse(await readFile(out, 'utf8')) as { env: Record<string, string>; cwd: string };
    expect(child.cwd).toBe(tmp);
    expect(child.env.FROM_BASE).toBe('yes');
    expect(child.env.AWS_BATCH_JOB_ID).toBe(jobId);
    expect(child.env.AWS_BATCH_JOB_ARRAY_INDEX).toBeUndefined();
    expect(last(r, jobId)).toMatchObject({ status: 'SUCCEEDED', createdAt: clock.getTime(), startedAt: clock.getTime(), stoppedAt: clock.getTime() });
  });

  it('never runs more than the vCPU budget allows at once', async () => {
    const r = recorder();
    const env = environment({ emit: r.emit, vcpus: 2 });
    const dir = join(tmp, 'intervals');
    await mkdir(dir);
    for (let i = 0; i < 5; i += 1) {
      await env.submitJob(aJob({ command: node(RECORD_INTERVAL), environment: { OUT: join(dir, `${i}.json`), SLEEP_MS: '500' } }));
    }
    await env.idle();

    const intervals = await readIntervals(dir);
    expect(intervals).toHaveLength(5);
    // Two at once: the budget is used, not only respected.
    expect(maxConcurrent(intervals)).toBe(2);
  });

  it('never runs more than the memory budget allows at once', async () => {
    const r = recorder();
    const env = environment({ emit: r.emit, vcpus: 4, memoryMiB: 1000 });
    const dir = join(tmp, 'intervals');
    await mkdir(dir);
    for (let i = 0; i < 3; i += 1) {
      await env.submitJob(aJob({ memoryMiB: 600, command: node(RECORD_INTERVAL), environment: { OUT: join(dir, `${i}.json`), SLEEP_MS: '100' } }));
    }
    await env.idle();

    expect(maxConcurrent(await readIntervals(dir))).toBe(1);
  });

  it('runs an array job as children 0..n-1 and summarises them on the parent', async () => {
    const r = recorder();
    const env = environment({ emit: r.emit });
    const dir = join(tmp, 'children');
    await mkdir(dir);
    const { jobId } = await env.submitJob(
      aJob({
        arraySize: 3,
        command: node(
          "require('fs').writeFileSync(require('path').join(process.env.OUT_DIR, process.env.AWS_BATCH_JOB_ARRAY_INDEX), process.env.AWS_BATCH_JOB_ID)",
        ),
        environment: { OUT_DIR: dir },
      }),
    );
    await env.idle();

    expect((await readdir(dir)).sort()).toEqual(['0', '1', '2']);
    for (const index of [0, 1, 2]) {
      const childId = `${jobId}:${index}`;
      expect(await readFile(join(dir, String(index)), 'utf8')).toBe(childId);
      expect(statuses(r, childId).at(-1)).toBe('SUCCEEDED');
      expect(last(r, childId)).toMatchObject({ jobArn: `arn:aws:batch:us-east-1:000000000000:job/${childId}`, arrayProperties: { index }, parameters: { runId: 'run-1' } });
      expect(await describeOne(env, childId)).toEqual(last(r, childId));
    }
    expect(statuses(r, jobId).at(-1)).toBe('SUCCEEDED');
    const parent = last(r, jobId);
    expect(parent.attempts).toEqual([]);
    expect(parent.arrayProperties).toEqual({ size: 3, statusSummary: { SUBMITTED: 0, PENDING: 0, RUNNABLE: 0, STARTING: 0, RUNNING: 0, SUCCEEDED: 3, FAILED: 0 } });
    // The parent ends after its last child.
    expect(r.events.at(-1)!.detail.jobId).toBe(jobId);
  });

  it('fails the array parent when a child fails after its retries, and lets the other children finish', async () => {
    const r = recorder();
    const env = environment({ emit: r.emit });
    const { jobId } = await env.submitJob(aJob({ arraySize: 3, retryStrategy: { attempts: 2 }, command: node("process.exit(process.env.AWS_BATCH_JOB_ARRAY_INDEX === '1' ? 2 : 0)") }));
    await env.idle();

    expect(last(r, `${jobId}:0`).status).toBe('SUCCEEDED');
    expect(last(r, `${jobId}:2`).status).toBe('SUCCEEDED');
    expect(last(r, `${jobId}:1`)).toMatchObject({ status: 'FAILED', container: { exitCode: 2 } });
    expect(last(r, `${jobId}:1`).attempts).toHaveLength(2);
    expect(statuses(r, jobId).at(-1)).toBe('FAILED');
    expect(last(r, jobId)).toMatchObject({ statusReason: 'Array Child Job failed', arrayProperties: { size: 3, statusSummary: { SUCCEEDED: 2, FAILED: 1 } } });
  });

  it('merges intermediate states into fewer events, but emits every terminal state, at most 10 per emit call', async () => {
    const r = recorder();
    const env = environment({ emit: r.emit, vcpus: 4 });
    const { jobId } = await env.submitJob(aJob({ arraySize: 30, vcpus: 0.5 }));
    await env.idle();

    for (let index = 0; index < 30; index += 1) expect(last(r, `${jobId}:${index}`).status).toBe('SUCCEEDED');
    // Six states per child without merging; SUBMITTED, PENDING and RUNNABLE happen in one turn.
    expect(r.events.length).toBeLessThan(30 * 6);
    expect(Math.max(...r.batchSizes)).toBeLessThanOrEqual(10);
  });
});

describe('LocalComputeEnvironment: retries and timeouts', () => {
  it('retries a failed attempt and succeeds on attempt 2', async () => {
    const r = recorder();
    const env = environment({ emit: r.emit });
    const { jobId } = await env.submitJob(aJob({ retryStrategy: { attempts: 3 }, command: node("process.exit(process.env.AWS_BATCH_JOB_ATTEMPT === '1' ? 1 : 0)") }));
    await env.idle();

    const done = last(r, jobId);
    expect(done.status).toBe('SUCCEEDED');
    expect(done.attempts.map((a) => a.container?.exitCode)).toEqual([1, 0]);
    expect(done.attempts[0].statusReason).toBe('Essential container in task exited');
    expect(done.container.exitCode).toBe(0);
  });

  it('fails the job with the exit code and reason once its attempts are used up', async () => {
    const r = recorder();
    const env = environment({ emit: r.emit });
    const { jobId } = await env.submitJob(aJob({ retryStrategy: { attempts: 2 }, command: node('process.exit(3)') }));
    await env.idle();

    const failed = last(r, jobId);
    expect(failed).toMatchObject({ status: 'FAILED', statusReason: 'Essential container in task exited', container: { exitCode: 3 } });
    expect(failed.attempts.map((a) => a.container?.exitCode)).toEqual([3, 3]);
  });

  it('fails the job at once when an evaluateOnExit rule says EXIT, and retries when none matches', async () => {
    const r = recorder();
    const env = environment({ emit: r.emit });
    const rules = [
      { onExitCode: '2', action: 'exit' as const },
      { onExitCode: '1*', action: 'RETRY' as const },
    ];
    const exits = await env.submitJob(aJob({ retryStrategy: { attempts: 3, evaluateOnExit: rules }, command: node('process.exit(2)') }));
    const retries = await env.submitJob(aJob({ retryStrategy: { attempts: 3, evaluateOnExit: rules }, command: node('process.exit(4)') }));
    await env.idle();

    const exited = last(r, exits.jobId);
    expect(exited).toMatchObject({ status: 'FAILED', statusReason: 'Essential container in task exited', container: { exitCode: 2 } });
    expect(exited.attempts).toHaveLength(1);
    expect(exited.retryStrategy).toEqual({ attempts: 3, evaluateOnExit: rules });
    expect(last(r, retries.jobId).attempts).toHaveLength(3);
  });

  it('matches onStatusReason against the attempt: a program that cannot start EXITs on "Task failed to start"', async () => {
    const r = recorder();
    const env = environment({ emit: r.emit });
    const { jobId } = await env.submitJob(
      aJob({ retryStrategy: { attempts: 3, evaluateOnExit: [{ onStatusReason: 'Task failed to start', action: 'EXIT' }] }, command: [join(tmp, 'no-such-program')] }),
    );
    await env.idle();

    const failed = last(r, jobId);
    expect(failed).toMatchObject({ status: 'FAILED', statusReason: 'Task failed to start' });
    expect(failed.attempts).toHaveLength(1);
    expect(failed.attempts[0].container?.reason).toMatch(/^CannotStartContainerError: .*ENOENT/);
  });

  it('counts a program that cannot be started as a failed attempt', async () => {
    const r = recorder();
    const env = environment({ emit: r.emit });
    const { jobId } = await env.submitJob(aJob({ retryStrategy: { attempts: 2 }, command: [join(tmp, 'no-such-program')] }));
    await env.idle();

    const failed = last(r, jobId);
    expect(failed.statusReason).toBe('Task failed to start');
    expect(failed.attempts).toHaveLength(2);
    expect(statuses(r, jobId)).not.toContain('RUNNING');
  });

  it('stops an attempt that outlives its timeout with SIGTERM, then SIGKILL, and fails the job without retry (as AWS)', async () => {
    const r = recorder();
    const env = environment({ emit: r.emit, killGraceMs: 300 });
    const marker = join(tmp, 'signals');
    const { jobId } = await env.submitJob(
      aJob({
        timeoutSeconds: 1,
        retryStrategy: { attempts: 3 },
        command: node("const fs = require('fs'); process.on('SIGTERM', () => fs.writeFileSync(process.env.OUT, 'SIGTERM')); setInterval(() => {}, 1000)"),
        environment: { OUT: marker },
      }),
    );
    await env.idle();

    expect(await readFile(marker, 'utf8')).toBe('SIGTERM');
    const failed = last(r, jobId);
    expect(failed).toMatchObject({ status: 'FAILED', statusReason: 'Job attempt duration exceeded timeout', container: { exitCode: 137 } });
    expect(failed.attempts).toHaveLength(1);
    const [attempt] = failed.attempts;
    expect(attempt.statusReason).toBe('Job attempt duration exceeded timeout');
    expect(attempt.container?.reason).toBe('Process exited on SIGKILL');
    // timeout (1 s) + grace (300 ms) before the SIGKILL.
    expect(attempt.stoppedAt! - attempt.startedAt!).toBeGreaterThanOrEqual(1290);
  });
});

describe('LocalComputeEnvironment: submissions', () => {
  it('fails a job that can never fit in the budget at once, saying so, array children included', async () => {
    const r = recorder();
    const env = environment({ emit: r.emit, vcpus: 2, memoryMiB: 2048 });
    const big = await env.submitJob(aJob({ vcpus: 4 }));
    const array = await env.submitJob(aJob({ memoryMiB: 4096, arraySize: 2 }));
    await env.idle();

    expect(statuses(r, big.jobId)).toEqual(['FAILED']);
    expect(last(r, big.jobId).statusReason).toBe('can never run here: needs 4 vCPU / 256 MiB, the environment has 2 vCPU / 2048 MiB');
    for (const child of [`${array.jobId}:0`, `${array.jobId}:1`]) expect(last(r, child).statusReason).toBe('can never run here: needs 1 vCPU / 4096 MiB, the environment has 2 vCPU / 2048 MiB');
    expect(last(r, array.jobId)).toMatchObject({ status: 'FAILED', arrayProperties: { statusSummary: { FAILED: 2 } } });
  });

  it('refuses submissions AWS Batch would refuse, naming the problem', async () => {
    const env = environment({ emit: recorder().emit });
    const sixRules = Array.from({ length: 6 }, () => ({ onExitCode: '1', action: 'RETRY' as const }));
    const refused: [JobSubmission, RegExp][] = [
      [aJob({ command: [] }), /command must name a program/],
      [aJob({ jobName: 'tca#p0' }), /jobName "tca#p0"/],
      [aJob({ arraySize: 1 }), /arraySize/],
      [aJob({ retryStrategy: { attempts: 11 } }), /retryStrategy.attempts must be an integer in 1..10/],
      [aJob({ retryStrategy: { attempts: 3, evaluateOnExit: sixRules } }), /evaluateOnExit has 6 rules; at most 5/],
      [aJob({ retryStrategy: { attempts: 3, evaluateOnExit: [{ onExitCode: 'one', action: 'EXIT' }] } }), /onExitCode "one"/],
      [aJob({ timeoutSeconds: 0 }), /timeoutSeconds/],
      [aJob({ vcpus: 0 }), /vcpus/],
      [aJob({ schedulingPriority: 10_000 }), /schedulingPriority/],
      [aJob({ shareIdentifier: 'desk-a' }), /shareIdentifier "desk-a"/],
      [aJob({ environment: { AWS_BATCH_JOB_ID: 'mine' } }), /reserved/],
    ];
    for (const [job, problem] of refused) {
      const error = await env.submitJob(job).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error, JSON.stringify(job)).toBeInstanceOf(ComputeSubmissionError);
      expect((error as ComputeSubmissionError).retryable).toBe(false);
      expect((error as Error).message).toMatch(problem);
    }
    await expect(env.idle()).resolves.toBeUndefined();
  });

  it('rejects an impossible budget or queue configuration', () => {
    expect(() => new LocalComputeEnvironment({ vcpus: 0, memoryMiB: 1024, emit: async () => {} })).toThrow(InvalidLocalComputeOptionsError);
    const badQueues = () =>
      new LocalComputeEnvironment({
        vcpus: 1,
        memoryMiB: 1024,
        emit: async () => {},
        jobQueues: [
          { name: 'q', priority: 1 },
          { name: 'q', priority: -1, fairShare: { computeReservation: 100, shares: { 'a-b': { weightFactor: 0 } } } },
        ],
      });
    expect(badQueues).toThrow(/configured twice.*priority must be an integer >= 0.*computeReservation.*key "a-b".*weightFactor/);
  });
});

describe('LocalComputeEnvironment: job queues', () => {
  it('creates a queue nobody configured on first use, unless strictQueues', async () => {
    const lenient = environment({ emit: recorder().emit });
    await expect(lenient.submitJob(aJob({ jobQueue: 'made-up' }))).resolves.toMatchObject({ jobName: 'tca-fills' });

    const strict = environment({ emit: recorder().emit, strictQueues: true, jobQueues: [{ name: 'nightly', priority: 10 }] });
    const error = await strict.submitJob(aJob({ jobQueue: 'made-up' })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ComputeSubmissionError);
    expect((error as ComputeSubmissionError).retryable).toBe(false);
    expect((error as Error).message).toContain('job queue made-up does not exist');
    await expect(strict.submitJob(aJob({ jobQueue: 'nightly' }))).resolves.toBeDefined();
    await Promise.all([lenient.idle(), strict.idle()]);
  });

  it('requires a shareIdentifier in a fair-share queue and refuses one in a FIFO queue, as AWS', async () => {
    const env = environment({ emit: recorder().emit, jobQueues: [{ name: 'fair', priority: 1, fairShare: {} }] });
    await expect(env.submitJob(aJob({ jobQueue: 'fair' }))).rejects.toThrow(/fair-share scheduling policy: shareIdentifier is required/);
    await expect(env.submitJob(aJob({ shareIdentifier: 'deskA' }))).rejects.toThrow(/no fair-share scheduling policy: shareIdentifier must not be given/);
    const { jobId } = await env.submitJob(aJob({ jobQueue: 'fair', shareIdentifier: 'deskA', schedulingPriority: 5 }));
    await env.idle();
    expect(await describeOne(env, jobId)).toMatchObject({ status: 'SUCCEEDED', shareIdentifier: 'deskA', schedulingPriority: 5 });
  });

  it("starts a high-priority queue's job before an earlier low-priority one (real processes)", async () => {
    const r = recorder();
    const env = environment({ emit: r.emit, vcpus: 1, jobQueues: [{ name: 'high', priority: 10 }, { name: 'low', priority: 1 }] });
    const go = join(tmp, 'go');
    const dir = join(tmp, 'intervals');
    await mkdir(dir);
    const blocker = await env.submitJob(aJob({ jobQueue: 'low', command: UNTIL_GO, environment: { GO: go } }));
    await waitForStatus(env, blocker.jobId, 'RUNNING');
    const low = await env.submitJob(aJob({ jobQueue: 'low', command: node(RECORD_INTERVAL), environment: { OUT: join(dir, 'low.json'), SLEEP_MS: '0' } }));
    const high = await env.submitJob(aJob({ jobQueue: 'high', command: node(RECORD_INTERVAL), environment: { OUT: join(dir, 'high.json'), SLEEP_MS: '0' } }));
    await waitForStatus(env, high.jobId, 'RUNNABLE');
    await waitForStatus(env, low.jobId, 'RUNNABLE');
    await writeFile(go, '');
    await env.idle();

    const [highRun, lowRun] = await Promise.all(['high', 'low'].map(async (q) => JSON.parse(await readFile(join(dir, `${q}.json`), 'utf8')) as { s: number; e: number }));
    expect(highRun.e).toBeLessThanOrEqual(lowRun.s);
    expect(last(r, high.jobId).startedAt!).toBeLessThan(last(r, low.jobId).startedAt!);
  });
});

describe('LocalComputeEnvironment: cancel and terminate', () => {
  it('terminates a running job without retrying it, and fails a queued one at once', async () => {
    const r = recorder();
    const env = environment({ emit: r.emit, vcpus: 1 });
    const running = await env.submitJob(aJob({ retryStrategy: { attempts: 3 }, command: FOREVER }));
    const queued = await env.submitJob(aJob({ command: node('') }));
    await waitForStatus(env, running.jobId, 'RUNNING');

    await env.terminateJob(running.jobId, 'Cancelled by operator');
    await env.terminateJob(queued.jobId, 'Cancelled by operator');
    await env.idle();

    expect(last(r, queued.jobId)).toMatchObject({ status: 'FAILED', statusReason: 'Cancelled by operator', attempts: [] });
    const failed = last(r, running.jobId);
    expect(failed).toMatchObject({ status: 'FAILED', statusReason: 'Cancelled by operator', container: { exitCode: 143 } });
    expect(failed.attempts).toHaveLength(1);
    // Terminating a finished or unknown job changes nothing.
    await env.terminateJob(running.jobId, 'again');
    await env.terminateJob('no-such-job', 'again');
    await env.idle();
    expect(last(r, running.jobId).statusReason).toBe('Cancelled by operator');
  });

  it('terminates every child of an array job through its parent', async () => {
    const r = recorder();
    const env = environment({ emit: r.emit, vcpus: 1 });
    const { jobId } = await env.submitJob(aJob({ arraySize: 3, command: FOREVER }));
    await waitForStatus(env, `${jobId}:0`, 'RUNNING');

    await env.terminateJob(jobId, 'Run cancelled');
    await env.idle();

    for (const index of [0, 1, 2]) expect(last(r, `${jobId}:${index}`)).toMatchObject({ status: 'FAILED', statusReason: 'Run cancelled' });
    expect(last(r, `${jobId}:1`).attempts).toEqual([]);
    expect(last(r, jobId)).toMatchObject({ status: 'FAILED', statusReason: 'Run cancelled', arrayProperties: { statusSummary: { FAILED: 3 } } });
  });

  it('cancels only what has not started: queued children FAIL, the running one runs on until terminated', async () => {
    const r = recorder();
    const env = environment({ emit: r.emit, vcpus: 1 });
    const go = join(tmp, 'go');
    const { jobId } = await env.submitJob(aJob({ arraySize: 3, command: UNTIL_GO, environment: { GO: go } }));
    await waitForStatus(env, `${jobId}:0`, 'RUNNING');

    await env.cancelJob(jobId, 'Run cancelled');
    const [parent, first, second, third] = await env.describeJobs([jobId, `${jobId}:0`, `${jobId}:1`, `${jobId}:2`]);
    expect(first).toMatchObject({ status: 'RUNNING' });
    expect(second).toMatchObject({ status: 'FAILED', statusReason: 'Run cancelled' });
    expect(third).toMatchObject({ status: 'FAILED', statusReason: 'Run cancelled' });
    expect(parent).toMatchObject({ status: 'PENDING', arrayProperties: { statusSummary: { RUNNING: 1, FAILED: 2 } } });

    // A plain job: RUNNING is left alone by cancel.
    await env.cancelJob(`${jobId}:0`, 'too late');
    expect(await describeOne(env, `${jobId}:0`)).toMatchObject({ status: 'RUNNING' });

    await writeFile(go, '');
    await env.idle();
    expect(last(r, `${jobId}:0`)).toMatchObject({ status: 'SUCCEEDED' });
    // The parent ends when all its children have; a cancelled child failed it.
    expect(last(r, jobId)).toMatchObject({ status: 'FAILED', statusReason: 'Run cancelled' });
  });
});

describe('LocalComputeEnvironment: describeJobs and listJobs', () => {
  it('says why a RUNNABLE job waits: what it needs, what is in use, how many jobs are ahead', async () => {
    const r = recorder({ mustFinish: false });
    const env = environment({ emit: r.emit, vcpus: 2, memoryMiB: 4096 });
    const go = join(tmp, 'go');
    const blocker = await env.submitJob(aJob({ vcpus: 2, memoryMiB: 1024, command: UNTIL_GO, environment: { GO: go } }));
    await waitForStatus(env, blocker.jobId, 'RUNNING');
    const first = await env.submitJob(aJob({ vcpus: 1, memoryMiB: 512 }));
    const array = await env.submitJob(aJob({ vcpus: 0.5, memoryMiB: 128, arraySize: 3 }));

    const [a, b] = await env.describeJobs([first.jobId, `${array.jobId}:2`]);
    expect(a.statusReason).toBe('needs 1 vCPU / 512 MiB; 2 of 2 vCPU / 1024 of 4096 MiB in use by 1 job; 0 jobs ahead in queue nightshift-default');
    expect(b.statusReason).toBe('needs 0.5 vCPU / 128 MiB; 2 of 2 vCPU / 1024 of 4096 MiB in use by 1 job; 3 jobs ahead in queue nightshift-default');
    // Computed on read: the events carry no such reason.
    await waitFor(() => of(r, first.jobId).length > 0, 'an event of the waiting job');
    expect(last(r, first.jobId)).toMatchObject({ status: 'RUNNABLE' });
    expect(last(r, first.jobId).statusReason).toBeUndefined();
    const [summary] = await env.listJobs({ jobQueue: 'nightshift-default', jobStatus: 'RUNNABLE' });
    expect(summary).toMatchObject({ jobId: first.jobId, statusReason: a.statusReason });

    await writeFile(go, '');
    await env.idle();
  });

  it('describes parents and children, leaves unknown ids out, and refuses more than 100 ids', async () => {
    const r = recorder();
    const env = environment({ emit: r.emit });
    const { jobId } = await env.submitJob(aJob({ arraySize: 2 }));
    await env.idle();

    const details = await env.describeJobs([jobId, `${jobId}:1`, 'no-such-job', `${jobId}:7`, `${jobId}:1`]);
    expect(details.map((d) => d.jobId)).toEqual([jobId, `${jobId}:1`]);
    expect(details[0]).toEqual(last(r, jobId));
    expect(details[0].arrayProperties?.statusSummary).toMatchObject({ SUCCEEDED: 2 });
    const error = await env.describeJobs(Array.from({ length: 101 }, (_, i) => `id-${i}`)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidComputeRequestError);
    expect((error as InvalidComputeRequestError).retryable).toBe(false);
  });

  it('lists jobs as AWS ListJobs does: by queue or array job, RUNNING by default, by status or exact name', async () => {
    const env = environment({ emit: recorder().emit, vcpus: 1 });
    const go = join(tmp, 'go');
    const running = await env.submitJob(aJob({ jobName: 'step-a', command: UNTIL_GO, environment: { GO: go } }));
    await waitForStatus(env, running.jobId, 'RUNNING');
    const queued = await env.submitJob(aJob({ jobName: 'step-b' }));
    const array = await env.submitJob(aJob({ jobName: 'step-c', arraySize: 2 }));
    const elsewhere = await env.submitJob(aJob({ jobName: 'step-a', jobQueue: 'other' }));

    const ids = (summaries: { jobId: string }[]) => summaries.map((s) => s.jobId);
    expect(ids(await env.listJobs({ jobQueue: 'nightshift-default' }))).toEqual([running.jobId]);
    expect(ids(await env.listJobs({ jobQueue: 'arn:aws:batch:us-east-1:000000000000:job-queue/nightshift-default', jobStatus: 'RUNNING' }))).toEqual([running.jobId]);
    // An array parent stays PENDING while its children wait or run.
    expect(ids(await env.listJobs({ jobQueue: 'nightshift-default', jobStatus: 'PENDING' }))).toEqual([array.jobId]);
    expect(ids(await env.listJobs({ jobQueue: 'nightshift-default', jobStatus: 'RUNNABLE' }))).toEqual([queued.jobId]);
    // A name finds the job whatever its status: how a caller finds out whether its submission went through.
    expect(ids(await env.listJobs({ jobQueue: 'nightshift-default', jobName: 'step-a' }))).toEqual([running.jobId]);
    expect(ids(await env.listJobs({ jobQueue: 'other', jobName: 'step-a' }))).toEqual([elsewhere.jobId]);
    expect(ids(await env.listJobs({ arrayJobId: array.jobId, jobStatus: 'RUNNABLE' }))).toEqual([`${array.jobId}:0`, `${array.jobId}:1`]);
    expect(await env.listJobs({ arrayJobId: array.jobId, jobStatus: 'RUNNABLE' })).toMatchObject([{ arrayProperties: { index: 0 } }, { arrayProperties: { index: 1 } }]);
    expect(await env.listJobs({ arrayJobId: 'no-such-job', jobStatus: 'RUNNABLE' })).toEqual([]);

    await expect(env.listJobs({})).rejects.toBeInstanceOf(InvalidComputeRequestError);
    await expect(env.listJobs({ jobQueue: 'nightshift-default', arrayJobId: array.jobId })).rejects.toBeInstanceOf(InvalidComputeRequestError);

    await writeFile(go, '');
    await env.idle();
    const done = await env.listJobs({ jobQueue: 'nightshift-default', jobStatus: 'SUCCEEDED' });
    // Newest first.
    expect(ids(done)).toEqual([array.jobId, queued.jobId, running.jobId]);
    expect(done[1]).toMatchObject({ jobName: 'step-b', status: 'SUCCEEDED', container: { exitCode: 0 } });
  });

  it('keeps finished jobs describable within the retention, forgetting the oldest first', async () => {
    const env = environment({ emit: recorder().emit, finishedJobRetention: { maxUnits: 3 } });
    const plain = await env.submitJob(aJob());
    await env.idle();
    const array = await env.submitJob(aJob({ arraySize: 2 }));
    await env.idle();
    // 1 + (1 + 2) units finished: the plain job, the oldest, is forgotten.
    expect(await env.describeJobs([plain.jobId, array.jobId, `${array.jobId}:1`])).toMatchObject([{ jobId: array.jobId }, { jobId: `${array.jobId}:1` }]);
  });
});

describe('LocalComputeEnvironment: event delivery', () => {
  it('keeps every status when emit fails for a while', async () => {
    let calls = 0;
    const r = recorder();
    const emit = r.emit;
    r.emit = async (events) => {
      calls += 1;
      if (calls <= 2) throw new Error('bus unavailable');
      await emit(events);
    };
    const env = environment({ emit: r.emit });
    const { jobId } = await env.submitJob(aJob());
    await env.idle();

    expect(statuses(r, jobId).at(-1)).toBe('SUCCEEDED');
    expect(env.undeliveredEvents()).toEqual([]);
  });

  it('finishes jobs while emit fails for good: describeJobs shows SUCCEEDED, the events are kept and written to stderr', async () => {
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      const env = environment({
        emit: async () => {
          throw new Error('bus is down');
        },
      });
      const { jobId } = await env.submitJob(aJob());
      await env.idle();

      expect(await describeOne(env, jobId)).toMatchObject({ status: 'SUCCEEDED' });
      const kept = env.undeliveredEvents();
      expect(kept.at(-1)?.detail).toMatchObject({ jobId, status: 'SUCCEEDED' });
      const written = stderr.mock.calls.map(([chunk]) => String(chunk)).join('');
      expect(written).toContain(`SUCCEEDED of job ${jobId} after 5 tries: bus is down`);
    } finally {
      stderr.mockRestore();
    }
  });
});

describe('LocalComputeEnvironment: shutdown', () => {
  it('shuts down: stops running children like a terminated host, keeps the queue, takes no more jobs', async () => {
    const r = recorder({ mustFinish: false });
    const env = environment({ emit: r.emit, vcpus: 3, killGraceMs: 300 });
    const lastTry = await env.submitJob(aJob({ retryStrategy: { attempts: 1 }, command: FOREVER }));
    const canRetry = await env.submitJob(aJob({ retryStrategy: { attempts: 2, evaluateOnExit: [{ onStatusReason: 'Host EC2*', action: 'RETRY' }] }, command: FOREVER }));
    const exitsOnHostLoss = await env.submitJob(aJob({ retryStrategy: { attempts: 2, evaluateOnExit: [{ onStatusReason: 'Host EC2*', action: 'EXIT' }] }, command: FOREVER }));
    const queued = await env.submitJob(aJob({ vcpus: 3, command: node('') }));
    for (const job of [lastTry, canRetry, exitsOnHostLoss]) await waitForStatus(env, job.jobId, 'RUNNING');

    await env.shutdown();

    const hostTerminated = 'Host EC2 (instance nightshift-local) terminated: the local compute environment shut down';
    expect(last(r, lastTry.jobId)).toMatchObject({ status: 'FAILED', statusReason: hostTerminated, container: { exitCode: 143 } });
    expect(last(r, canRetry.jobId)).toMatchObject({ status: 'RUNNABLE' });
    expect(last(r, canRetry.jobId).attempts).toHaveLength(1);
    expect(last(r, exitsOnHostLoss.jobId)).toMatchObject({ status: 'FAILED', statusReason: hostTerminated });
    expect(statuses(r, queued.jobId).at(-1)).toBe('RUNNABLE');
    expect((await describeOne(env, queued.jobId)).statusReason).toBe('needs 3 vCPU / 256 MiB; compute environment nightshift-local has shut down and starts no jobs');
    await expect(env.idle()).resolves.toBeUndefined();

    const error = await env.submitJob(aJob()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ComputeSubmissionError);
    expect((error as ComputeSubmissionError).retryable).toBe(true);
  });
});

describe('LocalComputeEnvironment: spawn throughput', () => {
  it('starts a 500-child array of `true` without blocking the event loop for long (measured, not asserted)', { timeout: 180_000 }, async () => {
    const r = recorder();
    const env = environment({ emit: r.emit, vcpus: 4, memoryMiB: 4096 });
    const delay = monitorEventLoopDelay({ resolution: 10 });
    delay.enable();
    const started = performance.now();
    const { jobId } = await env.submitJob(aJob({ arraySize: 500, vcpus: 0.25, memoryMiB: 16, command: ['true'] }));
    await env.idle();
    const elapsedMs = performance.now() - started;
    delay.disable();

    expect(await describeOne(env, jobId)).toMatchObject({ status: 'SUCCEEDED', arrayProperties: { statusSummary: { SUCCEEDED: 500 } } });
    console.log(
      `compute-local throughput: 500 'true' children (16 at a time) in ${Math.round(elapsedMs)} ms = ${Math.round((500 / elapsedMs) * 1000)}/s; ` +
        `event-loop delay max ${Math.round(delay.max / 1e6)} ms, p99 ${Math.round(delay.percentile(99) / 1e6)} ms; ${r.events.length} events`,
    );
  });
});
