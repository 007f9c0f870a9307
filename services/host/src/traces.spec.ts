import { PutEventsCommand, type EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { DatasetLanded, type DatasetLandedDetail } from '@nightshift/contracts';
import { definePipeline } from '@nightshift/jobs-domain';
import { readTraceFile, runSpanId, runTraceId, withSpan, type SpanRecord, type Tracing } from '@nightshift/observability';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONSOLE_QUEUE, CONSOLE_RULES, followFlow, type FlowOutcome } from './console.js';
import type { EmbeddedPlatform } from './embedded-platform.js';
import { ensureSampleDay } from './sample-day.js';
import { apiFetch } from './testing/api-fetch.js';
import { startTestPlatform, type TestPlatform } from './testing/test-platform.js';
import { waitFor } from './testing/wait.js';

const DESKS = ['cash', 'program'];
const BUSINESS_DATE = '2026-11-20';

/** A step whose command fails (exit 3) under the worker, once: its task, job and run fail. */
const FAILING = definePipeline({
  name: 'failing-command',
  description: 'test: a command that exits 3',
  trigger: { datasets: ['failing-executions'] },
  steps: [{ name: 'fail', command: ['sh', '-c', 'echo failing on purpose >&2; exit 3'], fanOut: 'single', vcpus: 1, memoryMiB: 256, attempts: 1, timeoutSeconds: 60 }],
});

/** The analytic each sample pipeline's workers run: their spans' names and service names. */
const ANALYTIC: Record<string, string> = { 'nightly-tca': 'tca', 'execution-report': 'execution-report', 'desk-risk': 'risk', 'failing-command': 'command' };

/**
 * Clock tolerance between processes writing to the trace file (the host and each worker): their
 * clocks are the machine's, read through each process's own monotonic origin.
 */
const TOLERANCE_MS = 1;

