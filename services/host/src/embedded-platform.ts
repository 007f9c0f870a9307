import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import 'reflect-metadata';
import { Logger, type INestApplication, type INestMicroservice } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { callerOf, loadOrCreateAccessKeys, mayPublishSource, type AccessGrant, type AwsCredentials } from '@nightshift/aws-wire';
import { NightshiftSource, SERVICE_RULES, type RuleDefinition } from '@nightshift/contracts';
import { BatchHttpEndpoint, DirectoryJobLogs, LocalComputeEnvironment, LogsHttpEndpoint, reapOrphans } from '@nightshift/compute-local';
import { LocalEventBus, PutEventsHttpEndpoint, SqsHttpEndpoint, type PutEventsHttpEndpointOptions } from '@nightshift/events-local';
import { IngestionModule, ingestionConfigSchema } from '@nightshift/ingestion';
import { BUILT_IN_PIPELINES, type Clock, type JobStore, type PipelineDefinition, type ScheduleState } from '@nightshift/jobs-domain';
import { createDocumentClient, createTable, DynamoDbJobStore, DynamoDbScheduleState, startEmbeddedDynamoDb, TtlSweeper } from '@nightshift/jobs-dynamodb';
import { PlannerModule, plannerConfigSchema, ReconciliationLoop } from '@nightshift/planner';
import { loadNotificationSubscriptions, ReportingModule, reportingConfigSchema, reportingHttpAdapter, type ReportingConfig } from '@nightshift/reporting';
import { createLogger, nestLogger, outsideTrace, platformMetrics, startMetrics, type LogLevel, type LogSink } from '@nightshift/observability';
import { loadPipelineFiles, type ServiceRuntime } from '@nightshift/platform';
import { DirectoryObjectStore, S3HttpEndpoint } from '@nightshift/storage-local';
import { ensureApiKeys, type EmbeddedApiKeys } from './api-keys.js';
import { AWS_API_NAMES, AwsGateway } from './aws-gateway.js';
import { embeddedAwsEnvironment, ServiceProcesses, type SplitService } from './service-processes.js';

/** Where the worker's compiled entrypoint is, relative to this file (src/ in tests, dist/ when built). */
export const WORKER_ENTRYPOINT = fileURLToPath(new URL('../../worker/dist/main.js', import.meta.url));

/** What the embedded platform needs to start. */
export interface EmbeddedPlatformOptions {
  home: string;
  apiPort: number;
  /** Port of the AWS APIs gateway (PutEvents, SQS, Batch, S3, CloudWatch Logs, DynamoDB); 0 picks a free one. */
  eventsPort: number;
  /**
   * `one-process` (default): the three services in this process, on the bus directly.
   * `split`: this process serves only the platform (bus, compute, state, objects) and its AWS APIs;
   * ingestion, planner and reporting run as three `aws`-mode processes pointed at it.
   */
  topology?: 'one-process' | 'split';
  vcpus: number;
  memoryMiB: number;
  otlpEndpoint?: string;
  /** Extra queues on the bus (e.g. the console that shows outcomes), with their rules. */
  extraQueues?: Record<string, readonly RuleDefinition[]>;
  /** Pipelines beyond the built-in ones, defined in code (one-process topology only: the split services do not get them). */
  extraPipelines?: readonly PipelineDefinition[];
  /**
   * A directory of pipelines users define (one per `*.yaml`, `*.yml` or `*.json` file; see
   * `loadPipelineFiles`): read once, before anything starts, so a bad file refuses the start with an
   * `InvalidPipelineFilesError` naming every problem. The split services are given it
   * (`NIGHTSHIFT_PIPELINES_DIR`) and read the same files.
   */
  pipelinesDir?: string;
  /**
   * The notification subscriptions file (webhooks; see docs/notifications.md): read before anything
   * starts, so a bad file refuses the start with an `InvalidSubscriptionsError` naming its entry and
   * field. Reporting (in-process or split) delivers to its subscriptions.
   */
  webhooksFile?: string;
  /** Notification delivery settings of reporting (tests shorten the backoff). */
  notificationSettings?: Partial<Pick<ReportingConfig, 'notificationMaxAttempts' | 'notificationBackoffMs' | 'notificationMaxBackoffMs' | 'notificationTimeoutMs' | 'notificationPollMs'>>;
  /** Bus redelivery settings (tests shorten them). */
  visibilityTimeoutMs?: number;
  /** How often the planner's reconciliation sweep runs (default 30 s; tests shorten it). */
  reconcileIntervalMs?: number;
  /** How long a submission claim may stay unfinished before the sweep takes it over (default 60 s). */
  claimTimeoutMs?: number;
  /** How often the embedded scheduler looks for due fires of the pipelines' schedules (default 1 s). */
  schedulerIntervalMs?: number;
  /** The embedded scheduler's clock, one-process topology (tests move time with it); the system's when absent. */
  schedulerClock?: Clock;
  /**
   * The platform's log lines: the host's own (context `host`) and the in-process services' (service
   * `nightshift-ingestion|planner|reporting`; Nest's boot lines at debug), as JSON lines appended to
   * `<home>/logs/nightshift.jsonl` ({@link EmbeddedPlatform.logFile}), at `level` (default info).
   * `console` also gets them readable (pino-pretty): the host passes stderr when it is a terminal.
   * The split services log JSON to their own stdout (`<home>/services/<service>.log`), at the same level.
   * `false`: no log lines at all.
   */
  logger?: false | { level?: LogLevel; console?: LogSink };
}

