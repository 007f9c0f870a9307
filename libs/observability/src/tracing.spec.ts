import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readTraceFile, TraceFileFormatError, type SpanRecord } from './trace-file.js';
import {
  currentTraceparent,
  linkActiveSpan,
  logContext,
  recordRunSpan,
  runSpanId,
  runTraceId,
  runTraceparent,
  startServerSpan,
  startTracing,
  withSpan,
  type Tracing,
} from './tracing.js';

let tracing: Tracing | undefined;

async function traceFile(serviceName = 'test-svc'): Promise<string> {
  const file = join(await mkdtemp(join(tmpdir(), 'ns-trace-')), 'traces.jsonl');
  tracing = startTracing({ serviceName, traceFile: file });
  return file;
}

async function spansOf(file: string): Promise<SpanRecord[]> {
  await tracing!.forceFlush();
  return readTraceFile(file);
}

function named(spans: SpanRecord[], name: string): SpanRecord {
  const found = spans.filter((s) => s.name === name);
  expect(found, `one span named ${name} in ${spans.map((s) => s.name).join(', ')}`).toHaveLength(1);
  return found[0]!;
}

afterEach(async () => {
  await tracing?.shutdown();
  tracing = undefined;
});

describe('tracing to an OTLP/JSON-lines file', () => {
  it('writes one OTLP/JSON export request per line, with hex ids and unix-nano times', async () => {
    const file = await traceFile();
    await withSpan('outer', { attributes: { 'nightshift.pipeline': 'nightly-tca' } }, async () => {});
    await tracing!.forceFlush();
    const lines = (await readFile(file, 'utf8')).trim().split('\n');
    const request = JSON.parse(lines[0]!) as {
      resourceSpans: Array<{ resource: { attributes: Array<{ key: string; value: { stringValue?: string } }> }; scopeSpans: Array<{ spans: Array<Record<string, unknown>> }> }>;
    };
    const span = request.resourceSpans[0]!.scopeSpans[0]!.spans[0]!;
    expect(request.resourceSpans[0]!.resource.attributes).toContainEqual({ key: 'service.name', value: { stringValue: 'test-svc' } });
    expect(span['traceId']).toMatch(/^[0-9a-f]{32}$/);
    expect(span['spanId']).toMatch(/^[0-9a-f]{16}$/);
    expect(String(span['startTimeUnixNano'])).toMatch(/^\d{19}$/);
    expect(span['attributes']).toContainEqual({ key: 'nightshift.pipeline', value: { stringValue: 'nightly-tca' } });
  });

  it('nests spans across awaits, continues a remote traceparent, and records errors and failures', async () => {
    const file = await traceFile();
    const remote = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    let inner = '';
    await withSpan('outer', { traceparent: remote, kind: 'consumer' }, async () => {
      await new Promise((r) => setImmediate(r));
      await withSpan('inner', {}, async (span) => {
        inner = span.traceparent();
        expect(currentTraceparent()).toBe(inner);
      });
    });
    await expect(withSpan('boom', {}, async () => Promise.reject(new Error('bad input')))).rejects.toThrow('bad input');
    await withSpan('rejected', {}, async (span) => span.fail('2 problems: fills.csv:3 qty is negative'));

    const spans = await spansOf(file);
    const outer = named(spans, 'outer');
    const innerSpan = named(spans, 'inner');
    expect(outer.traceId).toBe('0af7651916cd43dd8448eb211c80319c');
    expect(outer.parentSpanId).toBe('b7ad6b7169203331');
    expect(outer.kind).toBe('CONSUMER');
    expect(innerSpan.parentSpanId).toBe(outer.spanId);
    expect(innerSpan.startMs).toBeGreaterThanOrEqual(outer.startMs);
    expect(innerSpan.endMs).toBeLessThanOrEqual(outer.endMs);
    expect(inner).toBe(`00-${innerSpan.traceId}-${innerSpan.spanId}-01`);
    expect(named(spans, 'boom')).toMatchObject({ status: 'ERROR', statusMessage: 'bad input' });
    expect(named(spans, 'rejected')).toMatchObject({ status: 'ERROR', statusMessage: '2 problems: fills.csv:3 qty is negative' });
    expect(outer).toMatchObject({ service: 'test-svc', status: 'OK' });
  });

  it('reports each service under its own service.name, inherited by the spans inside', async () => {
    const file = await traceFile('nightshift-host');
    await withSpan('planner: job RUNNING', { service: 'nightshift-planner' }, async () => {
      await withSpan('DynamoDB.UpdateItem', { kind: 'client' }, async () => {});
    });
    await withSpan('reporting: Run Succeeded', { service: 'nightshift-reporting' }, async () => {});
    await withSpan('upstream: Dataset Landed', {}, async () => {});

    const spans = await spansOf(file);
    expect(named(spans, 'planner: job RUNNING').service).toBe('nightshift-planner');
    expect(named(spans, 'DynamoDB.UpdateItem')).toMatchObject({ service: 'nightshift-planner', kind: 'CLIENT' });
    expect(named(spans, 'reporting: Run Succeeded').service).toBe('nightshift-reporting');
    expect(named(spans, 'upstream: Dataset Landed').service).toBe('nightshift-host');
  });

  it('makes client spans only inside a trace (requireParent)', async () => {
    const file = await traceFile();
    await withSpan('poll', { requireParent: true }, async () => {});
    await withSpan('handler', {}, () => withSpan('DynamoDB.Query', { requireParent: true, kind: 'client' }, async () => {}));
    const spans = await spansOf(file);
    expect(spans.map((s) => s.name).sort()).toEqual(['DynamoDB.Query', 'handler']);
  });

  it('makes what a span left running after its end follow it, not hang under it', async () => {
    const file = await traceFile();
    let background: Promise<void> = Promise.resolve();
    let release = (): void => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    await withSpan('handler', {}, async () => {
      background = gate.then(async () => {
        await withSpan('PutEvents Batch Job State Change', { kind: 'producer', requireParent: true }, async () => {});
        await withSpan('wake-up', {}, async () => {});
      });
    });
    release();
    await background;
    const spans = await spansOf(file);
    const handler = named(spans, 'handler');
    expect(spans.some((s) => s.name === 'PutEvents Batch Job State Change')).toBe(false);
    expect(named(spans, 'wake-up')).toMatchObject({ traceId: handler.traceId, links: [expect.objectContaining({ spanId: handler.spanId })] });
    expect(named(spans, 'wake-up').parentSpanId).toBeUndefined();
  });

  it('carries the run and task ids of a span to the log context inside it', async () => {
    await traceFile();
    await withSpan('task', { attributes: { 'nightshift.run_id': 'run-1', 'nightshift.task_id': 'tca:desk-a' } }, async () => {
      await withSpan('duckdb', {}, async () => {
        expect(logContext()).toMatchObject({ run_id: 'run-1', task_id: 'tca:desk-a', trace_id: expect.stringMatching(/^[0-9a-f]{32}$/) });
      });
    });
    expect(logContext()).toEqual({});
  });

  it('gives every span inside a run or task its ids', async () => {
    const file = await traceFile();
    await withSpan('task', { attributes: { 'nightshift.run_id': 'run-1', 'nightshift.task_id': 'tca#desk-a' } }, () => withSpan('ObjectStore.get', { kind: 'client' }, async () => {}));
    expect(named(await spansOf(file), 'ObjectStore.get').attributes).toMatchObject({ 'nightshift.run_id': 'run-1', 'nightshift.task_id': 'tca#desk-a' });
  });
});

