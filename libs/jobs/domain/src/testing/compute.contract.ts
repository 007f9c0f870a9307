import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BatchJobStateChange, type BatchJobStateChangeDetail, type BatchJobStatus } from '@nightshift/contracts';
import { ComputeSubmissionError } from '../errors.js';
import type { ComputeEnvironment, JobSubmission } from '../ports/compute.port.js';

/*
 * Conformance suite for the ComputeEnvironment port. Every adapter's spec calls
 * `describeComputeEnvironmentContract` with a factory that returns a fresh environment, so all
 * adapters are held to the same semantics. Test-only: not exported from the package index (the lib
 * build excludes `src/testing/`); adapter specs import it by relative path.
 *
 * Jobs are tiny real programs (`node -e ...`), so an adapter is tested against processes that really
 * run, exit and get signalled. Waits are for conditions with generous deadlines, never fixed sleeps:
 * the suite must pass on a busy 2-core machine.
 */

/** What a contract run needs from an adapter. */
export interface ComputeEnvironmentUnderTest {
  compute: ComputeEnvironment;
  /** A job queue that exists; a submission to any other queue is refused. */
  jobQueue: string;
  /** A job definition the environment knows. */
  jobDefinition: string;
  /** The vCPUs the environment runs at once: a job asking for all of them keeps every other one waiting. */
  vcpus: number;
  /** Stops the environment (and whatever serves it) once the test is over. */
  close(): Promise<void>;
}

const NODE = process.execPath;
const node = (script: string) => [NODE, '-e', script];
const exitWith = (code: number) => node(`process.exit(${code})`);
const FOREVER = node('setInterval(() => {}, 1000)');
/** Exits 0 after `ms`, or 3 if the environment's variables were not what AWS Batch sets. */
const sleepThenExit = (ms: number) => node(`setTimeout(() => process.exit(process.env.AWS_BATCH_JOB_ID ? 0 : 3), ${ms})`);
const UNKNOWN_JOB_ID = '00000000-0000-4000-8000-000000000000';
const DEADLINE_MS = 45_000;
const TERMINAL: readonly BatchJobStatus[] = ['SUCCEEDED', 'FAILED'];

