import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PutEventsCommand, type EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { DatasetLanded, type DatasetLandedDetail } from '@nightshift/contracts';
import { definePipeline } from '@nightshift/jobs-domain';
import { runTraceId } from '@nightshift/observability';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONSOLE_QUEUE, CONSOLE_RULES, followFlow, type FlowOutcome } from './console.js';
import type { EmbeddedPlatform } from './embedded-platform.js';
import { ensureSampleDay } from './sample-day.js';
import { apiFetch } from './testing/api-fetch.js';
import { startTestPlatform, type TestPlatform } from './testing/test-platform.js';
import { waitFor } from './testing/wait.js';

/*
 * The platform's log lines as an SRE reads them: <home>/logs/nightshift.jsonl after a landing that
 * runs, one rejected, and one whose task fails; and a failed attempt's own lines through the REST
 * API, each with the time it was written. One real embedded platform (bus, DynamoDB-compatible
 * server, child-process workers) for the whole file.
 */

const BUSINESS_DATE = '2026-11-20';

/** A step whose worker cannot run (unknown analytic): its one attempt exits 2, and the run fails. */
const BROKEN = definePipeline({
  name: 'logs-broken',
  description: 'test: a step whose worker exits 2',
  trigger: { datasets: ['logs-broken-executions'] },
  steps: [{ name: 'boom', analytic: 'no-such-analytic', fanOut: 'single', vcpus: 1, memoryMiB: 256, attempts: 2, timeoutSeconds: 60 }],
});

type Line = Record<string, unknown> & { level: string; time: string; service: string; msg: string };

let started: TestPlatform | undefined;
let home: string;
let platform: EmbeddedPlatform;
let events: EventBridgeClient;

beforeAll(async () => {
  started = await startTestPlatform({
    prefix: 'nightshift-logs-',
    tracing: { serviceName: 'nightshift-test' },
    extraQueues: { [CONSOLE_QUEUE]: CONSOLE_RULES },
    extraPipelines: [BROKEN],
  });
  ({ home, platform, events } = started);
});

afterAll(() => started?.stop());

async function sampleDay(): Promise<DatasetLandedDetail> {
  return (await ensureSampleDay(platform.objects, { businessDate: BUSINESS_DATE, seed: 11, desks: ['cash'], ordersPerDesk: 40, quotesPerSymbol: 200, symbols: 4 })).detail;
}

/** Lands a dataset as an upstream system does (PutEvents) and follows its runs to their outcomes. */
async function land(detail: Record<string, unknown>): Promise<{ eventId: string; outcomes: FlowOutcome[] }> {
  const out = await events.send(new PutEventsCommand({ Entries: [{ Source: 'com.example.oms', DetailType: DatasetLanded.detailType, Detail: JSON.stringify(detail) }] }));
  const eventId = out.Entries![0]!.EventId!;
  const pipelines = platform.pipelinesFor(String(detail['dataset']));
  const flow = await followFlow({ bus: platform.bus, store: platform.store, correlationId: eventId, pipelines, print: () => {}, signal: AbortSignal.timeout(120_000) });
  expect(flow.complete, `the flow of ${eventId}: ${JSON.stringify(flow.outcomes)}`).toBe(true);
  return { eventId, outcomes: flow.outcomes };
}

async function logLines(): Promise<Line[]> {
  return (await readFile(platform.logFile!, 'utf8'))
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Line);
}

/** Waits until the log file has a line for which `match` holds (the bus may tell the test before the line is written). */
function lineWhere(what: string, match: (line: Line) => boolean): Promise<Line> {
  return waitFor(async () => (await logLines()).find(match), (line) => line !== undefined, { what: `a log line ${what} in ${platform.logFile}`, timeoutMs: 60_000 }) as Promise<Line>;
}