/** The access keys of the AWS APIs gateway, from `<home>/credentials.json`. */
export interface EmbeddedCredentials {
  /** For upstream systems, users and the CLI: PutEvents (any source but `aws.*` and `nightshift.*`) and S3. */
  upstream: AwsCredentials;
  /** Each service's own key (split topology): every API, and PutEvents with its own sources only. */
  services: Record<SplitService, AwsCredentials>;
  /** The workers' key (jobs started through the Batch API): S3 only. */
  worker: AwsCredentials;
  /** Where they are kept (mode 0600). */
  file: string;
}

/** Oversized event details (the publishers' `claim-checks/` prefix): every service writes its own and reads those of the events it consumes. */
const CLAIM_CHECKS: AccessGrant['objects'][number] = { actions: ['s3:GetObject', 's3:PutObject'], keys: ['claim-checks/*'] };

/**
 * What each key of the embedded platform may do (see {@link AccessGrant}). The services publish only
 * their own sources (reporting also `nightshift.api`: the REST API's run requests); upstream any
 * source but the reserved `aws.*` and the platform's `nightshift.*`. Objects, least privilege by
 * what each one's code reads and writes: upstream owns the landing zone and nothing else; ingestion
 * reads landings and writes dataset manifests; the planner writes a run's plan, step manifests and
 * outputs listing (and reads plans back); workers read landed files and their step's manifest and
 * write their partition's result; reporting reads runs and writes reports.
 */
