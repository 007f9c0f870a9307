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
  CreateMultipartUploadCommand,
  GetObjectCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { GetQueueUrlCommand, SQSClient } from '@aws-sdk/client-sqs';
import { loadOrCreateAccessKeys, signSigV4, type AccessKeys, type AwsCredentials } from '@nightshift/aws-wire';
import { BatchHttpEndpoint, DirectoryJobLogs, LocalComputeEnvironment, LogsHttpEndpoint } from '@nightshift/compute-local';
import { SERVICE_RULES } from '@nightshift/contracts';
import { LocalEventBus, PutEventsHttpEndpoint, SqsHttpEndpoint } from '@nightshift/events-local';
import { createDocumentClient, createTable, startEmbeddedDynamoDb } from '@nightshift/jobs-dynamodb';
import { S3HttpEndpoint } from '@nightshift/storage-local';
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
    call: (c) => use(new S3Client({ ...clientConfig(c), forcePathStyle: true }), (x) => x.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'landing/a.txt', Body: 'a' }))),
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
    expect(await outcome(() => CALLS.s3!.call(keys.of('worker')))).toBe('ok');
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
