import { mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { BatchJobStateChange, type BatchJobStatus } from '@nightshift/contracts';
import { ComputeSubmissionError, type JobSubmission } from '@nightshift/jobs-domain';
import { InvalidLocalComputeOptionsError } from './errors.js';
import { LocalComputeEnvironment, type BatchJobStateChangeEmission, type LocalComputeEnvironmentOptions } from './local-compute-environment.js';

const NODE = process.execPath;
const node = (script: string) => [NODE, '-e', script];

/** AWS Batch's transitions. An array parent goes SUBMITTED -> PENDING -> SUCCEEDED|FAILED. */
const NEXT: Record<BatchJobStatus, readonly BatchJobStatus[]> = {
  SUBMITTED: ['PENDING', 'FAILED'],
  PENDING: ['RUNNABLE', 'FAILED'],
  RUNNABLE: ['STARTING', 'FAILED'],
  STARTING: ['RUNNING', 'RUNNABLE', 'FAILED'],
  RUNNING: ['SUCCEEDED', 'FAILED', 'RUNNABLE'],
  SUCCEEDED: [],
  FAILED: [],
};
const PARENT_NEXT: Record<BatchJobStatus, readonly BatchJobStatus[]> = { ...NEXT, SUBMITTED: ['PENDING', 'FAILED'], PENDING: ['SUCCEEDED', 'FAILED'] };

interface Recorder {
  events: BatchJobStateChangeEmission[];
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
  const events: BatchJobStateChangeEmission[] = [];
  const r: Recorder = { events, emit: async (e) => void events.push(structuredClone(e)), mustFinish: opts.mustFinish ?? true };
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
    retryAttempts: 1,
    environment: {},
    parameters: { runId: 'run-1', taskId: 'tca#p0' },
    ...overrides,
  };
}

const of = (r: Recorder, jobId: string) => r.events.filter((e) => e.detail.jobId === jobId).map((e) => e.detail);
const statuses = (r: Recorder, jobId: string) => of(r, jobId).map((d) => d.status);
const last = (r: Recorder, jobId: string) => of(r, jobId).at(-1)!;

/** Every event valid against the contract, and each job's events following AWS Batch's lifecycle. */
function expectAwsLifecycle(r: Recorder): void {
  const byJob = new Map<string, BatchJobStateChangeEmission[]>();
  for (const event of r.events) {
    const parsed = BatchJobStateChange.detail.safeParse(event.detail);
    expect(parsed.success, JSON.stringify(parsed.error?.issues)).toBe(true);
    expect(event.source).toBe(BatchJobStateChange.source);
    expect(event.detailType).toBe(BatchJobStateChange.detailType);
    expect(event.resources).toEqual([event.detail.jobArn]);
    byJob.set(event.detail.jobId, [...(byJob.get(event.detail.jobId) ?? []), event]);
  }
  for (const [jobId, events] of byJob) {
    const isParent = events[0].detail.arrayProperties?.size !== undefined;
    const next = isParent ? PARENT_NEXT : NEXT;
    const seq = events.map((e) => e.detail.status);
    expect(seq[0], `${jobId} starts SUBMITTED`).toBe('SUBMITTED');
    for (let i = 1; i < seq.length; i += 1) expect(next[seq[i - 1]], `${jobId}: ${seq.join(' > ')}`).toContain(seq[i]);
    for (let i = 1; i < events.length; i += 1) {
      expect(events[i].detail.attempts.length).toBeGreaterThanOrEqual(events[i - 1].detail.attempts.length);
    }
    if (r.mustFinish) expect(['SUCCEEDED', 'FAILED'], `${jobId}: ${seq.join(' > ')}`).toContain(seq.at(-1));
  }
}

