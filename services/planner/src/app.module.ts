import { Logger, Module, type DynamicModule } from '@nestjs/common';
import { BatchComputeEnvironment } from '@nightshift/compute-aws';
import type { EventPublisher } from '@nightshift/events-domain';
import type { QueueServer } from '@nightshift/events-nest';
import type { BackfillStore, Clock, ComputeEnvironment, JobStore, PipelineDefinition, ScheduleState } from '@nightshift/jobs-domain';
import { DynamoDbBackfillStore, DynamoDbJobStore, DynamoDbScheduleState, type BackfillOutcome } from '@nightshift/jobs-dynamodb';
import { bindServicePorts, deployedPipelines, type ServiceRuntime } from '@nightshift/platform';
import type { ObjectStore } from '@nightshift/storage-domain';
import { BackfillHandlers } from './backfill.handlers.js';
import { BackfillRunner } from './backfills.js';
import type { PlannerConfig } from './config.js';
import { createPlannerCore, type PlannerCore } from './planner-core.js';
import { withRunMetrics } from './planner-metrics.js';
import { PlannerHandlers } from './planner.handlers.js';
import { ReconciliationLoop } from './reconciliation-loop.js';
import { Reconciler } from './reconciler.js';
import { RunEngine } from './run-engine.js';
import { RunRetry } from './run-retry.js';
import { ScheduleLoop, type ScheduleLoopOptions } from './schedule-loop.js';
import { ScheduledRuns } from './scheduled-runs.js';
import { Scheduler } from './scheduler.js';
import { BACKFILL_STORE, CLOCK, COMPUTE, EVENT_PUBLISHER, JOB_STORE, OBJECT_STORE, PIPELINES, PLANNER_CORE, RECONCILE_INTERVAL_MS, SCHEDULE_LOOP_OPTIONS, SCHEDULE_STATE, STORE_MIGRATIONS } from './tokens.js';

/** What the planner adds to its runtime. */
export interface PlannerExtras {
  /** Pipelines beyond the built-in ones and `config.pipelinesDir`'s (tests; the embedded host's, which reads the files itself). */
  extraPipelines?: readonly PipelineDefinition[];
  /** The embedded scheduler's clock (tests move time); the system's when absent. */
  schedulerClock?: Clock;
}

/** The planner composed: its Nest module and the transport that feeds it its queue. */
export interface ComposedPlanner {
  module: DynamicModule;
  transport: QueueServer;
}

