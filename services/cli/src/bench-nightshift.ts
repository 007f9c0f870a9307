import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { signSigV4 } from '@nightshift/aws-wire';
import { DatasetLanded, DatasetRejected, ReportPublished, RunFailed, type RuleDefinition } from '@nightshift/contracts';
// The bench drives the embedded platform as composed for `npm start`, not a copy of it: the one app
// that may depend on the host app, for this measurement only (nothing else in the CLI loads it).
// eslint-disable-next-line @nx/enforce-module-boundaries -- the bench measures the host's composition itself
import type { EmbeddedPlatform } from '@nightshift/host';
import { NOOP_STEP, noopPipeline, type PipelineDefinition } from '@nightshift/jobs-domain';
import { childProcesses, cpuSample, type HelperProcess, cpuSince, type LatencyFigure, percentiles, PLATFORM_VCPUS, STEP_VCPUS, type TaskShape, type ThroughputFigure, writesSince } from './bench-stats.js';
import { BenchCheckFailedError, BenchTimeoutError } from './errors.js';

/**
 * The nightshift side of the control-plane bench: the embedded platform in this process (its
 * DynamoDB-compatible server is its child process), runs started by events exactly as an upstream
 * system starts them, each task a `true` process started by the local compute environment.
 */

const ONE_TASK = 'bench-one';
const BUSINESS_DATE = '2026-01-02';
const PRICES_KEY = `landing/bench/prices/business_date=${BUSINESS_DATE}/part-0.csv`;
/** Ingestion validates every landed file with DuckDB: one tiny valid prices file serves every landing. */
const PRICES_CSV = 'date,symbol,open,high,low,close,volume\n2026-01-02,XYZ,10,11,9,10.5,1000\n';

/** The bench's own queue on the bus: how each run ended (a report, a failure, a rejected landing). */
const OUTCOME_QUEUE = 'bench-outcomes';
const OUTCOME_RULES: readonly RuleDefinition[] = [
  {
    name: 'bench-outcomes',
    description: 'Outcomes of the control-plane bench runs.',
    eventPattern: {
      source: [ReportPublished.source, RunFailed.source, DatasetRejected.source],
      'detail-type': [ReportPublished.detailType, RunFailed.detailType, DatasetRejected.detailType],
    },
  },
];

/** The bench's pipeline of `children` no-op tasks (the domain's no-op pipeline), triggered by a dataset of the same name. */
export function benchPipeline(name: string, children: number, shape: TaskShape): PipelineDefinition {
  return noopPipeline(name, children, { command: shape.command, attempts: shape.attempts, vcpus: STEP_VCPUS, description: `control-plane bench: ${children} no-op task(s)` });
}

const throughputPipeline = (children: number): string => `bench-noop-${children}`;

/** DynamoDB requests the control plane sent, by operation (x-amz-target), counted at the HTTP client. */
export interface StoreRequests {
  writes: number;
  reads: number;
  by_operation: Record<string, number>;
}

const WRITE_OPERATIONS = new Set(['PutItem', 'UpdateItem', 'DeleteItem', 'BatchWriteItem', 'TransactWriteItems']);

/** A nightshift throughput figure, with where its run spent its time and what it asked of the store. */
export interface NightshiftThroughputFigure extends ThroughputFigure {
  /** DynamoDB requests between the event and the report; `writes_per_task` is what "about one store write per child" is checked against. */
  store: StoreRequests & { writes_per_task: number; requests_per_task: number };
  /** From the Dataset Landed PutEvents call, s: run created (planned), first task started, run finished, report received. */
  phases_s: { planned?: number; first_task_started?: number; finished?: number; reported: number };
}

type Outcome =
  | { kind: 'report'; runId: string; correlationId: string }
  | { kind: 'failed'; runId: string; correlationId: string; reason: string }
  | { kind: 'rejected'; correlationId: string; reason: string };

/** The embedded platform driven by the bench; `stop()` ends it and deletes its home. */
export class NightshiftSide {
  private readonly outcomes: Outcome[] = [];
  private stopping: Promise<void> | undefined;

  private constructor(
    /** The platform under measurement (the soak bench drives its other ingresses too). */
    readonly platform: EmbeddedPlatform,
    private readonly home: string,
    private readonly shape: TaskShape,
  ) {}

