import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import {
  computeMetrics, generateReturnSeries, mergeRiskPartials, mergeTcaPartials, runRisk, runTca,
  type ExecutionReport, type PerformanceMetrics, type RankedBacktest, type RiskReport, type TcaReport,
} from '@nightshift/analytics';
import { DatasetLanded, type DatasetLandedDetail } from '@nightshift/contracts';
import { definePipeline, type Task } from '@nightshift/jobs-domain';
import { startTracing, withSpan, type SpanRecord, type Tracing } from '@nightshift/observability';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONSOLE_QUEUE, CONSOLE_RULES, followFlow, type FlowOutcome } from './console.js';
import { startEmbeddedPlatform, type EmbeddedPlatform } from './embedded-platform.js';
import { ensureSampleDay } from './sample-day.js';

const BUSINESS_DATE = '2026-11-20';
const DESKS = ['cash', 'program'];

/** A pipeline whose worker cannot run (unknown analytic): every attempt exits 2. */
const BROKEN = definePipeline({
  name: 'broken-analytic',
  description: 'test: a step whose worker always exits non-zero',
  trigger: { datasets: ['broken-executions'] },
  steps: [{ name: 'boom', analytic: 'no-such-analytic', fanOut: 'single', vcpus: 1, memoryMiB: 256, attempts: 2, timeoutSeconds: 60 }],
});