async function waitFor(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

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

describe('LocalComputeEnvironment', () => {
  it('runs a job through the AWS lifecycle and reports it like AWS Batch', async () => {
    const r = recorder();
    const logDir = join(tmp, 'logs');
    const env = environment({ emit: r.emit, logDir, region: 'eu-west-1', account: '123456789012' });

    const submitted = await env.submitJob(
      aJob({ command: node("console.log('to stdout'); console.error('to stderr')"), environment: { STEP: 'tca' }, vcpus: 0.5, memoryMiB: 512, timeoutSeconds: 60, retryAttempts: 2 }),
    );
    await env.idle();

    expect(submitted.jobName).toBe('tca-fills');
    expect(submitted.jobArn).toBe(`arn:aws:batch:eu-west-1:123456789012:job/${submitted.jobId}`);
    expect(statuses(r, submitted.jobId)).toEqual(['SUBMITTED', 'PENDING', 'RUNNABLE', 'STARTING', 'RUNNING', 'SUCCEEDED']);
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

    const stream = attempt.container!.logStreamName!;
    expect(stream).toMatch(/^nightshift-worker\/default\/[0-9a-f]{32}$/);
    expect(done.container.logStreamName).toBe(stream);
    const log = await readFile(join(logDir, stream), 'utf8');
    expect(log).toContain('to stdout');
    expect(log).toContain('to stderr');
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
      expect(statuses(r, childId)).toEqual(['SUBMITTED', 'PENDING', 'RUNNABLE', 'STARTING', 'RUNNING', 'SUCCEEDED']);
      expect(last(r, childId)).toMatchObject({ jobArn: `arn:aws:batch:us-east-1:000000000000:job/${childId}`, arrayProperties: { index }, parameters: { runId: 'run-1' } });
    }
    expect(statuses(r, jobId)).toEqual(['SUBMITTED', 'PENDING', 'SUCCEEDED']);
    const parent = last(r, jobId);
    expect(parent.attempts).toEqual([]);
    expect(parent.arrayProperties).toEqual({ size: 3, statusSummary: { SUBMITTED: 0, PENDING: 0, RUNNABLE: 0, STARTING: 0, RUNNING: 0, SUCCEEDED: 3, FAILED: 0 } });
    // The parent ends after its last child.
    expect(r.events.at(-1)!.detail.jobId).toBe(jobId);
  });

  it('fails the array parent when a child fails after its retries, and lets the other children finish', async () => {
    const r = recorder();
    const env = environment({ emit: r.emit });
    const { jobId } = await env.submitJob(aJob({ arraySize: 3, retryAttempts: 2, command: node("process.exit(process.env.AWS_BATCH_JOB_ARRAY_INDEX === '1' ? 2 : 0)") }));
    await env.idle();

    expect(last(r, `${jobId}:0`).status).toBe('SUCCEEDED');
    expect(last(r, `${jobId}:2`).status).toBe('SUCCEEDED');
    expect(last(r, `${jobId}:1`)).toMatchObject({ status: 'FAILED', container: { exitCode: 2 } });
    expect(last(r, `${jobId}:1`).attempts).toHaveLength(2);
    expect(statuses(r, jobId)).toEqual(['SUBMITTED', 'PENDING', 'FAILED']);
    expect(last(r, jobId)).toMatchObject({ statusReason: 'Array Child Job failed', arrayProperties: { size: 3, statusSummary: { SUCCEEDED: 2, FAILED: 1 } } });
  });

  it('retries a failed attempt and succeeds on attempt 2', async () => {
    const r = recorder();
    const env = environment({ emit: r.emit });
    const { jobId } = await env.submitJob(aJob({ retryAttempts: 3, command: node("process.exit(process.env.AWS_BATCH_JOB_ATTEMPT === '1' ? 1 : 0)") }));
    await env.idle();

    expect(statuses(r, jobId)).toEqual(['SUBMITTED', 'PENDING', 'RUNNABLE', 'STARTING', 'RUNNING', 'RUNNABLE', 'STARTING', 'RUNNING', 'SUCCEEDED']);
    const retried = of(r, jobId)[5];
    expect(retried.attempts).toHaveLength(1);
    expect(retried.attempts[0]).toMatchObject({ container: { exitCode: 1 }, statusReason: 'Essential container in task exited' });
    const done = last(r, jobId);
    expect(done.attempts.map((a) => a.container?.exitCode)).toEqual([1, 0]);
    expect(done.container.exitCode).toBe(0);
  });

  it('fails the job with the exit code and reason once its attempts are used up', async () => {
    const r = recorder();
    const env = environment({ emit: r.emit });
    const { jobId } = await env.submitJob(aJob({ retryAttempts: 2, command: node('process.exit(3)') }));
    await env.idle();

    expect(statuses(r, jobId).filter((s) => s === 'STARTING')).toHaveLength(2);
    const failed = last(r, jobId);
    expect(failed).toMatchObject({ status: 'FAILED', statusReason: 'Essential container in task exited', container: { exitCode: 3 } });
    expect(failed.attempts.map((a) => a.container?.exitCode)).toEqual([3, 3]);
  });

  it('stops an attempt that outlives its timeout with SIGTERM, then SIGKILL, and fails it', async () => {
    const r = recorder();
    const env = environment({ emit: r.emit, killGraceMs: 300 });
    const marker = join(tmp, 'signals');
    const { jobId } = await env.submitJob(
      aJob({
        timeoutSeconds: 1,
        command: node("const fs = require('fs'); process.on('SIGTERM', () => fs.writeFileSync(process.env.OUT, 'SIGTERM')); setInterval(() => {}, 1000)"),
        environment: { OUT: marker },
      }),
    );
    await env.idle();

    expect(await readFile(marker, 'utf8')).toBe('SIGTERM');
    const failed = last(r, jobId);
    expect(failed).toMatchObject({ status: 'FAILED', statusReason: 'Job attempt duration exceeded timeout', container: { exitCode: 137 } });
    const [attempt] = failed.attempts;
    expect(attempt.statusReason).toBe('Job attempt duration exceeded timeout');
    expect(attempt.container?.reason).toBe('Process exited on SIGKILL');
    // timeout (1 s) + grace (300 ms) before the SIGKILL.
    expect(attempt.stoppedAt! - attempt.startedAt!).toBeGreaterThanOrEqual(1290);
    expect(attempt.stoppedAt! - attempt.startedAt!).toBeLessThan(5000);
  });

  it('counts a program that cannot be started as a failed attempt', async () => {
    const r = recorder();
    const env = environment({ emit: r.emit });
    const { jobId } = await env.submitJob(aJob({ retryAttempts: 2, command: [join(tmp, 'no-such-program')] }));
    await env.idle();

    expect(statuses(r, jobId)).toEqual(['SUBMITTED', 'PENDING', 'RUNNABLE', 'STARTING', 'RUNNABLE', 'STARTING', 'FAILED']);
    const failed = last(r, jobId);
    expect(failed.statusReason).toBe('Task failed to start');
    expect(failed.attempts).toHaveLength(2);
    expect(failed.attempts[1].container?.reason).toMatch(/^CannotStartContainerError: .*ENOENT/);
  });

  it('fails a job that can never fit in the budget at submit time, array children included', async () => {
    const r = recorder();
    const env = environment({ emit: r.emit, vcpus: 2, memoryMiB: 2048 });
    const big = await env.submitJob(aJob({ vcpus: 4 }));
    const array = await env.submitJob(aJob({ memoryMiB: 4096, arraySize: 2 }));
    await env.idle();

    expect(statuses(r, big.jobId)).toEqual(['SUBMITTED', 'FAILED']);
    expect(last(r, big.jobId).statusReason).toMatch(/needs 4 vCPU and 256 MiB but compute environment nightshift-local has 2 vCPU and 2048 MiB/);
    expect(statuses(r, `${array.jobId}:0`)).toEqual(['SUBMITTED', 'FAILED']);
    expect(statuses(r, `${array.jobId}:1`)).toEqual(['SUBMITTED', 'FAILED']);
    expect(statuses(r, array.jobId)).toEqual(['SUBMITTED', 'FAILED']);
  });

  it('refuses submissions AWS Batch would refuse', async () => {
    const env = environment({ emit: recorder().emit });
    const refused = [
      aJob({ command: [] }),
      aJob({ jobName: 'tca#p0' }),
      aJob({ arraySize: 1 }),
      aJob({ retryAttempts: 11 }),
      aJob({ timeoutSeconds: 0 }),
      aJob({ vcpus: 0 }),
      aJob({ environment: { AWS_BATCH_JOB_ID: 'mine' } }),
    ];
    for (const job of refused) {
      const error = await env.submitJob(job).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error, JSON.stringify(job)).toBeInstanceOf(ComputeSubmissionError);
      expect((error as ComputeSubmissionError).retryable).toBe(false);
    }
    await expect(env.idle()).resolves.toBeUndefined();
  });

  it('rejects an impossible budget', () => {
    expect(() => new LocalComputeEnvironment({ vcpus: 0, memoryMiB: 1024, emit: async () => {} })).toThrow(InvalidLocalComputeOptionsError);
  });

  it('terminates a running job without retrying it, and fails a queued one at once', async () => {
    const r = recorder();
    const env = environment({ emit: r.emit, vcpus: 1 });
    const running = await env.submitJob(aJob({ retryAttempts: 3, command: node('setInterval(() => {}, 1000)') }));
    const queued = await env.submitJob(aJob({ command: node('') }));
    await waitFor(() => statuses(r, running.jobId).includes('RUNNING'));

    await env.terminateJob(running.jobId, 'Cancelled by operator');
    await env.terminateJob(queued.jobId, 'Cancelled by operator');
    await env.idle();

    expect(statuses(r, queued.jobId)).toEqual(['SUBMITTED', 'PENDING', 'RUNNABLE', 'FAILED']);
    expect(last(r, queued.jobId).statusReason).toBe('Cancelled by operator');
    expect(statuses(r, running.jobId).slice(-2)).toEqual(['RUNNING', 'FAILED']);
    const failed = last(r, running.jobId);
    expect(failed).toMatchObject({ statusReason: 'Cancelled by operator', container: { exitCode: 143 } });
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
    const { jobId } = await env.submitJob(aJob({ arraySize: 3, command: node('setInterval(() => {}, 1000)') }));
    await waitFor(() => statuses(r, `${jobId}:0`).includes('RUNNING'));

    await env.terminateJob(jobId, 'Run cancelled');
    await env.idle();

    for (const index of [0, 1, 2]) expect(last(r, `${jobId}:${index}`)).toMatchObject({ status: 'FAILED', statusReason: 'Run cancelled' });
    expect(statuses(r, `${jobId}:1`)).not.toContain('STARTING');
    expect(last(r, jobId)).toMatchObject({ status: 'FAILED', statusReason: 'Run cancelled', arrayProperties: { statusSummary: { FAILED: 3 } } });
  });

  it('keeps every status when emit fails for a while, in order', async () => {
    const events: BatchJobStateChangeEmission[] = [];
    let calls = 0;
    const r: Recorder = {
      events,
      mustFinish: true,
      emit: async (e) => {
        calls += 1;
        if (calls <= 2) throw new Error('bus unavailable');
        events.push(structuredClone(e));
      },
    };
    recorders.push(r);
    const env = environment({ emit: r.emit });
    const { jobId } = await env.submitJob(aJob());
    await env.idle();

    expect(statuses(r, jobId)).toEqual(['SUBMITTED', 'PENDING', 'RUNNABLE', 'STARTING', 'RUNNING', 'SUCCEEDED']);
  });

  it('writes a status it cannot emit to stderr and carries on', async () => {
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      const events: BatchJobStateChangeEmission[] = [];
      const env = environment({
        emit: async (e) => {
          if (e.detail.status === 'SUBMITTED') throw new Error('bus rejects SUBMITTED');
          events.push(e);
        },
      });
      const { jobId } = await env.submitJob(aJob());
      await env.idle();

      expect(events.filter((e) => e.detail.jobId === jobId).map((e) => e.detail.status)).toEqual(['PENDING', 'RUNNABLE', 'STARTING', 'RUNNING', 'SUCCEEDED']);
      const written = stderr.mock.calls.map(([chunk]) => String(chunk)).join('');
      expect(written).toContain(`could not emit SUBMITTED of job ${jobId} after 5 tries: bus rejects SUBMITTED`);
      expect(written).toContain(`"jobId":"${jobId}"`);
    } finally {
      stderr.mockRestore();
    }
  });

  it('shuts down: stops running children like a terminated host, keeps the queue, takes no more jobs', async () => {
    const r = recorder({ mustFinish: false });
    const env = environment({ emit: r.emit, vcpus: 2, killGraceMs: 300 });
    const lastTry = await env.submitJob(aJob({ retryAttempts: 1, command: node('setInterval(() => {}, 1000)') }));
    const canRetry = await env.submitJob(aJob({ retryAttempts: 2, command: node('setInterval(() => {}, 1000)') }));
    const queued = await env.submitJob(aJob({ vcpus: 2, command: node('') }));
    await waitFor(() => statuses(r, lastTry.jobId).includes('RUNNING') && statuses(r, canRetry.jobId).includes('RUNNING'));

    const started = Date.now();
    await env.shutdown();
    expect(Date.now() - started).toBeLessThan(5000);

    expect(last(r, lastTry.jobId)).toMatchObject({
      status: 'FAILED',
      statusReason: 'Host terminated: the local compute environment shut down',
      container: { exitCode: 143 },
    });
    expect(last(r, canRetry.jobId)).toMatchObject({ status: 'RUNNABLE' });
    expect(last(r, canRetry.jobId).attempts).toHaveLength(1);
    expect(statuses(r, queued.jobId)).toEqual(['SUBMITTED', 'PENDING', 'RUNNABLE']);
    await expect(env.idle()).resolves.toBeUndefined();

    const error = await env.submitJob(aJob()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ComputeSubmissionError);
    expect((error as ComputeSubmissionError).retryable).toBe(true);
  });
});