  /**
   * The platform's helper processes, children of this one: the DynamoDB-compatible server, and the
   * compute environment's spawner once it has started a task. Read when a measurement starts (the
   * platform is idle then, so no task process is among them).
   */
  private helpers(): HelperProcess[] {
    return childProcesses(process.pid);
  }

  /** Starts the platform in a new home under `parentDir`, with one pipeline per child count and the one-task pipeline. */
  static async start(parentDir: string, childCounts: readonly number[], shape: TaskShape, extraQueues: Record<string, readonly RuleDefinition[]> = {}): Promise<NightshiftSide> {
    const home = await mkdtemp(join(parentDir, 'nightshift-home-'));
    try {
      // Loaded here so the CLI's other commands do not load the platform (Nest, the AWS SDK, DuckDB).
      // eslint-disable-next-line @nx/enforce-module-boundaries -- see the type import above
      const { startEmbeddedPlatform } = await import('@nightshift/host');
      const pipelines = [...new Set(childCounts)].map((n) => benchPipeline(throughputPipeline(n), n, shape));
      pipelines.push(benchPipeline(ONE_TASK, 1, shape));
      const platform = await startEmbeddedPlatform({
        home,
        apiPort: 0,
        eventsPort: 0,
        vcpus: PLATFORM_VCPUS,
        memoryMiB: 4096,
        extraPipelines: pipelines,
        extraQueues: { ...extraQueues, [OUTCOME_QUEUE]: OUTCOME_RULES },
        logger: false,
      });
      const side = new NightshiftSide(platform, home, shape);
      await platform.objects.put(PRICES_KEY, PRICES_CSV);
      return side;
    } catch (error) {
      await rm(home, { recursive: true, force: true });
      throw error;
    }
  }

  /**
   * One run of `children` no-op tasks started by a Dataset Landed event, timed from the PutEvents
   * call until its Report Published event is received. Throws BenchCheckFailedError when the run
   * did not succeed with every task, since the timing would then not be of the work compared.
   */
  async throughput(children: number, timeoutMs: number): Promise<NightshiftThroughputFigure> {
    const requests = countStoreRequests();
    try {
      const rssMb = process.memoryUsage().rss / 2 ** 20;
      const helpers = this.helpers();
      const cpu = cpuSample(helpers);
      const startedEpoch = Date.now();
      const started = performance.now();
      const eventId = await this.land(throughputPipeline(children));
      const outcome = await this.outcome((o) => o.correlationId === eventId, timeoutMs, `nightshift: the run of ${children} tasks did not end`);
      const seconds = (performance.now() - started) / 1000;
      const used = cpuSince(cpu);
      const writes = writesSince(cpu, children);
      const store = requests.snapshot();
      if (outcome.kind !== 'report') throw new BenchCheckFailedError(`nightshift: the run of ${children} tasks ${outcome.kind}: ${outcome.reason}`);
      const run = await this.platform.store.getRun(outcome.runId);
      const steps = await this.platform.store.listSteps(outcome.runId);
      const succeeded = steps.reduce((n, s) => n + s.succeeded, 0);
      const failed = steps.reduce((n, s) => n + s.failed, 0);
      if (run?.status !== 'SUCCEEDED' || succeeded !== children) {
        throw new BenchCheckFailedError(`nightshift: run ${outcome.runId} is ${run?.status ?? 'missing'} with ${succeeded}/${children} tasks succeeded`);
      }
      const since = (iso: string | undefined): number | undefined => (iso === undefined ? undefined : (Date.parse(iso) - startedEpoch) / 1000);
      const total = store.writes + store.reads;
      return {
        jobs: children,
        seconds,
        rss_mb: rssMb,
        tasks_per_second: children / seconds,
        cpu_ms_per_task: (used.process_ms + used.server_ms) / children,
        cpu: used,
        helpers: helpers.map((h) => h.name).sort(),
        ...(writes ? { write_syscalls_per_task: writes } : {}),
        succeeded,
        failed,
        store: { ...store, writes_per_task: store.writes / children, requests_per_task: total / children },
        phases_s: {
          ...optional('planned', since(run.createdAt)),
          ...optional('first_task_started', since(run.startedAt)),
          ...optional('finished', since(run.finishedAt)),
          reported: seconds,
        },
      };
    } finally {
      requests.stop();
    }
  }

