import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { RegisteredFile } from '@nightshift/contracts';
import type { EventPublisher, OutgoingEvent } from '@nightshift/events-domain';
import { definePipeline, type PipelineDefinition } from '@nightshift/jobs-domain';
import { createDocumentClient, createTable, DynamoDbJobStore, startEmbeddedDynamoDb, type EmbeddedDynamoDb } from '@nightshift/jobs-dynamodb';
import { DirectoryObjectStore } from '@nightshift/storage-local';
import { PublishReport, type ReportDocument, type ReportSection } from './publish-report.js';

/*
 * PublishReport on the embedded DynamoDB job store and a directory object store: the units and
 * currency, the provenance and the day-over-day block of the document it writes.
 */

/** A section whose partials are its headline figures, summed over partitions (the figures are the test's, not an analytic's). */
const FIGURES_SECTION: ReportSection = {
  analytic: 'figures',
  merge: (partials) => {
    const sum: Record<string, number> = {};
    for (const p of partials as Array<Record<string, number>>) for (const [k, v] of Object.entries(p)) sum[k] = (sum[k] ?? 0) + v;
    return sum;
  },
  headline: (merged) => merged as Record<string, number>,
};

const PIPELINE = definePipeline({
  name: 'desk-figures',
  description: 'test: figures per desk',
  trigger: { datasets: ['executions'] },
  currency: 'EUR',
  steps: [{ name: 'figures', analytic: 'figures', fanOut: 'partitions' }],
});

let server: EmbeddedDynamoDb;
let client: DynamoDBDocumentClient;
let tables = 0;
let dir: string;
let store: DynamoDbJobStore;
let objects: DirectoryObjectStore;
let published: OutgoingEvent[];

beforeAll(async () => {
  server = await startEmbeddedDynamoDb();
  client = createDocumentClient({ endpoint: server.endpoint });
});
afterAll(async () => {
  client?.destroy();
  await server?.close();
});
beforeEach(async () => {
  const tableName = `publish-report-${process.pid}-${++tables}`;
  await createTable(client, tableName);
  store = new DynamoDbJobStore(client, { tableName });
  dir = await mkdtemp(join(tmpdir(), 'nightshift-publish-'));
  objects = new DirectoryObjectStore(dir);
  published = [];
  return () => rm(dir, { recursive: true, force: true });
});

const publisher: EventPublisher = { publish: async (entries) => void published.push(...entries) };

/** A clock a second on at every reading: reports published one after the other are in that order. */
let seconds = 0;
const clock = { now: () => new Date(Date.UTC(2026, 10, 21, 6, 0, seconds++)) };

function publishReport(pipelines: PipelineDefinition[] = [PIPELINE]): PublishReport {
  return new PublishReport(store, objects, publisher, [FIGURES_SECTION], clock, { pipelines, codeVersion: '9.9.9+abc123abc123' });
}

/** Files as ingestion registers them: each file's sha256 of its bytes. */
function filesOf(date: string): RegisteredFile[] {
  return ['EQ', 'FI'].map((desk) => {
    const bytes = `order_id,desk\n${date}-${desk},${desk}\n`;
    return { table: 'orders', key: `landing/executions/orders/business_date=${date}/desk=${desk}/part-0.csv`, desk, rows: 1, bytes: bytes.length, checksum: createHash('sha256').update(bytes).digest('hex') };
  });
}

/**
 * One succeeded run of `pipeline` over a registered dataset of `date` whose desks' outputs are
 * `perDesk` (the section sums them), published: returns the document written.
 */
async function publishDay(date: string, perDesk: Array<Record<string, number>>, options: { tenant?: string; pipeline?: string; run?: string } = {}): Promise<ReportDocument> {
  const pipeline = options.pipeline ?? PIPELINE.name;
  const runId = `run-${date.replaceAll('-', '')}-${pipeline}-${options.run ?? options.tenant ?? 'a'}`;
  const version = await store.registerDatasetVersion({
    dataset: 'executions',
    businessDate: date,
    files: filesOf(date),
    rowCount: 2,
    partitions: ['EQ', 'FI'],
    manifestKey: `datasets/executions/${date}/manifest.json`,
    landedEventId: `landed-${date}-${runId}`,
    registeredAt: `${date}T22:00:00.000Z`,
    ...(options.tenant ? { tenant: options.tenant } : {}),
  });
  const at = `${date}T23:00:00.000Z`;
  await store.createRun(
    { runId, pipeline, businessDate: date, datasetId: version.datasetId, status: 'SUCCEEDED', correlationId: `corr-${runId}`, tasksTotal: perDesk.length, createdAt: at, updatedAt: at, ...(options.tenant ? { tenant: options.tenant } : {}) },
    [{ runId, step: 'figures', status: 'SUCCEEDED', size: perDesk.length, jobName: `${runId}-figures`, manifestKey: `runs/${runId}/figures/manifest.json`, succeeded: perDesk.length, failed: 0, version: 1, updatedAt: at }],
  );
  const outputs = await Promise.all(
    perDesk.map(async (result, i) => {
      const key = `runs/${runId}/figures/partition=p${i}/result.json`;
      await objects.put(key, JSON.stringify({ analytic: 'figures', step: 'figures', partition: `p${i}`, result }));
      return { step: 'figures', partition: `p${i}`, key };
    }),
  );
  await objects.put(`runs/${runId}/outputs.json`, JSON.stringify({ runId, outputs }));
  const report = await publishReport().execute(`run-succeeded-${runId}`, {
    metadata: { correlationId: `corr-${runId}`, ...(options.tenant ? { tenant: options.tenant } : {}) },
    data: {
      runId,
      pipeline,
      businessDate: date,
      datasetId: version.datasetId,
      outputs: { key: `runs/${runId}/outputs.json`, count: outputs.length },
      steps: [{ step: 'figures', tasks: perDesk.length }],
      startedAt: at,
      finishedAt: `${date}T23:05:00.000Z`,
    },
  });
  if (!report) throw new Error('no report published');
  return JSON.parse(Buffer.from(await objects.get(report.key)).toString('utf8')) as ReportDocument;
}

