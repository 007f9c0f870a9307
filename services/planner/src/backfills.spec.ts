import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalComputeEnvironment } from '@nightshift/compute-local';
import {
  backfillDates,
  backfillRunId,
  backfillTriggerEventId,
  isTerminalRunStatus,
  newBackfill,
  noopPipeline,
  type Backfill,
  type BackfillStore,
  type JobStore,
  type Run,
} from '@nightshift/jobs-domain';
import { DynamoDbBackfillStore, DynamoDbJobStore } from '@nightshift/jobs-dynamodb';
// eslint-disable-next-line @nx/enforce-module-boundaries -- the store lib's test fixture (one embedded server per spec file)
import { embeddedTables } from '../../../libs/jobs/dynamodb/src/testing/embedded-tables.js';
import { DirectoryObjectStore } from '@nightshift/storage-local';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BackfillRunner } from './backfills.js';
import { createPlannerCore, type PlannerCore } from './planner-core.js';
import type { RunEngine } from './run-engine.js';
import { eventually, RecordingPublisher } from './testing/planner-harness.js';

/*
 * The backfill runner on the real job store (embedded DynamoDB), a real local compute environment
 * running no-op child processes, and the real engine: what the events and the sweep would call, called
 * directly, so that races and crashes can be staged. End to end (API, bus) in services/host/src/backfills.spec.ts.
 */

const NOOP = noopPipeline('bf', 1, { trigger: 'bf-data' });

/** Thrown in place of what a process that died there never did. */
class SimulatedCrashError extends Error {}

const dynamo = embeddedTables('backfills');
/** Numbers the tests: each one's backfill is `bf-<n>`, unique in this file. */
let testNo = 0;
let dir: string;
let store: JobStore;
let backfills: BackfillStore;
let compute: LocalComputeEnvironment;
let core: PlannerCore;
let runner: BackfillRunner;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nightshift-backfills-'));
  testNo++;
  const tableName = await dynamo.freshTable();
  store = new DynamoDbJobStore(dynamo.client, { tableName });
  backfills = new DynamoDbBackfillStore(dynamo.client, { tableName });
  compute = new LocalComputeEnvironment({
    vcpus: 2,
    memoryMiB: 2048,
    cwd: dir,
    logDir: join(dir, 'logs'),
    emit: async (events) => {
      for (const event of events) await core.engine.onJobStateChange(event.detail);
    },
  });
  core = createPlannerCore(
    { store, objects: new DirectoryObjectStore(join(dir, 'objects')), compute, publisher: new RecordingPublisher(), clock: { now: () => new Date() } },
    {
      pipelines: [NOOP],
      worker: { command: ['true'], environment: {}, jobQueue: 'default', jobDefinition: 'nightshift-worker' },
      submitRetry: { attempts: 3, baseDelayMs: 10 },
      claimTimeoutMs: 60_000,
    },
  );
  runner = new BackfillRunner(backfills, store, core.engine, { now: () => new Date() });
});

afterEach(async () => {
  core.wakes.stop();
  await compute.shutdown();
  await rm(dir, { recursive: true, force: true });
});

/** A backfill of NOOP over [from, to], with datasets registered for `landed` of its dates. */
async function aBackfill(from: string, to: string, concurrency: number, landed: (date: string) => boolean = () => true): Promise<Backfill> {
  const dates = backfillDates('WEEKDAYS', from, to);
  for (const date of dates.filter(landed)) {
    await store.registerDatasetVersion({ dataset: 'bf-data', businessDate: date, files: [], rowCount: 0, partitions: [], manifestKey: `m/${date}.json`, landedEventId: `landed-${date}`, registeredAt: new Date().toISOString() });
  }
  const backfill = newBackfill({ backfillId: `bf-${testNo}`, tenant: 'default', pipeline: NOOP.name, from, to, concurrency, requestedBy: 'test', dates, now: new Date() });
  await backfills.create(backfill);
  return backfill;
}

async function runsOf(backfillId: string): Promise<Run[]> {
  return (await store.listRuns({ correlationId: backfillId, limit: 500 })).items;
}

