import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { RunFailed, RunSucceeded, type BatchJobStateChangeDetail } from '@nightshift/contracts';
import { LocalComputeEnvironment } from '@nightshift/compute-local';
import type { EventPublisher, OutgoingEvent } from '@nightshift/events-domain';
import { definePipeline, type DatasetVersion, type JobStore, type PipelineDefinition, type Run, type Task } from '@nightshift/jobs-domain';
import { createDocumentClient, createTable, DynamoDbJobStore, startEmbeddedDynamoDb, type EmbeddedDynamoDb } from '@nightshift/jobs-dynamodb';
import { DirectoryObjectStore } from '@nightshift/storage-local';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { JOB_PARAM_ARRAY_INDEX, JOB_PARAM_PRIOR_ATTEMPTS, RunEngine } from './run-engine.js';

const REASON = "nightshift host restarted; the job's process was lost";

/*
 * The worker: notes how it was started, fails once if `fail-<index>` exists (removing it), then
 * runs while `hang-<index>` exists (`hang-<index>-alone` for a job resubmitted for one task) and
 * exits 0 when it is gone.
 */
const WORKER_SCRIPT = `
const fs = require('node:fs');
const path = require('node:path');
const dir = process.env.TEST_DIR;
const index = process.env.NIGHTSHIFT_ARRAY_INDEX ?? process.env.AWS_BATCH_JOB_ARRAY_INDEX ?? '0';
fs.appendFileSync(path.join(dir, 'starts.jsonl'), JSON.stringify({
  index,
  nightshiftIndex: process.env.NIGHTSHIFT_ARRAY_INDEX ?? null,
  awsIndex: process.env.AWS_BATCH_JOB_ARRAY_INDEX ?? null,
  attempt: process.env.AWS_BATCH_JOB_ATTEMPT,
}) + '\\n');
const failOnce = path.join(dir, 'fail-' + index);
if (fs.existsSync(failOnce)) { fs.rmSync(failOnce); process.exit(3); }
const hang = path.join(dir, 'hang-' + index + (process.env.NIGHTSHIFT_ARRAY_INDEX === undefined ? '' : '-alone'));
const tick = () => { if (!fs.existsSync(hang)) process.exit(0); setTimeout(tick, 20); };
tick();
`;

interface Start {
  index: string;
  nightshiftIndex: string | null;
  awsIndex: string | null;
  attempt: string;
}

/** Keeps what the engine publishes, as the durable bus would. */
class RecordingPublisher implements EventPublisher {
  readonly events: OutgoingEvent[] = [];
  async publish(entries: OutgoingEvent[]): Promise<void> {
    this.events.push(...entries);
  }
  ofType(detailType: string): OutgoingEvent[] {
    return this.events.filter((e) => e.detailType === detailType);
  }
}

/** One planner host: an engine with its own compute environment, whose events it folds in. */
interface Host {
  engine: RunEngine;
  compute: LocalComputeEnvironment;
  /** Every event the compute environment emitted while the host was alive (and handed to the engine). */
  delivered: BatchJobStateChangeDetail[];
  /** Events emitted after the crash: on the bus, never handled by this host. */
  undelivered: BatchJobStateChangeDetail[];
  crashed: boolean;
}

let dynamo: EmbeddedDynamoDb;
let client: DynamoDBDocumentClient;
let tables = 0;

let dir: string;
let store: JobStore;
let objects: DirectoryObjectStore;
let publisher: RecordingPublisher;
const hosts: Host[] = [];

beforeAll(async () => {
  dynamo = await startEmbeddedDynamoDb();
  client = createDocumentClient({ endpoint: dynamo.endpoint });
});

afterAll(async () => {
  client?.destroy();
  await dynamo?.close();
});

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nightshift-recovery-'));
  // A table per test: recovery looks at every run in the table.
  const tableName = `recovery-${process.pid}-${++tables}`;
  await createTable(client, tableName);
  store = new DynamoDbJobStore(client, { tableName });
  objects = new DirectoryObjectStore(join(dir, 'objects'));
  publisher = new RecordingPublisher();
});

afterEach(async () => {
  for (const host of hosts.splice(0)) {
    host.crashed = true;
    await host.compute.shutdown();
  }
  await rm(dir, { recursive: true, force: true });
});

function pipelineOf(fanOut: 'single' | 'partitions', attempts: number): PipelineDefinition {
  return definePipeline({
    name: `recovery-${fanOut}`,
    description: 'a worker that can be made to hang',
    trigger: { datasets: ['executions'] },
    steps: [{ name: 'crunch', analytic: 'noop', fanOut, vcpus: 0.25, memoryMiB: 64, attempts, timeoutSeconds: 60 }],
  });
}

