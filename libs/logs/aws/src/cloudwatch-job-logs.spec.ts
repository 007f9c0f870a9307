import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { CloudWatchLogsClient, InvalidParameterException } from '@aws-sdk/client-cloudwatch-logs';
import { DirectoryJobLogs, LogsHttpEndpoint } from '@nightshift/compute-local';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
// eslint-disable-next-line @nx/enforce-module-boundaries -- the conformance suite is test-only, not in jobs-domain's index
import { describeJobLogsContract, type JobLogsUnderTest } from '../../../jobs/domain/src/testing/job-logs.contract.js';
import { CloudWatchJobLogs } from './cloudwatch-job-logs.js';
import { JobLogsRequestError, JobLogsUnavailableError } from './errors.js';

function clientFor(url: string): CloudWatchLogsClient {
  const credentials = { accessKeyId: 'AKIDLOCAL', secretAccessKey: 'local-secret' };
  return new CloudWatchLogsClient({ endpoint: url, region: 'us-east-1', credentials, maxAttempts: 1 });
}

/** The local compute environment's log directory behind the embedded GetLogEvents endpoint, read through the SDK. */
async function overEndpoint(options: { logGroupName?: string } = {}): Promise<JobLogsUnderTest & { dir: string; url: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'cloudwatch-job-logs-'));
  const endpoint = new LogsHttpEndpoint({ logs: new DirectoryJobLogs(dir) });
  const url = await endpoint.listen();
  const client = clientFor(url);
  return {
    dir,
    url,
    logs: new CloudWatchJobLogs(client, options),
    async write(logStreamName, lines) {
      const file = join(dir, ...logStreamName.split('/'));
      await mkdir(dirname(file), { recursive: true });
      await writeFile(file, lines.map((line) => `${line}\n`).join(''));
    },
    async close() {
      client.destroy();
      await endpoint.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

describeJobLogsContract('CloudWatchJobLogs over the embedded GetLogEvents endpoint', () => overEndpoint());

/** A GetLogEvents server scripted page by page, for what CloudWatch does and the embedded endpoint cannot. */
async function scripted(
  answer: (body: Record<string, unknown>) => { status: number; body: unknown },
): Promise<{ url: string; requests: Record<string, unknown>[]; close(): Promise<void> }> {
  const requests: Record<string, unknown>[] = [];
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
      requests.push(body);
      const out = answer(body);
      const payload = JSON.stringify(out.body);
      const type = (out.body as { __type?: string }).__type;
      res.writeHead(out.status, { 'content-type': 'application/x-amz-json-1.1', ...(type ? { 'x-amzn-errortype': type } : {}) });
      res.end(payload);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe('CloudWatchJobLogs', () => {
  const STREAM = 'nightshift-worker/default/abc123';
  let subject: Awaited<ReturnType<typeof overEndpoint>>;
  beforeEach(async () => {
    subject = await overEndpoint();
  });
  afterEach(async () => {
    await subject.close();
  });

  it('keeps the newest events within maxBytes, the oldest kept one cut to fill it', async () => {
    await subject.write(STREAM, ['alpha', 'beta', 'gamma']);
    expect(await subject.logs.read(STREAM, { maxBytes: 8 })).toEqual({ text: 'ta\ngamma', truncated: true, bytes: 8 });
    expect(await subject.logs.read(STREAM, { maxBytes: 10 })).toEqual({ text: 'beta\ngamma', truncated: true, bytes: 10 });
    expect(await subject.logs.read(STREAM, { maxBytes: 16 })).toEqual({ text: 'alpha\nbeta\ngamma', truncated: false, bytes: 16 });
    expect(await subject.logs.read(STREAM, { maxBytes: 3 })).toEqual({ text: 'mma', truncated: true, bytes: 3 });
  });

  it('reads in /aws/batch/job unless told otherwise; a missing stream or group is undefined', async () => {
    await subject.write(STREAM, ['hello']);
    expect(await subject.logs.read(STREAM)).toEqual({ text: 'hello', truncated: false, bytes: 5 });
    expect(await subject.logs.read('nightshift-worker/default/missing')).toBeUndefined();
    const client = clientFor(subject.url);
    try {
      expect(await new CloudWatchJobLogs(client, { logGroupName: '/nightshift/other' }).read(STREAM)).toBeUndefined();
    } finally {
      client.destroy();
    }
  });

  it('a request CloudWatch refuses is a JobLogsRequestError, not retryable, with the SDK error as cause', async () => {
    const client = clientFor(subject.url);
    try {
      const error = await new CloudWatchJobLogs(client, { logGroupName: 'not a group name' }).read(STREAM).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(JobLogsRequestError);
      expect(error).toMatchObject({ retryable: false });
      expect((error as Error).cause).toBeInstanceOf(InvalidParameterException);
    } finally {
      client.destroy();
    }
  });

  it('an endpoint that cannot be reached is a retryable JobLogsUnavailableError', async () => {
    const url = subject.url;
    await subject.close();
    subject = await overEndpoint(); // so afterEach closes something
    const client = clientFor(url);
    try {
      const error = await new CloudWatchJobLogs(client).read(STREAM).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(JobLogsUnavailableError);
      expect(error).toMatchObject({ retryable: true });
      expect((error as Error).cause).toBeDefined();
    } finally {
      client.destroy();
    }
  });
});

describe('CloudWatchJobLogs against what only CloudWatch does', () => {
  it('pages past empty pages until the backward token comes back unchanged', async () => {
    // CloudWatch may answer empty pages before the head of a stream, each with a new token.
    const pages: Record<string, { events: { timestamp: number; message: string }[]; nextBackwardToken: string }> = {
      '': { events: [{ timestamp: 3, message: 'c' }], nextBackwardToken: 'b/2' },
      'b/2': { events: [], nextBackwardToken: 'b/1' },
      'b/1': { events: [{ timestamp: 1, message: 'a' }, { timestamp: 2, message: 'b' }], nextBackwardToken: 'b/0' },
      'b/0': { events: [], nextBackwardToken: 'b/0' },
    };
    const server = await scripted((body) => ({ status: 200, body: { ...pages[(body.nextToken as string | undefined) ?? ''], nextForwardToken: 'f/9' } }));
    const client = clientFor(server.url);
    try {
      expect(await new CloudWatchJobLogs(client).read('job/default/t1')).toEqual({ text: 'a\nb\nc', truncated: false, bytes: 5 });
      expect(server.requests.map((r) => [r.logGroupName, r.startFromHead, r.nextToken])).toEqual([
        ['/aws/batch/job', false, undefined],
        ['/aws/batch/job', false, 'b/2'],
        ['/aws/batch/job', false, 'b/1'],
        ['/aws/batch/job', false, 'b/0'],
      ]);
    } finally {
      client.destroy();
      await server.close();
    }
  });

  it('throttling is a retryable JobLogsUnavailableError', async () => {
    const server = await scripted(() => ({ status: 400, body: { __type: 'ThrottlingException', message: 'Rate exceeded' } }));
    const client = clientFor(server.url);
    try {
      const error = await new CloudWatchJobLogs(client).read('job/default/t1').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(JobLogsUnavailableError);
      expect(error).toMatchObject({ retryable: true, cause: { name: 'ThrottlingException' } });
    } finally {
      client.destroy();
      await server.close();
    }
  });
});