describe('PublishReport: units, provenance, day over day', () => {
  it("gives every headline figure its unit, money in the pipeline's currency, and the figure as people read it", async () => {
    const doc = await publishDay('2026-11-20', [
      { orders: 3, notional: 1_000_000, arrival_slippage_bps: 2 },
      { orders: 2, notional: 500_000, arrival_slippage_bps: 3 },
    ]);
    expect(doc.headline).toEqual({ orders: 5, notional: 1_500_000, arrival_slippage_bps: 5 });
    expect(doc.currency).toBe('EUR');
    expect(doc.headlineUnits).toEqual({ orders: { kind: 'count', of: 'order' }, notional: { kind: 'currency', currency: 'EUR' }, arrival_slippage_bps: { kind: 'bps' } });
    expect(doc.headlineText).toEqual({ orders: '5 orders', notional: '1,500,000 EUR', arrival_slippage_bps: '5.00 bps' });
    // The event carries the currency, so the console prints it too.
    expect((published[0]!.detail as { data: { currency?: string } }).data.currency).toBe('EUR');
  });

  it('refuses a pipeline whose currency is not an ISO 4217 code', () => {
    expect(() => definePipeline({ ...PIPELINE, currency: 'usd' })).toThrow(/currency: must be an ISO 4217 currency code such as USD/);
  });

  it('is in USD when the pipeline declares no currency', async () => {
    const { currency: _eur, ...usd } = PIPELINE;
    const runId = 'run-usd';
    const version = await store.registerDatasetVersion({ dataset: 'executions', businessDate: '2026-11-20', files: filesOf('2026-11-20'), rowCount: 2, partitions: [], manifestKey: 'm.json', landedEventId: 'l-usd', registeredAt: '2026-11-20T22:00:00.000Z' });
    await store.createRun({ runId, pipeline: usd.name, businessDate: '2026-11-20', datasetId: version.datasetId, status: 'SUCCEEDED', correlationId: 'c', tasksTotal: 0, createdAt: '2026-11-20T23:00:00.000Z', updatedAt: '2026-11-20T23:00:00.000Z' }, []);
    await objects.put(`runs/${runId}/outputs.json`, JSON.stringify({ runId, outputs: [] }));
    const data = { runId, pipeline: usd.name, businessDate: '2026-11-20', datasetId: version.datasetId, outputs: { key: `runs/${runId}/outputs.json`, count: 0 }, steps: [], startedAt: '2026-11-20T23:00:00.000Z', finishedAt: '2026-11-20T23:05:00.000Z' };
    const report = await publishReport([usd]).execute('e-usd', { metadata: { correlationId: 'c' }, data });
    const doc = JSON.parse(Buffer.from(await objects.get(report!.key)).toString('utf8')) as ReportDocument;
    expect(doc.currency).toBe('USD');
  });

  it('names the dataset version with every file key and checksum as registered, the pipeline definition, the run and attempt, and the code', async () => {
    const doc = await publishDay('2026-11-20', [{ orders: 1 }]);
    const registered = (await store.getDatasetVersion(doc.datasetId))!;
    expect(doc.provenance.dataset).toEqual({
      datasetId: 'executions@2026-11-20#v1',
      dataset: 'executions',
      version: 1,
      registeredAt: '2026-11-20T22:00:00.000Z',
      manifestKey: 'datasets/executions/2026-11-20/manifest.json',
      files: registered.files,
    });
    // The checksums are the files' own: sha256 of the bytes filesOf wrote down.
    expect(doc.provenance.dataset.files.map((f) => f.checksum)).toEqual(
      ['EQ', 'FI'].map((desk) => createHash('sha256').update(`order_id,desk\n2026-11-20-${desk},${desk}\n`).digest('hex')),
    );
    expect(doc.provenance.run).toEqual({ runId: doc.runId, attempt: 1, correlationId: `corr-${doc.runId}`, startedAt: '2026-11-20T23:00:00.000Z', finishedAt: '2026-11-20T23:05:00.000Z' });
    expect(doc.provenance.codeVersion).toBe('9.9.9+abc123abc123');
    expect(doc.provenance.pipeline.name).toBe(PIPELINE.name);
    expect(doc.provenance.pipeline.definitionHash).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  it('hashes the definition by content: keys in another order hash alike, another definition differently', async () => {
    const hashOf = async (pipeline: PipelineDefinition, date: string) => {
      const runId = `run-hash-${date}`;
      const version = await store.registerDatasetVersion({ dataset: 'executions', businessDate: date, files: filesOf(date), rowCount: 2, partitions: [], manifestKey: 'm.json', landedEventId: `l-${date}`, registeredAt: `${date}T22:00:00.000Z` });
      await store.createRun({ runId, pipeline: pipeline.name, businessDate: date, datasetId: version.datasetId, status: 'SUCCEEDED', correlationId: 'c', tasksTotal: 0, createdAt: `${date}T23:00:00.000Z`, updatedAt: `${date}T23:00:00.000Z` }, []);
      await objects.put(`runs/${runId}/outputs.json`, JSON.stringify({ runId, outputs: [] }));
      const data = { runId, pipeline: pipeline.name, businessDate: date, datasetId: version.datasetId, outputs: { key: `runs/${runId}/outputs.json`, count: 0 }, steps: [], startedAt: '2026-11-20T23:00:00.000Z', finishedAt: '2026-11-20T23:05:00.000Z' };
      const report = await publishReport([pipeline]).execute(`e-${date}`, { metadata: { correlationId: 'c' }, data });
      return (JSON.parse(Buffer.from(await objects.get(report!.key)).toString('utf8')) as ReportDocument).provenance.pipeline.definitionHash;
    };
    const reordered = Object.fromEntries(Object.entries(PIPELINE).reverse()) as PipelineDefinition;
    const first = await hashOf(PIPELINE, '2026-11-02');
    expect(await hashOf(reordered, '2026-11-03')).toBe(first);
    expect(await hashOf({ ...PIPELINE, description: 'changed' }, '2026-11-04')).not.toBe(first);
  });

  it("compares with the previous business date's report: each figure's change, absolute and relative", async () => {
    const first = await publishDay('2026-11-19', [{ orders: 10, notional: 1000, arrival_slippage_bps: 8, fill_rate_qty: 0.5 }]);
    expect(first.previous).toBeNull();
    const second = await publishDay('2026-11-20', [{ orders: 12, notional: 900, arrival_slippage_bps: 10, fill_rate_qty: 0.75 }]);
    expect(second.previous).toMatchObject({ reportId: first.reportId, runId: first.runId, businessDate: '2026-11-19', headline: first.headline });
    // By hand: 10 -> 12 orders is +2 (+20 %); 1000 -> 900 EUR is -100 (-10 %); 8 -> 10 bps is +2 (+25 %); 0.5 -> 0.75 is +0.25 (+50 %).
    expect(second.previous!.changes).toEqual({
      orders: { previous: 10, current: 12, absolute: 2, relative: 0.2, text: '+2 orders (+20.0 %)' },
      notional: { previous: 1000, current: 900, absolute: -100, relative: -0.1, text: '-100 EUR (-10.0 %)' },
      arrival_slippage_bps: { previous: 8, current: 10, absolute: 2, relative: 0.25, text: '+2.00 bps (+25.0 %)' },
      fill_rate_qty: { previous: 0.5, current: 0.75, absolute: 0.25, relative: 0.5, text: '+25.00 pp (+50.0 %)' },
    });
  });

  it('takes the latest earlier business date (not the last published), of the same pipeline and tenant only', async () => {
    const nov18 = await publishDay('2026-11-18', [{ orders: 1 }]);
    const nov20 = await publishDay('2026-11-20', [{ orders: 3 }]);
    // A backfilled earlier date, published after: its previous is Nov 18, and it is not Nov 21's previous.
    const nov19 = await publishDay('2026-11-19', [{ orders: 2 }]);
    expect(nov19.previous?.reportId).toBe(nov18.reportId);
    expect((await publishDay('2026-11-21', [{ orders: 4 }])).previous?.reportId).toBe(nov20.reportId);
    // Another tenant, another pipeline: nothing to compare with.
    expect((await publishDay('2026-11-21', [{ orders: 4 }], { tenant: 'acme' })).previous).toBeNull();
    expect((await publishDay('2026-11-21', [{ orders: 4 }], { pipeline: 'other-figures' })).previous).toBeNull();
  });

  it('compares with the last published report of the previous date when that date was run again', async () => {
    await publishDay('2026-11-19', [{ orders: 1 }], { run: 'first' });
    const rerun = await publishDay('2026-11-19', [{ orders: 5 }], { run: 'second' });
    const next = await publishDay('2026-11-20', [{ orders: 6 }]);
    expect(next.previous?.reportId).toBe(rerun.reportId);
    expect(next.previous?.changes['orders']).toMatchObject({ previous: 5, current: 6, absolute: 1 });
  });
});
