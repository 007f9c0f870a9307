import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { DatasetLanded } from '@nightshift/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONSOLE_QUEUE, CONSOLE_RULES, followFlow } from './console.js';
import { startEmbeddedPlatform, type EmbeddedPlatform } from './embedded-platform.js';
import { ensureSampleDay } from './sample-day.js';
import { apiFetch, registerApi } from './testing/api-fetch.js';
import { waitFor } from './testing/wait.js';

const DAY = { businessDate: '2026-11-20', seed: 11, desks: ['cash', 'program', 'etf'], ordersPerDesk: 60, quotesPerSymbol: 400, symbols: 8 };

/** What a report says, without what differs by construction between two platforms (ids, times, versions). */
type Numbers = Record<string, { headline: unknown; sections: unknown }>;

async function landAndCollect(platform: EmbeddedPlatform, during?: (runIds: () => Promise<string[]>) => Promise<void>): Promise<{ numbers: Numbers; runIds: string[] }> {
  const { detail } = await ensureSampleDay(platform.objects, DAY);
  const events = new EventBridgeClient({ endpoint: platform.eventsUrl, region: 'us-east-1', credentials: platform.credentials.upstream });
  try {
    const out = await events.send(new PutEventsCommand({ Entries: [{ Source: 'com.example.oms', DetailType: DatasetLanded.detailType, Detail: JSON.stringify(detail) }] }));
    expect(out.FailedEntryCount).toBe(0);
    const correlationId = out.Entries![0]!.EventId!;
    const pipelines = platform.pipelinesFor(detail.dataset);
    const runIds = async () => {
      const res = await apiFetch(`${platform.apiUrl}/runs?limit=100`);
      const body = (await res.json()) as { items: Array<{ runId: string; correlationId: string }> };
      return body.items.filter((r) => r.correlationId === correlationId).map((r) => r.runId);
    };
    let ended = false;
    const following = followFlow({ bus: platform.bus, store: platform.store, correlationId, pipelines, print: () => {}, signal: AbortSignal.timeout(240_000) }).finally(() => {
      ended = true;
    });
    if (during) {
      await during(runIds);
      expect(ended, 'the runs ended before the interruption: it did not happen mid-run').toBe(false);
    }
    const flow = await following;
    expect(flow.complete, `flow did not end: ${JSON.stringify(flow.outcomes)}`).toBe(true);
    const numbers: Numbers = {};
    for (const outcome of flow.outcomes) {
      expect(outcome.kind, JSON.stringify(outcome)).toBe('report');
      if (outcome.kind !== 'report') continue;
      const res = await apiFetch(`${platform.apiUrl}/reports/${outcome.detail.data.reportId}`);
      expect(res.status).toBe(200);
      const report = (await res.json()) as { headline: unknown; document: { sections: unknown } };
      numbers[outcome.detail.data.pipeline] = { headline: report.headline, sections: report.document.sections };
    }
    return { numbers, runIds: await runIds() };
  } finally {
    events.destroy();
  }
}

/**
 * Deep equality, with floating-point figures equal to 1e-9 relative: DuckDB's parallel sums may
 * differ in the last bits from one run to the next (a known issue of the analytics, not of the topology).
 */
function expectSameNumbers(actual: unknown, expected: unknown, path = '$'): void {
  if (typeof expected === 'number' && typeof actual === 'number' && !Number.isInteger(expected)) {
    expect(Math.abs(actual - expected), `${path}: ${actual} vs ${expected}`).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(expected)));
    return;
  }
  if (typeof expected === 'string' && typeof actual === 'string') {
    // Object keys under a run's prefix (a section's detail files) name that run: the two topologies' runs differ.
    const anyRun = (s: string) => s.replace(/^runs\/[^/]+\//, 'runs/<run>/');
    expect(anyRun(actual), path).toEqual(anyRun(expected));
    return;
  }
  if (typeof expected !== 'object' || expected === null || typeof actual !== 'object' || actual === null) {
    expect(actual, path).toEqual(expected);
    return;
  }
  expect(Object.keys(actual).sort(), path).toEqual(Object.keys(expected).sort());
  for (const key of Object.keys(expected)) expectSameNumbers((actual as Record<string, unknown>)[key], (expected as Record<string, unknown>)[key], `${path}.${key}`);
}

