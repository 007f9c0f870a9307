import { readFile, writeFile } from 'node:fs/promises';
import { PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { DatasetLanded, RunSucceeded, SERVICE_RULES } from '@nightshift/contracts';
import { BUILT_IN_PIPELINES, type Task } from '@nightshift/jobs-domain';
import { apiKeysFileSchema, hashApiKey, newApiKey } from '@nightshift/reporting';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureApiKeys } from './api-keys.js';
import { CONSOLE_QUEUE, CONSOLE_RULES, followFlow, type FlowOutcome } from './console.js';
import type { EmbeddedPlatform } from './embedded-platform.js';
import { ensureSampleDay } from './sample-day.js';
import { parsePrometheusText, samplesOf, sumOf, type PrometheusSample } from './testing/prometheus-text.js';
import { startTestPlatform, type TestPlatform } from './testing/test-platform.js';
import { waitFor } from './testing/wait.js';

const BUSINESS_DATE = '2026-11-20';
const DESKS = ['cash', 'program'];
const SERVICE_QUEUES = Object.keys(SERVICE_RULES);

/**
 * GET /metrics of a real embedded platform after one known landing: the three runs it starts are
 * counted by pipeline, their tasks' durations, waits and vCPU-seconds agree with what the store
 * recorded of each task, the run events were published and consumed, and every queue has its gauges.
 */
