import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { BatchClient, ListJobsCommand } from '@aws-sdk/client-batch';
import { CloudWatchLogsClient, GetLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient, PutEventsCommand, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { GetQueueUrlCommand, SQSClient } from '@aws-sdk/client-sqs';
import { loadOrCreateAccessKeys, mayAccessObject, signSigV4, type AccessKeys, type AwsCredentials } from '@nightshift/aws-wire';
import { BatchHttpEndpoint, DirectoryJobLogs, LocalComputeEnvironment, LogsHttpEndpoint } from '@nightshift/compute-local';
import { SERVICE_RULES } from '@nightshift/contracts';
import { LocalEventBus, PutEventsHttpEndpoint, SqsHttpEndpoint } from '@nightshift/events-local';
import { createDocumentClient, createTable, startEmbeddedDynamoDb } from '@nightshift/jobs-dynamodb';
import { DirectoryObjectStore, S3HttpEndpoint, type ObjectAccess } from '@nightshift/storage-local';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AwsGateway } from './aws-gateway.js';
import { authorizeSource, BUCKET, EMBEDDED_ACCESS_GRANTS, EMBEDDED_JOB_QUEUES, TABLE_NAME } from './embedded-platform.js';

/** The gateway over the platform's real endpoints, as the embedded platform wires it. */
let home: string;
let keys: AccessKeys;
let url: string;
const stops: Array<() => Promise<unknown>> = [];

beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), 'nightshift-gateway-'));
  keys = await loadOrCreateAccessKeys(join(home, 'credentials.json'), EMBEDDED_ACCESS_GRANTS);
  const dynamo = await startEmbeddedDynamoDb({ dataDir: join(home, 'dynamodb') });
  stops.push(() => dynamo.close());
  const client = createDocumentClient({ endpoint: dynamo.endpoint });
  await createTable(client, TABLE_NAME);
  client.destroy();
  const bus = await LocalEventBus.open({ dir: join(home, 'bus'), rules: SERVICE_RULES });
  stops.push(() => bus.close());
  const compute = new LocalComputeEnvironment({ vcpus: 1, memoryMiB: 512, logDir: join(home, 'logs'), stateDir: join(home, 'compute'), jobQueues: EMBEDDED_JOB_QUEUES, emit: async () => {} });
  stops.push(() => compute.shutdown());
  const gateway = new AwsGateway({ port: 0, keys });
  url = await gateway.listen();
  stops.push(() => gateway.close());
  gateway.serve({
    events: new PutEventsHttpEndpoint({ bus, authorize: authorizeSource }),
    sqs: new SqsHttpEndpoint({ bus }),
    logs: new LogsHttpEndpoint({ logs: new DirectoryJobLogs(join(home, 'logs')) }),
    batch: new BatchHttpEndpoint({ compute }),
    s3: new S3HttpEndpoint({ rootDir: join(home, 'objects'), bucket: BUCKET }),
    dynamoEndpoint: dynamo.endpoint,
  });
});

afterAll(async () => {
  for (const stop of stops.reverse()) await stop();
  if (home) await rm(home, { recursive: true, force: true });
});

const clientConfig = (credentials: AwsCredentials) => ({ endpoint: url, region: 'us-east-1', credentials, maxAttempts: 1 });
const wrongSecret = (c: AwsCredentials): AwsCredentials => ({ ...c, secretAccessKey: `${c.secretAccessKey}x` });
const unknownKey: AwsCredentials = { accessKeyId: 'AKIAUNKNOWNUNKNOWN12', secretAccessKey: 'whatever' };

/** The error name an SDK call rejects with, or 'ok'. */
async function outcome(call: () => Promise<unknown>): Promise<string> {
  try {
    await call();
    return 'ok';
  } catch (e) {
    return (e as Error).name;
  }
}

