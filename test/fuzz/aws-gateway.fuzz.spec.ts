import { createHash, createHmac } from 'node:crypto';
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { signSigV4, type AwsCredentials } from '@nightshift/aws-wire';
import { DatasetLanded } from '@nightshift/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUCKET, startEmbeddedPlatform, type EmbeddedPlatform } from '../../services/host/src/embedded-platform.js';
import { FUZZ_RUNS } from './fuzz-runs.js';

/**
 * The embedded platform's AWS gateway, with SIGNED requests (the unauthenticated surface is the
 * bus fuzz's and the gateway spec's): whatever a key holder sends to SQS, CloudWatch Logs, Batch,
 * S3 or PutEvents answers a success or a 4xx in that protocol's error shape, never a 5xx or a
 * dropped connection, and the platform starts again on what was stored.
 */

const FUZZ_QUEUE = 'fuzz';
let parent: string;
let home: string;
let platform: EmbeddedPlatform;
let homeEntries: string[];

async function start(): Promise<EmbeddedPlatform> {
  return startEmbeddedPlatform({
    home,
    apiPort: 0,
    eventsPort: 0,
    vcpus: 1,
    memoryMiB: 512,
    // A queue of its own, so SQS calls on it do not take the services' messages.
    extraQueues: { [FUZZ_QUEUE]: [{ name: 'fuzz-all', description: 'every event', eventPattern: { source: [{ prefix: 'com.' }] } }] },
    logger: false,
  });
}

beforeAll(async () => {
  parent = await mkdtemp(join(tmpdir(), 'nightshift-fuzz-gateway-'));
  home = join(parent, 'home');
  await mkdir(home);
  platform = await start();
  homeEntries = (await readdir(home)).sort();
});