describe('metrics of the embedded platform, after a landed business day', () => {
  let started: TestPlatform | undefined;
  let platform: EmbeddedPlatform;
  let outcomes: FlowOutcome[];
  let samples: PrometheusSample[];
  let scrape: Response;
  /** Keys an operator added beside the embedded admin key: a tenant's admin and a viewer. */
  const tenantAdminKey = newApiKey();
  const viewerKey = newApiKey();

  beforeAll(async () => {
    started = await startTestPlatform({
      prefix: 'nightshift-metrics-',
      beforeStart: async (home) => {
        const keys = await ensureApiKeys(home);
        const file = apiKeysFileSchema.parse(JSON.parse(await readFile(keys.keysFile, 'utf8')));
        file.keys.push({ id: 'desk-admin', keyHash: hashApiKey(tenantAdminKey), role: 'admin', tenant: 'equities' }, { id: 'viewer', keyHash: hashApiKey(viewerKey), role: 'viewer', tenant: 'equities' });
        await writeFile(keys.keysFile, JSON.stringify(file));
      },
      extraQueues: { [CONSOLE_QUEUE]: CONSOLE_RULES },
    });
    const { events } = started;
    platform = started.platform;
    const day = await ensureSampleDay(platform.objects, { businessDate: BUSINESS_DATE, seed: 7, desks: DESKS, ordersPerDesk: 40, quotesPerSymbol: 200, symbols: 6 });
    const out = await events.send(new PutEventsCommand({ Entries: [{ Source: 'com.example.oms', DetailType: DatasetLanded.detailType, Detail: JSON.stringify(day.detail) }] }));
    const flow = await followFlow({
      bus: platform.bus,
      store: platform.store,
      correlationId: out.Entries![0]!.EventId!,
      pipelines: platform.pipelinesFor('executions'),
      print: () => {},
      signal: AbortSignal.timeout(120_000),
    });
    expect(flow.complete, `the landing's flow did not end: ${JSON.stringify(flow.outcomes)}`).toBe(true);
    outcomes = flow.outcomes;
    // Every event sent to a service handled: nothing counted later than the scrape.
    await waitFor(
      () => SERVICE_QUEUES.map((q) => platform.bus.stats(q)),
      (stats) => stats.every((s) => s.visible === 0 && s.inFlight === 0),
      { what: `the ${SERVICE_QUEUES.join(', ')} queues to be empty`, timeoutMs: 60_000 },
    );
    scrape = await fetch(`${platform.apiUrl}/metrics`, { headers: { authorization: `Bearer ${platform.apiKey}` } });
    samples = parsePrometheusText(await scrape.text());
  }, 240_000);

  afterAll(() => started?.stop());

  /** The runs the landing started, by pipeline (each pipeline ran once). */
  function runs(): Array<{ pipeline: string; runId: string }> {
    return outcomes.map((o) => {
      if (o.kind === 'rejected') throw new Error('the landing was rejected');
      return { pipeline: o.detail.data.pipeline, runId: o.detail.data.runId };
    });
  }

  async function tasksOf(runId: string): Promise<Task[]> {
    const tasks: Task[] = [];
    let nextToken: string | undefined;
    do {
      const page = await platform.store.listTasks(runId, nextToken ? { nextToken } : {});
      tasks.push(...page.items);
      nextToken = page.nextToken;
    } while (nextToken);
    return tasks;
  }

  it('serves the Prometheus text format to the platform admin; other callers are refused', async () => {
    expect(scrape.status).toBe(200);
    expect(scrape.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(samples.length).toBeGreaterThan(0);

    expect((await fetch(`${platform.apiUrl}/metrics`)).status).toBe(401);
    // Metrics span every tenant: a tenant's admin may not read them, nor a viewer.
    const asTenantAdmin = await fetch(`${platform.apiUrl}/metrics`, { headers: { authorization: `Bearer ${tenantAdminKey}` } });
    expect(asTenantAdmin.status).toBe(403);
    expect(((await asTenantAdmin.json()) as { detail: string }).detail).toContain('platform admin');
    expect((await fetch(`${platform.apiUrl}/metrics`, { headers: { authorization: `Bearer ${viewerKey}` } })).status).toBe(403);
  });

  it('counts each run once as started and once as succeeded, by pipeline', () => {
    expect(runs().map((r) => r.pipeline).sort()).toEqual([...platform.pipelinesFor('executions')].sort());
    for (const { pipeline } of runs()) {
      expect(sumOf(samples, 'nightshift_runs_started_total', { pipeline }), pipeline).toBe(1);
      expect(sumOf(samples, 'nightshift_runs_succeeded_total', { pipeline }), pipeline).toBe(1);
      expect(sumOf(samples, 'nightshift_runs_failed_total', { pipeline }), pipeline).toBe(0);
    }
  });

  it('records every task of a run once, with its run time, RUNNABLE wait and vCPU-seconds as the store has its attempts', async () => {
    for (const { pipeline, runId } of runs()) {
      const tasks = await tasksOf(runId);
      expect(tasks.length, pipeline).toBeGreaterThan(0);
      expect(tasks.every((t) => t.status === 'SUCCEEDED')).toBe(true);
      expect(sumOf(samples, 'nightshift_task_duration_count', { pipeline, status: 'SUCCEEDED' }), pipeline).toBe(tasks.length);
      expect(sumOf(samples, 'nightshift_task_duration_count', { pipeline, status: 'FAILED' }), pipeline).toBe(0);
      expect(sumOf(samples, 'nightshift_task_runnable_wait_count', { pipeline }), pipeline).toBe(tasks.length);
      // Each histogram's +Inf bucket holds all of its tasks.
      expect(sumOf(samples, 'nightshift_task_duration_bucket', { pipeline, le: '+Inf' }), pipeline).toBe(tasks.length);

      // What the store recorded of each attempt, from the same job state changes: the sum of the run times, and times the step's vCPUs.
      const definition = BUILT_IN_PIPELINES.find((p) => p.name === pipeline)!;
      const ranS = (t: Task) => t.attempts.reduce((sum, a) => sum + (Date.parse(a.stoppedAt!) - Date.parse(a.startedAt!)) / 1000, 0);
      const vcpusOf = (t: Task) => definition.steps.find((s) => s.name === t.step)!.vcpus;
      const durationS = tasks.reduce((sum, t) => sum + ranS(t), 0);
      const vcpuSeconds = tasks.reduce((sum, t) => sum + vcpusOf(t) * ranS(t), 0);
      expect(durationS, pipeline).toBeGreaterThan(0);
      expect(sumOf(samples, 'nightshift_task_duration_sum', { pipeline })).toBeCloseTo(durationS, 3);
      expect(sumOf(samples, 'nightshift_compute_vcpu_seconds_total', { pipeline })).toBeCloseTo(vcpuSeconds, 3);
    }
  });

  it('counts the run events the planner published and reporting consumed', () => {
    const published = sumOf(samples, 'nightshift_events_published_total', { detail_type: RunSucceeded.detailType, source: RunSucceeded.source });
    expect(published).toBe(runs().length);
    expect(sumOf(samples, 'nightshift_events_consumed_total', { detail_type: RunSucceeded.detailType, queue: 'reporting', outcome: 'handled' })).toBeGreaterThanOrEqual(runs().length);
    expect(sumOf(samples, 'nightshift_events_consumed_total', { detail_type: 'Batch Job State Change', queue: 'planner', outcome: 'handled' })).toBeGreaterThan(0);
    expect(sumOf(samples, 'nightshift_events_published_total', { detail_type: 'Report Published' })).toBe(runs().length);
  });

  it('reports depth, in-flight, oldest message age and DLQ depth for every queue on the bus; nothing dead-lettered', () => {
    for (const queue of [...SERVICE_QUEUES, CONSOLE_QUEUE]) {
      for (const name of ['nightshift_queue_depth', 'nightshift_queue_in_flight', 'nightshift_queue_oldest_message_age', 'nightshift_queue_dlq_depth']) {
        expect(samplesOf(samples, name, { queue }), `${name}{queue="${queue}"}`).toHaveLength(1);
      }
      expect(sumOf(samples, 'nightshift_queue_dlq_depth', { queue }), queue).toBe(0);
    }
    // The service queues were empty when scraped.
    for (const queue of SERVICE_QUEUES) expect(sumOf(samples, 'nightshift_queue_depth', { queue }), queue).toBe(0);
  });
});
