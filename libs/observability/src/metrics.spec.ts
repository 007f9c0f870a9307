import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { platformMetrics, prometheusText, startMetrics, type Metrics } from './metrics.js';

/** `name{labels} value` lines of a Prometheus text exposition, as [name, labels, value]. */
function samples(text: string): Array<{ name: string; labels: Record<string, string>; value: number }> {
  return text
    .split('\n')
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)/.exec(line);
      if (!m) throw new Error(`not a sample line: ${line}`);
      const labels = Object.fromEntries([...(m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)].map((l) => [l[1], l[2]]));
      return { name: m[1], labels, value: Number(m[3]) };
    });
}

function value(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  return samples(text).find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
}

let running: Metrics | undefined;
afterEach(async () => {
  await running?.shutdown();
  running = undefined;
});

describe('platform metrics', () => {
  it('are no-ops before startMetrics: nothing is recorded, nothing throws, there is nothing to scrape', async () => {
    const m = platformMetrics();
    m.runStarted('nightly-tca');
    m.taskFinished({ pipeline: 'nightly-tca', step: 'tca', status: 'SUCCEEDED', durationS: 3, runnableWaitS: 1, vcpus: 1 });
    m.eventPublished('Run Succeeded', 'nightshift.planner');
    m.observeQueues(() => [{ queue: 'planner', depth: 1 }])();
    expect(await prometheusText()).toBeUndefined();

    // What was called before the start is not carried into it.
    running = startMetrics({ serviceName: 'test' });
    expect(value((await prometheusText())!, 'nightshift_runs_started_total', { pipeline: 'nightly-tca' })).toBeUndefined();
  });

  it('counts runs, tasks, vCPU-seconds and events by their labels, in the Prometheus text format', async () => {
    running = startMetrics({ serviceName: 'test' });
    const m = platformMetrics();
    m.runStarted('nightly-tca');
    m.runStarted('nightly-tca');
    m.runStarted('desk-risk');
    m.runFinished('nightly-tca', 'SUCCEEDED');
    m.runFinished('desk-risk', 'FAILED');
    m.taskFinished({ pipeline: 'nightly-tca', step: 'tca', status: 'SUCCEEDED', durationS: 3, runnableWaitS: 0.2, vcpus: 2 });
    m.taskFinished({ pipeline: 'nightly-tca', step: 'tca', status: 'SUCCEEDED', durationS: 45, runnableWaitS: 700, vcpus: 2 });
    m.taskFinished({ pipeline: 'nightly-tca', step: 'tca', status: 'FAILED', durationS: 1, vcpus: 1 });
    m.eventPublished('Run Succeeded', 'nightshift.planner');
    m.eventConsumed('Run Succeeded', 'reporting');
    m.eventConsumed('Run Succeeded', 'reporting', 'retried');

    const text = (await prometheusText())!;
    expect(value(text, 'nightshift_runs_started_total', { pipeline: 'nightly-tca' })).toBe(2);
    expect(value(text, 'nightshift_runs_started_total', { pipeline: 'desk-risk' })).toBe(1);
    expect(value(text, 'nightshift_runs_succeeded_total', { pipeline: 'nightly-tca' })).toBe(1);
    expect(value(text, 'nightshift_runs_failed_total', { pipeline: 'desk-risk' })).toBe(1);
    expect(value(text, 'nightshift_runs_failed_total', { pipeline: 'nightly-tca' })).toBeUndefined();

    const ok = { pipeline: 'nightly-tca', step: 'tca', status: 'SUCCEEDED' };
    expect(value(text, 'nightshift_task_duration_count', ok)).toBe(2);
    expect(value(text, 'nightshift_task_duration_sum', ok)).toBe(48);
    expect(value(text, 'nightshift_task_duration_count', { ...ok, status: 'FAILED' })).toBe(1);
    // Buckets for batch tasks: 45 s falls in (30, 60], 700 s of waiting in (600, 1200].
    expect(value(text, 'nightshift_task_duration_bucket', { ...ok, le: '30' })).toBe(1);
    expect(value(text, 'nightshift_task_duration_bucket', { ...ok, le: '60' })).toBe(2);
    expect(value(text, 'nightshift_task_duration_bucket', { ...ok, le: '3600' })).toBe(2);
    expect(value(text, 'nightshift_task_runnable_wait_count', { pipeline: 'nightly-tca', step: 'tca' })).toBe(2);
    expect(value(text, 'nightshift_task_runnable_wait_bucket', { pipeline: 'nightly-tca', step: 'tca', le: '600' })).toBe(1);
    expect(value(text, 'nightshift_task_runnable_wait_bucket', { pipeline: 'nightly-tca', step: 'tca', le: '1200' })).toBe(2);
    // vCPUs x seconds, failed attempts included: 2*3 + 2*45 + 1*1.
    expect(value(text, 'nightshift_compute_vcpu_seconds_total', { pipeline: 'nightly-tca' })).toBe(97);

    expect(value(text, 'nightshift_events_published_total', { detail_type: 'Run Succeeded', source: 'nightshift.planner' })).toBe(1);
    expect(value(text, 'nightshift_events_consumed_total', { detail_type: 'Run Succeeded', queue: 'reporting', outcome: 'handled' })).toBe(1);
    expect(value(text, 'nightshift_events_consumed_total', { detail_type: 'Run Succeeded', queue: 'reporting', outcome: 'retried' })).toBe(1);
    expect(text).toContain('# TYPE nightshift_task_duration histogram');
    expect(text).toContain('# TYPE nightshift_runs_started_total counter');
  });

  it('reads the queue gauges at each scrape, until the observer is stopped; a sample that throws is skipped', async () => {
    running = startMetrics({ serviceName: 'test' });
    let depth = 3;
    let reads = 0;
    const stop = platformMetrics().observeQueues(() => (reads++, [
      { queue: 'planner', depth, inFlight: 1, oldestAgeS: 12.5, dlqDepth: 0 },
      { queue: 'reporting', depth: 0 },
    ]));
    const failing = platformMetrics().observeQueues(() => Promise.reject(new Error('bus closed')));
    let text = (await prometheusText())!;
    expect(value(text, 'nightshift_queue_depth', { queue: 'planner' })).toBe(3);
    expect(value(text, 'nightshift_queue_in_flight', { queue: 'planner' })).toBe(1);
    expect(value(text, 'nightshift_queue_oldest_message_age', { queue: 'planner' })).toBe(12.5);
    expect(value(text, 'nightshift_queue_dlq_depth', { queue: 'planner' })).toBe(0);
    expect(value(text, 'nightshift_queue_depth', { queue: 'reporting' })).toBe(0);
    expect(value(text, 'nightshift_queue_dlq_depth', { queue: 'reporting' })).toBeUndefined();

    depth = 7;
    text = (await prometheusText())!;
    expect(value(text, 'nightshift_queue_depth', { queue: 'planner' })).toBe(7);

    expect(reads).toBe(2);

    stop();
    failing();
    await prometheusText();
    expect(reads).toBe(2);
  });

  it('pushes the metrics to an OTLP/HTTP endpoint when one is configured (the last export at shutdown)', async () => {
    const received: Array<{ url: string; contentType: string; body: string }> = [];
    const server = createServer((req: IncomingMessage, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        received.push({ url: req.url ?? '', contentType: String(req.headers['content-type']), body: Buffer.concat(chunks).toString('utf8') });
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const metrics = startMetrics({ serviceName: 'test-otlp', otlpEndpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}/` });
      platformMetrics().runStarted('nightly-tca');
      await metrics.shutdown();
      const exports = received.filter((r) => r.url === '/v1/metrics');
      expect(exports.length).toBeGreaterThan(0);
      const body = exports.map((e) => e.body).join('\n');
      expect(exports[0].contentType).toContain('application/json');
      expect(body).toContain('nightshift.runs.started');
      expect(body).toContain('test-otlp');
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
