import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import 'reflect-metadata';
import { Logger, type INestApplication, type INestMicroservice, type LoggerService } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { SERVICE_RULES, type RuleDefinition } from '@nightshift/contracts';
import { DirectoryJobLogs, LocalComputeEnvironment, reapOrphans } from '@nightshift/compute-local';
import { LocalEventBus, PutEventsHttpEndpoint } from '@nightshift/events-local';
import { IngestionModule, ingestionConfigSchema } from '@nightshift/ingestion';
import type { JobStore, PipelineDefinition } from '@nightshift/jobs-domain';
import { createDocumentClient, createTable, DynamoDbJobStore, startEmbeddedDynamoDb } from '@nightshift/jobs-dynamodb';
import { PlannerModule, plannerConfigSchema, ReconciliationLoop, RunEngine } from '@nightshift/planner';
import { ReportingModule, reportingConfigSchema } from '@nightshift/reporting';
import { DirectoryObjectStore } from '@nightshift/storage-local';
import type { ServiceRuntime } from '@nightshift/platform';

/** Where the worker's compiled entrypoint is, relative to this file (src/ in tests, dist/ when built). */
export const WORKER_ENTRYPOINT = fileURLToPath(new URL('../../worker/dist/main.js', import.meta.url));

/** What the embedded platform needs to start. */
export interface EmbeddedPlatformOptions {
  home: string;
  apiPort: number;
  eventsPort: number;
  vcpus: number;
  memoryMiB: number;
  otlpEndpoint?: string;
  /** Extra queues on the bus (e.g. the console that shows outcomes), with their rules. */
  extraQueues?: Record<string, readonly RuleDefinition[]>;
  /** Pipelines beyond the built-in ones. */
  extraPipelines?: readonly PipelineDefinition[];
  /** Bus redelivery settings (tests shorten them). */
  visibilityTimeoutMs?: number;
  /** How often the planner's reconciliation sweep runs (default 30 s; tests shorten it). */
  reconcileIntervalMs?: number;
  /** How long a submission claim may stay unfinished before the sweep takes it over (default 60 s). */
  claimTimeoutMs?: number;
  /** Nest's logger; `false` silences the framework's own lines. */
  logger?: LoggerService | false;
}

/** A running embedded platform: the three services, the bus, compute and state, on one machine. */
export interface EmbeddedPlatform {
  apiUrl: string;
  eventsUrl: string;
  dynamoEndpoint: string;
  bus: LocalEventBus;
  store: JobStore;
  /** The local compute environment (tests look at what it runs). */
  compute: LocalComputeEnvironment;
  objects: DirectoryObjectStore;
  traceFile: string;
  /** Names of the pipelines a registered dataset of this name starts, one run each. */
  pipelinesFor(dataset: string): string[];
  stop(): Promise<void>;
}

export const TABLE_NAME = 'nightshift';

/**
 * The embedded job queues over the one local compute environment: fair share between the tenants
 * (or pipelines) whose jobs share a queue, and a high-priority queue placed first.
 */
export const EMBEDDED_JOB_QUEUES = [
  { name: 'nightshift-high', priority: 100, fairShare: {} },
  { name: 'nightshift-default', priority: 10, fairShare: {} },
  { name: 'nightshift-low', priority: 1, fairShare: {} },
];

/**
 * Starts nightshift's embedded mode: the DynamoDB-compatible server on disk, the durable bus with
 * the services' rules and its PutEvents endpoint, the local compute environment, and the ingestion,
 * planner and reporting services (reporting also serves the REST API). Everything lives under
 * `home`, so a restart on the same home resumes where it stopped.
 */