describe('the run trace', () => {
  it('derives a run trace id and one span id per attempt from the run id', () => {
    expect(runTraceId('run-1')).toMatch(/^[0-9a-f]{32}$/);
    expect(runTraceId('run-1')).toBe(runTraceId('run-1'));
    expect(runTraceId('run-2')).not.toBe(runTraceId('run-1'));
    expect(runSpanId('run-1', 2)).not.toBe(runSpanId('run-1', 1));
    expect(runSpanId('run-1')).toBe(runSpanId('run-1', 1));
    expect(runTraceparent('run-1', 2)).toBe(`00-${runTraceId('run-1')}-${runSpanId('run-1', 2)}-01`);
  });

  it('records the run span around its children, with the derived ids, ERROR with the reason, linked both ways to its trigger', async () => {
    const file = await traceFile();
    const createdAt = new Date(Date.now() - 50).toISOString();
    let trigger = '';
    await withSpan('planner: Dataset Registered', { service: 'nightshift-planner' }, async (span) => {
      trigger = span.traceparent();
      linkActiveSpan(runTraceparent('run-1'));
    });
    await withSpan('planner: job FAILED', { traceparent: runTraceparent('run-1'), service: 'nightshift-planner', attributes: { 'nightshift.run_id': 'run-1' } }, async (span) => {
      span.fail('Essential container in task exited');
      // The run ends inside this handler: its span must still contain the handler's.
      recordRunSpan({ runId: 'run-1', pipeline: 'nightly-tca', businessDate: '2026-11-27', status: 'FAILED', reason: 'task tca:desk-a failed', createdAt, traceparent: trigger });
      await new Promise((r) => setTimeout(r, 5));
    });
    // A late event of the ended run: a root of the run's trace, following the run span.
    await withSpan('planner: job SUCCEEDED', { traceparent: runTraceparent('run-1'), attributes: { 'nightshift.run_id': 'run-1' } }, async () => {});

    const spans = await spansOf(file);
    const run = named(spans, 'run nightly-tca');
    const job = named(spans, 'planner: job FAILED');
    const late = named(spans, 'planner: job SUCCEEDED');
    const registered = named(spans, 'planner: Dataset Registered');
    expect(run).toMatchObject({ traceId: runTraceId('run-1'), spanId: runSpanId('run-1'), status: 'ERROR', statusMessage: 'task tca:desk-a failed', service: 'nightshift-planner' });
    expect(run.parentSpanId).toBeUndefined();
    expect(run.attributes).toMatchObject({ 'nightshift.run_id': 'run-1', 'nightshift.pipeline': 'nightly-tca', 'nightshift.business_date': '2026-11-27', 'nightshift.run.attempt': 1 });
    expect(run.startMs).toBe(Date.parse(createdAt));
    expect(job).toMatchObject({ parentSpanId: run.spanId, status: 'ERROR', statusMessage: 'Essential container in task exited' });
    expect(job.endMs).toBeLessThanOrEqual(run.endMs);
    expect(late.parentSpanId).toBeUndefined();
    expect(late.traceId).toBe(run.traceId);
    expect(late.links).toContainEqual(expect.objectContaining({ spanId: run.spanId }));
    expect(run.links).toContainEqual(expect.objectContaining({ spanId: registered.spanId, traceId: registered.traceId }));
    expect(registered.links).toContainEqual(expect.objectContaining({ spanId: run.spanId, traceId: run.traceId }));
  });

  it('gives a retried run a span per attempt, and follows a finished run with a linked root (its report)', async () => {
    const file = await traceFile();
    const base = { runId: 'run-2', pipeline: 'desk-risk', businessDate: '2026-11-27', createdAt: new Date().toISOString() };
    recordRunSpan({ ...base, status: 'FAILED', reason: 'no prices' });
    recordRunSpan({ ...base, status: 'FAILED', reason: 'no prices' });
    recordRunSpan({ ...base, status: 'SUCCEEDED', attempt: 2, retriedAt: new Date().toISOString() });
    await withSpan('reporting: Run Succeeded', { follows: runTraceparent('run-2', 2) }, async () => {});

    const spans = await spansOf(file);
    const runs = spans.filter((s) => s.name === 'run desk-risk');
    expect(runs.map((s) => s.spanId).sort()).toEqual([runSpanId('run-2', 1), runSpanId('run-2', 2)].sort());
    expect(runs.find((s) => s.spanId === runSpanId('run-2', 2))?.status).toBe('OK');
    const report = named(spans, 'reporting: Run Succeeded');
    expect(report).toMatchObject({ traceId: runTraceId('run-2') });
    expect(report.parentSpanId).toBeUndefined();
    expect(report.links.map((l) => l.spanId)).toEqual([runSpanId('run-2', 2)]);
  });
});

