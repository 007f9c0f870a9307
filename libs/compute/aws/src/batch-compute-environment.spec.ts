import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { BatchClient, type BatchClientConfig } from '@aws-sdk/client-batch';
import { afterEach, describe, expect, it } from 'vitest';
import { BatchHttpEndpoint, LocalComputeEnvironment } from '@nightshift/compute-local';
import { ComputeSubmissionError, type JobSubmission } from '@nightshift/jobs-domain';
// eslint-disable-next-line @nx/enforce-module-boundaries -- the conformance suite is test-only, not in jobs-domain's index
import { describeComputeEnvironmentContract } from '../../../jobs/domain/src/testing/compute.contract.js';
import { BatchComputeEnvironment } from './batch-compute-environment.js';
import { BatchRequestRefusedError, BatchUnavailableError } from './errors.js';

const QUEUE = 'contract-queue';
const DEFINITION = 'nightshift-worker';

/** A BatchClient pointed at `endpoint` as a local run points it: region us-east-1, static credentials. */
function clientFor(endpoint: string, config: Partial<BatchClientConfig> = {}): BatchClient {
  return new BatchClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' }, ...config });
}

/** The AWS adapter over the Batch endpoint over a local environment: the embedded mode's Batch, end to end. */
async function stack(config: Partial<BatchClientConfig> = {}) {
  const local = new LocalComputeEnvironment({
    vcpus: 2,
    memoryMiB: 2048,
    killGraceMs: 500,
    strictQueues: true,
    jobQueues: [{ name: QUEUE, priority: 1 }],
    emit: async () => {},
  });
  const endpoint = new BatchHttpEndpoint({ compute: local, jobDefinitions: { [DEFINITION]: { command: ['true'], vcpus: 1, memoryMiB: 128 } } });
  const client = clientFor(await endpoint.listen(), config);
  const compute = new BatchComputeEnvironment(client);
  return {
    local,
    endpoint,
    client,
    compute,
    close: async () => {
      client.destroy();
      await endpoint.close();
      await local.shutdown();
    },
  };
}

describeComputeEnvironmentContract('BatchComputeEnvironment -> BatchHttpEndpoint -> LocalComputeEnvironment', async () => {
  const s = await stack();
  return { compute: s.compute, jobQueue: QUEUE, jobDefinition: DEFINITION, vcpus: 2, close: s.close };
});

function aJob(overrides: Partial<JobSubmission> = {}): JobSubmission {
  return {
    jobName: `aws-adapter-${Math.random().toString(36).slice(2, 10)}`,
    jobQueue: QUEUE,
    jobDefinition: DEFINITION,
    command: [process.execPath, '-e', ''],
    vcpus: 0.5,
    memoryMiB: 64,
    timeoutSeconds: 60,
    retryStrategy: { attempts: 1 },
    environment: {},
    parameters: { 'nightshift.runId': 'run-1', 'nightshift.step': 'tca', other: 'not a tag' },
    ...overrides,
  };
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (e: unknown) => e,
  );
}

