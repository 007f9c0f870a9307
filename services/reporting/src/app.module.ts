import { Module, type DynamicModule } from '@nestjs/common';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { EventPublisher } from '@nightshift/events-domain';
import { BusEventPublisher, type LocalEventBus } from '@nightshift/events-local';
import type { Clock, ComputeEnvironment, JobLogs, JobStore } from '@nightshift/jobs-domain';
import { DynamoDbJobStore } from '@nightshift/jobs-dynamodb';
import type { ObjectStore } from '@nightshift/storage-domain';
import { DirectoryObjectStore } from '@nightshift/storage-local';
import { ApiController } from './api.controller.js';
import type { ReportingConfig } from './config.js';
import { PublishReport, type ReportSection } from './publish-report.js';
import { ReportingHandlers } from './reporting.handlers.js';
import { BACKTEST_SECTION, EXECUTION_SECTION, PERFORMANCE_SECTION, RISK_SECTION, TCA_SECTION } from './sections.js';
import { CLOCK, COMPUTE, EVENT_PUBLISHER, JOB_LOGS, JOB_STORE, OBJECT_STORE, REPORT_SECTIONS } from './tokens.js';

/** Process-wide clients the host owns and hands to reporting. */
export interface ReportingRuntime {
  bus: LocalEventBus;
  dynamo: DynamoDBDocumentClient;
  /** Read-only use: the API asks it what a step's job is doing and why a task waits. */
  compute: ComputeEnvironment;
  /** Where the API reads an attempt's output. */
  logs: JobLogs;
}

/** The composition root of reporting: the only place its ports are bound to adapters. */
@Module({})
export class ReportingModule {
  static register(config: ReportingConfig, runtime: ReportingRuntime): DynamicModule {
    return {
      module: ReportingModule,
      controllers: [ReportingHandlers, ApiController],
      providers: [
        { provide: JOB_STORE, useValue: new DynamoDbJobStore(runtime.dynamo, { tableName: config.tableName }) satisfies JobStore },
        { provide: OBJECT_STORE, useValue: new DirectoryObjectStore(config.objectStoreDir) satisfies ObjectStore },
        { provide: EVENT_PUBLISHER, useValue: new BusEventPublisher(runtime.bus) satisfies EventPublisher },
        { provide: CLOCK, useValue: { now: () => new Date() } satisfies Clock },
        { provide: COMPUTE, useValue: runtime.compute },
        { provide: JOB_LOGS, useValue: runtime.logs },
        { provide: REPORT_SECTIONS, useValue: [EXECUTION_SECTION, TCA_SECTION, RISK_SECTION, BACKTEST_SECTION, PERFORMANCE_SECTION] satisfies ReportSection[] },
        {
          provide: PublishReport,
          inject: [JOB_STORE, OBJECT_STORE, EVENT_PUBLISHER, REPORT_SECTIONS, CLOCK],
          useFactory: (store: JobStore, objects: ObjectStore, publisher: EventPublisher, sections: ReportSection[], clock: Clock) =>
            new PublishReport(store, objects, publisher, sections, clock),
        },
      ],
    };
  }
}
