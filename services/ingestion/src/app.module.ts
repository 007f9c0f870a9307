import { Module, type DynamicModule } from '@nestjs/common';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { validateTableFile } from '@nightshift/analytics';
import type { EventPublisher } from '@nightshift/events-domain';
import { BusEventPublisher, type LocalEventBus } from '@nightshift/events-local';
import type { Clock, JobStore } from '@nightshift/jobs-domain';
import { DynamoDbJobStore } from '@nightshift/jobs-dynamodb';
import type { ObjectStore } from '@nightshift/storage-domain';
import { DirectoryObjectStore } from '@nightshift/storage-local';
import type { IngestionConfig } from './config.js';
import { DatasetLandedHandler } from './dataset-landed.handler.js';
import { RegisterLandedDataset, type TableFileValidator } from './register-landed-dataset.js';
import { CLOCK, EVENT_PUBLISHER, JOB_STORE, OBJECT_STORE, TABLE_FILE_VALIDATOR } from './tokens.js';

/** Process-wide clients the host owns (one per process) and hands to each service. */
export interface IngestionRuntime {
  bus: LocalEventBus;
  dynamo: DynamoDBDocumentClient;
}

/** The composition root of ingestion: the only place its ports are bound to adapters. */
@Module({})
export class IngestionModule {
  static register(config: IngestionConfig, runtime: IngestionRuntime): DynamicModule {
    return {
      module: IngestionModule,
      controllers: [DatasetLandedHandler],
      providers: [
        { provide: JOB_STORE, useValue: new DynamoDbJobStore(runtime.dynamo, { tableName: config.tableName }) satisfies JobStore },
        { provide: OBJECT_STORE, useValue: new DirectoryObjectStore(config.objectStoreDir) satisfies ObjectStore },
        { provide: EVENT_PUBLISHER, useValue: new BusEventPublisher(runtime.bus) satisfies EventPublisher },
        { provide: CLOCK, useValue: { now: () => new Date() } satisfies Clock },
        { provide: TABLE_FILE_VALIDATOR, useValue: validateTableFile satisfies TableFileValidator },
        {
          provide: RegisterLandedDataset,
          inject: [JOB_STORE, OBJECT_STORE, EVENT_PUBLISHER, TABLE_FILE_VALIDATOR, CLOCK],
          useFactory: (store: JobStore, objects: ObjectStore, publisher: EventPublisher, validate: TableFileValidator, clock: Clock) =>
            new RegisterLandedDataset(store, objects, publisher, validate, clock),
        },
      ],
    };
  }
}