/** One call of each API through its unmodified SDK client, with these credentials. */
const CALLS: Record<string, { call: (c: AwsCredentials) => Promise<unknown>; ok?: string; unknownKey?: string }> = {
  eventbridge: {
    call: (c) => use(new EventBridgeClient(clientConfig(c)), (x) => x.send(new PutEventsCommand({ Entries: [landed('com.example.oms')] }))),
  },
  sqs: { call: (c) => use(new SQSClient(clientConfig(c)), (x) => x.send(new GetQueueUrlCommand({ QueueName: 'planner' }))) },
  s3: {
    // A key the planner's grant names (it writes a run's plan).
    call: (c) => use(new S3Client({ ...clientConfig(c), forcePathStyle: true }), (x) => x.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'runs/gateway-spec/plan.json', Body: '{}' }))),
    unknownKey: 'InvalidAccessKeyId',
  },
  batch: { call: (c) => use(new BatchClient(clientConfig(c)), (x) => x.send(new ListJobsCommand({ jobQueue: 'nightshift-default' }))) },
  dynamodb: { call: (c) => use(new DynamoDBClient(clientConfig(c)), (x) => x.send(new DescribeTableCommand({ TableName: TABLE_NAME }))) },
  logs: {
    // Authenticated, the call reaches the endpoint, which has no such stream.
    call: (c) => use(new CloudWatchLogsClient(clientConfig(c)), (x) => x.send(new GetLogEventsCommand({ logGroupName: '/aws/batch/job', logStreamName: 'none/default/x' }))),
    ok: 'ResourceNotFoundException',
  },
};

/** An S3 call through the gateway with these credentials. */
function s3<T>(credentials: AwsCredentials, f: (client: S3Client) => Promise<T>): Promise<T> {
  return use(new S3Client({ ...clientConfig(credentials), forcePathStyle: true }), f);
}

async function use<C extends { destroy(): void }, T>(client: C, f: (c: C) => Promise<T>): Promise<T> {
  try {
    return await f(client);
  } finally {
    client.destroy();
  }
}

function landed(source: string): PutEventsRequestEntry {
  return { Source: source, DetailType: 'Dataset Landed', Detail: JSON.stringify({ dataset: 'executions', businessDate: '2026-11-20', files: [] }) };
}

describe('AwsGateway: SigV4 against the configured keys, through the unmodified SDK clients', () => {
  for (const [api, c] of Object.entries(CALLS)) {
    it(`${api}: a service's key passes; a wrong secret and an unknown key are refused`, async () => {
      const key = keys.of('planner');
      expect(await outcome(() => c.call(key))).toBe(c.ok ?? 'ok');
      expect(await outcome(() => c.call(wrongSecret(key)))).toBe('SignatureDoesNotMatch');
      expect(await outcome(() => c.call(unknownKey))).toBe(c.unknownKey ?? 'InvalidClientTokenId');
    });
  }

  it('S3: multipart and streaming uploads (x-amz-content-sha256 of every kind) pass, and read back', async () => {
    const s3 = new S3Client({ ...clientConfig(keys.of('upstream')), forcePathStyle: true });
    try {
      const part = Buffer.alloc(5 * 1024 * 1024, 'p');
      const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: 'landing/multi.bin' }));
      const p1 = await s3.send(new UploadPartCommand({ Bucket: BUCKET, Key: 'landing/multi.bin', UploadId, PartNumber: 1, Body: part }));
      const p2 = await s3.send(new UploadPartCommand({ Bucket: BUCKET, Key: 'landing/multi.bin', UploadId, PartNumber: 2, Body: 'tail' }));
      await s3.send(
        new CompleteMultipartUploadCommand({
          Bucket: BUCKET,
          Key: 'landing/multi.bin',
          UploadId,
          MultipartUpload: { Parts: [{ PartNumber: 1, ETag: p1.ETag }, { PartNumber: 2, ETag: p2.ETag }] },
        }),
      );
      const multi = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'landing/multi.bin' }));
      expect((await multi.Body!.transformToByteArray()).length).toBe(part.length + 4);

      const chunks = ['streamed ', 'body ', 'of unknown hash'];
      const size = chunks.join('').length;
      await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'landing/stream.txt', Body: Readable.from(chunks.map((s) => Buffer.from(s))), ContentLength: size }));
      const streamed = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'landing/stream.txt' }));
      expect(await streamed.Body!.transformToString()).toBe(chunks.join(''));
    } finally {
      s3.destroy();
    }
  });

  it('refuses an unsigned request in each protocol\'s shape: MissingAuthenticationToken (JSON), AccessDenied (S3 XML)', async () => {
    const json = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'AWSEvents.PutEvents' }, body: '{"Entries":[]}' });
    expect(json.status).toBe(403);
    expect(json.headers.get('x-amzn-errortype')).toBe('MissingAuthenticationToken');
    expect(await json.json()).toMatchObject({ __type: 'MissingAuthenticationToken' });
    const xml = await fetch(`${url}/${BUCKET}/landing/a.txt`);
    expect(xml.status).toBe(403);
    expect(await xml.text()).toContain('<Code>AccessDenied</Code>');
    const garbage = await fetch(url, { method: 'POST', headers: { authorization: 'AWS4-HMAC-SHA256 garbage', 'x-amz-target': 'AWSEvents.PutEvents' }, body: '{}' });
    expect(garbage.status).toBe(400);
    expect(await garbage.json()).toMatchObject({ __type: 'IncompleteSignature' });
  });

  it('refuses a request signed more than 15 minutes away (RequestTimeTooSkewed), raw or through the SDK', async () => {
    const body = JSON.stringify({ Entries: [landed('com.example.oms')] });
    const headers = signSigV4(
      { method: 'POST', url: `${url}/`, headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'AWSEvents.PutEvents' }, body, region: 'us-east-1', service: 'events', now: new Date(Date.now() - 20 * 60_000) },
      keys.of('upstream'),
    );
    const { host: _host, ...sent } = headers;
    const skewed = await fetch(url, { method: 'POST', headers: sent, body });
    expect(skewed.status).toBe(403);
    expect(await skewed.json()).toMatchObject({ __type: 'RequestTimeTooSkewed' });
    const late = new EventBridgeClient({ ...clientConfig(keys.of('upstream')), systemClockOffset: -20 * 60_000 });
    expect(await outcome(() => use(late, (x) => x.send(new PutEventsCommand({ Entries: [landed('com.example.oms')] }))))).toBe('RequestTimeTooSkewed');
  });

  it('lets a key call only the APIs of its grant (AccessDeniedException / S3 AccessDenied)', async () => {
    expect(await outcome(() => CALLS.dynamodb!.call(keys.of('upstream')))).toBe('AccessDeniedException');
    expect(await outcome(() => CALLS.sqs!.call(keys.of('upstream')))).toBe('AccessDeniedException');
    expect(await outcome(() => CALLS.eventbridge!.call(keys.of('worker')))).toBe('AccessDeniedException');
    expect(await outcome(() => s3(keys.of('worker'), (x) => x.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'runs/r1/tca/partition=0/result.json', Body: '{}' }))))).toBe('ok');
  });
});