describe('server spans', () => {
  it('continue the caller traceparent and run the handling inside the span', async () => {
    const file = await traceFile();
    const caller = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const server = startServerSpan('POST /runs', { traceparent: caller, service: 'nightshift-reporting', attributes: { 'http.request.method': 'POST' } });
    await server.run(() => withSpan('publish Run Requested', { kind: 'producer' }, async () => {}));
    server.end(202);
    const broken = startServerSpan('GET /runs', { traceparent: 'not-a-traceparent' });
    broken.end(503);

    const spans = await spansOf(file);
    const post = named(spans, 'POST /runs');
    expect(post).toMatchObject({ traceId: '4bf92f3577b34da6a3ce929d0e0e4736', parentSpanId: '00f067aa0ba902b7', kind: 'SERVER', service: 'nightshift-reporting' });
    expect(post.attributes['http.response.status_code']).toBe(202);
    expect(named(spans, 'publish Run Requested')).toMatchObject({ parentSpanId: post.spanId, service: 'nightshift-reporting' });
    const get = named(spans, 'GET /runs');
    expect(get.parentSpanId).toBeUndefined();
    expect(get.status).toBe('ERROR');
  });
});

describe('reading a trace file', () => {
  it('skips a line still being written and names the file and line of a bad one', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ns-trace-'));
    const file = join(dir, 'traces.jsonl');
    await writeFile(file, '{"resourceSpans":[]}\n{"resourceSp');
    await expect(readTraceFile(file)).resolves.toEqual([]);
    await writeFile(file, '{"resourceSpans":[]}\n{"spans":[]}\n');
    const error = await readTraceFile(file).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TraceFileFormatError);
    expect((error as Error).message).toBe(`${file}:2: not an OTLP/JSON trace export request: no resourceSpans array`);
  });
});
