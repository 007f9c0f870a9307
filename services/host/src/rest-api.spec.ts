import { PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DatasetLanded, envelope } from '@nightshift/contracts';
import { definePipeline } from '@nightshift/jobs-domain';
import { openApiPath, ROUTES, type ApiRoute, type RouteName } from '@nightshift/reporting';
import type { EmbeddedPlatform } from './embedded-platform.js';
import { ensureSampleDay } from './sample-day.js';
import { startTestPlatform, type TestPlatform } from './testing/test-platform.js';
import { waitFor } from './testing/wait.js';

/*
 * Every REST route against the real embedded platform after a landed day: each answer (success
 * and problem alike) is checked against the OpenAPI document the API itself serves, so the
 * document cannot promise what a route does not return. A route missing from SAMPLES fails the
 * test: a new route comes with its check.
 */

const DATE = '2026-11-16';
const DESKS = ['cash'];
/** A pipeline whose one task runs until stopped: its backfill stays RUNNING until the cancel sample stops it. */
const HOLD = definePipeline({
  name: 'conformance-hold',
  description: 'test: a task that runs until stopped',
  trigger: { datasets: ['conformance-hold'] },
  steps: [{ name: 'hold', command: ['sleep', '600'], bare: true, fanOut: 'single', vcpus: 0.25, memoryMiB: 64, attempts: 1, timeoutSeconds: 900 }],
});
const HOLD_DATE = '2026-11-18';

let started: TestPlatform | undefined;
let platform: EmbeddedPlatform;
let ajv: Ajv2020;
let document: { paths: Record<string, Record<string, { responses: Record<string, { content?: Record<string, unknown> }> }>> };

/** What the samples need: ids of things the landed day made. */
interface World {
  runId: string;
  failedRunId: string;
  reportId: string;
  datasetId: string;
  landingId: string;
  taskId: string;
  /** A backfill whose run is under way (RUNNING until cancelled). */
  backfillId: string;
  /** A backfill that finished (every date without a dataset: FAILED). */
  finishedBackfillId: string;
}
let world: World;

interface Sample {
  path: string;
  body?: unknown;
  headers?: Record<string, string>;
  /** The status this request must get (the route's success status by default). */
  status?: number;
}