function startHost(pipeline: PipelineDefinition): Host {
  const compute = new LocalComputeEnvironment({
    vcpus: 2,
    memoryMiB: 1024,
    killGraceMs: 500,
    cwd: dir,
    emit: async (event) => {
      if (host.crashed) {
        host.undelivered.push(event.detail);
        return;
      }
      host.delivered.push(event.detail);
      await host.engine.onJobStateChange(event.detail);
    },
  });
  const engine = new RunEngine(
    store,
    objects,
    compute,
    publisher,
    [pipeline],
    { command: [process.execPath, '-e', WORKER_SCRIPT], environment: { TEST_DIR: dir }, jobQueue: 'default', jobDefinition: 'nightshift-worker' },
    { now: () => new Date() },
  );
  const host: Host = { engine, compute, delivered: [], undelivered: [], crashed: false };
  hosts.push(host);
  return host;
}

/** The host dies: its children are killed and nothing it emits from now on reaches a planner. */
async function crash(host: Host): Promise<void> {
  host.crashed = true;
  await host.compute.shutdown();
}

async function registerDataset(partitions: string[]): Promise<DatasetVersion> {
  return store.registerDatasetVersion({
    dataset: 'executions',
    businessDate: '2024-05-02',
    files: [],
    rowCount: 0,
    partitions,
    manifestKey: 'datasets/executions/2024-05-02/v1/manifest.json',
    landedEventId: `landed-${tables}`,
    registeredAt: new Date().toISOString(),
  });
}

async function startRun(host: Host, pipeline: PipelineDefinition, partitions: string[]): Promise<Run> {
  const dataset = await registerDataset(partitions);
  return host.engine.startRun({ pipeline, dataset, triggerEventId: `trigger-${tables}`, correlationId: `correlation-${tables}` });
}

async function eventually<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

async function tasksOf(runId: string): Promise<Task[]> {
  return (await store.listTasks(runId)).sort((a, b) => a.arrayIndex - b.arrayIndex);
}

async function runReaching(runId: string, status: Run['status']): Promise<Run> {
  return eventually(`run ${runId} to be ${status}`, async () => {
    const run = await store.getRun(runId);
    return run?.status === status ? run : undefined;
  });
}

async function starts(): Promise<Start[]> {
  const text = await readFile(join(dir, 'starts.jsonl'), 'utf8').catch(() => '');
  if (text.trim() === '') return [];
  return text
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as Start);
}

const marker = (name: string) => join(dir, name);

/** RUNNING is reported once the process is spawned; this waits until the script itself has begun. */
async function workerStarted(count: number): Promise<void> {
  await eventually(`${count} worker start(s)`, async () => ((await starts()).length >= count ? true : undefined));
}

