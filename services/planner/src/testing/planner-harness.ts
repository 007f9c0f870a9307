import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { BatchJobStateChangeDetail } from '@nightshift/contracts';
import { LocalComputeEnvironment, type LocalComputeEnvironmentOptions } from '@nightshift/compute-local';
import type { EventPublisher, OutgoingEvent } from '@nightshift/events-domain';
import type { ComputeEnvironment, DatasetVersion, JobStore, PipelineDefinition, Run, Task } from '@nightshift/jobs-domain';
import { createDocumentClient, createTable, DynamoDbJobStore, startEmbeddedDynamoDb, type EmbeddedDynamoDb } from '@nightshift/jobs-dynamodb';
import { DirectoryObjectStore } from '@nightshift/storage-local';
import { afterAll, afterEach, beforeAll, beforeEach } from 'vitest';
import { createPlannerCore, type PlannerCore } from '../planner-core.js';

/*
 * Test harness of the planner's core: the real job store on an embedded DynamoDB-compatible server,
 * real child processes in a real local compute environment, a directory object store, and a
 * publisher that keeps what the engine publishes. A "host" is one planner process: its engine and
 * its compute environment, whose events it folds in (or, once crashed, only records).
 */

/** Keeps what the engine publishes, as the durable bus would. */
export class RecordingPublisher implements EventPublisher {
  readonly events: OutgoingEvent[] = [];
  async publish(entries: OutgoingEvent[]): Promise<void> {
    this.events.push(...entries);
  }
  ofType(detailType: string): OutgoingEvent[] {
    return this.events.filter((e) => e.detailType === detailType);
  }
}

export interface Host extends PlannerCore {
  compute: LocalComputeEnvironment;
  /** Every state change the compute environment emitted while the host was alive (and handed to the engine). */
  delivered: BatchJobStateChangeDetail[];
  /** Emitted after the crash, or dropped on purpose: never handled by this host. */
  undelivered: BatchJobStateChangeDetail[];
  crashed: boolean;
  /** Drops (records as undelivered) the events this returns true for, as a lossy bus would. */
  drop?: (detail: BatchJobStateChangeDetail) => boolean;
}

export interface HostOptions {
  pipelines: PipelineDefinition[];
  /** The worker command for steps with an analytic. */
  workerCommand?: string[];
  compute?: Partial<LocalComputeEnvironmentOptions>;
  /** Wraps the compute environment the engine sees (to inject failures of the AWS kind). */
  wrapCompute?: (compute: ComputeEnvironment) => ComputeEnvironment;
  /** Wraps the job store the host's core sees (to make it miss what a test says it lost). */
  wrapStore?: (store: JobStore) => JobStore;
  claimTimeoutMs?: number;
}

export class PlannerHarness {
  dir = '';
  store!: JobStore;
  objects!: DirectoryObjectStore;
  publisher = new RecordingPublisher();
  readonly hosts: Host[] = [];
  private tables = 0;
  private dynamo?: EmbeddedDynamoDb;
  private client?: DynamoDBDocumentClient;

  async startServer(): Promise<void> {
    this.dynamo = await startEmbeddedDynamoDb();
    this.client = createDocumentClient({ endpoint: this.dynamo.endpoint });
  }

  async stopServer(): Promise<void> {
    this.client?.destroy();
    await this.dynamo?.close();
  }

  /** A fresh table, directory and publisher: every test starts from nothing. */
  async reset(): Promise<void> {
    this.dir = await mkdtemp(join(tmpdir(), 'nightshift-planner-'));
    const tableName = `planner-${process.pid}-${++this.tables}`;
    await createTable(this.client!, tableName);
    this.store = new DynamoDbJobStore(this.client!, { tableName });
    this.objects = new DirectoryObjectStore(join(this.dir, 'objects'));
    this.publisher = new RecordingPublisher();
  }

  async cleanup(): Promise<void> {
    for (const host of this.hosts.splice(0)) {
      host.crashed = true;
      await host.compute.shutdown();
    }
    if (this.dir) await rm(this.dir, { recursive: true, force: true });
  }

  startHost(options: HostOptions): Host {
    const compute = new LocalComputeEnvironment({
      vcpus: 2,
      memoryMiB: 2048,
      killGraceMs: 500,
      cwd: this.dir,
      logDir: join(this.dir, 'logs'),
      ...options.compute,
      emit: async (events) => {
        for (const event of events) {
          if (host.crashed || host.drop?.(event.detail)) {
            host.undelivered.push(event.detail);
            continue;
          }
          host.delivered.push(event.detail);
          await host.engine.onJobStateChange(event.detail);
        }
      },
    });
    const core = createPlannerCore(
      {
        store: options.wrapStore ? options.wrapStore(this.store) : this.store,
        objects: this.objects,
        compute: options.wrapCompute ? options.wrapCompute(compute) : compute,
        publisher: this.publisher,
        clock: { now: () => new Date() },
      },
      {
        pipelines: options.pipelines,
        worker: { command: options.workerCommand ?? ['true'], environment: { TEST_DIR: this.dir }, jobQueue: 'default', jobDefinition: 'nightshift-worker' },
        submitRetry: { attempts: 3, baseDelayMs: 10 },
        claimTimeoutMs: options.claimTimeoutMs ?? 60_000,
      },
    );
    const host: Host = { ...core, compute, delivered: [], undelivered: [], crashed: false };
    this.hosts.push(host);
    return host;
  }