afterAll(async () => {
  await platform?.stop();
  if (parent) await rm(parent, { recursive: true, force: true });
});

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** Sends a request with this exact target (no URL normalisation); rejects on a dropped connection. */
function send(method: string, target: string, headers: Record<string, string>, body: Buffer): Promise<Answer> {
  const url = new URL(platform.eventsUrl);
  return new Promise((resolve, reject) => {
    const req = request(
      { host: url.hostname, port: url.port, method, path: target, headers: { ...headers, 'content-length': String(body.length) }, setHost: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.setTimeout(15_000, () => req.destroy(new Error(`no answer in 15 s to ${method} ${target}`)));
    req.on('error', reject);
    req.end(body);
  });
}

/** A JSON-protocol call (`X-Amz-Target`) signed with the SDK-style signer. */
async function callJson(target: string, contentType: string, service: string, body: Buffer, key: AwsCredentials = platform.credentials.services.planner): Promise<Answer> {
  const headers = signSigV4(
    { method: 'POST', url: `${platform.eventsUrl}/`, headers: { 'content-type': contentType, 'x-amz-target': target }, body, region: 'us-east-1', service },
    key,
  );
  return send('POST', '/', headers, body);
}

/** Every refusal of a JSON protocol: a 4xx, its type (`x-amzn-errortype` or `__type`, as the SDKs read it) and a message. */
function expectJsonAnswer(a: Answer, what: string): void {
  expect(a.status, `${what} answered ${a.status}: ${a.body.slice(0, 300)}`).toBeLessThan(500);
  if (a.status < 300) {
    expect(() => JSON.parse(a.body), `${what}: a success with a JSON body`).not.toThrow();
    return;
  }
  expect(a.status, what).toBeGreaterThanOrEqual(400);
  const parsed = JSON.parse(a.body) as { __type?: unknown; message?: unknown; Message?: unknown };
  const errorType = a.headers['x-amzn-errortype'] ?? parsed.__type;
  expect(typeof errorType === 'string' && errorType.length > 0, `${what}: an error type on ${a.status} ${a.body}`).toBe(true);
  expect(String(errorType), `${what}: the signature must hold`).not.toMatch(/SignatureDoesNotMatch|IncompleteSignature|InvalidClientTokenId/);
  const message = parsed.message ?? parsed.Message;
  expect(typeof message === 'string' && message.length > 0, `${what}: a message in ${a.body}`).toBe(true);
}

/** Arbitrary JSON-ish bodies: any JSON value, objects shaped like the API's input with odd values, and bytes. */
function bodies(shaped: fc.Arbitrary<Record<string, unknown>>): fc.Arbitrary<Buffer> {
  return fc.oneof(
    fc.jsonValue({ maxDepth: 4 }).map((v) => Buffer.from(JSON.stringify(v))),
    shaped.map((v) => Buffer.from(JSON.stringify(v))),
    fc.uint8Array({ maxLength: 128 }).map((b) => Buffer.from(b)),
    fc.string({ maxLength: 64 }).map((s) => Buffer.from(s)),
  );
}

const anyValue = fc.oneof(fc.string({ maxLength: 40 }), fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.jsonValue({ maxDepth: 2 }));

describe('fuzz: the AWS gateway, signed', () => {
  it('SQS (AmazonSQS.*): every call answers its result or an SQS error, never a 5xx', async () => {
    const queueUrl = fc.oneof(
      fc.constant(`${platform.eventsUrl}/000000000000/${FUZZ_QUEUE}`),
      fc.string({ maxLength: 40 }).map((s) => `${platform.eventsUrl}/000000000000/${s}`),
      fc.string({ maxLength: 40 }),
    );
    const shaped = fc.record(
      {
        QueueUrl: queueUrl,
        QueueName: fc.oneof(fc.constant(FUZZ_QUEUE), fc.string({ maxLength: 90 })),
        MaxNumberOfMessages: anyValue,
        WaitTimeSeconds: fc.oneof(fc.constant(0), anyValue.filter((v) => typeof v !== 'number' || v <= 0)),
        VisibilityTimeout: anyValue,
        MessageBody: anyValue,
        ReceiptHandle: anyValue,
        Entries: fc.array(fc.dictionary(fc.string({ maxLength: 12 }), anyValue, { maxKeys: 4 }), { maxLength: 12 }),
        AttributeNames: fc.array(fc.string({ maxLength: 20 }), { maxLength: 3 }),
      },
      { requiredKeys: [] },
    );
    const target = fc.oneof(
      fc.constantFrom(
        'GetQueueUrl', 'ReceiveMessage', 'DeleteMessage', 'DeleteMessageBatch', 'SendMessage', 'ChangeMessageVisibility',
        'ChangeMessageVisibilityBatch', 'GetQueueAttributes', 'ListQueues', 'CreateQueue', 'Nope',
      ),
      fc.string({ maxLength: 20 }).filter((s) => /^[\x21-\x7e]*$/.test(s)),
    );
    await fc.assert(
      fc.asyncProperty(target, bodies(shaped), async (op, body) => {
        // ReceiveMessage with a wait would hold the connection: the fuzz never waits.
        const a = await callJson(`AmazonSQS.${op}`, 'application/x-amz-json-1.0', 'sqs', body);
        expectJsonAnswer(a, `AmazonSQS.${op} ${body.toString().slice(0, 200)}`);
      }),
      { numRuns: FUZZ_RUNS },
    );
  });

  it('CloudWatch Logs (Logs_20140328.*): every call answers its result or a Logs error, never a 5xx', async () => {
    const shaped = fc.record(
      {
        logGroupName: fc.oneof(fc.constant('/aws/batch/job'), fc.string({ maxLength: 40 })),
        logStreamName: fc.oneof(
          fc.constantFrom('none/default/x', '../../../etc/passwd', 'nightshift-worker/default/..', '//', '%2e%2e/x', 'a\u0000b'),
          fc.string({ maxLength: 60 }),
        ),
        startFromHead: anyValue,
        limit: anyValue,
        nextToken: anyValue,
        startTime: anyValue,
        endTime: anyValue,
      },
      { requiredKeys: [] },
    );
    const target = fc.constantFrom('GetLogEvents', 'FilterLogEvents', 'DescribeLogStreams', 'PutLogEvents', 'Nope');
    await fc.assert(
      fc.asyncProperty(target, bodies(shaped), async (op, body) => {
        const a = await callJson(`Logs_20140328.${op}`, 'application/x-amz-json-1.1', 'logs', body);
        expectJsonAnswer(a, `Logs_20140328.${op} ${body.toString().slice(0, 200)}`);
      }),
      { numRuns: FUZZ_RUNS },
    );
  });

  it('Batch (POST /v1/...): every call answers its result or a Batch error, never a 5xx', async () => {
    const jobId = fc.oneof(fc.uuid(), fc.string({ maxLength: 40 }));
    const shaped = fc.record(
      {
        jobName: fc.oneof(fc.string({ maxLength: 140 }), fc.constantFrom('../x', 'a/b', '')),
        jobQueue: fc.oneof(fc.constantFrom('nightshift-default', 'nightshift-high', 'nope'), fc.string({ maxLength: 30 })),
        // Never the real definition: a valid submission would start a worker, which is not what this fuzzes.
        jobDefinition: fc.oneof(fc.constantFrom('nope', 'nightshift-worker:x', ''), fc.string({ maxLength: 30 })),
        jobs: fc.array(jobId, { maxLength: 110 }),
        jobId,
        reason: anyValue,
        jobStatus: fc.oneof(fc.constantFrom('RUNNING', 'SUCCEEDED', 'FAILED', 'nope'), anyValue),
        maxResults: anyValue,
        nextToken: anyValue,
        containerOverrides: fc.jsonValue({ maxDepth: 3 }),
        parameters: fc.jsonValue({ maxDepth: 2 }),
        shareIdentifier: anyValue,
        schedulingPriorityOverride: anyValue,
      },
      { requiredKeys: [] },
    );
    const path = fc.oneof(
      fc.constantFrom('/v1/submitjob', '/v1/describejobs', '/v1/listjobs', '/v1/terminatejob', '/v1/canceljob', '/v1/nope', '/v1/', '/v1/listjobs?x=1'),
      fc.string({ maxLength: 20 }).map((s) => `/v1/${encodeURIComponent(s)}`),
    );
    const method = fc.constantFrom('POST', 'POST', 'POST', 'GET', 'PUT', 'DELETE');
    await fc.assert(
      fc.asyncProperty(method, path, bodies(shaped), async (m, p, body) => {
        // Sent as signed: the SDK-style signer takes a URL, which resolves `.` segments.
        const url = new URL(`${platform.eventsUrl}${p}`);
        const headers = signSigV4({ method: m, url: url.href, headers: { 'content-type': 'application/json' }, body, region: 'us-east-1', service: 'batch' }, platform.credentials.services.planner);
        const a = await send(m, url.pathname + url.search, headers, body);
        expectJsonAnswer(a, `${m} ${p} ${body.toString().slice(0, 200)}`);
      }),
      { numRuns: FUZZ_RUNS },
    );
  });

  it('PutEvents (AWSEvents.PutEvents) with the upstream key: a result per entry or an EventBridge error, never a 5xx', async () => {
    const detail = fc.oneof(
      fc.jsonValue({ maxDepth: 5 }).map((v) => JSON.stringify(v)),
      fc.integer({ min: 1, max: 5_000 }).map((depth) => '{"a":'.repeat(depth) + '1' + '}'.repeat(depth)),
      fc.record({ dataset: fc.string({ maxLength: 12 }), businessDate: fc.string({ maxLength: 12 }), files: fc.array(fc.record({ table: fc.string({ maxLength: 8 }), key: fc.string({ maxLength: 30 }) }), { maxLength: 3 }) }).map((v) => JSON.stringify(v)),
      fc.string({ maxLength: 64 }),
    );
    const entry = fc.record(
      {
        Source: fc.oneof(fc.string({ maxLength: 300 }), fc.constantFrom('com.example.oms', 'aws.batch', 'nightshift.planner', '')),
        DetailType: fc.oneof(fc.string({ maxLength: 150 }), fc.constant(DatasetLanded.detailType)),
        Detail: detail,
        Resources: fc.array(fc.string({ maxLength: 40 }), { maxLength: 3 }),
        Time: fc.oneof(anyValue, fc.constantFrom(253402300800, -62198755200, 8.64e12, 1.7e9, '2026-11-20T00:00:00Z')),
        EventBusName: fc.oneof(fc.constant('default'), fc.string({ maxLength: 20 })),
      },
      { requiredKeys: [] },
    );
    const shaped = fc.record({ Entries: fc.oneof(fc.array(entry, { maxLength: 11 }), anyValue) }, { requiredKeys: [] });
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('PutEvents', 'PutEvents', 'PutEvents', 'PutRule'), bodies(shaped), async (op, body) => {
        const a = await callJson(`AWSEvents.${op}`, 'application/x-amz-json-1.1', 'events', body, platform.credentials.upstream);
        expectJsonAnswer(a, `AWSEvents.${op} ${body.toString().slice(0, 200)}`);
        if (a.status === 200 && op === 'PutEvents') {
          const out = JSON.parse(a.body) as { FailedEntryCount: number; Entries: Array<{ EventId?: string; ErrorCode?: string; ErrorMessage?: string }> };
          for (const e of out.Entries) {
            if (e.EventId === undefined) expect(e.ErrorCode && e.ErrorMessage, JSON.stringify(e)).toBeTruthy();
          }
          expect(out.FailedEntryCount).toBe(out.Entries.filter((e) => e.EventId === undefined).length);
        }
      }),
      { numRuns: FUZZ_RUNS },
    );
  });
});