  /**
   * One-task runs one after the other (`warmup` unmeasured first), each started by an event and
   * followed to its report before the next: the time from the call that sends the event to the
   * task's process running, as the compute environment records it in the task (`startedAt`, set
   * at the child's 'spawn' event). `via`: a Dataset Landed event through the PutEvents endpoint
   * (ingestion validates the file with DuckDB, registers a version, the planner starts the run),
   * or POST /runs (Run Requested, straight to the planner).
   */
  async latency(via: 'landed' | 'api', runs: number, warmup: number, timeoutMs: number): Promise<LatencyFigure> {
    const toRunning: number[] = [];
    const toCreated: number[] = [];
    const createdToRunning: number[] = [];
    let cpuMs = 0;
    for (let i = 0; i < warmup + runs; i++) {
      // CPU is counted from the call that sends the event to the report, not for the bench's reads after it.
      const cpu = cpuSample(this.helpers());
      const started = Date.now();
      let match: (o: Outcome) => boolean;
      if (via === 'landed') {
        const eventId = await this.land(ONE_TASK);
        match = (o) => o.correlationId === eventId;
      } else {
        const runId = await this.requestRun(ONE_TASK);
        match = (o) => 'runId' in o && o.runId === runId;
      }
      const outcome = await this.outcome(match, timeoutMs, `nightshift: one-task run ${i} (${via}) did not end`);
      const used = cpuSince(cpu);
      if (outcome.kind !== 'report') throw new BenchCheckFailedError(`nightshift: one-task run ${i} (${via}) ${outcome.kind}: ${outcome.reason}`);
      const task = await this.platform.store.getTask(outcome.runId, NOOP_STEP, 0);
      const run = await this.platform.store.getRun(outcome.runId);
      const running = task?.startedAt ?? task?.attempts[0]?.startedAt;
      if (running === undefined || run === undefined) throw new BenchCheckFailedError(`nightshift: run ${outcome.runId} succeeded but its run or task record has no start`);
      if (i < warmup) continue;
      cpuMs += used.process_ms + used.server_ms;
      toRunning.push(Date.parse(running) - started);
      toCreated.push(Date.parse(run.createdAt) - started);
      createdToRunning.push(Date.parse(running) - Date.parse(run.createdAt));
    }
    return {
      ...percentiles(toRunning),
      cpu_ms_per_run: cpuMs / Math.max(1, runs),
      phases_p50_ms: { event_to_run_created: percentiles(toCreated).p50_ms, run_created_to_task_running: percentiles(createdToRunning).p50_ms },
    };
  }

