import { Module, type DynamicModule } from '@nestjs/common';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { EventPublisher } from '@nightshift/events-domain';
import { BusEventPublisher, type LocalEventBus } from '@nightshift/events-local';
import { BUILT_IN_PIPELINES, type Clock, type ComputeEnvironment, type JobStore, type PipelineDefinition } from '@nightshift/jobs-domain';
import { DynamoDbJobStore } from '@nightshift/jobs-dynamodb';
import type { ObjectStore } from '@nightshift/storage-domain';
import { DirectoryObjectStore } from '@nightshift/storage-local';
import type { PlannerConfig } from './config.js';
import { createPlannerCore, type PlannerCore } from './planner-core.js';
import { PlannerHandlers } from './planner.handlers.js';
import { ReconciliationLoop } from './reconciliation-loop.js';
import { Reconciler } from './reconciler.js';
import { RunEngine } from './run-engine.js';
import { CLOCK, COMPUTE, EVENT_PUBLISHER, JOB_STORE, OBJECT_STORE, PIPELINES, PLANNER_CORE, RECONCILE_INTERVAL_MS } from './tokens.js';

/** Process-wide clients the host owns and hands to the planner. */
export interface PlannerRuntime {
  bus: LocalEventBus;
  dynamo: DynamoDBDocumentClient;
  /** The local compute environment (shared: it owns the machine's vCPU/memory budget). */
  compute: ComputeEnvironment;
  /** Pipelines beyond the built-in ones (tests, site-specific pipelines). */
  extraPipelines?: readonly PipelineDefinition[];
}

/** The composition root of the planner: the only place its ports are bound to adapters. */
@Module({})
export class PlannerModule {
  static register(config: PlannerConfig, runtime: PlannerRuntime): DynamicModule {
    return {
      module: PlannerModule,
      controllers: [PlannerHandlers],
      providers: [
        { provide: JOB_STORE, useValue: new DynamoDbJobStore(runtime.dynamo, { tableName: config.tableName }) satisfies JobStore },
        { provide: OBJECT_STORE, useValue: new DirectoryObjectStore(config.objectStoreDir) satisfies ObjectStore },
        { provide: EVENT_PUBLISHER, useValue: new BusEventPublisher(runtime.bus) satisfies EventPublisher },
        { provide: COMPUTE, useValue: runtime.compute },
        { provide: CLOCK, useValue: { now: () => new Date() } satisfies Clock },
        { provide: PIPELINES, useValue: [...BUILT_IN_PIPELINES, ...(runtime.extraPipelines ?? [])] },
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
        ReconciliationLoop,
      ],
    };
  }
}