/** RFC 3986 encoding, as SigV4 wants it. */
function uriEscape(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function decodeLoosely(s: string): string {
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '));
  } catch {
    return s;
  }
}

/**
 * Signs an S3 request exactly as it goes on the wire, `..`, `//` and all (the SDK-style signer
 * takes a URL, and `new URL` resolves dot segments). AWS's algorithm: S3 signs the path as sent.
 */
function signS3Raw(method: string, target: string, headers: Record<string, string>, payloadHash: string, key: AwsCredentials): Record<string, string> {
  const amzDate = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
  const date = amzDate.slice(0, 8);
  const all: Record<string, string> = { ...headers, host: new URL(platform.eventsUrl).host, 'x-amz-date': amzDate, 'x-amz-content-sha256': payloadHash };
  const names = Object.keys(all).sort();
  const q = target.indexOf('?');
  const path = (q < 0 ? target : target.slice(0, q)) || '/';
  const query = (q < 0 ? '' : target.slice(q + 1))
    .split('&')
    .filter((p) => p !== '')
    .map((p) => {
      const eq = p.indexOf('=');
      return [uriEscape(decodeLoosely(eq < 0 ? p : p.slice(0, eq))), uriEscape(decodeLoosely(eq < 0 ? '' : p.slice(eq + 1)))] as const;
    })
    .sort(([ak, av], [bk, bv]) => (ak < bk ? -1 : ak > bk ? 1 : av < bv ? -1 : av > bv ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
  const canonical = [method, path, query, names.map((n) => `${n}:${all[n]!.trim().replace(/\s+/g, ' ')}\n`).join(''), names.join(';'), payloadHash].join('\n');
  const scope = `${date}/us-east-1/s3/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, createHash('sha256').update(canonical).digest('hex')].join('\n');
  let k: Buffer = createHmac('sha256', `AWS4${key.secretAccessKey}`).update(date).digest();
  for (const part of ['us-east-1', 's3', 'aws4_request']) k = createHmac('sha256', k).update(part).digest();
  const signature = createHmac('sha256', k).update(stringToSign).digest('hex');
  return { ...all, authorization: `AWS4-HMAC-SHA256 Credential=${key.accessKeyId}/${scope}, SignedHeaders=${names.join(';')}, Signature=${signature}` };
}

async function s3(method: string, target: string, headers: Record<string, string>, body: Buffer, unsignedPayload = false): Promise<Answer> {
  const hash = unsignedPayload ? 'UNSIGNED-PAYLOAD' : createHash('sha256').update(body).digest('hex');
  return send(method, target, signS3Raw(method, target, headers, hash, platform.credentials.upstream), body);
}

/**
 * Every S3 refusal: a 4xx with S3's XML error document (HEAD has no body), the signature holding.
 * The one 5xx allowed is S3's own 501 NotImplemented for what the endpoint does not serve (as S3
 * answers it; the SDKs do not retry it).
 */
function expectS3Answer(a: Answer, method: string, what: string): void {
  const notImplemented = a.status === 501 && (method === 'HEAD' || a.body.includes('<Code>NotImplemented</Code>'));
  if (!notImplemented) expect(a.status, `${what} answered ${a.status}: ${a.body.slice(0, 400)}`).toBeLessThan(500);
  if (a.status < 400 || method === 'HEAD') return;
  const code = /<Code>([^<]+)<\/Code>/.exec(a.body)?.[1];
  expect(code, `${what}: an S3 error code in ${a.body}`).toBeTruthy();
  expect(code, `${what}: the signature must hold (${a.body})`).not.toMatch(/SignatureDoesNotMatch|AuthorizationHeaderMalformed|InvalidAccessKeyId/);
  expect(/<Message>[^<]+<\/Message>/.test(a.body), `${what}: a message in ${a.body}`).toBe(true);
}

/** A key segment: ordinary names, dot segments, empty ones, backslashes and characters that need encoding. */
const keySegment = fc.oneof(
  fc.constantFrom('landing', 'x.csv', '..', '.', '', '%2e%2e', '%2E.', '%2F', '..%2F..', 'a\\..\\b', '~', 'a+b', 'a b', 'é', '\u0000', '%00', '%', '%zz', '?', '#', ';'),
  fc.string({ maxLength: 12 }),
  fc.string({ maxLength: 6, unit: 'binary' }),
);

/** A path-style target: `/<bucket>/<key>`, each segment sent raw when the wire allows it, else percent-encoded. */
const s3Target = fc
  .record({
    bucket: fc.oneof(fc.constant(BUCKET), fc.constant(BUCKET), fc.constantFrom('', 'other', '..', 'v2'), fc.string({ maxLength: 8 })),
    segments: fc.array(keySegment, { minLength: 0, maxLength: 5 }),
    encode: fc.array(fc.boolean(), { minLength: 6, maxLength: 6 }),
    query: fc.oneof(fc.constant(''), fc.constantFrom('?uploads', '?uploadId=x&partNumber=1', '?list-type=2&prefix=landing/', '?x-id=PutObject', '?acl', '?delete', '?tagging', '?a=%zz&b'), fc.string({ maxLength: 12 }).map((s) => `?${encodeURIComponent(s)}`)),
  })
  .map(({ bucket, segments, encode, query }) => {
    const seg = (s: string, i: number) => (encode[i % encode.length] || !/^[\x21-\x7e]*$/.test(s) || s.includes('?') || s.includes('#') ? encodeURIComponent(s) : s);
    return `/${seg(bucket, 5)}${segments.length > 0 ? `/${segments.map(seg).join('/')}` : ''}${query}`;
  });

/** Headers S3 operations read, with values from valid to nonsense (all signed). */
const s3Headers = fc.record(
  {
    'content-type': fc.constantFrom('text/csv', 'application/octet-stream', 'x/y; charset=zz'),
    'content-md5': fc.oneof(fc.base64String({ maxLength: 24 }), fc.constant('1B2M2Y8AsgTpgAmY7PhCfg==')),
    'x-amz-checksum-crc32': fc.base64String({ maxLength: 8 }),
    'x-amz-checksum-sha256': fc.base64String({ maxLength: 44 }),
    'x-amz-meta-fuzz': fc.string({ maxLength: 20 }).filter((s) => /^[\x20-\x7e]*$/.test(s)),
    range: fc.oneof(fc.constantFrom('bytes=0-0', 'bytes=-1', 'bytes=5-1', 'bytes=0-', 'lines=1-2', 'bytes=99999999999999999999-'), fc.string({ maxLength: 12 }).filter((s) => /^[\x20-\x7e]*$/.test(s))),
    'if-match': fc.constantFrom('"x"', '*', ''),
    'if-none-match': fc.constantFrom('"x"', '*'),
    'if-modified-since': fc.constantFrom('Sun, 06 Nov 1994 08:49:37 GMT', 'garbage'),
    'content-encoding': fc.constantFrom('aws-chunked', 'gzip', 'identity'),
    'x-amz-decoded-content-length': fc.constantFrom('0', '5', '-1', 'x'),
    'x-amz-trailer': fc.constantFrom('x-amz-checksum-crc32', 'nope'),
  },
  { requiredKeys: [] },
);

describe('fuzz: the S3 API through the gateway, signed', () => {
  it('reads and other calls on odd paths, headers and bodies: an S3 answer or S3 error, never a 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('GET', 'HEAD', 'DELETE', 'POST', 'OPTIONS', 'PATCH'), s3Target, s3Headers, fc.uint8Array({ maxLength: 64 }), async (method, target, headers, body) => {
        const a = await s3(method, target, headers, Buffer.from(body));
        expectS3Answer(a, method, `${method} ${target} ${JSON.stringify(headers)}`);
      }),
      { numRuns: FUZZ_RUNS },
    );
  });

  it('writes: a PUT that succeeds reads back the same bytes under the same key; nothing lands outside the store', async () => {
    let stored = 0;
    // Half of the keys plausible (odd characters under landing/), so that writes do reach the store.
    const plausible = fc.array(fc.string({ minLength: 1, maxLength: 12 }), { minLength: 1, maxLength: 3 }).map((segs) => `/${BUCKET}/landing/${segs.map(encodeURIComponent).join('/')}`);
    await fc.assert(
      fc.asyncProperty(fc.oneof(s3Target, plausible), fc.oneof(fc.constant<Record<string, string>>({}), s3Headers as fc.Arbitrary<Record<string, string>>), fc.uint8Array({ maxLength: 256 }), fc.boolean(), async (target, headers, bytes, unsigned) => {
        const body = Buffer.from(bytes);
        const put = await s3('PUT', target, headers, body, unsigned);
        expectS3Answer(put, 'PUT', `PUT ${target} ${JSON.stringify(headers)}`);
        // Read back an object PUT (a PUT of the bucket itself is CreateBucket, 200 too).
        const isObject = target.startsWith(`/${BUCKET}/`) && target.length > BUCKET.length + 2;
        if (put.status !== 200 || target.includes('?') || !isObject) return;
        stored++;
        const got = await s3('GET', target, {}, Buffer.alloc(0));
        expect(got.status, `GET ${target} after its PUT: ${got.body}`).toBe(200);
        if (headers['content-encoding'] !== 'aws-chunked') expect(got.body, `GET ${target}`).toBe(body.toString('utf8'));
      }),
      { numRuns: Math.max(10, Math.ceil(FUZZ_RUNS / 3)) },
    );
    expect(stored, 'some writes reached the store').toBeGreaterThan(0);
    // Nothing outside the object store: the home holds what it held, and nothing beside it.
    expect((await readdir(parent)).sort()).toEqual(['home']);
    expect((await readdir(home)).sort()).toEqual(homeEntries);
    // Every object the store lists loads.
    for (const o of await platform.objects.list('')) await platform.objects.get(o.key);
  });
});

describe('fuzz: what the gateway stored loads again', () => {
  it('the platform starts again on the same home, and every object still loads', async () => {
    await platform.stop();
    platform = await start();
    for (const o of await platform.objects.list('')) await platform.objects.get(o.key);
    const queued = await platform.bus.receive(FUZZ_QUEUE, 10);
    expect(Array.isArray(queued)).toBe(true);
  });
});