describe('RunEngine.recoverLostTasks after a host restart', () => {
  it('records the lost attempt with the reason, resubmits the task, and the run succeeds', async () => {
    const pipeline = pipelineOf('single', 2);
    await writeFile(marker('hang-0'), '');
    await writeFile(marker('hang-0-alone'), '');
    const a = startHost(pipeline);
    const run = await startRun(a, pipeline, ['emea-cash']);
    await eventually('the task to run', async () => ((await tasksOf(run.runId))[0]?.status === 'RUNNING' ? true : undefined));
    await workerStarted(1);
    const lostJobId = (await tasksOf(run.runId))[0]!.jobId;
    // The worst case for late events: the job even finished, but the host died before the planner
    // handled its SUCCEEDED, which stays queued.
    a.crashed = true;
    await rm(marker('hang-0'));
    await a.compute.idle();
    expect(a.undelivered.map((d) => d.status)).toEqual(['SUCCEEDED']);
    await crash(a);

    const b = startHost(pipeline);
    expect(await b.engine.recoverLostTasks(REASON)).toEqual({ resubmitted: 1, failed: 0 });
    const rerun = await eventually('the resubmitted job to run', async () => {
      const [t] = await tasksOf(run.runId);
      return t?.status === 'RUNNING' && t.jobId === b.delivered[0]?.jobId ? t : undefined;
    });

    // The lost job's queued events arrive now: they are stale, the task belongs to the new job.
    for (const detail of [...a.delivered.filter((d) => d.status === 'RUNNING'), ...a.undelivered]) {
      expect(await b.engine.onJobStateChange(detail)).toBe('stale');
    }
    expect((await tasksOf(run.runId))[0]).toEqual(rerun);

    await rm(marker('hang-0-alone'));
    const done = await runReaching(run.runId, 'SUCCEEDED');
    await b.compute.idle();

    const [task] = await tasksOf(run.runId);
    expect(task!.status).toBe('SUCCEEDED');
    expect(task!.attempts).toHaveLength(2);
    expect(task!.attempts[0]).toMatchObject({ attempt: 1, statusReason: REASON });
    expect(task!.attempts[0]!.exitCode).toBeUndefined();
    expect(task!.attempts[1]).toMatchObject({ attempt: 2, exitCode: 0 });
    const newJobId = b.delivered[0]!.jobId;
    expect(task!.jobId).toBe(newJobId);
    expect(newJobId).not.toBe(lostJobId);
    expect(b.delivered.every((d) => d.jobId === newJobId && d.parameters[JOB_PARAM_PRIOR_ATTEMPTS] === '1' && d.parameters[JOB_PARAM_ARRAY_INDEX] === '0')).toBe(true);
    // The new job's own attempt is its first (AWS Batch counts per job); the task counts on.
    expect((await starts()).map((s) => [s.attempt, s.nightshiftIndex, s.awsIndex])).toEqual([
      ['1', null, null],
      ['1', '0', null],
    ]);

    expect(done.status).toBe('SUCCEEDED');
    expect(publisher.ofType(RunSucceeded.detailType)).toHaveLength(1);
    expect(publisher.ofType(RunFailed.detailType)).toHaveLength(0);
  });

  it('fails the task and the run with the reason when the lost attempt was the last', async () => {
    const pipeline = pipelineOf('single', 2);
    await writeFile(marker('fail-0'), '');
    await writeFile(marker('hang-0'), '');
    const a = startHost(pipeline);
    const run = await startRun(a, pipeline, ['emea-cash']);
    // Attempt 1 exits 3, attempt 2 hangs.
    await eventually('the second attempt to run', async () => {
      const [t] = await tasksOf(run.runId);
      return t?.status === 'RUNNING' && t.attempts.length === 1 ? true : undefined;
    });
    await workerStarted(2);
    await crash(a);

    const b = startHost(pipeline);
    expect(await b.engine.recoverLostTasks(REASON)).toEqual({ resubmitted: 0, failed: 1 });

    const [task] = await tasksOf(run.runId);
    expect(task!.status).toBe('FAILED');
    expect(task!.statusReason).toBe(REASON);
    expect(task!.attempts.map((x) => [x.attempt, x.exitCode, x.statusReason])).toEqual([
      [1, 3, 'Essential container in task exited'],
      [2, undefined, REASON],
    ]);
    const failedRun = await store.getRun(run.runId);
    expect(failedRun?.status).toBe('FAILED');
    expect(failedRun?.reason).toContain(REASON);
    const runFailed = publisher.ofType(RunFailed.detailType);
    expect(runFailed).toHaveLength(1);
    const data = (runFailed[0]!.detail as { data: { reason: string; failedTask?: { attempts: number; statusReason?: string } } }).data;
    expect(data.reason).toContain(REASON);
    expect(data.failedTask).toMatchObject({ attempts: 2, statusReason: REASON });
    expect(publisher.ofType(RunSucceeded.detailType)).toHaveLength(0);
    // Nothing was resubmitted.
    expect(b.delivered).toEqual([]);
    expect(await starts()).toHaveLength(2);
  });

  it('resubmits a lost task once, however often recovery is called', async () => {
    const pipeline = pipelineOf('single', 3);
    await writeFile(marker('hang-0'), '');
    const a = startHost(pipeline);
    const run = await startRun(a, pipeline, ['emea-cash']);
    await eventually('the task to run', async () => ((await tasksOf(run.runId))[0]?.status === 'RUNNING' ? true : undefined));
    await workerStarted(1);
    await crash(a);

    const b = startHost(pipeline);
    const concurrent = await Promise.all([b.engine.recoverLostTasks(REASON), b.engine.recoverLostTasks(REASON)]);
    const again = await b.engine.recoverLostTasks(REASON);
    expect([...concurrent, again].reduce((n, r) => n + r.resubmitted, 0)).toBe(1);
    expect([...concurrent, again].reduce((n, r) => n + r.failed, 0)).toBe(0);

    await rm(marker('hang-0'));
    await runReaching(run.runId, 'SUCCEEDED');
    await b.compute.idle();
    expect(new Set(b.delivered.map((d) => d.jobId)).size).toBe(1);
    expect(await starts()).toHaveLength(2);
    const [task] = await tasksOf(run.runId);
    expect(task!.attempts.map((x) => x.statusReason)).toEqual([REASON, 'Essential container in task exited']);
    expect(publisher.ofType(RunSucceeded.detailType)).toHaveLength(1);
  });

  it('resubmits only the lost child of an array step, with its array index', async () => {
    const pipeline = pipelineOf('partitions', 2);
    await writeFile(marker('hang-1'), '');
    const a = startHost(pipeline);
    const run = await startRun(a, pipeline, ['apac-cash', 'emea-cash']);
    await eventually('child 0 done and child 1 running', async () => {
      const [t0, t1] = await tasksOf(run.runId);
      return t0?.status === 'SUCCEEDED' && t1?.status === 'RUNNING' ? true : undefined;
    });
    await workerStarted(2);
    const [before0] = await tasksOf(run.runId);
    await crash(a);

    const b = startHost(pipeline);
    expect(await b.engine.recoverLostTasks(REASON)).toEqual({ resubmitted: 1, failed: 0 });
    await rm(marker('hang-1'));
    await runReaching(run.runId, 'SUCCEEDED');
    await b.compute.idle();

    // One single (non-array) job, for index 1 only.
    expect(new Set(b.delivered.map((d) => d.jobId)).size).toBe(1);
    for (const d of b.delivered) {
      expect(d.arrayProperties?.index).toBeUndefined();
      expect(d.parameters[JOB_PARAM_ARRAY_INDEX]).toBe('1');
      expect(d.parameters[JOB_PARAM_PRIOR_ATTEMPTS]).toBe('1');
    }
    const resubmittedStart = (await starts()).at(-1);
    expect(resubmittedStart).toEqual({ index: '1', nightshiftIndex: '1', awsIndex: null, attempt: '1' });

    const [t0, t1] = await tasksOf(run.runId);
    expect(t0).toEqual(before0);
    expect(t1!.partition).toBe('emea-cash');
    expect(t1!.status).toBe('SUCCEEDED');
    expect(t1!.attempts.map((x) => [x.attempt, x.exitCode, x.statusReason])).toEqual([
      [1, undefined, REASON],
      [2, 0, 'Essential container in task exited'],
    ]);
    expect(publisher.ofType(RunSucceeded.detailType)).toHaveLength(1);
  });
});