describe('BatchComputeEnvironment', () => {
  const closers: (() => Promise<void>)[] = [];
  afterEach(async () => {
    await Promise.all(closers.splice(0).map((close) => close()));
  });
  async function aStack(config: Partial<BatchClientConfig> = {}) {
    const s = await stack(config);
    closers.push(s.close);
    return s;
  }

  it('submits nightshift ids as tags propagated to the tasks, and the rest as container overrides', async () => {
    const { compute } = await aStack();
    const { jobId } = await compute.submitJob(aJob({ schedulingPriority: 5, timeoutSeconds: 77 }));
    const [detail] = await compute.describeJobs([jobId]);
    expect(detail).toMatchObject({
      tags: { 'nightshift.runId': 'run-1', 'nightshift.step': 'tca' },
      propagateTags: true,
      timeout: { attemptDurationSeconds: 77 },
      schedulingPriority: 5,
      container: {
        command: [process.execPath, '-e', ''],
        resourceRequirements: [
          { type: 'VCPU', value: '0.5' },
          { type: 'MEMORY', value: '64' },
        ],
      },
    });
    expect(Object.keys(detail.tags ?? {})).not.toContain('other');
  });

  it('describes more than 100 ids in chunks of 100 (AWS refuses more in one call)', async () => {
    const { compute } = await aStack();
    const { jobId } = await compute.submitJob(aJob());
    const unknown = Array.from({ length: 249 }, (_, i) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`);
    const details = await compute.describeJobs([...unknown.slice(0, 150), jobId, ...unknown.slice(150)]);
    expect(details.map((d) => d.jobId)).toEqual([jobId]);
  });

  it('follows nextToken through every page of ListJobs', async () => {
    const s = await aStack();
    // One job per page, so that three jobs take three pages.
    s.client.middlewareStack.add((next) => (args) => next({ ...args, input: { ...(args.input as object), maxResults: 1 } }), { step: 'initialize' });
    const job = aJob();
    const ids: string[] = [];
    for (let i = 0; i < 3; i += 1) ids.push((await s.compute.submitJob(job)).jobId);
    const listed = await s.compute.listJobs({ jobQueue: QUEUE, jobName: job.jobName });
    expect(listed.map((j) => j.jobId)).toEqual(ids.reverse());
  });

  it('leaves a job AWS does not know alone on cancelJob and terminateJob, as the port says', async () => {
    const { compute } = await aStack();
    await expect(compute.cancelJob('00000000-0000-4000-8000-000000000000', 'gone')).resolves.toBeUndefined();
    await expect(compute.terminateJob('00000000-0000-4000-8000-000000000000', 'gone')).resolves.toBeUndefined();
  });

  it("maps SubmitJob's ClientException to a ComputeSubmissionError that is not retryable, with AWS's message", async () => {
    const { compute } = await aStack();
    const error = await rejection(compute.submitJob(aJob({ jobDefinition: 'no-such-definition' })));
    expect(error).toBeInstanceOf(ComputeSubmissionError);
    expect(error).toMatchObject({ retryable: false, cause: { name: 'ClientException' } });
    expect((error as Error).message).toContain('no-such-definition');
  });

  it('maps a ServerException (the environment shutting down) to a retryable ComputeSubmissionError', async () => {
    const s = await aStack({ maxAttempts: 1 });
    await s.local.shutdown();
    const error = await rejection(s.compute.submitJob(aJob()));
    expect(error).toBeInstanceOf(ComputeSubmissionError);
    expect(error).toMatchObject({ retryable: true, cause: { name: 'ServerException' } });
  });

  it('maps an endpoint that cannot be reached to retryable errors', async () => {
    const s = await aStack({ maxAttempts: 1 });
    await s.endpoint.close();
    expect(await rejection(s.compute.submitJob(aJob()))).toMatchObject({ name: 'ComputeSubmissionError', retryable: true });
    expect(await rejection(s.compute.describeJobs(['x']))).toBeInstanceOf(BatchUnavailableError);
  });

  it('rethrows an error it does not know unchanged', async () => {
    const s = await aStack();
    const boom = new TypeError('a bug in a middleware');
    s.client.middlewareStack.add(
      () => async () => {
        throw boom;
      },
      { step: 'initialize' },
    );
    expect(await rejection(s.compute.submitJob(aJob()))).toBe(boom);
    expect(await rejection(s.compute.listJobs({ jobQueue: QUEUE }))).toBe(boom);
  });

  describe('against AWS error answers the embedded endpoint never gives', () => {
    let server: Server | undefined;
    afterEach(async () => {
      await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
      server = undefined;
    });
    /**
     * A server that answers every request with `status` and AWS's error shape for `type`, except
     * the paths in `answers`, which get 200 and that body.
     */
    async function answering(status: number, type: string, answers: Record<string, unknown> = {}): Promise<BatchComputeEnvironment> {
      server = createServer((req, res) => {
        req.resume();
        req.on('end', () => {
          const answer = answers[req.url ?? ''];
          if (answer !== undefined) {
            res.writeHead(200, { 'content-type': 'application/json' });
            res.end(JSON.stringify(answer));
            return;
          }
          res.writeHead(status, { 'content-type': 'application/json', 'x-amzn-errortype': type });
          res.end(JSON.stringify({ message: `${type} from a stand-in` }));
        });
      });
      await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
      const client = clientFor(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, { maxAttempts: 1 });
      closers.push(async () => client.destroy());
      return new BatchComputeEnvironment(client);
    }

    it('throttling (429 TooManyRequestsException) is retryable', async () => {
      const compute = await answering(429, 'TooManyRequestsException');
      expect(await rejection(compute.submitJob(aJob()))).toMatchObject({ name: 'ComputeSubmissionError', retryable: true });
      expect(await rejection(compute.listJobs({ jobQueue: QUEUE }))).toBeInstanceOf(BatchUnavailableError);
    });

    it('a ClientException on DescribeJobs or ListJobs is a BatchRequestRefusedError, not retryable', async () => {
      const compute = await answering(400, 'ClientException');
      const error = await rejection(compute.describeJobs(['x']));
      expect(error).toBeInstanceOf(BatchRequestRefusedError);
      expect(error).toMatchObject({ retryable: false, message: expect.stringContaining('ClientException from a stand-in') });
      expect(await rejection(compute.listJobs({ jobQueue: QUEUE }))).toBeInstanceOf(BatchRequestRefusedError);
    });

    it('a ClientException on TerminateJob or CancelJob for a job AWS knows is not swallowed', async () => {
      const job = {
        jobArn: 'arn:aws:batch:us-east-1:000000000000:job/x',
        jobName: 'x',
        jobId: 'x',
        jobQueue: 'arn:aws:batch:us-east-1:000000000000:job-queue/q',
        status: 'RUNNING',
        createdAt: 1,
        startedAt: 2,
        jobDefinition: 'arn:aws:batch:us-east-1:000000000000:job-definition/d:1',
      };
      const compute = await answering(400, 'ClientException', { '/v1/describejobs': { jobs: [job] } });
      const error = await rejection(compute.terminateJob('x', 'why'));
      expect(error).toBeInstanceOf(BatchRequestRefusedError);
      expect(error).toMatchObject({ operation: 'TerminateJob', cause: { name: 'ClientException' } });
      expect(await rejection(compute.cancelJob('x', 'why'))).toMatchObject({ operation: 'CancelJob' });
    });
  });
});