/** The engine, but the first `startRun` dies before it does anything (the process crashed between recording a date and starting its run). */
function crashingOnFirstStart(engine: RunEngine): RunEngine {
  let crashed = false;
  return new Proxy(engine, {
    get(target, property, receiver) {
      if (property === 'startRun' && !crashed) {
        return () => {
          crashed = true;
          return Promise.reject(new SimulatedCrashError('died before starting the run'));
        };
      }
      const value: unknown = Reflect.get(target, property, receiver);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}

describe('BackfillRunner', () => {
  it('never records or opens more than `concurrency` runs, however many advances race, and finishes every date', async () => {
    const backfill = await aBackfill('2026-01-05', '2026-01-16', 3);
    let maxOpen = 0;
    let maxRecorded = 0;
    const deadline = Date.now() + 60_000;
    for (;;) {
      // Six advances at once, as six deliveries of events to several planner processes would.
      await Promise.all(Array.from({ length: 6 }, () => runner.advance(backfill.backfillId)));
      const [runs, current] = await Promise.all([runsOf(backfill.backfillId), backfills.get(backfill.backfillId)]);
      maxOpen = Math.max(maxOpen, runs.filter((r) => !isTerminalRunStatus(r.status)).length);
      maxRecorded = Math.max(maxRecorded, current!.dates.filter((d) => d.status === 'RUNNING').length);
      if (current!.finishedAt !== undefined) break;
      if (Date.now() > deadline) throw new Error(`the backfill did not finish: ${JSON.stringify(current)}`);
    }
    const done = (await backfills.get(backfill.backfillId))!;
    expect(done.status).toBe('SUCCEEDED');
    expect(done.summary).toBe('SUCCEEDED: 10 dates, 10 succeeded');
    const runs = await runsOf(backfill.backfillId);
    expect(runs.map((r) => r.runId).sort()).toEqual(done.dates.map((d) => d.runId).sort());
    expect(runs.every((r) => r.status === 'SUCCEEDED' && r.backfillId === backfill.backfillId)).toBe(true);
    expect(maxOpen).toBeLessThanOrEqual(3);
    expect(maxRecorded).toBeLessThanOrEqual(3);
  });

  it('starts the run of a date recorded RUNNING by a process that died before starting it, at the next advance (the sweep)', async () => {
    const backfill = await aBackfill('2026-01-05', '2026-01-06', 1);
    const dying = new BackfillRunner(backfills, store, crashingOnFirstStart(core.engine), { now: () => new Date() });
    await expect(dying.advance(backfill.backfillId)).rejects.toBeInstanceOf(SimulatedCrashError);
    const recorded = (await backfills.get(backfill.backfillId))!;
    expect(recorded.dates[0]).toEqual({ date: '2026-01-05', status: 'RUNNING', runId: backfillRunId(backfill, '2026-01-05') });
    expect(await store.getRun(backfillRunId(backfill, '2026-01-05'))).toBeUndefined();

    expect(await runner.sweep()).toEqual({ backfills: 1 });
    expect(await store.getRun(backfillRunId(backfill, '2026-01-05'))).toBeDefined();
    // Each of its runs' ends is an event that advances it; here the test advances it until it has finished.
    const done = await eventually('the backfill to finish', async () => {
      const { backfill: after } = await runner.advance(backfill.backfillId);
      return after?.finishedAt !== undefined ? after : undefined;
    });
    expect(done.status).toBe('SUCCEEDED');
    expect(await runsOf(backfill.backfillId)).toHaveLength(2);
  });

  it('cancelled while a date is recorded but its run not started: that run is recorded FAILED, so a late start runs nothing', async () => {
    const backfill = await aBackfill('2026-01-05', '2026-01-07', 1);
    const dying = new BackfillRunner(backfills, store, crashingOnFirstStart(core.engine), { now: () => new Date() });
    await expect(dying.advance(backfill.backfillId)).rejects.toBeInstanceOf(SimulatedCrashError);

    await runner.cancel(backfill.backfillId, 'not today');
    const runId = backfillRunId(backfill, '2026-01-05');
    expect(await store.getRun(runId)).toMatchObject({ status: 'FAILED', backfillId: backfill.backfillId, reason: expect.stringContaining('before the run started') });
    // The dying process's start, arriving late, finds the run ended: no job.
    const dataset = (await store.latestDatasetVersion('bf-data', '2026-01-05'))!;
    const late = await core.engine.startRun({ pipeline: NOOP, dataset, triggerEventId: backfillTriggerEventId(backfill.backfillId, '2026-01-05'), correlationId: backfill.backfillId, tenant: 'default', backfillId: backfill.backfillId });
    expect(late.status).toBe('FAILED');
    expect(await store.listSteps(runId)).toEqual([]);

    const done = (await runner.advance(backfill.backfillId)).backfill!;
    expect(done).toMatchObject({ status: 'CANCELLED', summary: 'CANCELLED: 3 dates, 0 succeeded, 3 cancelled' });
    expect(done.dates.map((d) => d.status)).toEqual(['CANCELLED', 'CANCELLED', 'CANCELLED']);
    expect(await runsOf(backfill.backfillId)).toHaveLength(1);
  });

  it('reports a date without a dataset as MISSING_DATASET and moves on to the next, without taking a run slot', async () => {
    const backfill = await aBackfill('2026-01-05', '2026-01-07', 1, (d) => d !== '2026-01-05');
    const first = (await runner.advance(backfill.backfillId)).backfill!;
    expect(first.dates.map((d) => d.status)).toEqual(['MISSING_DATASET', 'RUNNING', 'PENDING']);
    expect(first.dates[0]!.reason).toBe('no registered bf-data dataset for 2026-01-05');
  });
});