export function describeComputeEnvironmentContract(name: string, setup: () => Promise<ComputeEnvironmentUnderTest>): void {
  describe(`ComputeEnvironment contract: ${name}`, () => {
    let env: ComputeEnvironmentUnderTest;
    let compute: ComputeEnvironment;
    let seq = 0;

    beforeEach(async () => {
      env = await setup();
      compute = env.compute;
    });

    afterEach(async () => {
      await env.close();
    });

    /** A job of this test: a unique name, half a vCPU, one attempt, no environment of its own. */
    function aJob(overrides: Partial<JobSubmission> = {}): JobSubmission {
      seq += 1;
      return {
        jobName: `contract-${Date.now().toString(36)}-${seq}`,
        jobQueue: env.jobQueue,
        jobDefinition: env.jobDefinition,
        command: exitWith(0),
        vcpus: 0.5,
        memoryMiB: 64,
        timeoutSeconds: 120,
        retryStrategy: { attempts: 1 },
        environment: {},
        parameters: { 'nightshift.runId': 'run-contract', 'nightshift.step': 'step-a' },
        ...overrides,
      };
    }

    async function describeOne(jobId: string): Promise<BatchJobStateChangeDetail | undefined> {
      return (await compute.describeJobs([jobId]))[0];
    }

    /** Polls describeJobs until `done` holds for the job, and returns its detail then. */
    async function until(jobId: string, done: (d: BatchJobStateChangeDetail) => boolean, what: string): Promise<BatchJobStateChangeDetail> {
      const deadline = Date.now() + DEADLINE_MS;
      let last: BatchJobStateChangeDetail | undefined;
      for (;;) {
        last = await describeOne(jobId);
        if (last && done(last)) return last;
        if (Date.now() > deadline) throw new Error(`job ${jobId}: ${what} not within ${DEADLINE_MS} ms (last: ${last?.status} ${last?.statusReason ?? ''})`);
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    }

    const finished = (jobId: string) => until(jobId, (d) => TERMINAL.includes(d.status), 'SUCCEEDED or FAILED');

    it('runs a job to SUCCEEDED; describeJobs answers the detail a "Batch Job State Change" event carries', async () => {
      const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
      const job = aJob({
        command: node(`process.exit(process.env.TRACEPARENT === '${traceparent}' && process.env.AWS_BATCH_JOB_ATTEMPT === '1' ? 0 : 3)`),
        environment: { TRACEPARENT: traceparent },
        timeoutSeconds: 90,
      });
      const submitted = await compute.submitJob(job);
      expect(submitted.jobName).toBe(job.jobName);
      expect(submitted.jobArn).toContain(submitted.jobId);

      const detail = await finished(submitted.jobId);
      const parsed = BatchJobStateChange.detail.safeParse(detail);
      expect(parsed.success, JSON.stringify(parsed.error?.issues)).toBe(true);
      expect(detail).toMatchObject({
        jobId: submitted.jobId,
        jobArn: submitted.jobArn,
        jobName: job.jobName,
        status: 'SUCCEEDED',
        parameters: job.parameters,
        dependsOn: [],
        retryStrategy: { attempts: 1 },
        timeout: { attemptDurationSeconds: 90 },
        container: { command: job.command, exitCode: 0 },
      });
      expect(detail.jobQueue).toContain(env.jobQueue);
      expect(detail.container.environment).toContainEqual({ name: 'TRACEPARENT', value: traceparent });
      expect(detail.attempts).toHaveLength(1);
      expect(detail.attempts[0].container?.exitCode).toBe(0);
      expect(detail.createdAt).toBeLessThanOrEqual(detail.startedAt!);
      expect(detail.startedAt!).toBeLessThanOrEqual(detail.stoppedAt!);
    });

    it('runs an array job: every child gets its own AWS_BATCH_JOB_ARRAY_INDEX and reports it; the parent summarises them', async () => {
      // A child exits 0 only if its index is the suffix of its own job id (`${arrayJobId}:${index}`).
      const job = aJob({
        command: node("const i = process.env.AWS_BATCH_JOB_ARRAY_INDEX; process.exit(/^\\d+$/.test(i) && process.env.AWS_BATCH_JOB_ID.endsWith(':' + i) ? 0 : 3)"),
        arraySize: 3,
      });
      const { jobId } = await compute.submitJob(job);
      const parent = await finished(jobId);
      expect(parent.status).toBe('SUCCEEDED');
      expect(parent.arrayProperties).toMatchObject({ size: 3, statusSummary: { SUCCEEDED: 3 } });
      const children = await compute.describeJobs([0, 1, 2].map((i) => `${jobId}:${i}`));
      expect(children.map((c) => [c.jobId, c.status, c.arrayProperties?.index, c.container.exitCode])).toEqual(
        [0, 1, 2].map((i) => [`${jobId}:${i}`, 'SUCCEEDED', i, 0]),
      );
      const listed = await compute.listJobs({ arrayJobId: jobId, jobStatus: 'SUCCEEDED' });
      expect(listed.map((s) => s.arrayProperties?.index).sort()).toEqual([0, 1, 2]);
    });

    it('an evaluateOnExit EXIT rule fails the job on exit 2 at once, without retry', async () => {
      const retryStrategy = { attempts: 3, evaluateOnExit: [{ onExitCode: '2', action: 'EXIT' as const }] };
      const { jobId } = await compute.submitJob(aJob({ command: exitWith(2), retryStrategy }));
      const detail = await finished(jobId);
      expect(detail.status).toBe('FAILED');
      expect(detail.attempts.map((a) => a.container?.exitCode)).toEqual([2]);
      expect(detail.retryStrategy?.evaluateOnExit).toEqual([expect.objectContaining({ onExitCode: '2', action: expect.stringMatching(/^exit$/i) })]);
    });

    it('retries a failed attempt that no rule stops (exit 1) until its attempts are used up', async () => {
      const retryStrategy = { attempts: 3, evaluateOnExit: [{ onExitCode: '2', action: 'EXIT' as const }] };
      const { jobId } = await compute.submitJob(aJob({ command: exitWith(1), retryStrategy }));
      const detail = await finished(jobId);
      expect(detail.status).toBe('FAILED');
      expect(detail.attempts.map((a) => a.container?.exitCode)).toEqual([1, 1, 1]);
    });

    it('lists the jobs of a queue by exact jobName, whatever their status, newest first', async () => {
      const first = aJob();
      const a1 = await compute.submitJob(first);
      const other = await compute.submitJob(aJob());
      const a2 = await compute.submitJob({ ...first });
      await Promise.all([a1, other, a2].map((s) => finished(s.jobId)));

      const byName = await compute.listJobs({ jobQueue: env.jobQueue, jobName: first.jobName });
      expect(byName.map((s) => s.jobId)).toEqual([a2.jobId, a1.jobId]);
      expect(byName[0]).toMatchObject({ jobName: first.jobName, status: 'SUCCEEDED', jobArn: a2.jobArn });
      expect(byName[0].createdAt).toBeGreaterThan(0);
      expect(await compute.listJobs({ jobQueue: env.jobQueue, jobName: first.jobName, jobStatus: 'FAILED' })).toEqual([]);
      expect(await compute.listJobs({ jobQueue: env.jobQueue, jobName: `${first.jobName}x` })).toEqual([]);
    });

    it('cancelJob fails a job still waiting in its queue and leaves a running one running', async () => {
      const blocker = await compute.submitJob(aJob({ command: FOREVER, vcpus: env.vcpus }));
      await until(blocker.jobId, (d) => d.status === 'RUNNING', 'RUNNING');
      const queued = await compute.submitJob(aJob());
      await until(queued.jobId, (d) => d.status === 'RUNNABLE', 'RUNNABLE');

      await compute.cancelJob(queued.jobId, 'not needed any more');
      const cancelled = await finished(queued.jobId);
      expect(cancelled).toMatchObject({ status: 'FAILED', statusReason: 'not needed any more' });
      expect(cancelled.attempts).toEqual([]);

      await compute.cancelJob(blocker.jobId, 'too late to cancel');
      expect((await describeOne(blocker.jobId))?.status).toBe('RUNNING');
      await compute.terminateJob(blocker.jobId, 'test over');
      expect(await finished(blocker.jobId)).toMatchObject({ status: 'FAILED', statusReason: 'test over' });
    });

    it('terminateJob stops a running job: it FAILS with the reason, without retry', async () => {
      const { jobId } = await compute.submitJob(aJob({ command: FOREVER, retryStrategy: { attempts: 3 } }));
      await until(jobId, (d) => d.status === 'RUNNING', 'RUNNING');
      await compute.terminateJob(jobId, 'operator stopped it');
      const detail = await finished(jobId);
      expect(detail).toMatchObject({ status: 'FAILED', statusReason: 'operator stopped it' });
      expect(detail.attempts).toHaveLength(1);
    });

    it('describeJobs leaves out job ids it does not know', async () => {
      const { jobId } = await compute.submitJob(aJob());
      expect(await compute.describeJobs([UNKNOWN_JOB_ID])).toEqual([]);
      const details = await compute.describeJobs([UNKNOWN_JOB_ID, jobId]);
      expect(details.map((d) => d.jobId)).toEqual([jobId]);
      await finished(jobId);
    });

    it('refuses a submission to a job queue that does not exist: ComputeSubmissionError, not retryable', async () => {
      const error = await compute.submitJob(aJob({ jobQueue: 'no-such-queue' })).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(ComputeSubmissionError);
      expect((error as ComputeSubmissionError).retryable).toBe(false);
      expect((error as Error).message).toContain('no-such-queue');
    });

    describe('dependsOn', () => {
      it('a job stays PENDING until the job it depends on has SUCCEEDED, then runs', async () => {
        const first = await compute.submitJob(aJob({ command: sleepThenExit(1500) }));
        const second = await compute.submitJob(aJob({ dependsOn: [{ jobId: first.jobId }] }));
        const deadline = Date.now() + DEADLINE_MS;
        for (;;) {
          // One look at both: while the first has not finished, the second has not left PENDING.
          const details = await compute.describeJobs([first.jobId, second.jobId]);
          const [a, b] = [first.jobId, second.jobId].map((id) => details.find((d) => d.jobId === id)!);
          if (!TERMINAL.includes(a.status)) expect(b.status, `while ${first.jobId} is ${a.status}`).toBe('PENDING');
          if (TERMINAL.includes(a.status)) break;
          if (Date.now() > deadline) throw new Error('the first job did not finish');
          await new Promise((resolve) => setTimeout(resolve, 25));
        }
        const [a, b] = [await finished(first.jobId), await finished(second.jobId)];
        expect(a.status).toBe('SUCCEEDED');
        expect(b).toMatchObject({ status: 'SUCCEEDED', dependsOn: [{ jobId: first.jobId }] });
        expect(b.startedAt!).toBeGreaterThanOrEqual(a.stoppedAt!);
      });

      it('a FAILED dependency fails its dependents without running them: "Dependent Job failed", down the chain', async () => {
        const first = await compute.submitJob(aJob({ command: exitWith(1) }));
        const second = await compute.submitJob(aJob({ dependsOn: [{ jobId: first.jobId }] }));
        const third = await compute.submitJob(aJob({ dependsOn: [{ jobId: second.jobId }] }));
        expect((await finished(first.jobId)).status).toBe('FAILED');
        for (const { jobId } of [second, third]) {
          const detail = await finished(jobId);
          expect(detail).toMatchObject({ status: 'FAILED', statusReason: 'Dependent Job failed' });
          expect(detail.attempts).toEqual([]);
        }
        // A dependency that has already FAILED fails a new dependent at once.
        const late = await compute.submitJob(aJob({ dependsOn: [{ jobId: first.jobId }] }));
        expect(await finished(late.jobId)).toMatchObject({ status: 'FAILED', statusReason: 'Dependent Job failed' });
      });

      it('N_TO_N: child i of an array job waits for child i of an array job of the same size only', async () => {
        // Child 0 succeeds, child 1 fails.
        const upstream = await compute.submitJob(aJob({ command: node('process.exit(Number(process.env.AWS_BATCH_JOB_ARRAY_INDEX))'), arraySize: 2 }));
        const downstream = await compute.submitJob(aJob({ arraySize: 2, dependsOn: [{ jobId: upstream.jobId, type: 'N_TO_N' }] }));
        expect((await finished(upstream.jobId)).status).toBe('FAILED');
        expect((await finished(downstream.jobId)).status).toBe('FAILED');
        const [up0, down0, down1] = await Promise.all([`${upstream.jobId}:0`, `${downstream.jobId}:0`, `${downstream.jobId}:1`].map((id) => finished(id)));
        expect(down0.status).toBe('SUCCEEDED');
        expect(down0.startedAt!).toBeGreaterThanOrEqual(up0.stoppedAt!);
        expect(down1).toMatchObject({ status: 'FAILED', statusReason: 'Dependent Job failed', attempts: [] });
      });

      it('SEQUENTIAL: the children of an array job run one after another from index 0', async () => {
        const { jobId } = await compute.submitJob(aJob({ command: sleepThenExit(200), vcpus: 0.25, arraySize: 3, dependsOn: [{ type: 'SEQUENTIAL' }] }));
        expect((await finished(jobId)).status).toBe('SUCCEEDED');
        const children = await compute.describeJobs([0, 1, 2].map((i) => `${jobId}:${i}`));
        for (let i = 1; i < 3; i += 1) expect(children[i].startedAt!).toBeGreaterThanOrEqual(children[i - 1].stoppedAt!);
      });

      it('refuses a dependency on a job it does not know: ComputeSubmissionError, not retryable', async () => {
        const error = await compute.submitJob(aJob({ dependsOn: [{ jobId: UNKNOWN_JOB_ID }] })).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(error).toBeInstanceOf(ComputeSubmissionError);
        expect((error as ComputeSubmissionError).retryable).toBe(false);
        expect((error as Error).message).toContain(UNKNOWN_JOB_ID);
      });
    });
  });
}