describe('PutEvents authority: each key publishes only its sources', () => {
  async function put(credentials: AwsCredentials, sources: string[]) {
    return use(new EventBridgeClient(clientConfig(credentials)), (x) => x.send(new PutEventsCommand({ Entries: sources.map(landed) })));
  }

  it('refuses a forged nightshift.planner "Run Succeeded" from the upstream key, per entry, and puts the others', async () => {
    const forged = { Source: 'nightshift.planner', DetailType: 'Run Succeeded', Detail: JSON.stringify({ metadata: { eventId: 'x', correlationId: 'x', occurredAt: new Date().toISOString() }, data: { runId: 'no-such-run' } }) };
    const out = await use(new EventBridgeClient(clientConfig(keys.of('upstream'))), (x) =>
      x.send(new PutEventsCommand({ Entries: [landed('com.example.oms'), forged, landed('aws.batch'), landed('com.example.risk')] })),
    );
    expect(out.FailedEntryCount).toBe(2);
    expect(out.Entries![0]!.EventId).toBeDefined();
    expect(out.Entries![1]).toMatchObject({ ErrorCode: 'NotAuthorizedForSourceException' });
    expect(out.Entries![2]).toMatchObject({ ErrorCode: 'NotAuthorizedForSourceException' });
    expect(out.Entries![3]!.EventId).toBeDefined();
  });

  it('lets each service publish its own nightshift.* source, and no other; aws.* for no key', async () => {
    const codes = async (principal: string, sources: string[]) => (await put(keys.of(principal), sources)).Entries!.map((e) => e.ErrorCode ?? 'ok');
    expect(await codes('ingestion', ['nightshift.ingestion', 'nightshift.planner', 'aws.batch'])).toEqual(['ok', 'NotAuthorizedForSourceException', 'NotAuthorizedForSourceException']);
    expect(await codes('planner', ['nightshift.planner', 'nightshift.reporting', 'com.example.oms'])).toEqual(['ok', 'NotAuthorizedForSourceException', 'NotAuthorizedForSourceException']);
    expect(await codes('reporting', ['nightshift.reporting', 'nightshift.api', 'aws.events'])).toEqual(['ok', 'ok', 'NotAuthorizedForSourceException']);
    expect(await codes('upstream', ['nightshift.ingestion', 'aws.s3', 'com.example.oms'])).toEqual(['NotAuthorizedForSourceException', 'NotAuthorizedForSourceException', 'ok']);
  });
});