/** One request per route that succeeds, and (where the route documents it) one that is a 404 problem. */
const SAMPLES: Record<RouteName, (w: World) => Sample[]> = {
  health: () => [{ path: '/health' }],
  openapi: () => [{ path: '/openapi.json' }],
  docs: () => [{ path: '/docs' }],
  listRuns: () => [
    { path: '/runs' },
    { path: `/runs?status=SUCCEEDED,FAILED&pipeline=nightly-tca&businessDateFrom=2026-11-01&businessDateTo=2026-11-30&limit=1` },
    { path: '/runs?status=DONE', status: 400 },
  ],
  requestRun: () => [
    { path: '/runs', body: { pipeline: 'desk-risk', businessDate: DATE }, headers: { 'idempotency-key': 'conformance-1' } },
    { path: '/runs', body: { pipeline: 'desk-risk', businessDate: '2026-11-17' }, headers: { 'idempotency-key': 'conformance-1' }, status: 422 },
  ],
  getRun: (w) => [{ path: `/runs/${w.runId}?tasksLimit=1` }, { path: '/runs/nope', status: 404 }],
  cancelRun: (w) => [{ path: `/runs/${w.runId}/cancel`, body: {}, status: 409 }, { path: '/runs/nope/cancel', body: {}, status: 404 }],
  retryRun: (w) => [{ path: `/runs/${w.failedRunId}/retry`, body: { reason: 'conformance' } }, { path: `/runs/${w.runId}/retry`, body: {}, status: 409 }],
  // A waiting approval's 202 and 409 are exercised by orchestration.spec.ts (this day has no approval step).
  approveStep: (w) => [{ path: `/runs/${w.runId}/steps/tca/approve`, body: {}, status: 404 }, { path: '/runs/nope/steps/sign-off/approve', body: { comment: 'ok' }, status: 404 }],
  rejectStep: (w) => [{ path: `/runs/${w.runId}/steps/tca/reject`, body: { comment: 'no' }, status: 404 }],
  attemptLog: (w) => [{ path: `/runs/${w.runId}/tasks/${encodeURIComponent(w.taskId)}/attempts/1/log` }, { path: `/runs/${w.runId}/tasks/${encodeURIComponent(w.taskId)}/attempts/9/log`, status: 404 }],
  runTrace: (w) => [{ path: `/runs/${w.runId}/trace` }, { path: '/runs/nope/trace', status: 404 }],
  listReports: (w) => [{ path: '/reports' }, { path: `/reports?runId=${w.runId}` }],
  getReport: (w) => [{ path: `/reports/${w.reportId}` }, { path: '/reports/nope', status: 404 }],
  listReportSections: (w) => [{ path: `/reports/${w.reportId}/sections` }, { path: '/reports/nope/sections', status: 404 }],
  exportReportSection: (w) => [
    { path: `/reports/${w.reportId}/sections/tca` },
    { path: `/reports/${w.reportId}/sections/tca?table=total&format=parquet` },
    { path: `/reports/${w.reportId}/sections/nope`, status: 404 },
    { path: `/reports/${w.reportId}/sections/tca?format=xlsx`, status: 400 },
  ],
  exportReportDetail: (w) => [
    { path: `/reports/${w.reportId}/sections/tca/detail/${DESKS[0]}/fills` },
    { path: `/reports/${w.reportId}/sections/tca/detail/${DESKS[0]}/orders?format=csv` },
    { path: `/reports/${w.reportId}/sections/tca/detail/nope/orders`, status: 404 },
    { path: `/reports/${w.reportId}/sections/tca/detail/${DESKS[0]}/quotes`, status: 400 },
  ],
  listDatasets: () => [{ path: '/datasets' }, { path: '/datasets?dataset=executions&limit=1' }],
  getDataset: (w) => [{ path: `/datasets/${encodeURIComponent(w.datasetId)}` }, { path: `/datasets/${encodeURIComponent('executions@2020-01-01#v1')}`, status: 404 }],
  getLanding: (w) => [{ path: `/landings/${w.landingId}` }, { path: '/landings/never-landed', status: 404 }],
  listPipelines: () => [{ path: '/pipelines' }, { path: '/pipelines?limit=2' }],
  getPipeline: () => [{ path: '/pipelines/nightly-tca' }, { path: '/pipelines/nope', status: 404 }],
  listDeadLetters: () => [{ path: '/dlq' }, { path: '/dlq?queue=planner' }, { path: '/dlq?queue=nope', status: 404 }],
  redrive: () => [{ path: '/dlq/planner/redrive', body: {} }, { path: '/dlq/nope/redrive', body: {}, status: 404 }],
  listBackfills: () => [{ path: '/backfills' }, { path: '/backfills?status=RUNNING,FAILED&pipeline=conformance-hold&limit=1' }, { path: '/backfills?status=DONE', status: 400 }],
  requestBackfill: () => [
    { path: '/backfills', body: { pipeline: 'desk-risk', from: '2026-10-05', to: '2026-10-09', concurrency: 2 }, headers: { 'idempotency-key': 'conformance-backfill-1' } },
    { path: '/backfills', body: { pipeline: 'desk-risk', from: '2026-10-05', to: '2026-10-16' }, headers: { 'idempotency-key': 'conformance-backfill-1' }, status: 422 },
    { path: '/backfills', body: { pipeline: 'nope', from: '2026-10-05', to: '2026-10-09' }, status: 404 },
    { path: '/backfills', body: { pipeline: HOLD.name, from: HOLD_DATE, to: HOLD_DATE }, status: 409 },
    { path: '/backfills', body: { pipeline: 'desk-risk', from: '2026-10-09', to: '2026-10-05' }, status: 400 },
  ],
  getBackfill: (w) => [{ path: `/backfills/${w.backfillId}` }, { path: `/backfills/${w.finishedBackfillId}` }, { path: '/backfills/nope', status: 404 }],
  cancelBackfill: (w) => [
    { path: `/backfills/${w.backfillId}/cancel`, body: { reason: 'conformance' } },
    { path: `/backfills/${w.finishedBackfillId}/cancel`, body: {}, status: 409 },
    { path: '/backfills/nope/cancel', body: {}, status: 404 },
  ],
  // No webhooks file here: no subscriptions, no deliveries (notifications.spec.ts has both).
  listNotificationSubscriptions: () => [{ path: '/notifications/subscriptions' }],
  listNotificationDeliveries: () => [{ path: '/notifications/deliveries' }, { path: '/notifications/deliveries?status=DEAD&limit=5' }, { path: '/notifications/deliveries?status=LOST', status: 400 }],
  getNotificationDelivery: () => [{ path: `/notifications/deliveries/dlv_${'0'.repeat(32)}`, status: 404 }, { path: '/notifications/deliveries/nope', status: 400 }],
  redeliverNotification: () => [{ path: `/notifications/deliveries/dlv_${'0'.repeat(32)}/redeliver`, body: {}, status: 404 }],
};