describe('the traces of a landed day (embedded platform, worker processes, one OTLP/JSON trace file)', () => {
  let started: TestPlatform | undefined;
  let tracing: Tracing;
  let platform: EmbeddedPlatform;
  let events: EventBridgeClient;

  beforeAll(async () => {
    started = await startTestPlatform({
      prefix: 'nightshift-traces-',
      tracing: { serviceName: 'nightshift-host' },
      extraQueues: { [CONSOLE_QUEUE]: CONSOLE_RULES },
      extraPipelines: [FAILING],
      visibilityTimeoutMs: 10_000,
    });
    ({ platform, events } = started);
    tracing = started.tracing!;
  });

  afterAll(() => started?.stop());

  async function sampleDay(): Promise<DatasetLandedDetail> {
    return (await ensureSampleDay(platform.objects, { businessDate: BUSINESS_DATE, seed: 7, desks: DESKS, ordersPerDesk: 40, quotesPerSymbol: 200, symbols: 6 })).detail;
  }

  /** Lands a dataset as an upstream system would (inside `traceparent`'s trace) and follows its runs to their outcomes. */
  async function land(detail: Record<string, unknown>, traceparent: string): Promise<FlowOutcome[]> {
    const out = await events.send(new PutEventsCommand({ Entries: [{ Source: 'com.example.oms', DetailType: DatasetLanded.detailType, Detail: JSON.stringify({ ...detail, traceparent }) }] }));
    const eventId = out.Entries![0]!.EventId!;
    const flow = await followFlow({ bus: platform.bus, store: platform.store, correlationId: eventId, pipelines: platform.pipelinesFor(String(detail['dataset'])), print: () => {}, signal: AbortSignal.timeout(120_000) });
    expect(flow.complete, `the flow of landed event ${eventId} did not end; outcomes so far: ${JSON.stringify(flow.outcomes)}`).toBe(true);
    return flow.outcomes;
  }

  /** The trace file's spans once `ready` holds (spans arrive batched, and from every worker process). */
  function spansWhen(ready: (spans: SpanRecord[]) => boolean, what: string): Promise<SpanRecord[]> {
    return waitFor(
      async () => {
        await tracing.forceFlush();
        return readTraceFile(platform.traceFile);
      },
      ready,
      { what: `${what} in ${platform.traceFile}`, timeoutMs: 60_000 },
    );
  }

  it("gives each run a trace of its own: one run span holding all the run's spans, every one with the run id, ERROR where it failed", async () => {
    const day = await sampleDay();
    const upstream = (fn: (tp: string) => Promise<FlowOutcome[]>) => withSpan('test upstream', { kind: 'producer' }, (span) => fn(span.traceparent()));
    const outcomes = [...(await upstream((tp) => land(day, tp))), ...(await upstream((tp) => land({ ...day, dataset: 'failing-executions' }, tp)))];
    const runs = outcomes.flatMap((o) => (o.kind === 'rejected' ? [] : [{ runId: o.detail.data.runId, pipeline: o.detail.data.pipeline, failed: o.kind === 'failed' }]));
    expect(runs.map((r) => `${r.pipeline} ${r.failed ? 'failed' : 'succeeded'}`).sort()).toEqual([
      'desk-risk succeeded',
      'execution-report succeeded',
      'failing-command failed',
      'nightly-tca succeeded',
    ]);

    const spans = await spansWhen(
      (all) =>
        runs.every(({ runId, pipeline, failed }) => {
          const inRun = all.filter((s) => s.traceId === runTraceId(runId));
          const workers = inRun.filter((s) => s.name.startsWith(`worker: ${ANALYTIC[pipeline]} `));
          return inRun.some((s) => s.spanId === runSpanId(runId)) && (failed ? workers.length === 1 : workers.length === DESKS.length && inRun.some((s) => s.name === 'reporting: Run Succeeded'));
        }),
      `each run's span, its workers' spans and (when it succeeded) its report's`,
    );

    for (const { runId, pipeline, failed } of runs) {
      const inRun = spans.filter((s) => s.traceId === runTraceId(runId));
      const where = `run ${runId} (${pipeline}): ${inRun.map((s) => `${s.name} [${s.service}]`).join(', ')}`;
      // One span of the run, its root.
      const runSpans = inRun.filter((s) => s.name.startsWith('run '));
      expect(runSpans, where).toHaveLength(1);
      const run = runSpans[0]!;
      expect(run).toMatchObject({ spanId: runSpanId(runId), name: `run ${pipeline}`, service: 'nightshift-planner', status: failed ? 'ERROR' : 'OK' });
      expect(run.parentSpanId).toBeUndefined();
      // Every span of the trace concerns the run, and says so.
      expect(inRun.filter((s) => s.attributes['nightshift.run_id'] !== runId).map((s) => s.name), where).toEqual([]);
      // Parents contain their children; a span without a parent is the run's, or follows it (a link to it).
      const byId = new Map(inRun.map((s) => [s.spanId, s]));
      for (const span of inRun) {
        if (span.parentSpanId === undefined) {
          if (span !== run) expect(span.links.map((l) => l.spanId), `${span.name} of ${where}`).toContain(run.spanId);
          continue;
        }
        const parent = byId.get(span.parentSpanId);
        expect(parent, `the parent of ${span.name} in ${where}`).toBeDefined();
        expect(span.startMs, `${span.name} starts inside ${parent!.name}`).toBeGreaterThanOrEqual(parent!.startMs - TOLERANCE_MS);
        expect(span.endMs, `${span.name} ends inside ${parent!.name}`).toBeLessThanOrEqual(parent!.endMs + TOLERANCE_MS);
      }
      // Each service under its own name; the workers' under their analytic's.
      for (const span of inRun.filter((s) => s.name.startsWith('planner: '))) expect(span.service).toBe('nightshift-planner');
      for (const span of inRun.filter((s) => s.name.startsWith('reporting: '))) expect(span.service).toBe('nightshift-reporting');
      const workers = inRun.filter((s) => s.name.startsWith('worker: '));
      expect(workers.map((w) => w.service)).toEqual(workers.map(() => `nightshift-worker-${ANALYTIC[pipeline]}`));
      for (const w of workers) expect(w.attributes).toMatchObject({ 'nightshift.task_id': expect.stringMatching(/#/), 'aws.batch.job_id': expect.any(String) });
      // The store, the object store and the bus, as client and producer spans.
      expect(inRun.some((s) => s.kind === 'CLIENT' && s.attributes['db.system'] === 'dynamodb'), where).toBe(true);
      expect(inRun.some((s) => s.kind === 'CLIENT' && s.name.startsWith('ObjectStore.')), where).toBe(true);
      expect(inRun.some((s) => s.kind === 'PRODUCER' && s.name.startsWith('PutEvents ')), where).toBe(true);

      if (failed) {
        expect(run.statusMessage).toMatch(/^task fail#all failed after 1 attempt\(s\) with exit code 3/);
        expect(workers[0]).toMatchObject({ status: 'ERROR', attributes: expect.objectContaining({ 'process.exit.code': 3 }) });
        const job = inRun.find((s) => s.name === 'planner: job FAILED');
        expect(job, where).toMatchObject({ status: 'ERROR', attributes: expect.objectContaining({ 'nightshift.task_id': 'fail#all' }) });
        expect(job!.statusMessage).toBeTruthy();
      } else {
        expect(workers.every((w) => w.status === 'OK')).toBe(true);
        expect(inRun.some((s) => s.attributes['db.system'] === 'duckdb' && s.service === `nightshift-worker-${ANALYTIC[pipeline]}`), where).toBe(true);
        expect(inRun.some((s) => s.name === 'PutEvents Report Published'), where).toBe(true);
      }
    }
  });

  it("continues a POST /runs caller's trace, linked to the run's, whose id the API gives", async () => {
    await sampleDay();
    const callerTrace = '5e0c63257de34c92bf9efcd03927272e';
    const res = await apiFetch(`${platform.apiUrl}/runs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', traceparent: `00-${callerTrace}-6c2f3a1b7e4d5c90-01` },
      body: JSON.stringify({ pipeline: 'execution-report', businessDate: BUSINESS_DATE }),
    });
    expect(res.status).toBe(202);
    const { runId } = (await res.json()) as { runId: string };
    const run = await waitFor(
      async () => (await (await apiFetch(`${platform.apiUrl}/runs/${runId}`)).json()) as { status: string; traceId: string },
      (r) => r.status === 'SUCCEEDED' || r.status === 'FAILED',
      { what: `run ${runId} to finish`, timeoutMs: 90_000 },
    );
    expect(run).toMatchObject({ status: 'SUCCEEDED', traceId: runTraceId(runId) });

    const spans = await spansWhen(
      (all) => all.some((s) => s.traceId === callerTrace && s.name === 'planner: Run Requested') && all.some((s) => s.spanId === runSpanId(runId)),
      `the caller's trace to reach the planner, and run ${runId}'s span`,
    );
    const caller = spans.filter((s) => s.traceId === callerTrace);
    const server = caller.find((s) => s.name === 'POST /runs')!;
    expect(server).toMatchObject({ kind: 'SERVER', parentSpanId: '6c2f3a1b7e4d5c90', service: 'nightshift-reporting' });
    expect(server.attributes).toMatchObject({ 'http.request.method': 'POST', 'url.path': '/runs', 'http.route': '/runs', 'http.response.status_code': 202 });
    const request = caller.find((s) => s.name === 'reporting: POST /runs')!;
    expect(request.parentSpanId).toBe(server.spanId);
    expect(request.links).toContainEqual(expect.objectContaining({ traceId: runTraceId(runId), spanId: runSpanId(runId) }));
    const planner = caller.find((s) => s.name === 'planner: Run Requested')!;
    expect(planner.service).toBe('nightshift-planner');
    expect(planner.links).toContainEqual(expect.objectContaining({ traceId: runTraceId(runId), spanId: runSpanId(runId) }));
    const runSpan = spans.find((s) => s.spanId === runSpanId(runId))!;
    expect(runSpan.links).toContainEqual(expect.objectContaining({ traceId: callerTrace, spanId: planner.spanId }));

    // The API serves the run's trace back from the file, as one OTLP/JSON request an importer takes as is.
    type Otlp = { traceId: string; resourceSpans: Array<{ resource: { attributes: Array<{ key: string; value: { stringValue?: string } }> }; scopeSpans: Array<{ spans: Array<{ traceId: string; spanId: string }> }> }> };
    const trace = (await (await apiFetch(`${platform.apiUrl}/runs/${runId}/trace`)).json()) as Otlp;
    expect(trace.traceId).toBe(runTraceId(runId));
    const served = trace.resourceSpans.flatMap((rs) => rs.scopeSpans.flatMap((ss) => ss.spans.map((sp) => ({ ...sp, service: rs.resource.attributes.find((a) => a.key === 'service.name')?.value.stringValue }))));
    expect(served.every((sp) => sp.traceId === runTraceId(runId))).toBe(true);
    expect(served.map((sp) => sp.spanId)).toEqual(expect.arrayContaining(spans.filter((sp) => sp.traceId === runTraceId(runId)).map((sp) => sp.spanId)));
    expect(served.find((sp) => sp.spanId === runSpanId(runId))?.service).toBe('nightshift-planner');
    expect((await apiFetch(`${platform.apiUrl}/runs/run-that-does-not-exist/trace`)).status).toBe(404);
  });

  it('marks a rejected landing ERROR with its reasons', async () => {
    const day = await sampleDay();
    const { businessDate: _date, ...noDate } = day;
    const { outcomes, traceId } = await withSpan('test upstream', { kind: 'producer' }, async (span) => ({ outcomes: await land(noDate, span.traceparent()), traceId: span.traceparent().split('-')[1]! }));
    expect(outcomes.map((o) => o.kind)).toEqual(['rejected']);
    const spans = await spansWhen((all) => all.some((s) => s.traceId === traceId && s.name === 'ingestion: Dataset Landed'), 'the landing span of ingestion');
    const landed = spans.find((s) => s.traceId === traceId && s.name === 'ingestion: Dataset Landed')!;
    expect(landed).toMatchObject({ service: 'nightshift-ingestion', status: 'ERROR' });
    expect(landed.statusMessage).toMatch(/^Dataset Rejected, \d+ problem\(s\): .*businessDate/);
  });
});