describe('S3 object grants: each key reaches only the keys its grant names (AccessDenied otherwise, as S3 answers it)', () => {
  /** The objects' directory behind the gateway: what is there, whatever the S3 API said. */
  const objects = () => new DirectoryObjectStore(join(home, 'objects'));
  /** The S3 error name and message of a call, or 'ok'. */
  async function answer(call: () => Promise<unknown>): Promise<{ name: string; message?: string; status?: number }> {
    try {
      await call();
      return { name: 'ok' };
    } catch (e) {
      const err = e as Error & { $metadata?: { httpStatusCode?: number } };
      return { name: err.name, message: err.message, ...(err.$metadata?.httpStatusCode !== undefined ? { status: err.$metadata.httpStatusCode } : {}) };
    }
  }

  it('upstream lands, reads, lists and deletes under landing/', async () => {
    const upstream = keys.of('upstream');
    await s3(upstream, async (x) => {
      await x.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'landing/grants/a.csv', Body: 'a\n' }));
      expect(await (await x.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'landing/grants/a.csv' }))).Body!.transformToString()).toBe('a\n');
      expect((await x.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'landing/grants/a.csv' }))).ContentLength).toBe(2);
      expect((await x.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'landing/grants/' }))).Contents?.map((o) => o.Key)).toEqual(['landing/grants/a.csv']);
      await x.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: 'landing/grants/a.csv' }));
    });
    expect(await objects().head('landing/grants/a.csv')).toBeUndefined();
  });

  it('upstream cannot read reports/ nor delete or overwrite runs/: 403 AccessDenied naming its access key id and the key, the objects untouched', async () => {
    const upstream = keys.of('upstream');
    await objects().put('reports/2026-11-20/r1.json', '{"secret":true}');
    await objects().put('runs/r1/plan.json', '{"plan":1}');
    const read = await answer(() => s3(upstream, (x) => x.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'reports/2026-11-20/r1.json' }))));
    expect(read).toMatchObject({ name: 'AccessDenied', status: 403 });
    expect(read.message).toContain(upstream.accessKeyId);
    expect(read.message).toContain('s3:GetObject');
    expect(read.message).toContain('arn:aws:s3:::nightshift/reports/2026-11-20/r1.json');
    expect(read.message).not.toContain('secret');
    expect(await answer(() => s3(upstream, (x) => x.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'reports/2026-11-20/r1.json' }))))).toMatchObject({ status: 403 });

    const deleted = await answer(() => s3(upstream, (x) => x.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: 'runs/r1/plan.json' }))));
    expect(deleted).toMatchObject({ name: 'AccessDenied', status: 403 });
    expect(deleted.message).toContain('s3:DeleteObject');
    expect(deleted.message).toContain('runs/r1/plan.json');
    expect(await answer(() => s3(upstream, (x) => x.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'runs/r1/plan.json', Body: 'forged' }))))).toMatchObject({ name: 'AccessDenied' });
    expect(await answer(() => s3(upstream, (x) => x.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: 'runs/r1/plan.json' }))))).toMatchObject({ name: 'AccessDenied' });
    // A key that would not pass the store's rules is refused by the grant before anything else.
    expect(await answer(() => s3(upstream, (x) => x.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'reports/../landing/x' }))))).toMatchObject({ name: 'AccessDenied' });
    expect(new TextDecoder().decode(await objects().get('runs/r1/plan.json'))).toBe('{"plan":1}');
  });

  it('ListObjectsV2 outside the grant (the whole bucket, another prefix, "landing" without its slash) is AccessDenied', async () => {
    const upstream = keys.of('upstream');
    for (const Prefix of [undefined, 'runs/', 'reports/', 'landing', '']) {
      const listed = await answer(() => s3(upstream, (x) => x.send(new ListObjectsV2Command({ Bucket: BUCKET, ...(Prefix !== undefined ? { Prefix } : {}) }))));
      expect(listed, `prefix ${String(Prefix)}`).toMatchObject({ name: 'AccessDenied', status: 403 });
      expect(listed.message).toContain('s3:ListBucket');
    }
  });

  it('DeleteObjects refuses each key outside the grant (its own AccessDenied) and deletes the others', async () => {
    await objects().put('landing/grants/b.csv', 'b');
    await objects().put('runs/r2/outputs.json', '{}');
    const out = await s3(keys.of('upstream'), (x) =>
      x.send(new DeleteObjectsCommand({ Bucket: BUCKET, Delete: { Objects: [{ Key: 'landing/grants/b.csv' }, { Key: 'runs/r2/outputs.json' }] } })),
    );
    expect(out.Deleted?.map((d) => d.Key)).toEqual(['landing/grants/b.csv']);
    expect(out.Errors).toEqual([expect.objectContaining({ Key: 'runs/r2/outputs.json', Code: 'AccessDenied' })]);
    expect(await objects().head('runs/r2/outputs.json')).toBeDefined();
  });

  it('checks a copy\'s source too: a copy out of reports/ into landing/ is AccessDenied (copies are otherwise not served)', async () => {
    await objects().put('reports/2026-11-20/r3.json', '{}');
    const copy = (source: string) => answer(() => s3(keys.of('upstream'), (x) => x.send(new CopyObjectCommand({ Bucket: BUCKET, Key: 'landing/copied.json', CopySource: source }))));
    expect(await copy(`${BUCKET}/reports/2026-11-20/r3.json`)).toMatchObject({ name: 'AccessDenied', status: 403 });
    expect(await copy(`${BUCKET}/landing/grants/none.json`)).toMatchObject({ name: 'NotImplemented', status: 501 });
  });

  it('each service key as its code needs it: reporting reads runs/ and writes reports/; the worker reads landing/ and writes results; no one writes landing/ but upstream', async () => {
    await objects().put('runs/r4/plan.json', '{}');
    await objects().put('landing/grants/c.csv', 'c');
    const put = (principal: string, key: string) => answer(() => s3(keys.of(principal), (x) => x.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: '{}' }))));
    const get = (principal: string, key: string) => answer(() => s3(keys.of(principal), (x) => x.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }))));
    expect((await get('reporting', 'runs/r4/plan.json')).name).toBe('ok');
    expect((await put('reporting', 'reports/2026-11-20/r4.json')).name).toBe('ok');
    expect((await put('reporting', 'runs/r4/plan.json')).name).toBe('AccessDenied');
    expect((await get('worker', 'landing/grants/c.csv')).name).toBe('ok');
    expect((await get('worker', 'reports/2026-11-20/r4.json')).name).toBe('AccessDenied');
    expect((await put('worker', 'runs/r4/plan.json')).name).toBe('AccessDenied');
    for (const principal of ['ingestion', 'planner', 'reporting', 'worker']) expect((await put(principal, 'landing/grants/forged.csv')).name, principal).toBe('AccessDenied');
    expect((await put('ingestion', 'datasets/executions/2026-11-20/e1/manifest.json')).name).toBe('ok');
  });
});

