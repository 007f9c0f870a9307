import { afterEach, describe, expect, it } from 'vitest';
import { BatchJobStateChange, type BatchJobStateChangeDetail } from '@nightshift/contracts';
import { ComputeSubmissionError, type JobSubmission } from '@nightshift/jobs-domain';
import { LocalComputeEnvironment } from './local-compute-environment.js';
import type { BatchJobStateChangeEmission } from './state-change-emitter.js';

// Job dependencies in the local environment, beyond the port's contract (compute.contract.ts):
// what happens to dependents that are cancelled, the refusals, the events, and a long cascade.

const NODE = process.execPath;
const FOREVER = [NODE, '-e', 'setInterval(() => {}, 1000)'];

let environments: LocalComputeEnvironment[] = [];
afterEach(async () => {
  await Promise.all(environments.map((e) => e.shutdown()));
  environments = [];
});

function environment(events: BatchJobStateChangeEmission[] = []): LocalComputeEnvironment {
  const env = new LocalComputeEnvironment({
    vcpus: 2,
    memoryMiB: 2048,
    killGraceMs: 300,
    emitLingerMs: 0,
    emit: async (batch) => {
      events.push(...batch.map((e) => structuredClone(e)));
    },
  });
  environments.push(env);
  return env;
}

let seq = 0;
function aJob(overrides: Partial<JobSubmission> = {}): JobSubmission {
  seq += 1;
  return {
    jobName: `deps-${seq}`,
    jobQueue: 'deps',
    jobDefinition: 'nightshift-worker',
    command: [NODE, '-e', ''],
    vcpus: 0.5,
    memoryMiB: 64,
    timeoutSeconds: 60,
    retryStrategy: { attempts: 1 },
    environment: {},
    parameters: {},
    ...overrides,
  };
}

