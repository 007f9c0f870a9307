import { PutEventsCommand, type EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { backfillAcceptedSchema, backfillSchema, runsPageSchema, type BackfillResource, type RunResource } from '@nightshift/api-contract';
import { DatasetLanded, type DatasetLandedDetail } from '@nightshift/contracts';
import { businessDaysBetween, definePipeline, noopPipeline } from '@nightshift/jobs-domain';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EmbeddedPlatform } from './embedded-platform.js';
import { apiFetch } from './testing/api-fetch.js';
import { startTestPlatform, type TestPlatform } from './testing/test-platform.js';
import { waitFor } from './testing/wait.js';

/*
 * Backfills on the real embedded platform: the REST API records them, the planner runs them
 * through the bus, the local compute environment runs their jobs as child processes, all state in
 * the embedded DynamoDB. Each test stands alone (its own pipeline or dates): run any with -t.
 */

/** One no-op task per run: a run takes about as long as the control plane does. */
const NOOP = noopPipeline('backfill-noop', 1, { trigger: 'backfill-data' });
/** One task that runs until stopped: its backfill's dates stay RUNNING until cancelled. */
const HOLD = definePipeline({
  name: 'backfill-hold',
  description: 'test: a task that runs until stopped',
  trigger: { datasets: ['backfill-hold-data'] },
  steps: [{ name: 'hold', command: ['sleep', '600'], fanOut: 'single', vcpus: 0.25, memoryMiB: 64, attempts: 1, timeoutSeconds: 900 }],
});

let started: TestPlatform | undefined;
let platform: EmbeddedPlatform;
let events: EventBridgeClient;

beforeAll(async () => {
  started = await startTestPlatform({ prefix: 'nightshift-backfills-', vcpus: 4, extraPipelines: [NOOP, HOLD], reconcileIntervalMs: 2_000 });
  ({ platform, events } = started);
});

afterAll(() => started?.stop());

async function api<T>(path: string, init: { method?: string; body?: unknown; headers?: Record<string, string> } = {}): Promise<{ status: number; body: T; text: string }> {
  const res = await apiFetch(`${platform.apiUrl}${path}`, {
    method: init.method ?? 'GET',
    headers: { ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}), ...init.headers },
    ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, body: (text === '' ? undefined : JSON.parse(text)) as T, text };
}

async function getBackfill(id: string): Promise<BackfillResource> {
  return backfillSchema.parse((await api(`/backfills/${id}`)).body);
}

/** Every run a query lists, following its cursors. */
async function allRuns(query: string): Promise<RunResource[]> {
  const runs: RunResource[] = [];
  let cursor: string | undefined;
  do {
    const page = runsPageSchema.parse((await api(`/runs?${query}&limit=500${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`)).body);
    runs.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor);
  return runs;
}

/** Lands one small prices file as `dataset` of each date (through S3-compatible storage and PutEvents, as an upstream system does); resolves when every landing was accepted. */
async function land(dataset: string, dates: readonly string[]): Promise<void> {
  const entries = [];
  for (const date of dates) {
    const key = `landing/${dataset}/prices/business_date=${date}/prices.csv`;
    await platform.objects.put(key, `date,symbol,open,high,low,close,volume\n${date},XYZ,10,11,9,10.5,1000\n`);
    const detail: DatasetLandedDetail = { dataset, businessDate: date, files: [{ table: 'prices', key }] };
    entries.push({ Source: 'com.example.oms', DetailType: DatasetLanded.detailType, Detail: JSON.stringify(detail) });
  }
  const ids: string[] = [];
  for (let i = 0; i < entries.length; i += 10) {
    const out = await events.send(new PutEventsCommand({ Entries: entries.slice(i, i + 10) }));
    expect(out.FailedEntryCount ?? 0).toBe(0);
    ids.push(...out.Entries!.map((e) => e.EventId!));
  }
  await waitFor(
    async () => Promise.all(ids.map(async (id) => (await api<{ status?: string }>(`/landings/${id}`)).body.status)),
    (statuses) => statuses.every((s) => s === 'ACCEPTED'),
    { what: `${ids.length} landings of ${dataset} to be accepted`, timeoutMs: 120_000, intervalMs: 200 },
  );
}