  /** Stops the platform and deletes its home. Idempotent. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      try {
        await this.platform.stop();
      } finally {
        await rm(this.home, { recursive: true, force: true });
      }
    })();
    return this.stopping;
  }

  /** PutEvents on the platform's endpoint (the AWS JSON protocol an upstream's SDK speaks, signed with the upstream key), with no SDK in between. */
  private async land(dataset: string): Promise<string> {
    const detail = { dataset, businessDate: BUSINESS_DATE, producer: 'nightshift-bench', files: [{ table: 'prices', key: PRICES_KEY }] };
    const request = JSON.stringify({ Entries: [{ Source: 'com.example.bench', DetailType: DatasetLanded.detailType, Detail: JSON.stringify(detail) }] });
    const headers = signSigV4(
      {
        method: 'POST',
        url: `${this.platform.eventsUrl}/`,
        headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'AWSEvents.PutEvents' },
        body: request,
        region: 'us-east-1',
        service: 'events',
      },
      this.platform.credentials.upstream,
    );
    const { host: _host, ...sent } = headers;
    const res = await fetch(this.platform.eventsUrl, { method: 'POST', headers: sent, body: request });
    const body = (await res.json()) as { FailedEntryCount?: number; Entries?: Array<{ EventId?: string; ErrorMessage?: string }> };
    const eventId = body.Entries?.[0]?.EventId;
    if (res.status !== 200 || body.FailedEntryCount !== 0 || eventId === undefined) {
      throw new BenchCheckFailedError(`nightshift: PutEvents answered ${res.status}: ${JSON.stringify(body).slice(0, 300)}`);
    }
    return eventId;
  }

  /** A one-task run requested over REST, followed to its end; throws BenchCheckFailedError unless it published a report. */
  async oneTaskRun(timeoutMs: number): Promise<void> {
    const runId = await this.requestRun(ONE_TASK);
    const outcome = await this.outcome((o) => 'runId' in o && o.runId === runId, timeoutMs, `nightshift: one-task run ${runId} did not end`);
    if (outcome.kind !== 'report') throw new BenchCheckFailedError(`nightshift: one-task run ${runId} ${outcome.kind}: ${'reason' in outcome ? outcome.reason : ''}`);
  }

  /** POST /runs for the registered dataset of the day; the answer names the run. */
  private async requestRun(pipeline: string): Promise<string> {
    const res = await fetch(`${this.platform.apiUrl}/runs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${this.platform.apiKey}` },
      body: JSON.stringify({ pipeline, businessDate: BUSINESS_DATE }),
    });
    const body = (await res.json()) as { runId?: string };
    if (res.status !== 202 || body.runId === undefined) throw new BenchCheckFailedError(`nightshift: POST /runs answered ${res.status}: ${JSON.stringify(body).slice(0, 300)}`);
    return body.runId;
  }

  /** Waits (bounded) for the outcome `match` picks, reading the bench's queue; outcomes of other runs are kept for later. */
  private async outcome(match: (o: Outcome) => boolean, timeoutMs: number, what: string): Promise<Outcome> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const index = this.outcomes.findIndex(match);
      if (index >= 0) return this.outcomes.splice(index, 1)[0]!;
      const left = deadline - Date.now();
      if (left <= 0) throw new BenchTimeoutError(`${what} within ${Math.round(timeoutMs / 1000)} s`);
      for (const m of await this.platform.bus.receive(OUTCOME_QUEUE, 10, { waitTimeMs: Math.min(1_000, left) })) {
        await this.platform.bus.ack(OUTCOME_QUEUE, m.receiptHandle);
        const parsed = parseOutcome(m.event['detail-type'], m.event.detail);
        if (parsed) this.outcomes.push(parsed);
      }
    }
  }
}

function parseOutcome(detailType: string, detail: unknown): Outcome | undefined {
  if (detailType === ReportPublished.detailType) {
    const d = ReportPublished.detail.parse(detail);
    return { kind: 'report', runId: d.data.runId, correlationId: d.metadata.correlationId };
  }
  if (detailType === RunFailed.detailType) {
    const d = RunFailed.detail.parse(detail);
    return { kind: 'failed', runId: d.data.runId, correlationId: d.metadata.correlationId, reason: d.data.reason };
  }
  if (detailType === DatasetRejected.detailType) {
    const d = DatasetRejected.detail.parse(detail);
    return { kind: 'rejected', correlationId: d.metadata.correlationId, reason: JSON.stringify(d.data.reasons).slice(0, 300) };
  }
  return undefined;
}

function optional<K extends string>(key: K, value: number | undefined): Partial<Record<K, number>> {
  return value === undefined ? {} : ({ [key]: value } as Record<K, number>);
}

/**
 * Counts the DynamoDB requests of this process by operation, from Node's `http.client.request.start`
 * diagnostics channel (the AWS SDK's HTTP handler uses node:http; the operation is its
 * `x-amz-target` header). Nothing in the platform is changed to count them.
 */
function countStoreRequests(): { snapshot(): StoreRequests; stop(): void } {
  const byOperation: Record<string, number> = {};
  const onRequest = (message: unknown): void => {
    const request = (message as { request?: { getHeader(name: string): unknown } }).request;
    const target = request?.getHeader('x-amz-target');
    if (typeof target !== 'string' || !target.startsWith('DynamoDB_')) return;
    const operation = target.slice(target.indexOf('.') + 1);
    byOperation[operation] = (byOperation[operation] ?? 0) + 1;
  };
  subscribe('http.client.request.start', onRequest);
  return {
    snapshot: () => {
      const by_operation = { ...byOperation };
      const writes = Object.entries(by_operation).reduce((n, [op, count]) => n + (WRITE_OPERATIONS.has(op) ? count : 0), 0);
      const reads = Object.values(by_operation).reduce((n, c) => n + c, 0) - writes;
      return { writes, reads, by_operation };
    },
    stop: () => unsubscribe('http.client.request.start', onRequest),
  };
}