/** The composition root of the planner: the only place its ports are bound to adapters (by `config.mode`). */
@Module({})
export class PlannerModule {
  static compose(config: PlannerConfig, runtime: ServiceRuntime, extras: PlannerExtras = {}): ComposedPlanner {
    // Built-in, then config.pipelinesDir's files, then extras: read first, so a bad file stops the start before anything is bound.
    const pipelines = deployedPipelines(config, extras.extraPipelines);
    const ports = bindServicePorts('planner', config, runtime);
    let compute: ComputeEnvironment;
    if (runtime.mode === 'aws') compute = new BatchComputeEnvironment(runtime.aws.batch);
    else if (runtime.compute) compute = runtime.compute;
    else throw new Error('planner: the embedded runtime has no compute environment');
    const store = new DynamoDbJobStore(ports.dynamo, { tableName: config.tableName });
    const module: DynamicModule = {
      module: PlannerModule,
      controllers: [PlannerHandlers, BackfillHandlers],
      providers: [
        // Runs are counted (started, succeeded, failed) by the store writes that move them: see withRunMetrics.
        { provide: JOB_STORE, useValue: withRunMetrics(store) satisfies JobStore },
        // A table written by an earlier version gets what it lacks (per-tenant index entries, the TTL
        // of idempotency records) once, before the planner starts: later starts read one marker item.
        { provide: STORE_MIGRATIONS, useFactory: () => migrateStore(store) },
        { provide: OBJECT_STORE, useValue: ports.objects },
        { provide: EVENT_PUBLISHER, useValue: ports.publisher },
        { provide: COMPUTE, useValue: compute },
        { provide: CLOCK, useValue: { now: () => new Date() } satisfies Clock },
        { provide: PIPELINES, useValue: pipelines },
        { provide: RECONCILE_INTERVAL_MS, useValue: config.reconcileIntervalMs },
        {
          provide: PLANNER_CORE,
          inject: [JOB_STORE, OBJECT_STORE, COMPUTE, EVENT_PUBLISHER, PIPELINES, CLOCK],
          useFactory: (store: JobStore, objects: ObjectStore, compute: ComputeEnvironment, publisher: EventPublisher, pipelines: PipelineDefinition[], clock: Clock): PlannerCore =>
            createPlannerCore(
              { store, objects, compute, publisher, clock },
              {
                pipelines,
                worker: {
                  command: config.workerCommand,
                  environment: config.workerEnvironment,
                  jobQueue: config.jobQueue,
                  jobDefinition: config.jobDefinition,
                  fairShareQueues: config.fairShareQueues,
                },
                submitRetry: config.submitRetry,
                claimTimeoutMs: config.claimTimeoutMs,
              },
            ),
        },
        { provide: RunEngine, inject: [PLANNER_CORE], useFactory: (core: PlannerCore) => core.engine },
        { provide: Reconciler, inject: [PLANNER_CORE], useFactory: (core: PlannerCore) => core.reconciler },
        { provide: RunRetry, inject: [PLANNER_CORE], useFactory: (core: PlannerCore) => core.retry },
        ReconciliationLoop,
        // Backfills: their records, and the runner that advances them (events, and the reconciliation loop's sweep).
        { provide: BACKFILL_STORE, useValue: new DynamoDbBackfillStore(ports.dynamo, { tableName: config.tableName }) satisfies BackfillStore },
        {
          provide: BackfillRunner,
          inject: [BACKFILL_STORE, JOB_STORE, RunEngine, CLOCK],
          useFactory: (backfills: BackfillStore, store: JobStore, engine: RunEngine, clock: Clock) => new BackfillRunner(backfills, store, engine, clock),
        },
        // Schedules: the planner derives a fire's business date (both modes); it fires them itself only with `scheduler: embedded`.
        { provide: SCHEDULE_STATE, useValue: new DynamoDbScheduleState(ports.dynamo, { tableName: config.tableName }) satisfies ScheduleState },
        {
          provide: ScheduledRuns,
          inject: [RunEngine, JOB_STORE, SCHEDULE_STATE, CLOCK],
          useFactory: (engine: RunEngine, store: JobStore, schedules: ScheduleState, clock: Clock) => new ScheduledRuns(engine, store, schedules, clock),
        },
        ...(config.scheduler === 'embedded'
          ? [
              {
                provide: Scheduler,
                inject: [SCHEDULE_STATE, EVENT_PUBLISHER, CLOCK, PIPELINES],
                useFactory: (schedules: ScheduleState, publisher: EventPublisher, clock: Clock, pipelines: PipelineDefinition[]) =>
                  new Scheduler({ schedules, publisher, clock: extras.schedulerClock ?? clock }, pipelines),
              },
              { provide: SCHEDULE_LOOP_OPTIONS, useValue: { intervalMs: config.schedulerIntervalMs } satisfies ScheduleLoopOptions },
              ScheduleLoop,
            ]
          : []),
      ],
    };
    return { module, transport: ports.transport };
  }
}

/** Runs the job store's one-off migrations (each idempotent, and skipped once done); resolves to what they did. */
async function migrateStore(store: DynamoDbJobStore): Promise<Record<'tenantIndexes' | 'expiry' | 'listingIndexes', BackfillOutcome>> {
  const log = new Logger('planner');
  const tenantIndexes = await store.backfillTenantIndexes();
  if (!tenantIndexes.skipped) log.log(`job store migrated: ${tenantIndexes.written} per-tenant index entries backfilled`);
  const expiry = await store.backfillExpiry();
  if (!expiry.skipped) log.log(`job store migrated: ${expiry.written} idempotency records given an expiry`);
  // The API's listings: dataset versions, runs by dataset version, filter attributes on run pointers.
  const listingIndexes = await store.backfillListingIndexes();
  if (!listingIndexes.skipped) log.log(`job store migrated: ${listingIndexes.written} listing index entries backfilled`);
  return { tenantIndexes, expiry, listingIndexes };
}