async function call(route: ApiRoute, sample: Sample): Promise<{ status: number; contentType: string; text: string; location: string | null }> {
  const res = await fetch(`${platform.apiUrl}${sample.path}`, {
    method: route.method,
    headers: {
      ...(route.role !== 'public' ? { authorization: `Bearer ${platform.apiKey}` } : {}),
      ...(sample.body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...sample.headers,
    },
    ...(sample.body !== undefined ? { body: JSON.stringify(sample.body) } : {}),
  });
  return { status: res.status, contentType: res.headers.get('content-type') ?? '', text: await res.text(), location: res.headers.get('location') };
}

/** The validator of the documented answer of `route` with `status` and `mediaType`. */
function validatorOf(route: ApiRoute, status: number, mediaType: string): ValidateFunction {
  const pointer = ['paths', openApiPath(route.path), route.method.toLowerCase(), 'responses', String(status), 'content', mediaType, 'schema']
    .map((p) => p.replaceAll('~', '~0').replaceAll('/', '~1'))
    .join('/');
  const validate = ajv.getSchema(`https://nightshift.test/openapi.json#/${pointer}`);
  if (!validate) throw new Error(`${route.method} ${route.path}: no documented ${status} answer of ${mediaType}`);
  return validate;
}

beforeAll(async () => {
  started = await startTestPlatform({ prefix: 'nightshift-rest-', extraPipelines: [HOLD] });
  const { events } = started;
  platform = started.platform;
  document = (await (await fetch(`${platform.apiUrl}/openapi.json`)).json()) as typeof document;
  ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats.default(ajv);
  ajv.addSchema({ $id: 'https://nightshift.test/openapi.json', ...document });

  const { detail } = await ensureSampleDay(platform.objects, { businessDate: DATE, seed: 5, desks: DESKS, ordersPerDesk: 10, quotesPerSymbol: 20, symbols: 2 });
  const out = await events.send(new PutEventsCommand({ Entries: [{ Source: 'com.example.oms', DetailType: DatasetLanded.detailType, Detail: JSON.stringify(detail) }] }));
  const landingId = out.Entries![0]!.EventId!;
  const headers = { authorization: `Bearer ${platform.apiKey}` };
  const runs = await waitFor(
    async () => ((await (await fetch(`${platform.apiUrl}/runs?correlationId=${landingId}`, { headers })).json()) as { items: Array<{ runId: string; status: string; pipeline: string }> }).items,
    (items) => items.length === platform.pipelinesFor('executions').length && items.every((r) => r.status === 'SUCCEEDED'),
    { what: 'the landed day\'s runs to succeed', timeoutMs: 180_000, intervalMs: 250 },
  );
  const tca = runs.find((r) => r.pipeline === 'nightly-tca')!;
  const reports = await waitFor(
    async () => ((await (await fetch(`${platform.apiUrl}/reports?runId=${tca.runId}`, { headers })).json()) as { items: Array<{ reportId: string }> }).items,
    (items) => items.length === 1,
    { what: 'the tca report', timeoutMs: 60_000 },
  );
  const run = (await (await fetch(`${platform.apiUrl}/runs/${tca.runId}`, { headers })).json()) as { datasetId: string; tasks: Array<{ taskId: string }> };
  // A run that fails at once: no dataset for that date.
  const failed = (await (await fetch(`${platform.apiUrl}/runs`, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify({ pipeline: 'nightly-tca', businessDate: '2026-11-02' }) })).json()) as { runId: string };
  await waitFor(async () => (await fetch(`${platform.apiUrl}/runs/${failed.runId}`, { headers })).json() as Promise<{ status?: string }>, (r) => r.status === 'FAILED', { what: 'the request without a dataset to fail', timeoutMs: 60_000 });
  // A dead letter in the planner's DLQ, of the default tenant.
  await platform.bus.putDeadLetter(
    'planner',
    { version: '0', id: 'dead-1', 'detail-type': 'Run Requested', source: 'nightshift.api', account: '000000000000', time: new Date().toISOString(), region: 'us-east-1', resources: [], detail: envelope({ pipeline: 'tca', businessDate: DATE, requestedBy: 'test' }, { eventId: 'dead-1', correlationId: 'dead-1', occurredAt: new Date(), tenant: 'default' }) },
    'conformance: a handler error',
  );
  // A backfill whose run holds (its dataset registered directly: no landing, so no other run of it), and one that finishes at once (no datasets).
  await platform.store.registerDatasetVersion({
    dataset: HOLD.name,
    businessDate: HOLD_DATE,
    files: [{ table: 'prices', key: 'landing/conformance-hold/prices.csv', rows: 1, checksum: 'a'.repeat(64), bytes: 10 }],
    rowCount: 1,
    partitions: [],
    manifestKey: 'datasets/conformance-hold/manifest.json',
    landedEventId: 'conformance-hold-landing',
    registeredAt: new Date().toISOString(),
  });
  const backfill = async (body: unknown) =>
    (await (await fetch(`${platform.apiUrl}/backfills`, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify(body) })).json()) as { backfillId: string };
  const holding = await backfill({ pipeline: HOLD.name, from: HOLD_DATE, to: HOLD_DATE });
  const empty = await backfill({ pipeline: 'nightly-tca', from: '2026-09-07', to: '2026-09-11' });
  await waitFor(async () => (await fetch(`${platform.apiUrl}/backfills/${empty.backfillId}`, { headers })).json() as Promise<{ status?: string }>, (b) => b.status === 'FAILED', {
    what: 'the backfill without datasets to finish',
    timeoutMs: 60_000,
  });
  await waitFor(async () => (await fetch(`${platform.apiUrl}/backfills/${holding.backfillId}`, { headers })).json() as Promise<{ counts?: { RUNNING: number } }>, (b) => b.counts?.RUNNING === 1, {
    what: 'the holding backfill to start its run',
    timeoutMs: 60_000,
  });
  world = {
    runId: tca.runId,
    failedRunId: failed.runId,
    reportId: reports[0]!.reportId,
    datasetId: run.datasetId,
    landingId,
    taskId: run.tasks[0]!.taskId,
    backfillId: holding.backfillId,
    finishedBackfillId: empty.backfillId,
  };
}, 300_000);

afterAll(() => started?.stop());

describe('REST API: every route answers what the OpenAPI document says', () => {
  it('has a sample for every route', () => {
    expect(Object.keys(SAMPLES).sort()).toEqual(Object.keys(ROUTES).sort());
  });

  for (const [name, route] of Object.entries(ROUTES) as Array<[RouteName, ApiRoute]>) {
    it(`${route.method} ${route.path}`, async () => {
      for (const sample of SAMPLES[name](world)) {
        const answer = await call(route, sample);
        const status = sample.status ?? route.success.status;
        expect(answer.status, `${route.method} ${sample.path}: ${answer.text.slice(0, 300)}`).toBe(status);
        const mediaType = answer.contentType.split(';')[0]!.trim();
        const validate = validatorOf(route, status, mediaType);
        const body: unknown = mediaType.endsWith('json') ? JSON.parse(answer.text) : answer.text;
        expect(validate(body), `${route.method} ${sample.path} -> ${status}: ${ajv.errorsText(validate.errors)}\n${answer.text.slice(0, 500)}`).toBe(true);
        if (status === 202 && route.success.location) expect(answer.location).toBe((body as { location: string }).location);
      }
    });
  }
});
