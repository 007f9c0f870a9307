import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdir, mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import {
  CloudWatchLogsClient,
  DescribeLogStreamsCommand,
  GetLogEventsCommand,
  type GetLogEventsCommandInput,
  InvalidParameterException,
  ResourceNotFoundException,
  ServiceUnavailableException,
} from '@aws-sdk/client-cloudwatch-logs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DirectoryJobLogs } from './directory-job-logs.js';
import { InvalidComputeRequestError } from './errors.js';
import { LogsHttpEndpoint } from './logs-endpoint.js';

const GROUP = '/aws/batch/job';
const STREAM = 'nightshift-worker/default/0f3c2a9e4b7d';
const MTIME = new Date('2024-05-02T22:30:00.000Z');

let tmp: string;
let endpoint: LogsHttpEndpoint;
let sdk: CloudWatchLogsClient;

function clientFor(url: string): CloudWatchLogsClient {
  const credentials = { accessKeyId: 'AKIDLOCAL', secretAccessKey: 'local-secret' };
  return new CloudWatchLogsClient({ endpoint: url, region: 'us-east-1', credentials, maxAttempts: 1 });
}

async function writeStream(name: string, text: string): Promise<void> {
  const file = join(tmp, ...name.split('/'));
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, text);
  await utimes(file, MTIME, MTIME);
}

function get(input: Partial<GetLogEventsCommandInput> = {}) {
  return sdk.send(new GetLogEventsCommand({ logGroupName: GROUP, logStreamName: STREAM, ...input }));
}

/** Every event of the stream, paging from `first` with `limit` until the token comes back. */
async function pageThrough(direction: 'forward' | 'backward', limit: number): Promise<{ messages: string[]; pages: number }> {
  const pages: string[][] = [];
  let token: string | undefined;
  for (;;) {
    const out = await get({ limit, startFromHead: direction === 'forward', ...(token ? { nextToken: token } : {}) });
    const next = direction === 'forward' ? out.nextForwardToken : out.nextBackwardToken;
    pages.push((out.events ?? []).map((e) => e.message ?? ''));
    if (next === token) break;
    token = next;
  }
  const ordered = direction === 'forward' ? pages : pages.reverse();
  return { messages: ordered.flat(), pages: pages.length };
}

beforeEach(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'logs-endpoint-'));
  endpoint = new LogsHttpEndpoint({ logs: new DirectoryJobLogs(tmp) });
  sdk = clientFor(await endpoint.listen());
});

afterEach(async () => {
  sdk.destroy();
  await endpoint.close();
  await rm(tmp, { recursive: true, force: true });
});