describe('mayAccessObject: the grants as IAM would read them', () => {
  const may = (principal: keyof typeof EMBEDDED_ACCESS_GRANTS, action: ObjectAccess['action'], key: string) => mayAccessObject(EMBEDDED_ACCESS_GRANTS[principal], action, key);

  it.each([
    ['upstream', 's3:PutObject', 'landing/oms/x.csv', true],
    ['upstream', 's3:ListBucket', 'landing/', true],
    ['upstream', 's3:ListBucket', 'landing', false],
    ['upstream', 's3:ListBucket', '', false],
    ['upstream', 's3:GetObject', 'landingx/a', false],
    ['upstream', 's3:GetObject', 'claim-checks/2026-11-20/x.json', false],
    ['ingestion', 's3:GetObject', 'landing/oms/x.csv', true],
    ['ingestion', 's3:DeleteObject', 'landing/oms/x.csv', false],
    ['planner', 's3:PutObject', 'runs/r1/tca/manifest.json', true],
    ['planner', 's3:PutObject', 'runs/r1/tca/partition=0/result.json', false],
    ['planner', 's3:GetObject', 'claim-checks/2026-11-20/x.json', true],
    ['worker', 's3:PutObject', 'runs/r1/tca/partition=0/result.json', true],
    ['worker', 's3:PutObject', 'runs/r1/tca/partition=0/detail/tca-fills.parquet', true],
    ['worker', 's3:PutObject', 'runs/r1/tca/partition=0/manifest.json', false],
    ['worker', 's3:PutObject', 'runs/r1/outputs.json', false],
    ['worker', 's3:ListBucket', 'runs/', false],
    ['reporting', 's3:ListBucket', 'runs/r1/', true],
    ['reporting', 's3:DeleteObject', 'reports/2026-11-20/r1.json', false],
  ] as const)('%s %s %j: %s', (principal, action, key, expected) => {
    expect(may(principal, action, key)).toBe(expected);
  });
});