describe('the platform log (<home>/logs/nightshift.jsonl)', () => {
  it('logs a landing: registered, each run started and succeeded, each report published, with their run and trace', async () => {
    expect(platform.logFile).toBe(join(home, 'logs', 'nightshift.jsonl'));
    const day = await sampleDay();
    const { eventId, outcomes } = await land({ ...day });
    const reports = outcomes.flatMap((o) => (o.kind === 'report' ? [o.detail.data] : []));
    expect(reports.map((r) => r.pipeline).sort()).toEqual(platform.pipelinesFor('executions').sort());

    const registered = await lineWhere(`registering ${eventId}`, (l) => l['event_id'] === eventId && l.msg.startsWith('registered '));
    expect(registered).toMatchObject({ level: 'info', service: 'nightshift-ingestion', context: 'ingestion', business_date: BUSINESS_DATE });
    expect([...(registered['files'] as string[])].sort()).toEqual(day.files.map((f) => f.key).sort());
    expect(registered['rows']).toBeGreaterThan(0);
    expect(registered['trace_id']).toMatch(/^[0-9a-f]{32}$/);
    expect(registered['dataset_id']).toMatch(/^executions@2026-11-20#v\d+$/);

    for (const { runId, pipeline, reportId } of reports) {
      const trace_id = runTraceId(runId);
      const started = await lineWhere(`of run ${runId} started`, (l) => l['run_id'] === runId && l['trigger'] !== undefined);
      expect(started).toMatchObject({ level: 'info', service: 'nightshift-planner', trace_id, pipeline, business_date: BUSINESS_DATE, dataset_id: registered['dataset_id'], status: expect.any(String) });
      expect(started['span_id']).toMatch(/^[0-9a-f]{16}$/);
      const succeeded = await lineWhere(`of run ${runId} succeeded`, (l) => l['run_id'] === runId && / succeeded: /.test(l.msg));
      expect(succeeded).toMatchObject({ level: 'info', service: 'nightshift-planner', trace_id, pipeline, business_date: BUSINESS_DATE });
      const published = await lineWhere(`of report ${reportId}`, (l) => l['report_id'] === reportId);
      expect(published).toMatchObject({ level: 'info', service: 'nightshift-reporting', run_id: runId, trace_id, pipeline, msg: expect.stringMatching(/^published report /) });
    }
    // The framework's boot lines (modules loaded, routes mapped) are debug: not in the log at the default level.
    const lines = await logLines();
    expect(lines.filter((l) => typeof l['context'] === 'string' && /^[A-Z]/.test(l['context']) && l.level === 'info')).toEqual([]);
    for (const line of lines) expect(line.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  });

  it('logs a rejected landing as a warning, with every reason', async () => {
    const { businessDate: _drop, ...noDate } = await sampleDay();
    const { eventId, outcomes } = await land({ ...noDate });
    expect(outcomes.map((o) => o.kind)).toEqual(['rejected']);
    const rejected = await lineWhere(`rejecting ${eventId}`, (l) => l['event_id'] === eventId);
    expect(rejected).toMatchObject({ level: 'warn', service: 'nightshift-ingestion', msg: expect.stringMatching(/^rejected landed event /) });
    expect(rejected['reasons']).toContainEqual(expect.objectContaining({ path: 'detail.businessDate' }));
    expect(rejected['trace_id']).toMatch(/^[0-9a-f]{32}$/);
  });

  it("logs a failed task and its run as errors, and serves the attempt's own lines, each with its time", async () => {
    const day = await sampleDay();
    const { outcomes } = await land({ ...day, dataset: 'logs-broken-executions' });
    const failed = outcomes[0];
    expect(failed?.kind).toBe('failed');
    if (failed?.kind !== 'failed') return;
    const runId = failed.detail.data.runId;

    const task = await lineWhere(`of run ${runId}'s failed task`, (l) => l['run_id'] === runId && l['task_id'] === 'boom#all' && l['job_id'] !== undefined);
    expect(task).toMatchObject({ level: 'error', service: 'nightshift-planner', trace_id: runTraceId(runId), attempt: 1, exit_code: 2 });
    expect(task['status_reason']).toEqual(expect.any(String));
    const run = await lineWhere(`of run ${runId} failed`, (l) => l['run_id'] === runId && l['reason'] !== undefined);
    expect(run).toMatchObject({ level: 'error', service: 'nightshift-planner', pipeline: 'logs-broken', task_id: 'boom#all', msg: expect.stringMatching(/ failed: /) });

    const res = await apiFetch(`${platform.apiUrl}/runs/${runId}/tasks/${encodeURIComponent('boom#all')}/attempts/1/log`);
    expect(res.status).toBe(200);
    const attemptLines = (await res.text()).trimEnd().split('\n');
    expect(attemptLines.length).toBeGreaterThan(0);
    for (const line of attemptLines) {
      // `<ISO-8601> <what the worker wrote>`: the time the compute environment read the line.
      const [, at, message] = /^(\S+) (.*)$/.exec(line)!;
      expect(new Date(at!).toISOString()).toBe(at);
      const own = JSON.parse(message!) as Line;
      expect(own).toMatchObject({ service: 'nightshift-worker', attempt: 1 });
    }
    expect(attemptLines.map((l) => (JSON.parse(l.slice(25)) as Line).msg)).toContainEqual(expect.stringMatching(/^bad input: unknown analytic "no-such-analytic"/));
  });
});
