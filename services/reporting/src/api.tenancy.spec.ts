import 'reflect-metadata';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DirectoryJobLogs, LocalComputeEnvironment } from '@nightshift/compute-local';
import { envelope, SERVICE_RULES } from '@nightshift/contracts';
import { LocalEventBus } from '@nightshift/events-local';
import { planKeyFor, type Report, type Run, type RunPlan } from '@nightshift/jobs-domain';
import { createDocumentClient, createTable, DynamoDbJobStore, startEmbeddedDynamoDb, type EmbeddedDynamoDb } from '@nightshift/jobs-dynamodb';
import { DirectoryObjectStore } from '@nightshift/storage-local';
import { runTraceId } from '@nightshift/observability';
import { ReportingModule } from './app.module.js';
import { hashApiKey, newApiKey, type ApiKeysFile } from './auth/api-keys.js';
import { reportingHttpAdapter } from './api/http-adapter.js';
import { reportingConfigSchema, reportingHttpOptions } from './config.js';

/*
 * The REST API's authentication and tenancy over real HTTP: reporting's module on the embedded
 * DynamoDB, a directory object store, the durable bus, and a JWKS served by a local HTTP server.
 * Two tenants (acme, globex) each have a run, a task with a log and a report.
 */

const TENANTS = ['acme', 'globex'] as const;
type Tenant = (typeof TENANTS)[number];
const other = (t: Tenant): Tenant => (t === 'acme' ? 'globex' : 'acme');
const ISSUER = 'https://idp.example.test';
const AUDIENCE = 'nightshift-api';
const T0 = '2024-05-02T06:00:00.000Z';

const keys = {
  acme: { viewer: newApiKey(), operator: newApiKey() },
  globex: { viewer: newApiKey(), operator: newApiKey() },
  admin: newApiKey(),
};

let dir: string;
let dynamo: EmbeddedDynamoDb;
let client: DynamoDBDocumentClient;
let bus: LocalEventBus;
let app: INestApplication;
let api: string;
let jwks: Server;
let signingKey: CryptoKey;
let strangerKey: CryptoKey;

async function call(method: string, path: string, token?: string, body?: unknown, extra: Record<string, string> = {}): Promise<{ status: number; text: string; headers: Headers }> {
  const res = await fetch(`${api}${path}`, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...extra },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  return { status: res.status, text: await res.text(), headers: res.headers };
}

function jwt(claims: Record<string, unknown>, options: { key?: CryptoKey; expiresIn?: string | number; issuer?: string } = {}): Promise<string> {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'ES256', kid: options.key ? 'stranger' : 'test-key' })
    .setSubject('someone@example.test')
    .setIssuer(options.issuer ?? ISSUER)
    .setAudience(AUDIENCE)
    .setIssuedAt()
    .setExpirationTime(options.expiresIn ?? '5m')
    .sign(options.key ?? signingKey);
}

const runIdOf = (t: Tenant) => `run-tca-${t}`;
const reportIdOf = (t: Tenant) => `report-tca-${t}`;
const taskPath = (t: Tenant) => `/runs/${runIdOf(t)}/tasks/${encodeURIComponent('fills#EQ')}/attempts/1/log`;

async function seed(tableName: string, objectsDir: string, logDir: string): Promise<void> {
  const store = new DynamoDbJobStore(client, { tableName });
  const objects = new DirectoryObjectStore(objectsDir);
  for (const [i, tenant] of TENANTS.entries()) {
    const runId = runIdOf(tenant);
    const run: Run = {
      runId,
      pipeline: 'tca',
      businessDate: '2024-05-02',
      datasetId: 'fills@2024-05-02#v1',
      status: 'RUNNING',
      correlationId: `corr-${tenant}`,
      tenant,
      tasksTotal: 1,
      createdAt: `2024-05-02T06:0${i}:00.000Z`,
      updatedAt: T0,
    };
    await store.createRun(run, [
      { runId, step: 'fills', status: 'SUBMITTED', size: 1, jobName: `${runId}-fills`, manifestKey: `runs/${runId}/fills.json`, succeeded: 0, failed: 0, version: 1, updatedAt: T0 },
    ]);
    const plan: RunPlan = { runId, pipeline: 'tca', steps: [{ step: 'fills', partitions: ['EQ'], writesOutput: true }] };
    await objects.put(planKeyFor(runId), JSON.stringify(plan));
    const logStreamName = `worker/default/${tenant}-secret-log`;
    await mkdir(dirname(join(logDir, logStreamName)), { recursive: true });
    await writeFile(join(logDir, logStreamName), `log of ${tenant}\n`);
    await store.recordTask({
      task: {
        runId,
        taskId: 'fills#EQ',
        step: 'fills',
        partition: 'EQ',
        arrayIndex: 0,
        status: 'RUNNING',
        maxAttempts: 3,
        attempts: [{ attempt: 1, startedAt: T0, logStreamName }],
        createdAt: T0,
        updatedAt: T0,
      },
      stepSize: 1,
      currentJobIds: [],
    });
    const report: Report = {
      reportId: reportIdOf(tenant),
      runId,
      pipeline: 'tca',
      businessDate: '2024-05-02',
      key: `reports/2024-05-02/${reportIdOf(tenant)}.json`,
      headline: { orders: 1 },
      publishedAt: `2024-05-02T07:0${i}:00.000Z`,
      tenant,
    };
    await objects.put(report.key, JSON.stringify({ reportId: report.reportId, owner: tenant, sections: { owners: [{ owner: tenant }] } }));
    await store.putReport(report);
    // A landing accepted (a dataset version of the tenant's), one rejected, and a dead letter of the tenant's.
    const version = await store.registerDatasetVersion({
      dataset: 'fills',
      businessDate: '2024-05-02',
      files: [{ table: 'fills', key: `landing/${tenant}/fills.csv`, rows: 1, checksum: 'a'.repeat(64), bytes: 10 }],
      rowCount: 1,
      partitions: ['EQ'],
      manifestKey: `datasets/${tenant}/manifest.json`,
      landedEventId: landedIdOf(tenant),
      registeredAt: T0,
      tenant,
    });
    datasetIds[tenant] = version.datasetId;
    await store.recordLandingRejected({ landedEventId: rejectedIdOf(tenant), tenant, reasons: [{ message: `bad file of ${tenant}`, file: 'fills.csv', line: 2 }], rejectedAt: T0 });
    await bus.putDeadLetter('planner', deadEventOf(tenant), `handler failed for ${tenant}`);
  }
}

