import { request } from 'node:http';
import {
  BatchClient,
  CancelJobCommand,
  DescribeJobsCommand,
  ListJobsCommand,
  RegisterJobDefinitionCommand,
  SubmitJobCommand,
  TerminateJobCommand,
  type BatchServiceException,
  type JobDetail,
  type SubmitJobCommandInput,
} from '@aws-sdk/client-batch';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BatchHttpEndpoint } from './batch-endpoint.js';
import { InvalidComputeRequestError } from './errors.js';
import { LocalComputeEnvironment } from './local-compute-environment.js';

// The endpoint driven by the unmodified @aws-sdk/client-batch, as the AWS adapter and the AWS CLI
// drive it: requests as the SDK serialises them, answers and errors as the SDK parses them.

const QUEUE = 'nightly';
const NODE = process.execPath;
const FOREVER = [NODE, '-e', 'setInterval(() => {}, 1000)'];
const UNKNOWN = '00000000-0000-4000-8000-000000000000';

let compute: LocalComputeEnvironment;
let endpoint: BatchHttpEndpoint;
let client: BatchClient;

beforeEach(async () => {
  compute = new LocalComputeEnvironment({ vcpus: 2, memoryMiB: 2048, killGraceMs: 300, strictQueues: true, jobQueues: [{ name: QUEUE, priority: 1 }], emit: async () => {} });
  endpoint = new BatchHttpEndpoint({
    compute,
    jobDefinitions: {
      'nightshift-worker': { command: [NODE, '-e', 'process.exit(process.env.FROM_DEFINITION === "yes" ? 0 : 3)'], vcpus: 0.5, memoryMiB: 128, environment: { FROM_DEFINITION: 'yes' } },
      'timed-worker': { command: [NODE, '-e', ''], vcpus: 0.5, memoryMiB: 128, timeoutSeconds: 600, retryStrategy: { attempts: 2 } },
    },
  });
  client = new BatchClient({ endpoint: await endpoint.listen(), region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' }, maxAttempts: 1 });
});

afterEach(async () => {
  client.destroy();
  await endpoint.close();
  await compute.shutdown();
});

const submit = (input: Partial<SubmitJobCommandInput> = {}) =>
  client.send(new SubmitJobCommand({ jobName: 'tca-fills', jobQueue: QUEUE, jobDefinition: 'nightshift-worker', ...input } as SubmitJobCommandInput));

async function finished(jobId: string): Promise<JobDetail> {
  const deadline = Date.now() + 45_000;
  for (;;) {
    const { jobs } = await client.send(new DescribeJobsCommand({ jobs: [jobId] }));
    const job = jobs?.[0];
    if (job && (job.status === 'SUCCEEDED' || job.status === 'FAILED')) return job;
    if (Date.now() > deadline) throw new Error(`job ${jobId} did not finish (last: ${job?.status})`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** The SDK's error for `promise`, which must reject. */
async function awsError(promise: Promise<unknown>): Promise<BatchServiceException> {
  return promise.then(
    () => {
      throw new Error('expected AWS to refuse');
    },
    (e: unknown) => e as BatchServiceException,
  );
}

function expectClientException(error: BatchServiceException, message: string | RegExp): void {
  expect(error.name).toBe('ClientException');
  expect(error.$fault).toBe('client');
  expect(error.$metadata.httpStatusCode).toBe(400);
  expect(error.message).toMatch(message);
}

describe('SubmitJob', () => {
  it('runs the registered job definition when the request has no overrides', async () => {
    const { jobId, jobArn, jobName } = await submit();
    expect(jobName).toBe('tca-fills');
    expect(jobArn).toBe(`arn:aws:batch:us-east-1:000000000000:job/${jobId}`);
    const job = await finished(jobId!);
    expect(job).toMatchObject({
      status: 'SUCCEEDED',
      jobDefinition: 'arn:aws:batch:us-east-1:000000000000:job-definition/nightshift-worker:1',
      container: { resourceRequirements: [{ type: 'VCPU', value: '0.5' }, { type: 'MEMORY', value: '128' }], environment: [{ name: 'FROM_DEFINITION', value: 'yes' }] },
      retryStrategy: { attempts: 1 },
      tags: {},
      propagateTags: false,
    });
    // Neither the definition nor the request has a timeout: AWS reports none.
    expect(job.timeout).toBeUndefined();
  });

  it('applies overrides as AWS does: command and resources replace, environment adds, retry strategy and timeout replace', async () => {
    const { jobId } = await submit({
      jobDefinition: 'arn:aws:batch:us-east-1:000000000000:job-definition/timed-worker:1',
      containerOverrides: {
        command: [NODE, '-e', 'process.exit(process.env.TRACEPARENT ? 0 : 3)'],
        environment: [{ name: 'TRACEPARENT', value: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' }],
        resourceRequirements: [{ type: 'VCPU', value: '0.25' }, { type: 'MEMORY', value: '64' }],
      },
      retryStrategy: { attempts: 3, evaluateOnExit: [{ onExitCode: '2', action: 'EXIT' }] },
      timeout: { attemptDurationSeconds: 90 },
      parameters: { 'nightshift.runId': 'run-1' },
      tags: { 'nightshift.runId': 'run-1' },
      propagateTags: true,
    });
    expect(await finished(jobId!)).toMatchObject({
      status: 'SUCCEEDED',
      container: { resourceRequirements: [{ type: 'VCPU', value: '0.25' }, { type: 'MEMORY', value: '64' }] },
      retryStrategy: { attempts: 3, evaluateOnExit: [{ onExitCode: '2', action: 'EXIT' }] },
      timeout: { attemptDurationSeconds: 90 },
      parameters: { 'nightshift.runId': 'run-1' },
      tags: { 'nightshift.runId': 'run-1' },
      propagateTags: true,
    });
  });

  it('refuses what AWS refuses with a ClientException (400, x-amzn-errortype) naming the problem', async () => {
    expectClientException(await awsError(submit({ jobDefinition: 'no-such-definition' })), /Job definition no-such-definition does not exist.*nightshift-worker:1/);
    expectClientException(await awsError(submit({ jobDefinition: 'nightshift-worker:2' })), /nightshift-worker:2/);
    expectClientException(await awsError(submit({ jobQueue: 'no-such-queue' })), /job queue no-such-queue does not exist/);
    expectClientException(await awsError(submit({ jobName: undefined })), /jobName is required/);
    expectClientException(await awsError(submit({ arrayProperties: { size: 1 } })), /arraySize must be an integer in 2\.\.10000, got 1/);
    expectClientException(await awsError(submit({ arrayProperties: { size: 10_001 } })), /got 10001/);
    expectClientException(await awsError(submit({ containerOverrides: { resourceRequirements: [{ type: 'GPU', value: '1' }] } })), /GPU/);
    expectClientException(await awsError(submit({ dependsOn: [{ jobId: UNKNOWN }] })), new RegExp(UNKNOWN));
    expectClientException(await awsError(submit({ containerOverrides: { environment: [{ name: 'AWS_BATCH_JOB_ID', value: 'x' }] } })), /reserved/);
  });

  it('answers ServerException (500) when the environment takes no more jobs', async () => {
    await compute.shutdown();
    const error = await awsError(submit());
    expect(error.name).toBe('ServerException');
    expect(error.$fault).toBe('server');
    expect(error.$metadata.httpStatusCode).toBe(500);
  });
});

describe('DescribeJobs, CancelJob, TerminateJob', () => {
  it('leaves unknown ids out, and refuses more than 100 ids', async () => {
    const { jobId } = await submit();
    const { jobs } = await client.send(new DescribeJobsCommand({ jobs: [UNKNOWN, jobId!] }));
    expect(jobs?.map((j) => j.jobId)).toEqual([jobId]);
    expect((await client.send(new DescribeJobsCommand({ jobs: [UNKNOWN] }))).jobs).toEqual([]);
    expectClientException(await awsError(client.send(new DescribeJobsCommand({ jobs: Array.from({ length: 101 }, (_, i) => `id-${i}`) }))), /at most 100/);
  });

  it('cancels and terminates known jobs; an unknown id is a ClientException', async () => {
    const { jobId } = await submit({ containerOverrides: { command: FOREVER } });
    await client.send(new TerminateJobCommand({ jobId, reason: 'operator' }));
    expect(await finished(jobId!)).toMatchObject({ status: 'FAILED', statusReason: 'operator' });
    // A finished job: AWS accepts the call and leaves the job as it is.
    await client.send(new CancelJobCommand({ jobId, reason: 'later' }));
    expect((await finished(jobId!)).statusReason).toBe('operator');

    expectClientException(await awsError(client.send(new TerminateJobCommand({ jobId: UNKNOWN, reason: 'x' }))), new RegExp(UNKNOWN));
    expectClientException(await awsError(client.send(new CancelJobCommand({ jobId: UNKNOWN, reason: 'x' }))), new RegExp(UNKNOWN));
    expectClientException(await awsError(client.send(new CancelJobCommand({ jobId, reason: undefined as unknown as string }))), /reason is required/);
  });
});

describe('ListJobs', () => {
  it('lists RUNNING jobs by default and a status when asked, newest first', async () => {
    const running = await submit({ containerOverrides: { command: FOREVER } });
    const done = await submit({ jobName: 'other' });
    await finished(done.jobId!);
    const deadline = Date.now() + 45_000;
    let listed = await client.send(new ListJobsCommand({ jobQueue: QUEUE }));
    while ((listed.jobSummaryList ?? []).length === 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 25));
      listed = await client.send(new ListJobsCommand({ jobQueue: QUEUE }));
    }
    expect(listed.jobSummaryList?.map((j) => [j.jobId, j.status])).toEqual([[running.jobId, 'RUNNING']]);
    const succeeded = await client.send(new ListJobsCommand({ jobQueue: QUEUE, jobStatus: 'SUCCEEDED' }));
    expect(succeeded.jobSummaryList?.map((j) => j.jobId)).toEqual([done.jobId]);
    await client.send(new TerminateJobCommand({ jobId: running.jobId, reason: 'test over' }));
  });

  it('filters by JOB_NAME as AWS does (any status, case-insensitive, trailing * for a prefix) and pages with nextToken', async () => {
    const ids: string[] = [];
    for (const jobName of ['Tca-Fills', 'tca-fills', 'tca-fills-2', 'risk']) ids.push((await submit({ jobName })).jobId!);
    const byName = async (value: string) =>
      (await client.send(new ListJobsCommand({ jobQueue: QUEUE, jobStatus: 'RUNNING', filters: [{ name: 'JOB_NAME', values: [value] }] }))).jobSummaryList?.map((j) => j.jobId);
    expect(await byName('TCA-FILLS')).toEqual([ids[1], ids[0]]);
    expect(await byName('tca-fills*')).toEqual([ids[2], ids[1], ids[0]]);

    const pages: string[][] = [];
    let nextToken: string | undefined;
    do {
      const page = await client.send(new ListJobsCommand({ jobQueue: QUEUE, filters: [{ name: 'JOB_NAME', values: ['*'] }], maxResults: 3, ...(nextToken && { nextToken }) }));
      pages.push(page.jobSummaryList!.map((j) => j.jobId!));
      nextToken = page.nextToken;
    } while (nextToken);
    expect(pages).toEqual([[ids[3], ids[2], ids[1]], [ids[0]]]);
  });

  it('lists the children of an array job by index', async () => {
    const { jobId } = await submit({ arrayProperties: { size: 3 } });
    await finished(jobId!);
    const { jobSummaryList } = await client.send(new ListJobsCommand({ arrayJobId: jobId, jobStatus: 'SUCCEEDED' }));
    expect(jobSummaryList?.map((j) => [j.jobId, j.arrayProperties?.index])).toEqual([0, 1, 2].map((i) => [`${jobId}:${i}`, i]));
  });

  it('refuses what AWS refuses: no scope or two, two filters, a filter not modelled, a token it did not issue', async () => {
    expectClientException(await awsError(client.send(new ListJobsCommand({}))), /Exactly one of jobQueue/);
    expectClientException(await awsError(client.send(new ListJobsCommand({ jobQueue: QUEUE, arrayJobId: UNKNOWN }))), /Exactly one of jobQueue/);
    const two = [
      { name: 'JOB_NAME', values: ['a'] },
      { name: 'AFTER_CREATED_AT', values: ['1'] },
    ];
    expectClientException(await awsError(client.send(new ListJobsCommand({ jobQueue: QUEUE, filters: two }))), /Only one filter/);
    expectClientException(await awsError(client.send(new ListJobsCommand({ jobQueue: QUEUE, filters: [{ name: 'JOB_DEFINITION', values: ['d'] }] }))), /not supported/);
    expectClientException(await awsError(client.send(new ListJobsCommand({ jobQueue: QUEUE, nextToken: 'not-a-token' }))), /nextToken/);
    expectClientException(await awsError(client.send(new ListJobsCommand({ jobQueue: QUEUE, jobStatus: 'DONE' as 'RUNNING' }))), /not a job status/);
  });
});

describe('other requests', () => {
  it('answers an operation it does not serve with UnknownOperationException', async () => {
    const error = await awsError(client.send(new RegisterJobDefinitionCommand({ jobDefinitionName: 'x', type: 'container' })));
    expect(error.name).toBe('UnknownOperationException');
    expect(error.$metadata.httpStatusCode).toBe(404);
    expect(error.message).toMatch(/registerjobdefinition.*SubmitJob/);
  });

  it('answers a body that is not JSON with a ClientException, and handle() never rejects', async () => {
    const answer = await new Promise<{ status: number; type: string | undefined; body: string }>((resolve, reject) => {
      const req = request(`${endpoint.url}/v1/submitjob`, { method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => (body += chunk.toString()));
        res.on('end', () => resolve({ status: res.statusCode!, type: res.headers['x-amzn-errortype'] as string | undefined, body }));
      });
      req.on('error', reject);
      req.end('{not json');
    });
    expect(answer).toEqual({ status: 400, type: 'ClientException', body: JSON.stringify({ message: 'The request body is not valid JSON' }) });
  });

  it('has no url before listen() and after close()', async () => {
    const idle = new BatchHttpEndpoint({ compute });
    expect(() => idle.url).toThrow(InvalidComputeRequestError);
    await idle.listen();
    expect(idle.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    await idle.close();
    expect(() => idle.url).toThrow(InvalidComputeRequestError);
  });
});