/** Registers a version of `dataset` for each date straight in the job store: no landing, so no run is started by it. */
async function register(dataset: string, dates: readonly string[]): Promise<void> {
  for (const date of dates) {
    await platform.store.registerDatasetVersion({
      dataset,
      businessDate: date,
      files: [{ table: 'prices', key: `landing/${dataset}/${date}/prices.csv`, rows: 1, checksum: 'a'.repeat(64), bytes: 10 }],
      rowCount: 1,
      partitions: [],
      manifestKey: `datasets/${dataset}/${date}/manifest.json`,
      landedEventId: `registered-${dataset}-${date}`,
      registeredAt: new Date().toISOString(),
    });
  }
}

/** The most intervals [start, end) open at one instant. */
function maxOverlap(intervals: ReadonlyArray<{ start: number; end: number }>): number {
  // Ends sort before starts at the same instant: a run that finished as another was created did not overlap it.
  const points = intervals.flatMap((i) => [{ at: i.start, delta: 1 }, { at: i.end, delta: -1 }]).sort((a, b) => a.at - b.at || a.delta - b.delta);
  let open = 0;
  let max = 0;
  for (const p of points) max = Math.max(max, (open += p.delta));
  return max;
}

describe('backfills on the embedded platform', () => {
  it('runs a 20-date backfill with concurrency 3: never more than 3 runs open, 19 succeed, the date without a dataset is reported', async () => {
    const dates = businessDaysBetween('WEEKDAYS', '2026-02-02', '2026-02-27');
    expect(dates).toHaveLength(20);
    const missing = '2026-02-11';
    await land('backfill-data', dates.filter((d) => d !== missing));
    // The landings start runs of their own: let them finish, so every open run from now on is the backfill's.
    await waitFor(
      () => allRuns(`pipeline=${NOOP.name}`),
      (runs) => runs.length === 19 && runs.every((r) => r.status === 'SUCCEEDED'),
      { what: "the landings' own 19 runs to succeed", timeoutMs: 180_000, intervalMs: 250 },
    );

    const started = Date.now();
    const accepted = await api('/backfills', { method: 'POST', body: { pipeline: NOOP.name, from: '2026-02-02', to: '2026-02-27', concurrency: 3 } });
    expect(accepted.status, accepted.text).toBe(202);
    const { backfillId, total, status } = backfillAcceptedSchema.parse(accepted.body);
    expect({ total, status }).toEqual({ total: 20, status: 'RUNNING' });

    // Sampled while it runs: the API's open runs of the pipeline, and the backfill's own count of them.
    let sampledOpen = 0;
    let sampledRunning = 0;
    let samples = 0;
    const finished = await waitFor(
      async () => {
        const [open, backfill] = await Promise.all([allRuns(`status=PENDING,RUNNING&pipeline=${NOOP.name}`), getBackfill(backfillId)]);
        samples += 1;
        sampledOpen = Math.max(sampledOpen, open.length);
        sampledRunning = Math.max(sampledRunning, backfill.counts.RUNNING);
        return backfill;
      },
      (b) => b.finishedAt !== undefined,
      { what: 'the backfill to finish', timeoutMs: 240_000, intervalMs: 20 },
    );
    const elapsedMs = Date.now() - started;

    expect(finished.status).toBe('FAILED');
    expect(finished.counts).toEqual({ PENDING: 0, RUNNING: 0, SUCCEEDED: 19, FAILED: 0, MISSING_DATASET: 1, CANCELLED: 0 });
    expect(finished.dates.map((d) => d.date)).toEqual(dates);
    expect(finished.dates.find((d) => d.date === missing)).toEqual({ date: missing, status: 'MISSING_DATASET', reason: `no registered backfill-data dataset for ${missing}` });
    expect(finished.summary).toBe(`FAILED: 20 dates, 19 succeeded, 1 missing a dataset (${missing})`);

    // The runs themselves: one per landed date, each of the backfill, and their recorded lifetimes overlap 3 at most.
    const runs = await allRuns(`correlationId=${backfillId}`);
    expect(runs).toHaveLength(19);
    expect(runs.every((r) => r.status === 'SUCCEEDED' && (r as { backfillId?: string }).backfillId === backfillId)).toBe(true);
    expect(runs.map((r) => r.businessDate).sort()).toEqual(dates.filter((d) => d !== missing));
    expect(new Set(runs.map((r) => r.runId))).toEqual(new Set(finished.dates.flatMap((d) => (d.runId ? [d.runId] : []))));
    const overlap = maxOverlap(runs.map((r) => ({ start: Date.parse(r.createdAt), end: Date.parse(r.finishedAt!) })));
    expect(overlap).toBeLessThanOrEqual(3);
    // It did run dates side by side: the first advance starts three at once.
    expect(overlap).toBeGreaterThanOrEqual(2);
    expect(sampledOpen).toBeLessThanOrEqual(3);
    expect(sampledRunning).toBeLessThanOrEqual(3);
    expect(samples).toBeGreaterThan(1);
    console.log(`backfill of 20 dates (concurrency 3): ${elapsedMs} ms; max overlap of its runs ${overlap}; ${samples} samples, at most ${sampledOpen} open runs seen`);
  }, 420_000);

  it('answers the same backfill to a retried Idempotency-Key, and 409 to an overlapping backfill while it is open, naming it', async () => {
    const dates = businessDaysBetween('WEEKDAYS', '2026-03-02', '2026-03-06');
    await register('backfill-hold-data', dates);
    const key = { 'idempotency-key': 'backfill-march' };
    const body = { pipeline: HOLD.name, from: '2026-03-02', to: '2026-03-06', concurrency: 2 };
    const first = await api<{ backfillId: string }>('/backfills', { method: 'POST', body, headers: key });
    const again = await api<{ backfillId: string }>('/backfills', { method: 'POST', body: { ...body }, headers: key });
    expect([first.status, again.status]).toEqual([202, 202]);
    expect(again.body.backfillId).toBe(first.body.backfillId);
    const id = first.body.backfillId;
    expect((await api('/backfills', { method: 'POST', body: { ...body, concurrency: 1 }, headers: key })).status).toBe(422);

    const overlapping = await api<{ type: string; detail: string; problems: Array<{ path: string }> }>('/backfills', { method: 'POST', body: { pipeline: HOLD.name, from: '2026-03-05', to: '2026-03-13' } });
    expect(overlapping.status).toBe(409);
    expect(overlapping.body.detail).toContain(id);
    expect(overlapping.body.problems[0]?.path).toBe('body.from');
    // Another pipeline over the same dates is no overlap.
    const other = await api<{ backfillId: string }>('/backfills', { method: 'POST', body: { pipeline: NOOP.name, from: '2026-03-02', to: '2026-03-06' } });
    expect(other.status).toBe(202);

    // One run per date at most two at a time: the retry started nothing twice.
    const running = await waitFor(() => getBackfill(id), (b) => b.counts.RUNNING === 2, { what: 'two dates running', timeoutMs: 60_000 });
    expect(running.counts.PENDING).toBe(3);
    // A date is recorded RUNNING before its run is started: the runs follow the record.
    await waitFor(() => allRuns(`correlationId=${id}`), (runs) => runs.length === 2, { what: 'the two runs to exist' });

    // Once it is over (cancelled here), the range is free again.
    expect((await api(`/backfills/${id}/cancel`, { method: 'POST', body: {} })).status).toBe(202);
    await waitFor(() => getBackfill(id), (b) => b.finishedAt !== undefined, { what: 'the cancelled backfill to settle', timeoutMs: 60_000 });
    const after = await api<{ backfillId: string }>('/backfills', { method: 'POST', body: { pipeline: HOLD.name, from: '2026-03-09', to: '2026-03-13' } });
    expect(after.status).toBe(202);
    // No dataset for those dates: they finish at once, MISSING_DATASET, and leave no run behind.
    await waitFor(() => getBackfill(after.body.backfillId), (b) => b.status === 'FAILED' && b.counts.MISSING_DATASET === 5, { what: 'the backfill without datasets to finish' });
    const free = await api<{ backfillId: string }>('/backfills', { method: 'POST', body: { pipeline: HOLD.name, from: '2026-03-02', to: '2026-03-06' } });
    expect(free.status, free.text).toBe(202);
    expect((await api(`/backfills/${free.body.backfillId}/cancel`, { method: 'POST', body: {} })).status).toBe(202);
    await waitFor(() => getBackfill(free.body.backfillId), (b) => b.finishedAt !== undefined, { what: 'the second backfill, cancelled, to settle', timeoutMs: 60_000 });
  }, 180_000);

  it('cancels: waiting dates CANCELLED, open runs stopped and CANCELLED, no new run started; a second cancel is 409', async () => {
    const dates = businessDaysBetween('WEEKDAYS', '2026-04-06', '2026-04-10');
    await register('backfill-hold-data', dates);
    const accepted = await api<{ backfillId: string }>('/backfills', { method: 'POST', body: { pipeline: HOLD.name, from: '2026-04-06', to: '2026-04-10', concurrency: 2 } });
    expect(accepted.status).toBe(202);
    const id = accepted.body.backfillId;
    await waitFor(
      async () => (await allRuns(`correlationId=${id}`)).filter((r) => r.status === 'RUNNING'),
      (runs) => runs.length === 2,
      { what: "the backfill's first two runs to be RUNNING", timeoutMs: 60_000 },
    );

    const cancel = await api<{ backfillId: string; location: string }>(`/backfills/${id}/cancel`, { method: 'POST', body: { reason: 'wrong range' } });
    expect(cancel.status).toBe(202);
    expect(cancel.body).toEqual({ backfillId: id, location: `/backfills/${id}` });
    const done = await waitFor(() => getBackfill(id), (b) => b.finishedAt !== undefined, { what: 'the cancelled backfill to settle', timeoutMs: 60_000 });
    expect(done.status).toBe('CANCELLED');
    expect(done.counts).toEqual({ PENDING: 0, RUNNING: 0, SUCCEEDED: 0, FAILED: 0, MISSING_DATASET: 0, CANCELLED: 5 });
    expect(done.dates.slice(0, 2).every((d) => d.runId !== undefined && d.reason?.includes(`backfill ${id} cancelled`))).toBe(true);
    expect(done.dates.slice(2).every((d) => d.runId === undefined && d.reason?.startsWith('wrong range'))).toBe(true);
    expect(done.summary).toBe('CANCELLED: 5 dates, 0 succeeded, 5 cancelled');

    const runs = await allRuns(`correlationId=${id}`);
    expect(runs).toHaveLength(2);
    expect(runs.every((r) => r.status === 'FAILED' && r.reason?.startsWith('cancelled: '))).toBe(true);
    // Their jobs were stopped: nothing of the backfill still runs on the compute environment.
    const runningJobs = async () => (await Promise.all(['nightshift-high', 'nightshift-default'].map((jobQueue) => platform.compute.listJobs({ jobQueue, jobStatus: 'RUNNING' })))).flat();
    await waitFor(runningJobs, (jobs) => jobs.length === 0, { what: "the cancelled runs' jobs to stop", timeoutMs: 60_000 });

    const again = await api<{ type: string }>(`/backfills/${id}/cancel`, { method: 'POST', body: {} });
    expect(again.status).toBe(409);
    expect(again.body.type).toBe('urn:nightshift:problem:conflict');
    // Finished: nothing advances it any more (events and sweeps alike read it finished), so its two runs stay the only ones.
    expect(await allRuns(`correlationId=${id}`)).toHaveLength(2);
  }, 180_000);

  it('refuses what cannot run, naming the field: an unknown pipeline (404), a reversed range, a weekend, over 10 years (400)', async () => {
    const post = (body: unknown) => api<{ status: number; problems?: Array<{ path: string }> }>('/backfills', { method: 'POST', body });
    expect((await post({ pipeline: 'nope', from: '2026-05-04', to: '2026-05-08' })).status).toBe(404);
    for (const [body, path] of [
      [{ pipeline: NOOP.name, from: '2026-05-08', to: '2026-05-04' }, 'body.from'],
      [{ pipeline: NOOP.name, from: '2026-05-09', to: '2026-05-10' }, 'body.from'],
      [{ pipeline: NOOP.name, from: '2010-01-04', to: '2026-05-08' }, 'body.to'],
      [{ pipeline: NOOP.name, from: '2026-05-04', to: '2026-05-08', concurrency: 51 }, 'body.concurrency'],
      [{ pipeline: NOOP.name, from: '2026-05-04', to: '2026-05-08', dates: [] }, 'body'],
    ] as const) {
      const refused = await post(body);
      expect(refused.status, JSON.stringify(body)).toBe(400);
      expect(refused.body.problems?.map((p) => p.path)).toContain(path);
    }
    expect((await api('/backfills?pipeline=nope')).body).toEqual({ items: [] });
  });
});