const landedIdOf = (t: Tenant) => `landed-${t}`;
const rejectedIdOf = (t: Tenant) => `rejected-${t}`;
const datasetIds = {} as Record<Tenant, string>;
function deadEventOf(tenant: Tenant) {
  return {
    version: '0',
    id: `dead-${tenant}`,
    'detail-type': 'Run Requested',
    source: 'nightshift.api',
    account: '000000000000',
    time: T0,
    region: 'us-east-1',
    resources: [],
    detail: envelope({ pipeline: 'tca', businessDate: '2024-05-02', requestedBy: tenant }, { eventId: `dead-${tenant}`, correlationId: `dead-corr-${tenant}`, occurredAt: new Date(T0), tenant }),
  };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nightshift-reporting-auth-'));
  const objectsDir = join(dir, 'objects');
  const logDir = join(dir, 'logs');
  dynamo = await startEmbeddedDynamoDb();
  client = createDocumentClient({ endpoint: dynamo.endpoint });
  const tableName = 'reporting-auth';
  await createTable(client, tableName);
  bus = await LocalEventBus.open({ dir: join(dir, 'bus'), rules: SERVICE_RULES });
  const compute = new LocalComputeEnvironment({ vcpus: 1, memoryMiB: 256, emit: async () => undefined, logDir });

  const pair = await generateKeyPair('ES256', { extractable: true });
  signingKey = pair.privateKey;
  strangerKey = (await generateKeyPair('ES256')).privateKey;
  const jwk: JWK = { ...(await exportJWK(pair.publicKey)), kid: 'test-key', alg: 'ES256', use: 'sig' };
  jwks = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] })));
  await new Promise<void>((resolve) => jwks.listen(0, '127.0.0.1', resolve));

  const keysFile = join(dir, 'api-keys.json');
  const file: ApiKeysFile = {
    keys: [
      ...TENANTS.flatMap((t) => [
        { id: `${t}-viewer`, keyHash: hashApiKey(keys[t].viewer), role: 'viewer' as const, tenant: t },
        { id: `${t}-operator`, keyHash: hashApiKey(keys[t].operator), role: 'operator' as const, tenant: t },
      ]),
      { id: 'platform-admin', keyHash: hashApiKey(keys.admin), role: 'admin' },
    ],
  };
  await writeFile(keysFile, JSON.stringify(file), { mode: 0o600 });

  const config = reportingConfigSchema.parse({
    tableName,
    // Small bounds, so the request-timeout tests take a second, not 30.
    httpHeadersTimeoutMs: 300,
    httpIdleTimeoutMs: 500,
    httpRequestTimeoutMs: 1_000,
    httpBodyLimitBytes: 4_096,
    objectStoreDir: objectsDir,
    httpPort: 0,
    apiKeysFile: keysFile,
    jwksUrl: `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/.well-known/jwks.json`,
    jwtIssuer: ISSUER,
    jwtAudience: AUDIENCE,
  });
  const { module } = ReportingModule.compose(config, { mode: 'local', dynamo: client, bus, compute, logs: new DirectoryJobLogs(logDir) });
  app = await NestFactory.create(module, reportingHttpAdapter(config), { logger: false });
  await app.listen(0, '127.0.0.1');
  api = (await app.getUrl()).replace('[::1]', '127.0.0.1');
  await seed(tableName, objectsDir, logDir);
}, 60_000);