export async function startEmbeddedPlatform(options: EmbeddedPlatformOptions): Promise<EmbeddedPlatform> {
  const dirs = {
    dynamo: join(options.home, 'dynamodb'),
    bus: join(options.home, 'bus'),
    objects: join(options.home, 'objects'),
    logs: join(options.home, 'logs'),
    compute: join(options.home, 'compute'),
    traces: join(options.home, 'traces'),
  };
  for (const d of Object.values(dirs)) await mkdir(d, { recursive: true });
  const traceFile = join(dirs.traces, 'traces.jsonl');
  const stops: Array<() => Promise<unknown>> = [];
  const stop = async () => {
    for (const s of stops.reverse()) await s().catch((e: unknown) => Logger.error(`shutdown step failed: ${String(e)}`, 'host'));
  };

  try {
    const dynamo = await startEmbeddedDynamoDb({ dataDir: dirs.dynamo });
    stops.push(() => dynamo.close());
    const client: DynamoDBDocumentClient = createDocumentClient({ endpoint: dynamo.endpoint });
    stops.push(async () => client.destroy());
    await createTable(client, TABLE_NAME);

    const bus = await LocalEventBus.open({
      dir: dirs.bus,
      rules: { ...SERVICE_RULES, ...(options.extraQueues ?? {}) },
      visibilityTimeoutMs: options.visibilityTimeoutMs ?? 30_000,
    });
    stops.push(() => bus.close());
    const endpoint = new PutEventsHttpEndpoint({ bus, port: options.eventsPort });
    await endpoint.listen();
    stops.push(() => endpoint.close());

    // Workers of a previous host that was killed are still running: stop them before their tasks are resubmitted.
    const reaped = await reapOrphans(dirs.compute);
    if (reaped > 0) Logger.log(`stopped ${reaped} worker process(es) left by the previous host`, 'host');
    const compute = new LocalComputeEnvironment({
      vcpus: options.vcpus,
      memoryMiB: options.memoryMiB,
      logDir: dirs.logs,
      stateDir: dirs.compute,
      jobQueues: EMBEDDED_JOB_QUEUES,
      // Up to 10 state changes per PutEvents (EventBridge's limit): one batch of files, one directory fsync.
      emit: async (events) => {
        const result = await bus.putEvents(events.map((e) => ({ Source: e.source, DetailType: e.detailType, Detail: JSON.stringify(e.detail), Resources: e.resources })));
        if (result.FailedEntryCount > 0) throw new Error(`bus refused ${result.FailedEntryCount} job state change(s): ${JSON.stringify(result.Entries.find((r) => 'ErrorCode' in r))}`);
      },
    });
    stops.push(() => compute.shutdown());

    const common = { mode: 'local' as const, tableName: TABLE_NAME, objectStoreDir: dirs.objects };
    const workerEnvironment: Record<string, string> = {
      NIGHTSHIFT_OBJECT_STORE_DIR: dirs.objects,
      ...(options.otlpEndpoint ? { OTEL_EXPORTER_OTLP_ENDPOINT: options.otlpEndpoint } : { NIGHTSHIFT_TRACE_FILE: traceFile }),
    };
    const logger = options.logger ?? false;

    const runtime: ServiceRuntime = { mode: 'local', dynamo: client, bus, compute, logs: new DirectoryJobLogs(dirs.logs) };
    const ingestionService = IngestionModule.compose(ingestionConfigSchema.parse({ ...common, concurrency: 2 }), runtime);
    const ingestion: INestMicroservice = await NestFactory.createMicroservice(ingestionService.module, { strategy: ingestionService.transport, logger });
    await ingestion.listen();
    stops.push(() => ingestion.close());

    const plannerService = PlannerModule.compose(
      plannerConfigSchema.parse({
        ...common,
        concurrency: 16,
        workerCommand: [process.execPath, WORKER_ENTRYPOINT],
        workerEnvironment,
        fairShareQueues: EMBEDDED_JOB_QUEUES.map((q) => q.name),
        ...(options.reconcileIntervalMs !== undefined ? { reconcileIntervalMs: options.reconcileIntervalMs } : {}),
        ...(options.claimTimeoutMs !== undefined ? { claimTimeoutMs: options.claimTimeoutMs } : {}),
      }),
      runtime,
      options.extraPipelines ? { extraPipelines: options.extraPipelines } : {},
    );
    const planner: INestMicroservice = await NestFactory.createMicroservice(plannerService.module, { strategy: plannerService.transport, logger });
    stops.push(() => planner.close());
    // One sweep before the planner takes events: the jobs of the previous host are unknown to this
    // compute environment, so their tasks are resolved (resubmitted or failed) and their late events
    // still queued for the planner are stale against the claims made here. Then it sweeps periodically.
    const engine = planner.get(RunEngine);
    const loop = planner.get(ReconciliationLoop);
    await loop.sweepOnce();
    await planner.listen();
    loop.start();

    const reportingConfig = reportingConfigSchema.parse({ ...common, httpPort: options.apiPort, concurrency: 2 });
    const reportingService = ReportingModule.compose(reportingConfig, runtime);
    const reporting: INestApplication = await NestFactory.create(reportingService.module, new FastifyAdapter(), { logger });
    reporting.connectMicroservice({ strategy: reportingService.transport });
    await reporting.startAllMicroservices();
    await reporting.listen(reportingConfig.httpPort, reportingConfig.httpHost);
    stops.push(() => reporting.close());
    const apiUrl = (await reporting.getUrl()).replace('[::1]', '127.0.0.1');

    return {
      apiUrl,
      eventsUrl: endpoint.url,
      dynamoEndpoint: dynamo.endpoint,
      bus,
      compute,
      store: new DynamoDbJobStore(client, { tableName: TABLE_NAME }),
      objects: new DirectoryObjectStore(dirs.objects),
      traceFile,
      pipelinesFor: (dataset) => engine.pipelinesFor(dataset).map((p) => p.name),
      stop,
    };
  } catch (e) {
    await stop();
    throw e;
  }
}