describe('LogsHttpEndpoint with the unmodified AWS SDK', () => {
  it('answers GetLogEvents: one event per line, stamped lines at their own time, others at the file mtime', async () => {
    await writeStream(STREAM, '2024-05-02T21:00:00.000Z starting\nError: boom\n    at x (y.js:1:2)\n2024-05-02T21:00:01.250+01:00 exit 1\n');
    const out = await get();
    expect(out.$metadata.httpStatusCode).toBe(200);
    expect(out.events).toEqual([
      { timestamp: Date.parse('2024-05-02T21:00:00.000Z'), message: '2024-05-02T21:00:00.000Z starting' },
      { timestamp: MTIME.getTime(), message: 'Error: boom' },
      { timestamp: MTIME.getTime(), message: '    at x (y.js:1:2)' },
      { timestamp: Date.parse('2024-05-02T20:00:01.250Z'), message: '2024-05-02T21:00:01.250+01:00 exit 1' },
    ]);
    expect(typeof out.nextForwardToken).toBe('string');
    expect(typeof out.nextBackwardToken).toBe('string');
  });

  it('pages forward from the head and backward from the tail with opaque tokens; at either end the same token comes back', async () => {
    const lines = Array.from({ length: 23 }, (_, i) => `line ${i}`);
    await writeStream(STREAM, lines.join('\n') + '\n');
    const forward = await pageThrough('forward', 5);
    expect(forward.messages).toEqual(lines);
    expect(forward.pages).toBe(6); // 5 full or partial pages, then the empty one that returns the token
    const backward = await pageThrough('backward', 5);
    expect(backward.messages).toEqual(lines);

    const newest = await get({ limit: 3 });
    expect(newest.events?.map((e) => e.message)).toEqual(['line 20', 'line 21', 'line 22']);
    // Lines appended after a read are reached with the forward token, as a tail -f would.
    await writeFile(join(tmp, ...STREAM.split('/')), 'line 23\n', { flag: 'a' });
    const appended = await get({ nextToken: newest.nextForwardToken, startFromHead: true });
    expect(appended.events?.map((e) => e.message)).toEqual(['line 23']);
  });

  it('fills a page with at most 1 MB of messages when no limit is given', async () => {
    const lines = Array.from({ length: 300 }, (_, i) => `${String(i).padStart(3, '0')} ${'x'.repeat(10_000)}`);
    await writeStream(STREAM, lines.join('\n'));
    const out = await get({ startFromHead: true });
    const bytes = (out.events ?? []).reduce((n, e) => n + Buffer.byteLength(e.message ?? ''), 0);
    expect(bytes).toBeLessThanOrEqual(1024 * 1024);
    expect(out.events?.length).toBe(Math.floor((1024 * 1024) / 10_004));
    expect((await pageThrough('forward', 10_000)).messages).toEqual(lines);
  });

  it('filters by startTime (inclusive) and endTime (exclusive)', async () => {
    const t = (s: number) => `2024-05-02T21:00:0${s}.000Z`;
    await writeStream(STREAM, [0, 1, 2, 3].map((s) => `${t(s)} s${s}`).join('\n'));
    const out = await get({ startTime: Date.parse(t(1)), endTime: Date.parse(t(3)), startFromHead: true });
    expect(out.events?.map((e) => e.message)).toEqual([`${t(1)} s1`, `${t(2)} s2`]);
  });

  it('accepts the log group by logGroupIdentifier, as a name or an ARN', async () => {
    await writeStream(STREAM, 'hello\n');
    for (const logGroupIdentifier of [GROUP, `arn:aws:logs:us-east-1:123456789012:log-group:${GROUP}:*`]) {
      const out = await sdk.send(new GetLogEventsCommand({ logGroupIdentifier, logStreamName: STREAM }));
      expect(out.events?.map((e) => e.message)).toEqual(['hello']);
    }
  });

  it('answers ResourceNotFoundException for another log group, a missing stream, or a name no file can have', async () => {
    await writeStream(STREAM, 'hello\n');
    const cases: [Partial<GetLogEventsCommandInput>, string][] = [
      [{ logGroupName: '/aws/lambda/other' }, 'The specified log group does not exist.'],
      [{ logStreamName: 'nightshift-worker/default/missing' }, 'The specified log stream does not exist.'],
      [{ logStreamName: '../../etc/passwd' }, 'The specified log stream does not exist.'],
      [{ logStreamName: 'nightshift-worker/default' }, 'The specified log stream does not exist.'],
    ];
    for (const [input, message] of cases) {
      const error = await get(input).catch((e: unknown) => e);
      expect(error, JSON.stringify(input)).toBeInstanceOf(ResourceNotFoundException);
      expect(error).toMatchObject({ message, $fault: 'client', $metadata: { httpStatusCode: 400 } });
    }
  });

  it('answers InvalidParameterException for what AWS refuses', async () => {
    await writeStream(STREAM, 'hello\n');
    const cases: Partial<GetLogEventsCommandInput>[] = [
      { logStreamName: 'a:b' },
      { logStreamName: '' },
      { limit: 0 },
      { limit: 10_001 },
      { nextToken: 'not-a-token' },
      { logGroupName: 'bad group name' },
      { logGroupIdentifier: GROUP },
      { startTime: -1 },
    ];
    for (const input of cases) {
      const error = await get(input).catch((e: unknown) => e);
      expect(error, JSON.stringify(input)).toBeInstanceOf(InvalidParameterException);
      expect(error).toMatchObject({ $metadata: { httpStatusCode: 400 } });
    }
    const error = await get({ limit: 0 }).catch((e: unknown) => e);
    expect((error as Error).message).toBe("1 validation error detected: Value '0' at 'limit' failed to satisfy constraint: Member must have value between 1 and 10000");
  });

  it('answers UnknownOperationException for any other operation', async () => {
    const error = await sdk.send(new DescribeLogStreamsCommand({ logGroupName: GROUP })).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'UnknownOperationException', $metadata: { httpStatusCode: 400 } });
    expect((error as Error).message).toContain('DescribeLogStreams');
  });

  it('answers SerializationException for a body that is not JSON of the right types', async () => {
    const post = async (body: string) => {
      const res = await fetch(endpoint.url, {
        method: 'POST',
        headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'Logs_20140328.GetLogEvents' },
        body,
      });
      return { status: res.status, type: res.headers.get('x-amzn-errortype'), json: (await res.json()) as Record<string, unknown> };
    };
    for (const body of ['{', '[]', JSON.stringify({ logGroupName: GROUP, logStreamName: STREAM, limit: '5' }), JSON.stringify({ logGroupName: GROUP, logStreamName: 7 })]) {
      const res = await post(body);
      expect(res, body).toMatchObject({ status: 400, type: 'SerializationException', json: { __type: 'SerializationException' } });
    }
  });

  it('serves requests a host routes to handle() from its own server, and never rejects', async () => {
    class FailingJobLogs extends DirectoryJobLogs {
      override readAll(): Promise<never> {
        return Promise.reject(new Error('EIO: i/o error, read'));
      }
    }
    const mounted = new LogsHttpEndpoint({ logs: new FailingJobLogs(tmp), logGroupName: '/nightshift/jobs' });
    expect(() => mounted.url).toThrow(InvalidComputeRequestError);
    const targets: (string | undefined)[] = [];
    const handled: Promise<void>[] = [];
    const host: Server = createServer((req, res) => {
      targets.push(req.headers['x-amz-target'] as string | undefined);
      handled.push(mounted.handle(req, res));
    });
    await new Promise<void>((resolve) => host.listen(0, '127.0.0.1', resolve));
    const client = clientFor(`http://127.0.0.1:${(host.address() as AddressInfo).port}`);
    try {
      const error = await client.send(new GetLogEventsCommand({ logGroupName: '/nightshift/jobs', logStreamName: STREAM })).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ServiceUnavailableException);
      expect(error).toMatchObject({ $fault: 'server', message: 'EIO: i/o error, read' });
      expect(targets).toEqual(['Logs_20140328.GetLogEvents']);
      await expect(Promise.all(handled)).resolves.toEqual([undefined]);
    } finally {
      client.destroy();
      await new Promise<void>((resolve) => host.close(() => resolve()));
    }
  });
});