export const EMBEDDED_ACCESS_GRANTS: Readonly<Record<SplitService | 'worker' | 'upstream', AccessGrant>> = {
  ingestion: {
    apis: AWS_API_NAMES,
    sources: [NightshiftSource.ingestion],
    objects: [{ actions: ['s3:GetObject'], keys: ['landing/*'] }, { actions: ['s3:PutObject'], keys: ['datasets/*'] }, CLAIM_CHECKS],
  },
  planner: {
    apis: AWS_API_NAMES,
    // The planner fires the pipelines' schedules itself on the embedded platform (its schedule loop).
    sources: [NightshiftSource.planner, NightshiftSource.scheduler],
    objects: [
      { actions: ['s3:GetObject', 's3:PutObject'], keys: ['runs/*/plan.json'] },
      { actions: ['s3:PutObject'], keys: ['runs/*/manifest.json', 'runs/*/outputs.json'] },
      CLAIM_CHECKS,
    ],
  },
  reporting: {
    apis: AWS_API_NAMES,
    sources: [NightshiftSource.reporting, NightshiftSource.api],
    objects: [{ actions: ['s3:GetObject', 's3:ListBucket'], keys: ['runs/*', 'reports/*'] }, { actions: ['s3:PutObject'], keys: ['reports/*'] }, CLAIM_CHECKS],
  },
  worker: {
    apis: ['s3'],
    sources: [],
    objects: [
      { actions: ['s3:GetObject'], keys: ['landing/*', 'runs/*/manifest.json'] },
      { actions: ['s3:PutObject'], keys: ['runs/*/result.json', 'runs/*/detail/*'] },
    ],
  },
  upstream: {
    apis: ['events', 's3'],
    sources: ['*'],
    objects: [{ actions: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject', 's3:ListBucket'], keys: ['landing/*'] }],
  },
};

/**
 * PutEvents' authorization on the gateway: an entry's source must be one the caller's key may
 * publish ({@link mayPublishSource}), else the entry is refused as EventBridge refuses it. A request
 * the gateway did not verify has no key and publishes nothing with a source.
 */
export const authorizeSource: NonNullable<PutEventsHttpEndpointOptions['authorize']> = (req, entry) => {
  const key = callerOf(req);
  if (entry.Source === undefined || (key && mayPublishSource(key.grant.sources, entry.Source))) return undefined;
  return {
    ErrorCode: 'NotAuthorizedForSourceException',
    ErrorMessage: `Not authorized for the source ${JSON.stringify(entry.Source)}${key ? ` (key of ${key.principal})` : ''}.`,
  };
};

/** A running embedded platform: the three services, the bus, compute and state, on one machine. */
export interface EmbeddedPlatform {
  apiUrl: string;
  /** The AWS APIs gateway (`AWS_ENDPOINT_URL`); PutEvents is served there too. Requests need a key of {@link credentials}. */
  eventsUrl: string;
  /** The gateway's access keys; `upstream` is the one to land data with. */
  credentials: EmbeddedCredentials;
  /** The REST API's key files; {@link apiKey} is the platform's tenantless admin key. */
  apiKeys: EmbeddedApiKeys;
  /** `Authorization: Bearer <apiKey>` calls the REST API as the platform admin (every tenant). */
  apiKey: string;
  bus: LocalEventBus;
  store: JobStore;
  /** The schedules' cursors and fire records (what the scheduler and the planner wrote). */
  schedules: ScheduleState;
  /** The local compute environment (tests look at what it runs). */
  compute: LocalComputeEnvironment;
  objects: DirectoryObjectStore;
  traceFile: string;
  /** The platform's JSON log lines (see {@link EmbeddedPlatformOptions.logger}); absent with `logger: false`. */
  logFile?: string;
  /** The service processes (split topology only). */
  services?: ServiceProcesses;
  /** Names of the pipelines a registered dataset of this name starts, one run each. */
  pipelinesFor(dataset: string): string[];
  stop(): Promise<void>;
}

/**
 * The `service` of the in-process services' log lines by their Nest Logger's context, the names
 * their spans report too; other contexts (the host's `host`, Nest's own) are `nightshift`'s.
 */
const SERVICE_OF_CONTEXT: Readonly<Record<string, string>> = {
  ingestion: 'nightshift-ingestion',
  planner: 'nightshift-planner',
  scheduler: 'nightshift-planner',
  reconciler: 'nightshift-planner',
  reporting: 'nightshift-reporting',
};

/** The Nest loggers of the platforms running in this process, the latest started last: Nest has one per process. */
const NEST_LOGGERS: Array<ReturnType<typeof nestLogger> | false> = [];

export const TABLE_NAME = 'nightshift';
/** The one bucket the embedded S3 API serves: the object store directory. */
export const BUCKET = 'nightshift';
/** The job definition the planner submits to; registered with the embedded Batch API. */
export const WORKER_JOB_DEFINITION = 'nightshift-worker';

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
 * the services' rules, the local compute environment, the AWS APIs over them on one loopback port
 * (PutEvents, SQS, Batch, S3, CloudWatch Logs, DynamoDB), and the ingestion, planner and reporting
 * services (reporting also serves the REST API): in this process, or as three processes of their
 * own in `aws` mode (`topology: 'split'`). Everything lives under `home`, so a restart on the same
 * home resumes where it stopped.
 */
export async function startEmbeddedPlatform(options: EmbeddedPlatformOptions): Promise<EmbeddedPlatform> {
  // First of all: a bad pipeline file refuses the start, and nothing else happens (no directory, no port).
  const filePipelines =
    options.pipelinesDir === undefined ? [] : loadPipelineFiles(options.pipelinesDir, { builtIn: [...BUILT_IN_PIPELINES, ...(options.extraPipelines ?? [])], required: true });
  // What the in-process planner and reporting run beside the built-in ones.
  const extraPipelines = [...filePipelines, ...(options.extraPipelines ?? [])];
  if (options.webhooksFile !== undefined) loadNotificationSubscriptions({ webhooksFile: options.webhooksFile });
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
  const logFile = options.logger === false ? undefined : join(dirs.logs, 'nightshift.jsonl');
  const logLevel = options.logger === false ? 'silent' : (options.logger?.level ?? 'info');
  const platformLog =
    options.logger === false
      ? undefined
      : createLogger({ service: 'nightshift', level: logLevel, destination: [{ to: logFile! }, ...(options.logger?.console ? [{ to: options.logger.console, pretty: true }] : [])] });
  // Nest keeps one logger per process, which every app uses (the last one given wins): the three
  // in-process services share this one, and tell their lines apart by their Logger's context.
  const logger = platformLog ? nestLogger(platformLog, { services: SERVICE_OF_CONTEXT }) : false;
  NEST_LOGGERS.push(logger);
  // A job's own lines are the job's log, not the platform's: silencing the platform keeps them.
  const workerLogLevel = logLevel === 'silent' ? 'info' : logLevel;
  Logger.overrideLogger(logger);
  const stops: Array<() => Promise<unknown>> = [];
  stops.push(async () => {
    // Nest's lines go back to the platform started before this one that still runs (tests start several).
    NEST_LOGGERS.splice(NEST_LOGGERS.indexOf(logger), 1);
    Logger.overrideLogger(NEST_LOGGERS.at(-1) ?? false);
    platformLog?.close();
  });
  const stop = async () => {
    for (const s of stops.reverse()) await s().catch((e: unknown) => Logger.error(`shutdown step failed: ${String(e)}`, 'host'));
  };
  // One meter provider for the process, shared by the in-process services (reporting serves it at
  // /metrics); pushed by OTLP too when an endpoint is set. Shut down last, after the last recording.
  const metrics = startMetrics({ serviceName: 'nightshift', ...(options.otlpEndpoint ? { otlpEndpoint: options.otlpEndpoint } : {}) });
  stops.push(() => metrics.shutdown());

  try {
    const credentialsFile = join(options.home, 'credentials.json');
    const keys = await loadOrCreateAccessKeys(credentialsFile, EMBEDDED_ACCESS_GRANTS);
    const credentials: EmbeddedCredentials = {
      upstream: keys.of('upstream'),
      services: { ingestion: keys.of('ingestion'), planner: keys.of('planner'), reporting: keys.of('reporting') },
      worker: keys.of('worker'),
      file: credentialsFile,
    };
    const apiKeys = await ensureApiKeys(options.home);
    const apiKey = (await readFile(apiKeys.adminKeyFile, 'utf8')).trim();

    // The embedded DynamoDB's own port is loopback-only and unauthenticated (dynalite checks no
    // signature): the in-process services use it directly; everyone else goes through the gateway.
    const dynamo = await startEmbeddedDynamoDb({ dataDir: dirs.dynamo });
    stops.push(() => dynamo.close());
    const client: DynamoDBDocumentClient = createDocumentClient({ endpoint: dynamo.endpoint });
    stops.push(async () => client.destroy());
    await createTable(client, TABLE_NAME);
    // dynalite has no TTL: expired idempotency records are deleted by a periodic sweep instead.
    const ttlSweeper = new TtlSweeper(client, {
      tableName: TABLE_NAME,
      onError: (e) => Logger.warn(`TTL sweep failed, the next one retries: ${e instanceof Error ? e.message : String(e)}`, 'host'),
    });
    ttlSweeper.start();
    stops.push(() => ttlSweeper.stop());

    const bus = await LocalEventBus.open({
      dir: dirs.bus,
      rules: { ...SERVICE_RULES, ...(options.extraQueues ?? {}) },
      visibilityTimeoutMs: options.visibilityTimeoutMs ?? 30_000,
      // Each message that lands in a DLQ is announced (Message Dead-Lettered): reporting notifies it.
      announceDeadLetters: true,
    });
    stops.push(() => bus.close());
    // Queue depth, in-flight, oldest message age and DLQ depth of every queue on the bus, read at each scrape or OTLP export.
    const stopQueueGauges = platformMetrics().observeQueues(() =>
      bus.queueNames.map((queue) => {
        const stats = bus.stats(queue);
        return { queue, depth: stats.visible, inFlight: stats.inFlight, oldestAgeS: bus.oldestMessageAgeMs(queue) / 1000, dlqDepth: stats.deadLetters };
      }),
    );
    stops.push(async () => stopQueueGauges());

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
      // Batch's own events, not the submitter's: emitted outside the trace of the handler that submitted the job.
      emit: (events) => outsideTrace(async () => {
        const result = await bus.putEvents(events.map((e) => ({ Source: e.source, DetailType: e.detailType, Detail: JSON.stringify(e.detail), Resources: e.resources })));
        if (result.FailedEntryCount > 0) throw new Error(`bus refused ${result.FailedEntryCount} job state change(s): ${JSON.stringify(result.Entries.find((r) => 'ErrorCode' in r))}`);
      }),
    });
    stops.push(() => compute.shutdown());
    const jobLogs = new DirectoryJobLogs(dirs.logs);
    const split = options.topology === 'split';
    const workerCommand = [process.execPath, WORKER_ENTRYPOINT];

    // The AWS APIs over the platform's pieces, on one port: the AWS SDK needs AWS_ENDPOINT_URL only.
    // Workers started through its Batch API (the split topology's) run in aws mode against it too.
    const gateway = new AwsGateway({ port: options.eventsPort, keys });
    const gatewayUrl = await gateway.listen();
    stops.push(() => gateway.close());
    gateway.serve({
      events: new PutEventsHttpEndpoint({ bus, authorize: authorizeSource }),
      sqs: new SqsHttpEndpoint({ bus }),
      logs: new LogsHttpEndpoint({ logs: jobLogs }),
      s3: new S3HttpEndpoint({ rootDir: dirs.objects, bucket: BUCKET }),
      batch: new BatchHttpEndpoint({
        compute,
        jobDefinitions: {
          [WORKER_JOB_DEFINITION]: {
            command: [...workerCommand, 'run-task'],
            vcpus: 1,
            memoryMiB: 1024,
            environment: {
              ...embeddedAwsEnvironment(gatewayUrl, BUCKET, credentials.worker),
              ...(options.otlpEndpoint ? { OTEL_EXPORTER_OTLP_ENDPOINT: options.otlpEndpoint } : { NIGHTSHIFT_TRACE_FILE: traceFile }),
              NIGHTSHIFT_LOG_LEVEL: workerLogLevel,
            },
          },
        },
      }),
      dynamoEndpoint: dynamo.endpoint,
    });

    // The trace file too: reporting reads a run's trace back from it (GET /runs/:id/trace).
    const common = { mode: 'local' as const, tableName: TABLE_NAME, objectStoreDir: dirs.objects, ...(options.otlpEndpoint ? { otlpEndpoint: options.otlpEndpoint } : { traceFile }) };
    const workerEnvironment: Record<string, string> = {
      NIGHTSHIFT_OBJECT_STORE_DIR: dirs.objects,
      ...(options.otlpEndpoint ? { OTEL_EXPORTER_OTLP_ENDPOINT: options.otlpEndpoint } : { NIGHTSHIFT_TRACE_FILE: traceFile }),
      NIGHTSHIFT_LOG_LEVEL: workerLogLevel,
    };

    let apiUrl: string;
    let services: ServiceProcesses | undefined;
    if (split) {
      services = new ServiceProcesses({
        awsEndpoint: gatewayUrl,
        credentials: credentials.services,
        apiKeysFile: apiKeys.keysFile,
        tableName: TABLE_NAME,
        bucket: BUCKET,
        apiPort: options.apiPort,
        workerCommand,
        jobQueue: 'nightshift-default',
        fairShareQueues: EMBEDDED_JOB_QUEUES.map((q) => q.name),
        logDir: join(options.home, 'services'),
        ...(options.reconcileIntervalMs !== undefined ? { reconcileIntervalMs: options.reconcileIntervalMs } : {}),
        environment: {
          ...(options.otlpEndpoint ? { OTEL_EXPORTER_OTLP_ENDPOINT: options.otlpEndpoint } : { NIGHTSHIFT_TRACE_FILE: traceFile }),
          NIGHTSHIFT_LOG_LEVEL: workerLogLevel,
          // Each service reads the files itself, as a deployed one does; they were checked above.
          ...(options.pipelinesDir !== undefined ? { NIGHTSHIFT_PIPELINES_DIR: options.pipelinesDir } : {}),
          ...(options.webhooksFile !== undefined ? { NIGHTSHIFT_WEBHOOKS_FILE: options.webhooksFile } : {}),
        },
      });
      stops.push(() => services!.stop());
      await services.start();
      apiUrl = services.apiUrl;
    } else {
      apiUrl = await startInProcess();
    }

    async function startInProcess(): Promise<string> {
      const runtime: ServiceRuntime = { mode: 'local', dynamo: client, bus, compute, logs: jobLogs };
      const ingestionService = IngestionModule.compose(ingestionConfigSchema.parse({ ...common, concurrency: 2 }), runtime);
      const ingestion: INestMicroservice = await NestFactory.createMicroservice(ingestionService.module, { strategy: ingestionService.transport, logger });
      await ingestion.listen();
      stops.push(() => ingestion.close());

      const plannerService = PlannerModule.compose(
        plannerConfigSchema.parse({
          ...common,
          concurrency: 16,
          workerCommand,
          workerEnvironment,
          fairShareQueues: EMBEDDED_JOB_QUEUES.map((q) => q.name),
          ...(options.reconcileIntervalMs !== undefined ? { reconcileIntervalMs: options.reconcileIntervalMs } : {}),
          ...(options.claimTimeoutMs !== undefined ? { claimTimeoutMs: options.claimTimeoutMs } : {}),
          ...(options.schedulerIntervalMs !== undefined ? { schedulerIntervalMs: options.schedulerIntervalMs } : {}),
        }),
        runtime,
        { extraPipelines, ...(options.schedulerClock ? { schedulerClock: options.schedulerClock } : {}) },
      );
      const planner: INestMicroservice = await NestFactory.createMicroservice(plannerService.module, { strategy: plannerService.transport, logger });
      stops.push(() => planner.close());
      // One sweep before the planner takes events: the jobs of the previous host are unknown to this
      // compute environment, so their tasks are resolved (resubmitted or failed) and their late events
      // still queued for the planner are stale against the claims made here. Then it sweeps periodically.
      const loop = planner.get(ReconciliationLoop);
      await loop.sweepOnce();
      await planner.listen();
      loop.start();

      const reportingConfig = reportingConfigSchema.parse({
        ...common,
        httpPort: options.apiPort,
        concurrency: 2,
        apiKeysFile: apiKeys.keysFile,
        ...(options.webhooksFile !== undefined ? { webhooksFile: options.webhooksFile } : {}),
        ...options.notificationSettings,
      });
      const reportingService = ReportingModule.compose(reportingConfig, runtime, { extraPipelines });
      const reporting: INestApplication = await NestFactory.create(reportingService.module, reportingHttpAdapter(reportingConfig), { logger });
      reporting.connectMicroservice({ strategy: reportingService.transport });
      await reporting.startAllMicroservices();
      await reporting.listen(reportingConfig.httpPort, reportingConfig.httpHost);
      stops.push(() => reporting.close());
      return (await reporting.getUrl()).replace('[::1]', '127.0.0.1');
    }

    const pipelines = [...BUILT_IN_PIPELINES, ...(split ? filePipelines : extraPipelines)];
    return {
      apiUrl,
      eventsUrl: gatewayUrl,
      credentials,
      apiKeys,
      apiKey,
      bus,
      compute,
      store: new DynamoDbJobStore(client, { tableName: TABLE_NAME }),
      schedules: new DynamoDbScheduleState(client, { tableName: TABLE_NAME }),
      objects: new DirectoryObjectStore(dirs.objects),
      traceFile,
      ...(logFile !== undefined ? { logFile } : {}),
      ...(services ? { services } : {}),
      pipelinesFor: (dataset) => pipelines.filter((p) => p.trigger.onLanding && p.trigger.datasets.includes(dataset)).map((p) => p.name),
      stop,
    };
  } catch (e) {
    await stop();
    throw e;
  }
}