describe('RunEngine.failUnplannable on a redelivered trigger', () => {
  it('never fails a run that an earlier delivery of the same trigger planned and started', async () => {
    const pipeline = pipelineOf('single', 1);
    const host = startHost(pipeline);
    await writeFile(marker('hang-0'), '');
    const run = await startRun(host, pipeline, ['emea-cash']);
    await workerStarted(1);
    // The second delivery of the same trigger now resolves to something unplannable (say, a newer dataset version lacking a table).
    await host.engine.failUnplannable({ pipeline: pipeline.name, businessDate: run.businessDate, triggerEventId: `trigger-${tables}`, correlationId: run.correlationId, reason: 'lacks prices' });
    expect(publisher.ofType(RunFailed.detailType)).toEqual([]);
    expect((await store.getRun(run.runId))?.status).toBe('RUNNING');
    await rm(marker('hang-0'));
    expect((await runReaching(run.runId, 'SUCCEEDED')).reason).toBeUndefined();
    expect(publisher.ofType(RunFailed.detailType)).toEqual([]);
  });

  it('says again what is stored when the same unplannable trigger is delivered twice', async () => {
    const host = startHost(pipelineOf('single', 1));
    const args = { pipeline: 'no-such', businessDate: '2024-05-02', triggerEventId: 'request-1', correlationId: 'request-1' };
    await host.engine.failUnplannable({ ...args, reason: 'unknown pipeline "no-such"' });
    await sleep(5);
    await host.engine.failUnplannable({ ...args, reason: 'a different reason on the second delivery' });
    const [first, second] = publisher.ofType(RunFailed.detailType).map((e) => RunFailed.detail.parse(e.detail));
    // The same event (same id, the stored run's data); only its occurredAt is the second publish's.
    expect(second!.data).toEqual(first!.data);
    expect(second!.metadata.eventId).toBe(first!.metadata.eventId);
    expect(first!.data.reason).toBe('unknown pipeline "no-such"');
    expect((await store.listRuns()).map((r) => [r.status, r.reason])).toEqual([['FAILED', 'unknown pipeline "no-such"']]);
  });
});