  /** The host dies: its children are killed and nothing it emits from now on reaches a planner. */
  async crash(host: Host): Promise<void> {
    host.crashed = true;
    await host.compute.shutdown();
  }

  async registerDataset(partitions: string[], dataset = 'executions'): Promise<DatasetVersion> {
    return this.store.registerDatasetVersion({
      dataset,
      businessDate: '2024-05-02',
      files: [],
      rowCount: 0,
      partitions,
      manifestKey: `datasets/${dataset}/2024-05-02/v1/manifest.json`,
      landedEventId: `landed-${this.tables}-${dataset}`,
      registeredAt: new Date().toISOString(),
    });
  }

  /** The trigger event id `startRun` used last (a redelivery names the same). */
  lastTriggerEventId = '';

  async startRun(host: Host, pipeline: PipelineDefinition, partitions: string[], trigger = 'trigger'): Promise<Run> {
    const dataset = await this.registerDataset(partitions, pipeline.trigger.datasets[0]);
    this.lastTriggerEventId = `${trigger}-${this.tables}`;
    return host.engine.startRun({ pipeline, dataset, triggerEventId: this.lastTriggerEventId, correlationId: `correlation-${this.tables}` });
  }

  async tasksOf(runId: string): Promise<Task[]> {
    const tasks: Task[] = [];
    let nextToken: string | undefined;
    do {
      const page = await this.store.listTasks(runId, nextToken ? { nextToken } : {});
      tasks.push(...page.items);
      nextToken = page.nextToken;
    } while (nextToken);
    return tasks.sort((a, b) => a.step.localeCompare(b.step) || a.arrayIndex - b.arrayIndex);
  }

  async runReaching(runId: string, status: Run['status'], timeoutMs = 30_000): Promise<Run> {
    return eventually(`run ${runId} to be ${status}`, async () => {
      const run = await this.store.getRun(runId);
      return run?.status === status ? run : undefined;
    }, timeoutMs);
  }

  /** Lines the test worker appended to `starts.jsonl` (one per process start). */
  async starts<T = Record<string, string | null>>(): Promise<T[]> {
    const text = await readFile(join(this.dir, 'starts.jsonl'), 'utf8').catch(() => '');
    return text.trim() === '' ? [] : text.trim().split('\n').map((line) => JSON.parse(line) as T);
  }

  marker(name: string): string {
    return join(this.dir, name);
  }
}

/** A harness for the spec file: the embedded DynamoDB runs for the whole file; table, directory and hosts are fresh for each test. */
export function plannerHarnessPerTest(): PlannerHarness {
  const h = new PlannerHarness();
  beforeAll(() => h.startServer());
  afterAll(() => h.stopServer());
  beforeEach(() => h.reset());
  afterEach(() => h.cleanup());
  return h;
}

/** Polls `probe` until it returns a value, failing with `what` after `timeoutMs` (generous: tests run on busy machines). */
export async function eventually<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${String(last)})` : ''}`);
    await sleep(20);
  }
}

/**
 * The test worker: notes how it was started, waits while `wait-<index>` exists, exits with the
 * code in `always-<index>` if that exists, fails with the code in `fail-<index>` once if it exists
 * (removing it), then runs while `hang-<index>` exists (`hang-<index>-alone` for a job resubmitted
 * for one task) and exits 0 when it is gone.
 */
export const WORKER_SCRIPT = `
const fs = require('node:fs');
const path = require('node:path');
const dir = process.env.TEST_DIR;
const index = process.env.NIGHTSHIFT_ARRAY_INDEX ?? process.env.AWS_BATCH_JOB_ARRAY_INDEX ?? '0';
fs.appendFileSync(path.join(dir, 'starts.jsonl'), JSON.stringify({
  index,
  nightshiftIndex: process.env.NIGHTSHIFT_ARRAY_INDEX ?? null,
  awsIndex: process.env.AWS_BATCH_JOB_ARRAY_INDEX ?? null,
  attempt: process.env.AWS_BATCH_JOB_ATTEMPT,
  pid: process.pid,
}) + '\\n');
const main = () => {
  const always = path.join(dir, 'always-' + index);
  if (fs.existsSync(always)) process.exit(Number(fs.readFileSync(always, 'utf8')));
  const failOnce = path.join(dir, 'fail-' + index);
  if (fs.existsSync(failOnce)) { const code = Number(fs.readFileSync(failOnce, 'utf8') || '3'); fs.rmSync(failOnce); process.exit(code); }
  const hang = path.join(dir, 'hang-' + index + (process.env.NIGHTSHIFT_ARRAY_INDEX === undefined ? '' : '-alone'));
  const tick = () => { if (!fs.existsSync(hang)) process.exit(0); setTimeout(tick, 20); };
  tick();
};
const wait = path.join(dir, 'wait-' + index);
const gate = () => (fs.existsSync(wait) ? setTimeout(gate, 20) : main());
gate();
`;

/** The test worker as a step's command. */
export const TEST_WORKER = [process.execPath, '-e', WORKER_SCRIPT];
