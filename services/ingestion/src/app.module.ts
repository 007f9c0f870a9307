import { Module, type DynamicModule } from '@nestjs/common';
import { validateTableFile } from '@nightshift/analytics';
import type { EventPublisher } from '@nightshift/events-domain';
import type { QueueServer } from '@nightshift/events-nest';
import type { Clock, JobStore } from '@nightshift/jobs-domain';
import { DynamoDbJobStore } from '@nightshift/jobs-dynamodb';
import { bindServicePorts, type ServiceRuntime } from '@nightshift/platform';
import type { ObjectStore } from '@nightshift/storage-domain';
import type { IngestionConfig } from './config.js';
import { DatasetLandedHandler } from './dataset-landed.handler.js';
import { RegisterLandedDataset, type TableFileValidator } from './register-landed-dataset.js';
import { CLOCK, EVENT_PUBLISHER, JOB_STORE, OBJECT_STORE, TABLE_FILE_VALIDATOR } from './tokens.js';

/** Ingestion composed: its Nest module and the transport that feeds it its queue. */
export interface ComposedService {
  module: DynamicModule;
  transport: QueueServer;
}

/** The composition root of ingestion: the only place its ports are bound to adapters (by `config.mode`). */
@Module({})
export class IngestionModule {
  static compose(config: IngestionConfig, runtime: ServiceRuntime): ComposedService {
    const ports = bindServicePorts('ingestion', config, runtime);
    return {
      transport: ports.transport,
      module: {
        module: IngestionModule,
        controllers: [DatasetLandedHandler],
        providers: [
          { provide: JOB_STORE, useValue: new DynamoDbJobStore(ports.dynamo, { tableName: config.tableName }) satisfies JobStore },
          { provide: OBJECT_STORE, useValue: ports.objects },
          { provide: EVENT_PUBLISHER, useValue: ports.publisher },
          { provide: CLOCK, useValue: { now: () => new Date() } satisfies Clock },
          { provide: TABLE_FILE_VALIDATOR, useValue: validateTableFile satisfies TableFileValidator },
          {
            provide: RegisterLandedDataset,
            inject: [JOB_STORE, OBJECT_STORE, EVENT_PUBLISHER, TABLE_FILE_VALIDATOR, CLOCK],
            useFactory: (store: JobStore, objects: ObjectStore, publisher: EventPublisher, validate: TableFileValidator, clock: Clock) =>
              new RegisterLandedDataset(store, objects, publisher, validate, clock),
          },
        ],
      },
    };
  }
}