async function until(env: LocalComputeEnvironment, jobId: string, done: (d: BatchJobStateChangeDetail) => boolean): Promise<BatchJobStateChangeDetail> {
  const deadline = Date.now() + 45_000;
  for (;;) {
    const [detail] = await env.describeJobs([jobId]);
    if (detail && done(detail)) return detail;
    if (Date.now() > deadline) throw new Error(`job ${jobId}: not within 45 s (last: ${detail?.status})`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
const finished = (env: LocalComputeEnvironment, jobId: string) => until(env, jobId, (d) => d.status === 'SUCCEEDED' || d.status === 'FAILED');

async function refusal(promise: Promise<unknown>): Promise<ComputeSubmissionError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ComputeSubmissionError);
  expect((error as ComputeSubmissionError).retryable).toBe(false);
  return error as ComputeSubmissionError;
}

describe('dependsOn in the local compute environment', () => {
  it('a waiting job reports PENDING and nothing else until it fails with its dependency; its events follow the contract', async () => {
    const events: BatchJobStateChangeEmission[] = [];
    const env = environment(events);
    const first = await env.submitJob(aJob({ command: FOREVER }));
    const second = await env.submitJob(aJob({ dependsOn: [{ jobId: first.jobId }] }));
    await until(env, first.jobId, (d) => d.status === 'RUNNING');
    expect((await env.describeJobs([second.jobId]))[0]).toMatchObject({ status: 'PENDING', dependsOn: [{ jobId: first.jobId }] });
    await env.terminateJob(first.jobId, 'operator');
    expect(await finished(env, second.jobId)).toMatchObject({ status: 'FAILED', statusReason: 'Dependent Job failed', attempts: [] });
    await env.idle();
    const statuses = events.filter((e) => e.detail.jobId === second.jobId).map((e) => e.detail.status);
    expect(statuses.filter((s) => s !== 'SUBMITTED')).toEqual(['PENDING', 'FAILED']);
    for (const event of events) expect(BatchJobStateChange.detail.safeParse(event.detail).success).toBe(true);
  });

  it('cancelling a waiting job fails it with the reason, and its own dependents after it', async () => {
    const env = environment();
    const first = await env.submitJob(aJob({ command: FOREVER }));
    const second = await env.submitJob(aJob({ dependsOn: [{ jobId: first.jobId }] }));
    const third = await env.submitJob(aJob({ dependsOn: [{ jobId: second.jobId }] }));
    await env.cancelJob(second.jobId, 'not needed');
    expect(await finished(env, second.jobId)).toMatchObject({ status: 'FAILED', statusReason: 'not needed' });
    expect(await finished(env, third.jobId)).toMatchObject({ status: 'FAILED', statusReason: 'Dependent Job failed' });
    expect((await env.describeJobs([first.jobId]))[0].status).not.toBe('FAILED');
    await env.terminateJob(first.jobId, 'test over');
  });

  it('an array job whose dependency fails fails as a whole: every child and the parent say "Dependent Job failed"', async () => {
    const env = environment();
    const first = await env.submitJob(aJob({ command: [NODE, '-e', 'process.exit(1)'] }));
    const array = await env.submitJob(aJob({ arraySize: 3, dependsOn: [{ jobId: first.jobId }] }));
    expect(await finished(env, array.jobId)).toMatchObject({ status: 'FAILED', statusReason: 'Dependent Job failed', arrayProperties: { statusSummary: { FAILED: 3 } } });
  });

  it('a dependency on one array child waits for that child only', async () => {
    const env = environment();
    const array = await env.submitJob(aJob({ arraySize: 2, command: [NODE, '-e', 'if (process.env.AWS_BATCH_JOB_ARRAY_INDEX === "1") setInterval(() => {}, 1000)'] }));
    const dependent = await env.submitJob(aJob({ dependsOn: [{ jobId: `${array.jobId}:0` }] }));
    expect((await finished(env, dependent.jobId)).status).toBe('SUCCEEDED');
    expect((await env.describeJobs([`${array.jobId}:1`]))[0].status).toBe('RUNNING');
    await env.terminateJob(array.jobId, 'test over');
  });

  it('a SEQUENTIAL array of 10,000 whose first child fails fails every later child at once, without running them', async () => {
    const env = environment();
    const { jobId } = await env.submitJob(aJob({ arraySize: 10_000, command: [NODE, '-e', 'process.exit(1)'], dependsOn: [{ type: 'SEQUENTIAL' }] }));
    const parent = await finished(env, jobId);
    expect(parent).toMatchObject({ status: 'FAILED', statusReason: 'Array Child Job failed', arrayProperties: { statusSummary: { FAILED: 10_000 } } });
    const [first, last] = await env.describeJobs([`${jobId}:0`, `${jobId}:9999`]);
    expect(first.attempts).toHaveLength(1);
    expect(last).toMatchObject({ status: 'FAILED', statusReason: 'Dependent Job failed', attempts: [] });
  });

  it('refuses dependencies AWS refuses', async () => {
    const env = environment();
    const plain = await env.submitJob(aJob({ command: FOREVER }));
    const array = await env.submitJob(aJob({ arraySize: 2, command: FOREVER }));
    expect((await refusal(env.submitJob(aJob({ arraySize: 3, dependsOn: [{ jobId: array.jobId, type: 'N_TO_N' }] })))).message).toContain("array job of this job's size (3)");
    expect((await refusal(env.submitJob(aJob({ arraySize: 2, dependsOn: [{ jobId: plain.jobId, type: 'N_TO_N' }] })))).message).toContain('N_TO_N');
    expect((await refusal(env.submitJob(aJob({ dependsOn: [{ jobId: array.jobId, type: 'N_TO_N' }] })))).message).toContain('for array jobs only');
    expect((await refusal(env.submitJob(aJob({ dependsOn: [{ type: 'SEQUENTIAL' }] })))).message).toContain('for array jobs only');
    expect((await refusal(env.submitJob(aJob({ arraySize: 2, dependsOn: [{ jobId: plain.jobId, type: 'SEQUENTIAL' }] })))).message).toContain('takes no jobId');
    expect((await refusal(env.submitJob(aJob({ dependsOn: [{}] })))).message).toContain('needs a jobId');
    const many = Array.from({ length: 21 }, () => ({ jobId: plain.jobId }));
    expect((await refusal(env.submitJob(aJob({ dependsOn: many })))).message).toContain('at most 20');
    await env.terminateJob(plain.jobId, 'test over');
    await env.terminateJob(array.jobId, 'test over');
  });
});