describe('split topology: ingestion, planner and reporting as three aws-mode processes on the platform AWS APIs', () => {
  let homes: string[] = [];
  const platforms: EmbeddedPlatform[] = [];

  beforeAll(() => {
    homes = [];
  });

  afterAll(async () => {
    for (const p of platforms) await p.stop();
    for (const h of homes) await rm(h, { recursive: true, force: true });
  });

  async function start(topology: 'one-process' | 'split'): Promise<EmbeddedPlatform> {
    const home = await mkdtemp(join(tmpdir(), `nightshift-${topology}-`));
    homes.push(home);
    const platform = await startEmbeddedPlatform({
      home,
      apiPort: 0,
      eventsPort: 0,
      vcpus: 2,
      memoryMiB: 4096,
      topology,
      extraQueues: { [CONSOLE_QUEUE]: CONSOLE_RULES },
      visibilityTimeoutMs: 10_000,
      reconcileIntervalMs: 2_000,
    });
    platforms.push(platform);
    registerApi(platform);
    return platform;
  }

  it('publishes the same reports (numbers equal) as the one-process default, though the planner is killed mid-run and restarted', { timeout: 600_000 }, async () => {
    const reference = await landAndCollect(await start('one-process'));
    expect(Object.keys(reference.numbers).sort()).toEqual(['desk-risk', 'execution-report', 'nightly-tca']);

    const split = await start('split');
    const services = split.services!;
    expect(services).toBeDefined();
    const ingestionPid = services.pid('ingestion');
    const { numbers, runIds } = await landAndCollect(split, async (runIds) => {
      // Mid-run: the runs exist and their jobs were submitted; the planner dies without draining.
      await waitFor(runIds, (ids) => ids.length === 3, { what: 'the three runs of the landing to be planned', timeoutMs: 120_000 });
      expect(await services.stopOne('planner', 'SIGKILL')).toBe(null);
      await services.startOne('planner');
    });
    expectSameNumbers(numbers, reference.numbers);
    expect(services.pid('ingestion')).toBe(ingestionPid);

    // Nothing lost, nothing doubled: three runs, each SUCCEEDED with exactly one report.
    expect(runIds).toHaveLength(3);
    for (const runId of runIds) {
      const run = (await (await apiFetch(`${split.apiUrl}/runs/${runId}`)).json()) as { status: string };
      expect(run.status).toBe('SUCCEEDED');
      const reports = (await (await apiFetch(`${split.apiUrl}/reports?runId=${runId}`)).json()) as { items: unknown[] };
      expect(reports.items).toHaveLength(1);
    }
    // Every message was handled: the services' SQS queues (the bus's queues) are empty, no dead letters.
    for (const queue of ['ingestion', 'planner', 'reporting']) {
      await waitFor(() => split.bus.stats(queue), (s) => s.visible === 0 && s.inFlight === 0, { what: `queue ${queue} to drain`, timeoutMs: 60_000 });
      expect(split.bus.stats(queue).deadLetters).toBe(0);
    }
    // Reporting (aws mode) reads an attempt's log through CloudWatch Logs' API on the gateway;
    // the unmodified SDK clients of the other APIs reach theirs on the same URL.
    const run = (await (await apiFetch(`${split.apiUrl}/runs/${runIds[0]}`)).json()) as { tasks: Array<{ taskId: string }> };
    const log = await apiFetch(`${split.apiUrl}/runs/${runIds[0]}/tasks/${encodeURIComponent(run.tasks[0]!.taskId)}/attempts/1/log`);
    expect(log.status).toBe(200);
    expect(await log.text()).toMatch(/^\d{4}-\d{2}-\d{2}T[\d:.]+Z \{"level":"info",.*"msg":"wrote runs\//m);
    const aws = { endpoint: split.eventsUrl, region: 'us-east-1', credentials: split.credentials.services.reporting };
    const dynamo = new DynamoDBClient(aws);
    const s3 = new S3Client({ ...aws, forcePathStyle: true });
    try {
      expect((await dynamo.send(new DescribeTableCommand({ TableName: 'nightshift' }))).Table?.TableStatus).toBe('ACTIVE');
      const listed = await s3.send(new ListObjectsV2Command({ Bucket: 'nightshift', Prefix: `runs/${runIds[0]}/` }));
      expect(listed.KeyCount).toBeGreaterThan(0);
    } finally {
      dynamo.destroy();
      s3.destroy();
    }

    // SIGTERM (what ECS sends) drains and exits 0.
    expect(await services.stopOne('reporting', 'SIGTERM')).toBe(0);
  });
});