describe('embedded platform, end to end (bus, DynamoDB-compatible server, child-process workers, DuckDB)', () => {
  let home: string;
  let platform: EmbeddedPlatform;
  let tracing: Tracing;
  let events: EventBridgeClient;
  let sample: DatasetLandedDetail;

  beforeAll(async () => {
    home = await mkdtemp(join(tmpdir(), 'nightshift-e2e-'));
    tracing = startTracing({ serviceName: 'nightshift-test', traceFile: join(home, 'traces', 'traces.jsonl') });
    platform = await startEmbeddedPlatform({
      home,
      apiPort: 0,
      eventsPort: 0,
      vcpus: 2,
      memoryMiB: 4096,
      extraQueues: { [CONSOLE_QUEUE]: CONSOLE_RULES },
      extraPipelines: [BROKEN],
      visibilityTimeoutMs: 10_000,
    });
    events = new EventBridgeClient({ endpoint: platform.eventsUrl, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
    sample = (await ensureSampleDay(platform.objects, { businessDate: BUSINESS_DATE, seed: 7, desks: DESKS, ordersPerDesk: 60, quotesPerSymbol: 400, symbols: 8 })).detail;
  });

  afterAll(async () => {
    events?.destroy();
    await platform?.stop();
    await tracing?.shutdown();
    if (home) await rm(home, { recursive: true, force: true });
  });

  /** Lands a dataset through the unmodified AWS SDK, as an upstream system would, and follows its runs to their outcomes. */
  async function land(detail: Record<string, unknown>, traceparent?: string): Promise<{ eventId: string; outcomes: FlowOutcome[] }> {
    const out = await events.send(
      new PutEventsCommand({ Entries: [{ Source: 'com.example.oms', DetailType: DatasetLanded.detailType, Detail: JSON.stringify(traceparent ? { ...detail, traceparent } : detail) }] }),
    );
    expect(out.FailedEntryCount).toBe(0);
    const eventId = out.Entries![0]!.EventId!;
    const signal = AbortSignal.timeout(90_000);
    const pipelines = platform.pipelinesFor(String(detail.dataset));
    const flow = await followFlow({ bus: platform.bus, store: platform.store, correlationId: eventId, pipelines, print: () => {}, signal });
    expect(flow.complete).toBe(true);
    return { eventId, outcomes: flow.outcomes };
  }

  /** The outcome of one pipeline's run in a followed flow. */
  function outcomeOf(outcomes: FlowOutcome[], pipeline: string): FlowOutcome | undefined {
    return outcomes.find((o) => o.kind !== 'rejected' && o.detail.data.pipeline === pipeline);
  }

  /** The one outcome of a flow that starts a single run, or its rejection. */
  async function landOne(detail: Record<string, unknown>): Promise<FlowOutcome | undefined> {
    const { outcomes } = await land(detail);
    expect(outcomes).toHaveLength(1);
    return outcomes[0];
  }

  async function api<T>(path: string): Promise<{ status: number; body: T }> {
    const res = await fetch(`${platform.apiUrl}${path}`);
    return { status: res.status, body: (await res.json()) as T };
  }

  it('turns a landed business day into a TCA, an execution and a risk report, one run each, in one trace', async () => {
    const { outcomes } = await withSpan('test upstream', { kind: 'producer' }, async (span) => land(sample, span.traceparent()));
    expect(outcomes.map((o) => o.kind)).toEqual(['report', 'report', 'report']);
    expect(outcomes.map((o) => (o.kind === 'report' ? o.detail.data.pipeline : '')).sort()).toEqual(['desk-risk', 'execution-report', 'nightly-tca']);

    type Document = { document: { sections: { tca?: TcaReport; execution?: ExecutionReport; risk?: RiskReport }; partitions: Record<string, string[]> } };
    const reportOf = async (pipeline: string, step: string) => {
      const outcome = outcomeOf(outcomes, pipeline);
      if (outcome?.kind !== 'report') throw new Error(`${pipeline} published no report`);
      const run = await api<{ status: string; progress: { done: number; total: number }; tasks: Task[] }>(`/runs/${outcome.detail.data.runId}`);
      expect(run.body.status).toBe('SUCCEEDED');
      expect(run.body.progress).toMatchObject({ done: DESKS.length, total: DESKS.length });
      expect(run.body.tasks.map((t) => [t.step, t.partition, t.status, t.attempts.length, t.exitCode]).sort()).toEqual(DESKS.map((d) => [step, d, 'SUCCEEDED', 1, 0]));
      const report = await api<Document>(`/reports/${outcome.detail.data.reportId}`);
      expect(report.status).toBe(200);
      expect(report.body.document.partitions).toEqual({ [step]: DESKS });
      return report.body.document.sections;
    };

    // Each report equals the analytics library run directly over each desk's files.
    const execution = (await reportOf('execution-report', 'execution')).execution!;
    expect(execution.total.orders).toBe(DESKS.length * 60);
    const file = (table: string, desk?: string) => platform.objects.uriFor(sample.files.find((f) => f.table === table && (!desk || f.desk === desk))!.key);
    const direct = mergeTcaPartials(
      await Promise.all(DESKS.map((d) => runTca({ orders: file('orders', d), fills: file('fills', d), quotes: file('quotes'), trades: file('trades'), by: ['broker', 'venue', 'algo', 'symbol'], threads: 1 }))),
    );
    const tca = (await reportOf('nightly-tca', 'tca')).tca!;
    expect(tca.total.fills).toBe(direct.total.fills);
    expect(tca.total.arrival_slippage_bps).toBeCloseTo(direct.total.arrival_slippage_bps!, 9);
    expect(tca.by.broker!.map((b) => b.key)).toEqual(direct.by.broker!.map((b) => b.key));
    expect(tca.by.venue!.length).toBeGreaterThan(1);
    // Risk: the desks' scenario P&L summed by date equals the library over each desk's files.
    const directRisk = mergeRiskPartials(await Promise.all(DESKS.map((d) => runRisk({ prices: file('prices'), orders: file('orders', d), fills: file('fills', d), threads: 1 }))));
    const risk = (await reportOf('desk-risk', 'risk')).risk!;
    expect(risk.by_desk.map((d) => d.desk)).toEqual(DESKS);
    expect(risk.total.scenarios).toBe(directRisk.total.scenarios);
    expect(risk.total.scenarios).toBeGreaterThan(100);
    expect(risk.total.levels[1]!.historical_var).toBeGreaterThan(0);
    expect(risk.total.levels.map((l) => l.confidence)).toEqual([0.95, 0.99]);
    expect(risk.total.levels[1]!.historical_var).toBeCloseTo(directRisk.total.levels[1]!.historical_var!, 6);
    expect(risk.total.levels[1]!.historical_es!).toBeGreaterThanOrEqual(risk.total.levels[1]!.historical_var!);

    // One trace from the upstream event to the published report, through the worker processes.
    await tracing.forceFlush();
    await new Promise((r) => setTimeout(r, 300));
    const spans = (await readFile(platform.traceFile, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as SpanRecord);
    const root = spans.find((s) => s.name === 'test upstream')!;
    const names = new Set(spans.filter((s) => s.traceId === root.traceId).map((s) => s.name));
    expect(names).toContain('ingestion: Dataset Landed');
    expect(names).toContain('planner: Dataset Registered');
    expect(names).toContain('reporting: Run Succeeded');
    const workers = spans.filter((s) => s.traceId === root.traceId && s.name.startsWith('worker: ')).map((s) => s.name);
    for (const analytic of ['tca', 'execution-report', 'risk']) expect(workers.filter((n) => n.startsWith(`worker: ${analytic} `))).toHaveLength(DESKS.length);
  });

  it('retries a worker that exits non-zero, then fails the run with the exit code and reason', async () => {
    const outcome = await landOne({ ...sample, dataset: 'broken-executions' });
    expect(outcome?.kind).toBe('failed');
    if (outcome?.kind !== 'failed') return;
    const run = await api<{ status: string; reason: string; tasks: Task[] }>(`/runs/${outcome.detail.data.runId}`);
    expect(run.body.status).toBe('FAILED');
    const [task] = run.body.tasks;
    expect(task!.attempts).toHaveLength(2);
    expect(task!.attempts.map((a) => a.exitCode)).toEqual([2, 2]);
    expect(task!.exitCode).toBe(2);
    expect(run.body.reason).toContain('failed after 2 attempt(s) with exit code 2');
    expect(outcome.detail.data.failedTask).toMatchObject({ step: 'boom', attempts: 2, exitCode: 2 });
  });

  it('rejects a detail that fails its schema, naming the field path', async () => {
    const { businessDate: _drop, ...noDate } = sample;
    const outcome = await landOne({ ...noDate, files: [{ ...sample.files[0], table: 'positions' }] });
    expect(outcome?.kind).toBe('rejected');
    if (outcome?.kind !== 'rejected') return;
    const paths = outcome.detail.data.reasons.map((r) => r.path);
    expect(paths).toContain('detail.businessDate');
    expect(paths).toContain('detail.files.0.table');
  });

  it('rejects a data file with bad rows, naming file and line, and registers nothing', async () => {
    const key = `landing/bad/fills/business_date=${BUSINESS_DATE}/desk=cash/part-0.csv`;
    const good = Buffer.from(await platform.objects.get(sample.files.find((f) => f.table === 'fills')!.key)).toString('utf8').split('\n');
    const header = good[0]!.split(',');
    const qty = header.indexOf('last_qty');
    const bad = good[2]!.split(',');
    bad[qty] = 'lots';
    await platform.objects.put(key, [good[0], good[1], bad.join(','), good[3]].join('\n') + '\n');
    const before = await platform.store.latestDatasetVersion('bad-fills', BUSINESS_DATE);
    const outcome = await landOne({ dataset: 'bad-fills', businessDate: BUSINESS_DATE, files: [{ table: 'fills', key, desk: 'cash' }] });
    expect(outcome?.kind).toBe('rejected');
    if (outcome?.kind !== 'rejected') return;
    expect(outcome.detail.data.reasons[0]).toMatchObject({ file: key, line: 3, column: 'last_qty' });
    expect(before).toBeUndefined();
    expect(await platform.store.latestDatasetVersion('bad-fills', BUSINESS_DATE)).toBeUndefined();
  });

  it('dead-letters an event of ours that breaks its contract at once, without retrying it', async () => {
    const out = await platform.bus.putEvents([{ Source: 'nightshift.planner', DetailType: 'Run Succeeded', Detail: JSON.stringify({ metadata: { eventId: 'x' }, data: {} }) }]);
    const eventId = (out.Entries[0] as { EventId: string }).EventId;
    const deadline = Date.now() + 20_000;
    let dead = platform.bus.listDeadLetters('reporting');
    while (!dead.some((d) => d.event.id === eventId) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      dead = platform.bus.listDeadLetters('reporting');
    }
    const letter = dead.find((d) => d.event.id === eventId);
    expect(letter).toBeDefined();
    expect(JSON.stringify(letter)).toContain('does not match its contract');
  });

  it('plans one run per registered dataset, however often the event is delivered', async () => {
    const runsBefore = (await platform.store.listRuns({ limit: 100 })).length;
    const registered = (await platform.store.listRuns({ limit: 100 })).find((r) => r.pipeline === 'nightly-tca')!;
    const dataset = (await platform.store.getDatasetVersion(registered.datasetId))!;
    // Redeliver the Dataset Registered event the first run came from (same metadata.eventId).
    const detail = {
      metadata: { eventId: `dataset-registered-${dataset.landedEventId}`, correlationId: registered.correlationId, occurredAt: new Date().toISOString() },
      data: { datasetId: dataset.datasetId, dataset: dataset.dataset, businessDate: dataset.businessDate, version: dataset.version, files: dataset.files, rowCount: dataset.rowCount, partitions: dataset.partitions, manifestKey: dataset.manifestKey },
    };
    for (let i = 0; i < 2; i++) await platform.bus.putEvents([{ Source: 'nightshift.ingestion', DetailType: 'Dataset Registered', Detail: JSON.stringify(detail) }]);
    await new Promise((r) => setTimeout(r, 1500));
    expect(platform.bus.stats('planner')).toMatchObject({ inFlight: 0 });
    expect((await platform.store.listRuns({ limit: 100 })).length).toBe(runsBefore);
    expect((await platform.store.listReports({})).length).toBe(3);
  });

  it('keeps runs, tasks and reports across a restart on the same home', async () => {
    const before = await api<{ runs: Array<{ runId: string; status: string }> }>('/runs');
    expect(before.body.runs.length).toBeGreaterThanOrEqual(2);
    events.destroy();
    await platform.stop();
    platform = await startEmbeddedPlatform({ home, apiPort: 0, eventsPort: 0, vcpus: 2, memoryMiB: 4096, extraQueues: { [CONSOLE_QUEUE]: CONSOLE_RULES }, extraPipelines: [BROKEN] });
    events = new EventBridgeClient({ endpoint: platform.eventsUrl, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
    const after = await api<{ runs: Array<{ runId: string; status: string }> }>('/runs');
    expect(after.body.runs).toEqual(before.body.runs);
    const reports = await api<{ reports: Array<{ reportId: string }> }>('/reports');
    expect(reports.body.reports).toHaveLength(3);
    expect((await api<{ status: number }>(`/reports/${reports.body.reports[0]!.reportId}`)).status).toBe(200);
    expect((await api<{ message: string }>('/runs/run-does-not-exist')).status).toBe(404);
  });

  it('sweeps the backtest over its parameter grid, one array child per set, into one ranked report', async () => {
    const prices = sample.files.find((f) => f.table === 'prices')!;
    const outcome = await landOne({ dataset: 'market-history', businessDate: BUSINESS_DATE, files: [prices] });
    expect(outcome?.kind).toBe('report');
    if (outcome?.kind !== 'report') return;
    const { reportId, runId } = outcome.detail.data;

    const run = await api<{ status: string; pipeline: string; tasks: Task[] }>(`/runs/${runId}`);
    expect(run.body).toMatchObject({ status: 'SUCCEEDED', pipeline: 'backtest-sweep' });
    expect(run.body.tasks).toHaveLength(12);
    expect(run.body.tasks.every((t) => t.step === 'sweep' && t.status === 'SUCCEEDED')).toBe(true);

    const report = await api<{ document: { sections: { sweep: RankedBacktest[] }; partitions: Record<string, string[]>; headline: Record<string, unknown> } }>(`/reports/${reportId}`);
    expect(report.body.document.partitions['sweep']).toEqual(Array.from({ length: 12 }, (_, i) => `p${String(i).padStart(4, '0')}`));
    const ranked = report.body.document.sections.sweep;
    expect(ranked).toHaveLength(12);
    expect(ranked.map((r) => r.rank)).toEqual([...Array(12).keys()].map((i) => i + 1));
    const sharpe = ranked.map((r) => r.metrics.sharpe_ratio ?? Number.NEGATIVE_INFINITY);
    for (let i = 1; i < sharpe.length; i++) expect(sharpe[i]!).toBeLessThanOrEqual(sharpe[i - 1]!);
    // Every parameter set of the grid ran exactly once.
    expect(new Set(ranked.map((r) => `${r.params.fast}/${r.params.slow}/${r.params.costBps}`)).size).toBe(12);
    expect(report.body.document.headline).toMatchObject({ parameter_sets: 12, best_sharpe_ratio: Math.round(sharpe[0]! * 1e4) / 1e4 });
  });
  it('ranks each portfolio of a landed return series against the shared benchmark, one array child per portfolio', async () => {
    const PORTFOLIOS = ['growth', 'value'];
    const generated = await generateReturnSeries({ outDir: join(home, 'generated'), endDate: BUSINESS_DATE, seed: 11, portfolios: PORTFOLIOS, days: 260 });
    const prefix = `upstream/returns/${BUSINESS_DATE}`;
    const files = [
      { table: 'returns', key: `${prefix}/benchmark.csv` },
      ...PORTFOLIOS.map((p) => ({ table: 'returns', key: `${prefix}/${p}.csv`, desk: p })),
    ];
    await platform.objects.putFile(files[0]!.key, generated.benchmark);
    for (const p of PORTFOLIOS) await platform.objects.putFile(`${prefix}/${p}.csv`, generated.portfolios[p]!);

    const outcome = await landOne({ dataset: 'returns', businessDate: BUSINESS_DATE, files });
    expect(outcome?.kind).toBe('report');
    if (outcome?.kind !== 'report') return;
    const { reportId, runId } = outcome.detail.data;

    const run = await api<{ status: string; pipeline: string; tasks: Task[] }>(`/runs/${runId}`);
    expect(run.body).toMatchObject({ status: 'SUCCEEDED', pipeline: 'market-performance' });
    // The benchmark has no desk: it is read by every portfolio's child and gets none of its own.
    expect(run.body.tasks.map((t) => [t.step, t.partition, t.status]).sort()).toEqual(PORTFOLIOS.map((p) => ['performance', p, 'SUCCEEDED']));

    type Performance = { portfolio: string; metrics: PerformanceMetrics };
    const report = await api<{ document: { sections: { performance: Performance[] }; partitions: Record<string, string[]>; headline: Record<string, unknown> } }>(`/reports/${reportId}`);
    expect(report.body.document.partitions).toEqual({ performance: PORTFOLIOS });
    const ranked = report.body.document.sections.performance;
    expect(ranked.map((r) => r.portfolio).sort()).toEqual(PORTFOLIOS);
    expect(ranked[0]!.metrics.sharpe_ratio!).toBeGreaterThanOrEqual(ranked[1]!.metrics.sharpe_ratio!);
    // Each child's metrics equal the library run directly on the same files.
    for (const r of ranked) {
      const direct = await computeMetrics({ returnsPath: generated.portfolios[r.portfolio]!, benchmarkPath: generated.benchmark, periods: 'daily' });
      expect(r.metrics).toEqual(direct);
      expect(r.metrics.observations).toBe(260);
      expect(r.metrics.beta).not.toBeNull();
    }
    expect(report.body.document.headline).toMatchObject({
      portfolios: 2,
      best_portfolio: ranked[0]!.portfolio,
      best_portfolio_sharpe_ratio: Math.round(ranked[0]!.metrics.sharpe_ratio! * 1e4) / 1e4,
    });
  });

  it('registers a landing that no pipeline reads, and the flow ends there with no run', async () => {
    const prices = sample.files.find((f) => f.table === 'prices')!;
    const runsBefore = (await platform.store.listRuns({ limit: 100 })).length;
    expect(platform.pipelinesFor('reference-prices')).toEqual([]);
    const { outcomes } = await land({ dataset: 'reference-prices', businessDate: BUSINESS_DATE, files: [prices] });
    expect(outcomes).toEqual([]);
    expect((await platform.store.latestDatasetVersion('reference-prices', BUSINESS_DATE))?.version).toBe(1);
    expect((await platform.store.listRuns({ limit: 100 })).length).toBe(runsBefore);
  });

  it('fails only the workload a landing cannot feed: executions without a price history still get TCA and the execution report', async () => {
    const { outcomes } = await land({ ...sample, files: sample.files.filter((f) => f.table !== 'prices') });
    expect(outcomes).toHaveLength(3);
    expect(outcomeOf(outcomes, 'nightly-tca')?.kind).toBe('report');
    expect(outcomeOf(outcomes, 'execution-report')?.kind).toBe('report');
    const risk = outcomeOf(outcomes, 'desk-risk');
    expect(risk?.kind).toBe('failed');
    if (risk?.kind !== 'failed') return;
    expect(risk.detail.data.reason).toBe(`dataset executions@${BUSINESS_DATE}#v2 cannot feed pipeline desk-risk: no prices file (shared or per desk)`);
    const run = await api<{ status: string; datasetId: string; tasks: Task[] }>(`/runs/${risk.detail.data.runId}`);
    expect(run.body).toMatchObject({ status: 'FAILED', datasetId: `executions@${BUSINESS_DATE}#v2` });
    expect(run.body.tasks).toEqual([]);
  });

  type Accepted = { runId: string; location: string; requestId: string; problems?: Array<{ path: string; message: string }> };
  async function post(body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: Accepted }> {
    const res = await fetch(`${platform.apiUrl}/runs`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });
    return { status: res.status, body: (await res.json()) as Accepted };
  }

  /** Polls a run's location until the planner has recorded it. */
  async function awaitRun<T>(location: string): Promise<T> {
    for (let i = 0; i < 200; i++) {
      const res = await api<T>(location);
      if (res.status === 200) return res.body;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`${location} never appeared`);
  }

  it('re-runs one workload alone on request (POST /runs); a retry with the same Idempotency-Key names the same run', async () => {
    const reportsBefore = (await platform.store.listReports({ limit: 100 })).length;
    const request = { pipeline: 'desk-risk', businessDate: BUSINESS_DATE, datasetId: `executions@${BUSINESS_DATE}#v1` };
    const accepted = await post(request, { 'idempotency-key': 'risk-rerun-1' });
    expect(accepted.status).toBe(202);
    expect(accepted.body.location).toBe(`/runs/${accepted.body.runId}`);
    const flow = await followFlow({ bus: platform.bus, store: platform.store, correlationId: accepted.body.requestId, pipelines: ['desk-risk'], print: () => {}, signal: AbortSignal.timeout(60_000) });
    expect(flow.complete).toBe(true);
    const report = flow.outcomes.find((o) => o.kind === 'report');
    expect(report?.detail.data).toMatchObject({ pipeline: 'desk-risk', runId: accepted.body.runId });
    const run = await api<{ status: string; tasks: Task[] }>(accepted.body.location);
    expect(run.body.status).toBe('SUCCEEDED');
    expect(run.body.tasks.map((t) => t.step)).toEqual(DESKS.map(() => 'risk'));

    const retried = await post(request, { 'idempotency-key': 'risk-rerun-1' });
    expect(retried.status).toBe(202);
    expect(retried.body.runId).toBe(accepted.body.runId);
    await new Promise((r) => setTimeout(r, 1000));
    expect(platform.bus.stats('planner')).toMatchObject({ inFlight: 0 });
    expect((await platform.store.listRuns({ limit: 100 })).filter((r) => r.runId === accepted.body.runId)).toHaveLength(1);
    expect((await platform.store.listReports({ limit: 100 })).length).toBe(reportsBefore + 1);
  });

  it('refuses a malformed run request with 400, naming every field that is wrong', async () => {
    const bad = await post({ pipeline: 'Risk Report', businessDate: '20-11-2026', datasetID: 'executions@x#v1' }, { 'idempotency-key': 'not ok' });
    expect(bad.status).toBe(400);
    expect([...new Set(bad.body.problems!.map((p) => p.path))].sort()).toEqual(['body', 'body.businessDate', 'body.pipeline', 'headers.idempotency-key']);
    expect(bad.body.problems!.find((p) => p.path === 'body')!.message).toContain('datasetID');
    const empty = await post({ pipeline: 'desk-risk', businessDate: BUSINESS_DATE, datasetId: '' });
    expect(empty.status).toBe(400);
    expect(empty.body.problems!.map((p) => p.path)).toEqual(['body.datasetId']);
    expect((await post('{"pipeline": ')).status).toBe(400);
  });

  it('records a requested run that cannot be made as FAILED under the run id it answered, with the reason', async () => {
    const unknown = await post({ pipeline: 'no-such-pipeline', businessDate: BUSINESS_DATE });
    expect(unknown.status).toBe(202);
    expect(await awaitRun(unknown.body.location)).toMatchObject({ status: 'FAILED', reason: 'unknown pipeline "no-such-pipeline"' });
    const otherDay = await post({ pipeline: 'desk-risk', businessDate: '2026-11-19', datasetId: `executions@${BUSINESS_DATE}#v1` });
    expect(await awaitRun(otherDay.body.location)).toMatchObject({
      status: 'FAILED',
      reason: `dataset executions@${BUSINESS_DATE}#v1 is of business date ${BUSINESS_DATE}, not the requested 2026-11-19`,
    });
    const otherData = await post({ pipeline: 'desk-risk', businessDate: BUSINESS_DATE, datasetId: `market-history@${BUSINESS_DATE}#v1` });
    expect(await awaitRun(otherData.body.location)).toMatchObject({ status: 'FAILED', reason: `pipeline desk-risk runs on executions datasets, not on market-history@${BUSINESS_DATE}#v1` });
    const noData = await post({ pipeline: 'desk-risk', businessDate: '2026-11-18' });
    expect(await awaitRun(noData.body.location)).toMatchObject({ status: 'FAILED', reason: 'no registered dataset executions for 2026-11-18' });
  });
});