afterAll(async () => {
  await app?.close();
  await bus?.close();
  await new Promise((resolve) => jwks?.close(resolve));
  client?.destroy();
  await dynamo?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('REST API tenancy', () => {
  it('shows each tenant only its own runs, tasks, logs and reports through every read route: 0 cross-tenant reads', async () => {
    let crossReads = 0;
    for (const tenant of TENANTS) {
      const token = keys[tenant].viewer;
      const theirs = [runIdOf(other(tenant)), reportIdOf(other(tenant)), `log of ${other(tenant)}`, `"owner":"${other(tenant)}"`];
      const own = [
        await call('GET', '/runs', token),
        await call('GET', `/runs/${runIdOf(tenant)}`, token),
        await call('GET', taskPath(tenant), token),
        await call('GET', '/reports', token),
        await call('GET', `/reports/${reportIdOf(tenant)}`, token),
        await call('GET', `/reports?runId=${runIdOf(tenant)}`, token),
        await call('GET', `/reports/${reportIdOf(tenant)}/sections/owners`, token),
      ];
      for (const res of own) expect(res.status).toBe(200);
      expect(JSON.parse(own[0]!.text).items.map((r: Run) => r.runId)).toEqual([runIdOf(tenant)]);
      expect(own[2]!.text).toBe(`log of ${tenant}\n`);
      expect(JSON.parse(own[3]!.text).items.map((r: Report) => r.reportId)).toEqual([reportIdOf(tenant)]);
      expect(JSON.parse(own[4]!.text).document).toEqual({ reportId: reportIdOf(tenant), owner: tenant, sections: { owners: [{ owner: tenant }] } });
      expect(own[6]!.text).toBe(`owner\r\n${tenant}\r\n`);

      const foreign = [
        await call('GET', `/runs/${runIdOf(other(tenant))}`, token),
        await call('GET', taskPath(other(tenant)), token),
        await call('GET', `/reports/${reportIdOf(other(tenant))}`, token),
        await call('GET', `/reports/${reportIdOf(other(tenant))}/sections/owners`, token),
      ];
      // 404, as for what does not exist: the other tenant's resources do not even show as forbidden.
      for (const res of foreign) expect(res.status).toBe(404);
      expect((await call('GET', `/runs/run-that-never-was`, token)).text.replaceAll('run-that-never-was', runIdOf(other(tenant)))).toBe(foreign[0]!.text);
      const byForeignRun = await call('GET', `/reports?runId=${runIdOf(other(tenant))}`, token);
      expect(JSON.parse(byForeignRun.text)).toEqual({ items: [] });

      for (const res of [...own, byForeignRun]) crossReads += theirs.filter((s) => res.text.includes(s)).length;
    }
    expect(crossReads).toBe(0);
  });

  it("answers a run's trace, when spans go to an OTLP endpoint (no trace file), with 404 naming the trace id to look up there; another tenant's run as a missing one", async () => {
    for (const tenant of TENANTS) {
      const token = keys[tenant].viewer;
      const own = await call('GET', `/runs/${runIdOf(tenant)}/trace`, token);
      expect(own.status).toBe(404);
      expect(JSON.parse(own.text).detail).toBe(`this platform exports its spans to an OTLP endpoint, not to a file it can read back: look up trace ${runTraceId(runIdOf(tenant))} there`);
      const foreign = await call('GET', `/runs/${runIdOf(other(tenant))}/trace`, token);
      expect(foreign.status).toBe(404);
      expect(JSON.parse(foreign.text).detail).toBe(`run ${runIdOf(other(tenant))} not found`);
      // A report's detail files are read through the same report read: another tenant's is a missing report.
      const detail = await call('GET', `/reports/${reportIdOf(other(tenant))}/sections/owners/detail/desk/orders`, token);
      expect(detail.status).toBe(404);
      expect(JSON.parse(detail.text).detail).toBe(`report ${reportIdOf(other(tenant))} not found`);
      // Its own report's section publishes no detail files (not a TCA section).
      const none = await call('GET', `/reports/${reportIdOf(tenant)}/sections/owners/detail/desk/orders`, token);
      expect(none.status).toBe(404);
      expect(JSON.parse(none.text).detail).toBe(`section owners of report ${reportIdOf(tenant)} has no detail files`);
    }
  });

  it('shows each tenant only its own datasets, landings and dead letters; retry and redrive of what is not its own are refused', async () => {
    let crossReads = 0;
    for (const tenant of TENANTS) {
      const token = keys[tenant].operator;
      const theirs = [datasetIds[other(tenant)], landedIdOf(other(tenant)), rejectedIdOf(other(tenant)), `landing/${other(tenant)}/`, `dead-${other(tenant)}`, `bad file of ${other(tenant)}`];
      const datasets = await call('GET', '/datasets', token);
      expect(JSON.parse(datasets.text).items.map((d: { datasetId: string }) => d.datasetId)).toEqual([datasetIds[tenant]]);
      const dataset = await call('GET', `/datasets/${encodeURIComponent(datasetIds[tenant])}`, token);
      expect(dataset.status).toBe(200);
      // The version's runs: the tenant's own run on that dataset id only.
      expect(JSON.parse(dataset.text).runs.map((r: Run) => r.runId)).toEqual(datasetIds[tenant] === 'fills@2024-05-02#v1' ? [runIdOf(tenant)] : []);
      const accepted = await call('GET', `/landings/${landedIdOf(tenant)}`, token);
      expect(JSON.parse(accepted.text)).toMatchObject({ status: 'ACCEPTED', datasetId: datasetIds[tenant] });
      const rejected = await call('GET', `/landings/${rejectedIdOf(tenant)}`, token);
      expect(JSON.parse(rejected.text)).toMatchObject({ status: 'REJECTED', reasons: [{ message: `bad file of ${tenant}`, line: 2 }] });
      const dlq = await call('GET', '/dlq?queue=planner', token);
      expect(dlq.status).toBe(200);
      expect(JSON.parse(dlq.text).items.map((d: { event: { id: string } }) => d.event.id)).toEqual([`dead-${tenant}`]);
      const own = [datasets, dataset, accepted, rejected, dlq, await call('GET', '/dlq', token)];

      // Another tenant's: 404 as what does not exist (the same answer, the id aside).
      const foreign = [
        [await call('GET', `/datasets/${encodeURIComponent(datasetIds[other(tenant)])}`, token), await call('GET', `/datasets/${encodeURIComponent('fills@2024-05-02#v9')}`, token)],
        [await call('GET', `/landings/${landedIdOf(other(tenant))}`, token), await call('GET', `/landings/never-landed`, token)],
        [await call('GET', `/landings/${rejectedIdOf(other(tenant))}`, token), await call('GET', `/landings/never-landed`, token)],
        [await call('POST', `/runs/${runIdOf(other(tenant))}/retry`, token, {}), await call('POST', `/runs/run-that-never-was/retry`, token, {})],
      ];
      for (const [theirsAnswer, missing] of foreign) {
        expect(theirsAnswer!.status).toBe(404);
        expect(JSON.parse(theirsAnswer!.text).type).toBe(JSON.parse(missing!.text).type);
      }
      expect((await call('GET', '/datasets?tenant=' + other(tenant), token)).status).toBe(403);
      expect((await call('GET', '/dlq?tenant=' + other(tenant), token)).status).toBe(403);
      // Redrive moves every tenant's messages: never for a tenant-bound token, even an operator's or a tenant admin's.
      expect((await call('POST', '/dlq/planner/redrive', token, {})).status).toBe(403);
      for (const res of own) crossReads += theirs.filter((t) => res.text.includes(t)).length;
    }
    expect(crossReads).toBe(0);
    // Pipelines are the platform's: the same for every tenant, readable by a viewer.
    expect(JSON.parse((await call('GET', '/pipelines', keys.acme.viewer)).text)).toEqual(JSON.parse((await call('GET', '/pipelines', keys.globex.viewer)).text));
    // A viewer may not read dead letters (operator), nor retry (operator).
    expect((await call('GET', '/dlq', keys.acme.viewer)).status).toBe(403);
    expect((await call('POST', `/runs/${runIdOf('acme')}/retry`, keys.acme.viewer, {})).status).toBe(403);
    // A tenantless admin sees every tenant's dead letters, and may redrive.
    const all = JSON.parse((await call('GET', '/dlq?queue=planner', keys.admin)).text).items.map((d: { event: { id: string } }) => d.event.id);
    expect(all.sort()).toEqual(['dead-acme', 'dead-globex']);
  });

  it('lets a tenant-bound key name only its own tenant with ?tenant=', async () => {
    expect((await call('GET', '/runs?tenant=globex', keys.acme.viewer)).status).toBe(403);
    expect((await call('GET', '/reports?tenant=globex', keys.acme.viewer)).status).toBe(403);
    expect((await call('GET', '/runs?tenant=acme', keys.acme.viewer)).status).toBe(200);
  });

  it('lets a tenantless admin read every tenant, or one with ?tenant=', async () => {
    const all = JSON.parse((await call('GET', '/runs', keys.admin)).text).items.map((r: Run) => r.runId);
    expect(all).toEqual(expect.arrayContaining([runIdOf('acme'), runIdOf('globex')]));
    const globex = JSON.parse((await call('GET', '/reports?tenant=globex', keys.admin)).text).items.map((r: Report) => r.reportId);
    expect(globex).toEqual([reportIdOf('globex')]);
    expect((await call('GET', `/runs/${runIdOf('globex')}`, keys.admin)).status).toBe(200);
  });

  it('runs a pipeline for the caller\'s tenant only: the request carries it, another tenant is refused', async () => {
    const accepted = await call('POST', '/runs', keys.acme.operator, { pipeline: 'tca', businessDate: '2024-05-02' });
    expect(accepted.status).toBe(202);
    const [message] = await bus.receive('planner', 1, { waitTimeMs: 2_000 });
    expect(message?.event['detail-type']).toBe('Run Requested');
    expect((message?.event.detail as { metadata: { tenant?: string } }).metadata.tenant).toBe('acme');
    if (message) await bus.ack('planner', message.receiptHandle);

    expect((await call('POST', '/runs?tenant=globex', keys.acme.operator, { pipeline: 'tca', businessDate: '2024-05-02' })).status).toBe(403);
    const smuggled = await call('POST', '/runs', keys.acme.operator, { pipeline: 'tca', businessDate: '2024-05-02', tenant: 'globex' });
    expect(smuggled.status).toBe(400);
    expect((await call('POST', `/runs/${runIdOf('globex')}/cancel`, keys.acme.operator, {})).status).toBe(404);
    // The API publishes before it answers (PutEvents resolves once the message is on disk): the queue is final now.
    expect(bus.stats('planner')).toMatchObject({ visible: 0, inFlight: 0 });
  });
});

describe('POST /runs with an Idempotency-Key', () => {
  /** What the API published to the planner: all of it is on the queue once the API has answered (it publishes first). */
  async function drainPlanner(): Promise<Array<{ eventId: string; data: unknown }>> {
    const seen: Array<{ eventId: string; data: unknown }> = [];
    for (;;) {
      const messages = await bus.receive('planner', 10, { waitTimeMs: 0 });
      if (messages.length === 0) return seen;
      for (const m of messages) {
        const detail = m.event.detail as { metadata: { eventId: string }; data: unknown };
        seen.push({ eventId: detail.metadata.eventId, data: detail.data });
        await bus.ack('planner', m.receiptHandle);
      }
    }
  }

  it('answers the same run to the same key and body, and 422 (publishing nothing) to the same key with another body', async () => {
    await drainPlanner();
    const key = { 'idempotency-key': 'nightly-2024-05-02' };
    const first = await call('POST', '/runs', keys.acme.operator, { pipeline: 'tca', businessDate: '2024-05-02' }, key);
    expect(first.status).toBe(202);
    const { runId, requestId } = JSON.parse(first.text) as { runId: string; requestId: string };
    // The same body, keys in another order and the default (the caller) spelled out: the same request.
    const retry = await call('POST', '/runs', keys.acme.operator, { requestedBy: 'api-key:acme-operator', businessDate: '2024-05-02', pipeline: 'tca' }, key);
    expect(retry.status).toBe(202);
    expect(JSON.parse(retry.text)).toMatchObject({ runId, requestId });

    for (const body of [
      { pipeline: 'desk-risk', businessDate: '2024-05-02' },
      { pipeline: 'tca', businessDate: '2024-05-03' },
      { pipeline: 'tca', businessDate: '2024-05-02', requestedBy: 'someone-else' },
    ]) {
      const reused = await call('POST', '/runs', keys.acme.operator, body, key);
      expect(reused.status).toBe(422);
      expect(reused.text).toContain('nightly-2024-05-02');
      expect(reused.text).toContain('different request body');
    }
    // The key still answers its first body's run after the refusals.
    expect(JSON.parse((await call('POST', '/runs', keys.acme.operator, { pipeline: 'tca', businessDate: '2024-05-02' }, key)).text).runId).toBe(runId);

    const published = await drainPlanner();
    expect(published.length).toBeGreaterThan(0);
    expect(new Set(published.map((p) => p.eventId))).toEqual(new Set([requestId]));
    expect(published.every((p) => (p.data as { pipeline: string; businessDate: string }).businessDate === '2024-05-02')).toBe(true);
    expect(published.every((p) => (p.data as { pipeline: string }).pipeline === 'tca')).toBe(true);
  });

  it('keeps keys per tenant: another tenant may use the same key with another body', async () => {
    const key = { 'idempotency-key': 'shared-key-1' };
    const acme = await call('POST', '/runs', keys.acme.operator, { pipeline: 'tca', businessDate: '2024-05-02' }, key);
    const globex = await call('POST', '/runs', keys.globex.operator, { pipeline: 'desk-risk', businessDate: '2024-05-02' }, key);
    expect([acme.status, globex.status]).toEqual([202, 202]);
    expect(JSON.parse(acme.text).runId).not.toBe(JSON.parse(globex.text).runId);
    await drainPlanner();
  });
});

describe('REST API request bounds', () => {
  /** Opens a raw socket, writes `head` then `chunks` (one every `everyMs`), and answers what came back and when the server closed it. */
  function rawRequest(head: string, chunks: string[] = [], everyMs = 100): Promise<{ response: string; closedAfterMs: number }> {
    const { hostname, port } = new URL(api);
    return new Promise((resolve, reject) => {
      const started = Date.now();
      const socket = connect(Number(port), hostname);
      let response = '';
      let timer: NodeJS.Timeout | undefined;
      const guard = setTimeout(() => {
        socket.destroy();
        reject(new Error(`the server held the connection for 10 s; it answered ${JSON.stringify(response)}`));
      }, 10_000);
      socket.setEncoding('utf8');
      socket.on('data', (d: string) => (response += d));
      socket.on('error', () => undefined);
      socket.on('close', () => {
        clearTimeout(guard);
        clearInterval(timer);
        resolve({ response, closedAfterMs: Date.now() - started });
      });
      socket.on('connect', () => {
        socket.write(head);
        let i = 0;
        timer = setInterval(() => {
          if (i < chunks.length && !socket.destroyed) socket.write(chunks[i++]!);
        }, everyMs);
      });
    });
  }
  const head = (length: number) =>
    `POST /runs HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${keys.acme.operator}\r\nContent-Type: application/json\r\nContent-Length: ${length}\r\n\r\n`;
  const answeredOrClosed = (response: string) => response === '' || response.startsWith('HTTP/1.1 408');

  it('closes a connection whose body stops half way within the bound (idle 500 ms)', async () => {
    const { response, closedAfterMs } = await rawRequest(`${head(60)}{"pipeline":"tca",`);
    expect(answeredOrClosed(response)).toBe(true);
    expect(closedAfterMs).toBeGreaterThanOrEqual(400);
    expect(closedAfterMs).toBeLessThan(2_000);
  });

  it('answers 408 or closes a request whose body trickles in past the request bound (1 s)', async () => {
    const { response, closedAfterMs } = await rawRequest(`${head(100)}{`, Array.from({ length: 60 }, () => ' '), 100);
    expect(answeredOrClosed(response)).toBe(true);
    expect(closedAfterMs).toBeGreaterThanOrEqual(900);
    expect(closedAfterMs).toBeLessThan(2_500);
  });

  it('answers 408 or closes a request whose headers never end (300 ms)', async () => {
    const { response, closedAfterMs } = await rawRequest('GET /health HTTP/1.1\r\nHost: localhost\r\n', Array.from({ length: 60 }, (_, i) => `X-Slow-${i}: 1\r\n`), 50);
    expect(answeredOrClosed(response)).toBe(true);
    expect(closedAfterMs).toBeLessThan(1_500);
  });

  it('answers 413 to a body over the limit, and a complete request in time as usual', async () => {
    const big = await call('POST', '/runs', keys.acme.operator, { pipeline: 'tca', businessDate: '2024-05-02', requestedBy: 'x'.repeat(5_000) });
    expect(big.status).toBe(413);
    expect((await call('GET', '/health')).status).toBe(200);
  });

  it('answers what the HTTP server refuses before the API sees it as problem details too: too large, empty, not JSON, another media type, a bad URL', async () => {
    const send = async (body: string, contentType: string | undefined, path = '/runs') => {
      const res = await fetch(`${api}${path}`, { method: 'POST', headers: { authorization: `Bearer ${keys.acme.operator}`, ...(contentType ? { 'content-type': contentType } : {}) }, body });
      return { status: res.status, type: res.headers.get('content-type'), body: (await res.json()) as { type?: string; status?: number; detail?: string; instance?: string } };
    };
    const answers = [
      [await send(JSON.stringify({ requestedBy: 'x'.repeat(5_000) }), 'application/json'), 413],
      [await send('', 'application/json'), 400],
      [await send('{"pipeline": ', 'application/json'), 400],
      [await send('<run/>', 'application/xml'), 415],
      [await send('{}', 'application/json', '/runs/%zz/cancel'), 400],
    ] as const;
    for (const [answer, status] of answers) {
      expect(answer.status).toBe(status);
      expect(answer.type).toContain('application/problem+json');
      expect(answer.body).toMatchObject({ status, type: expect.stringMatching(/^urn:nightshift:problem:/), detail: expect.any(String) });
    }
  });

  it('defaults to headers and idle 10 s, request 30 s, body 1 MiB', () => {
    const defaults = reportingConfigSchema.parse({ tableName: 'nightshift', objectStoreDir: '/tmp/x', jwksUrl: 'https://idp.example.test/jwks' });
    expect(reportingHttpOptions(defaults)).toMatchObject({ connectionTimeout: 10_000, requestTimeout: 30_000, bodyLimit: 1_048_576, http: { headersTimeout: 10_000 } });
    expect(reportingConfigSchema.safeParse({ tableName: 'n', objectStoreDir: '/tmp/x', jwksUrl: 'https://idp.example.test/jwks', httpHeadersTimeoutMs: 40_000 }).success).toBe(false);
  });
});

describe('REST API authentication', () => {
  it('keeps /health open and answers 401 with WWW-Authenticate: Bearer without a valid token, never echoing it', async () => {
    expect((await call('GET', '/health')).status).toBe(200);
    const missing = await call('GET', '/runs');
    expect(missing.status).toBe(401);
    expect(missing.headers.get('www-authenticate')).toMatch(/^Bearer/);
    const forged = 'nsk_this-is-not-a-key-0123456789';
    const bad = await call('GET', '/runs', forged);
    expect(bad.status).toBe(401);
    expect(bad.headers.get('www-authenticate')).toMatch(/^Bearer .*invalid_token/);
    expect(bad.text).not.toContain(forged);
    expect((await call('GET', '/runs', undefined)).status).toBe(401);
  });

  it('refuses a viewer what needs an operator: 403', async () => {
    expect((await call('POST', '/runs', keys.acme.viewer, { pipeline: 'tca', businessDate: '2024-05-02' })).status).toBe(403);
    expect((await call('POST', `/runs/${runIdOf('acme')}/cancel`, keys.acme.viewer, {})).status).toBe(403);
  });

  it('accepts a JWT signed by the JWKS, with its role and tenant', async () => {
    const token = await jwt({ roles: ['viewer'], tenant: 'globex' });
    const res = await call('GET', '/runs', token);
    expect(res.status).toBe(200);
    expect(JSON.parse(res.text).items.map((r: Run) => r.runId)).toEqual([runIdOf('globex')]);
    expect((await call('GET', `/runs/${runIdOf('acme')}`, token)).status).toBe(404);
    expect((await call('POST', '/runs', token, { pipeline: 'tca', businessDate: '2024-05-02' })).status).toBe(403);
  });

  it('answers 401 to an expired JWT, a wrong issuer or a key outside the JWKS, without echoing the token', async () => {
    const expired = await jwt({ role: 'admin', tenant: 'acme' }, { expiresIn: Math.floor(Date.now() / 1000) - 60 });
    const wrongIssuer = await jwt({ role: 'admin', tenant: 'acme' }, { issuer: 'https://evil.example.test' });
    const stranger = await jwt({ role: 'admin', tenant: 'acme' }, { key: strangerKey });
    const tampered = (await jwt({ role: 'viewer', tenant: 'acme' })).replace(/\.[^.]+\./, `.${Buffer.from(JSON.stringify({ role: 'admin', tenant: 'globex', exp: 9e9 })).toString('base64url')}.`);
    for (const token of [expired, wrongIssuer, stranger, tampered]) {
      const res = await call('GET', '/runs', token);
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
      expect(res.text).not.toContain(token);
    }
  });

  it('answers 403 to a valid JWT that grants no role, or no tenant to a non-admin', async () => {
    expect((await call('GET', '/runs', await jwt({ roles: ['auditor'], tenant: 'acme' }))).status).toBe(403);
    expect((await call('GET', '/runs', await jwt({ role: 'viewer' }))).status).toBe(403);
  });
});

describe('reporting config', () => {
  it('refuses to start with no authentication configured, in either mode', () => {
    const local = reportingConfigSchema.safeParse({ tableName: 'nightshift', objectStoreDir: '/tmp/x' });
    expect(local.success).toBe(false);
    expect(JSON.stringify(local.error?.issues)).toContain('NIGHTSHIFT_API_KEYS_FILE');
    expect(reportingConfigSchema.safeParse({ mode: 'aws', tableName: 'nightshift', bucket: 'nightshift-data' }).success).toBe(false);
    expect(reportingConfigSchema.safeParse({ mode: 'aws', tableName: 'nightshift', bucket: 'nightshift-data', jwksUrl: 'https://idp.example.test/jwks' }).success).toBe(true);
  });
});

describe('backfills: each tenant its own', () => {
  const RANGE = { pipeline: 'nightly-tca', from: '2024-05-06', to: '2024-05-10' };
  const ids = {} as Record<Tenant, string>;

  /** The Backfill Requested / Cancel Requested events on the planner's queue (the API publishes before it answers). */
  async function published(): Promise<Array<{ detailType: string; eventId: string; tenant?: string; data: { backfillId: string } }>> {
    const seen: Array<{ detailType: string; eventId: string; tenant?: string; data: { backfillId: string } }> = [];
    for (;;) {
      const messages = await bus.receive('planner', 10, { waitTimeMs: 0 });
      if (messages.length === 0) return seen;
      for (const m of messages) {
        const detail = m.event.detail as { metadata: { eventId: string; tenant?: string }; data: { backfillId: string } };
        seen.push({ detailType: m.event['detail-type'], eventId: detail.metadata.eventId, ...(detail.metadata.tenant ? { tenant: detail.metadata.tenant } : {}), data: detail.data });
        await bus.ack('planner', m.receiptHandle);
      }
    }
  }

  it("records each tenant's backfill for it alone: the same range of another tenant does not overlap, its own does (409 naming it)", async () => {
    await published();
    for (const tenant of TENANTS) {
      const res = await call('POST', '/backfills', keys[tenant].operator, RANGE);
      expect(res.status, res.text).toBe(202);
      const body = JSON.parse(res.text) as { backfillId: string; tenant: string; status: string; total: number; location: string };
      expect(body).toMatchObject({ tenant, status: 'RUNNING', total: 5 });
      expect(res.headers.get('location')).toBe(body.location);
      ids[tenant] = body.backfillId;
    }
    const events = await published();
    expect(events.map((e) => [e.detailType, e.tenant, e.data.backfillId])).toEqual(TENANTS.map((t) => ['Backfill Requested', t, ids[t]]));

    const overlap = await call('POST', '/backfills', keys.acme.operator, { ...RANGE, from: '2024-05-08', to: '2024-05-15' });
    expect(overlap.status).toBe(409);
    expect(JSON.parse(overlap.text)).toMatchObject({ type: 'urn:nightshift:problem:conflict', detail: expect.stringContaining(ids.acme) });
    expect(overlap.text).not.toContain(ids.globex);
    // A tenant-bound operator cannot ask for another tenant; a viewer cannot ask at all.
    expect((await call('POST', '/backfills?tenant=globex', keys.acme.operator, { ...RANGE, from: '2024-06-03', to: '2024-06-07' })).status).toBe(403);
    expect((await call('POST', '/backfills', keys.acme.viewer, { ...RANGE, from: '2024-06-03', to: '2024-06-07' })).status).toBe(403);
    expect((await call('POST', '/backfills', keys.acme.operator, { ...RANGE, tenant: 'globex' })).status).toBe(400);
    expect(await published()).toEqual([]);
  });

  it("lists and shows a tenant's backfills only; another tenant's is not found as a missing one, and cannot be cancelled", async () => {
    let crossReads = 0;
    for (const tenant of TENANTS) {
      const theirs = ids[other(tenant)];
      const list = await call('GET', '/backfills', keys[tenant].viewer);
      expect(list.status).toBe(200);
      expect(JSON.parse(list.text).items.map((b: { backfillId: string }) => b.backfillId)).toEqual([ids[tenant]]);
      const own = await call('GET', `/backfills/${ids[tenant]}`, keys[tenant].viewer);
      expect(own.status).toBe(200);
      expect(JSON.parse(own.text).dates.map((d: { date: string }) => d.date)).toEqual(['2024-05-06', '2024-05-07', '2024-05-08', '2024-05-09', '2024-05-10']);

      const foreign = await call('GET', `/backfills/${theirs}`, keys[tenant].viewer);
      const missing = await call('GET', '/backfills/backfill-that-never-was', keys[tenant].viewer);
      expect(foreign.status).toBe(404);
      expect(foreign.text.replaceAll(theirs, 'backfill-that-never-was')).toBe(missing.text);
      expect((await call('POST', `/backfills/${theirs}/cancel`, keys[tenant].operator, {})).status).toBe(404);
      expect((await call('GET', `/backfills?tenant=${other(tenant)}`, keys[tenant].viewer)).status).toBe(403);
      for (const res of [list, own]) if (res.text.includes(theirs)) crossReads++;
    }
    expect(crossReads).toBe(0);
    expect(await published()).toEqual([]);
    // A tenantless admin reads every tenant's, or one's with ?tenant=.
    const all = JSON.parse((await call('GET', '/backfills', keys.admin)).text).items.map((b: { backfillId: string }) => b.backfillId);
    expect(all.sort()).toEqual([ids.acme, ids.globex].sort());
    expect(JSON.parse((await call('GET', '/backfills?tenant=globex', keys.admin)).text).items.map((b: { backfillId: string }) => b.backfillId)).toEqual([ids.globex]);
    expect((await call('GET', `/backfills/${ids.globex}`, keys.admin)).status).toBe(200);
  });

  it('cancels its own: 202 and Backfill Cancel Requested for the planner with its tenant; a viewer may not', async () => {
    expect((await call('POST', `/backfills/${ids.acme}/cancel`, keys.acme.viewer, {})).status).toBe(403);
    const res = await call('POST', `/backfills/${ids.acme}/cancel`, keys.acme.operator, { reason: 'wrong range' });
    expect(res.status).toBe(202);
    expect(JSON.parse(res.text)).toEqual({ backfillId: ids.acme, location: `/backfills/${ids.acme}` });
    const events = await published();
    expect(events).toEqual([{ detailType: 'Backfill Cancel Requested', eventId: `backfill-cancel-${ids.acme}`, tenant: 'acme', data: { backfillId: ids.acme, reason: 'wrong range', requestedBy: 'api-key:acme-operator' } }]);
  });

  it('answers the same backfill to the same Idempotency-Key and body, per tenant, and 422 to the key with another body', async () => {
    const key = { 'idempotency-key': 'backfill-june' };
    const body = { pipeline: 'desk-risk', from: '2024-06-03', to: '2024-06-07', concurrency: 2 };
    const first = await call('POST', '/backfills', keys.globex.operator, body, key);
    const again = await call('POST', '/backfills', keys.globex.operator, { to: '2024-06-07', concurrency: 2, from: '2024-06-03', pipeline: 'desk-risk' }, key);
    expect([first.status, again.status]).toEqual([202, 202]);
    expect(JSON.parse(again.text).backfillId).toBe(JSON.parse(first.text).backfillId);
    const reused = await call('POST', '/backfills', keys.globex.operator, { ...body, concurrency: 3 }, key);
    expect(reused.status).toBe(422);
    // Another tenant's use of the key is its own.
    const acme = await call('POST', '/backfills', keys.acme.operator, body, key);
    expect(acme.status).toBe(202);
    expect(JSON.parse(acme.text).backfillId).not.toBe(JSON.parse(first.text).backfillId);
    const events = await published();
    expect(new Set(events.map((e) => e.eventId))).toEqual(new Set([`backfill-requested-${JSON.parse(first.text).backfillId}`, `backfill-requested-${JSON.parse(acme.text).backfillId}`]));
  });
});
