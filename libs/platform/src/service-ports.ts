import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { PutEventsPublisher, type EventPublisher, type MessageConsumer } from '@nightshift/events-domain';
import { EventBridgePutEventsTarget, SqsMessageConsumer } from '@nightshift/events-aws';
import { QueueServer } from '@nightshift/events-nest';
import { s3ObjectStoreForBuckets } from '@nightshift/storage-aws';
import type { ObjectStore } from '@nightshift/storage-domain';
import { DirectoryObjectStore } from '@nightshift/storage-local';
import type { DeploymentConfig } from './config.js';
import { assertRuntimeMatches, type ServiceRuntime } from './runtime.js';

/** The ports every service binds the same way: state, objects, publishing, its queue. */
export interface ServicePorts {
  /** DynamoDB (the embedded server, or AWS's) for the service's `DynamoDbJobStore`. */
  dynamo: DynamoDBDocumentClient;
  /** The directory object store, or S3 (landing and claim-check keys in buckets of their own when configured). */
  objects: ObjectStore;
  /** PutEvents to the embedded bus or EventBridge, claim-checking oversized details into `objects`. */
  publisher: EventPublisher;
  /** The service's queue: on the embedded bus, or SQS. */
  consumer: MessageConsumer;
  /** The Nest transport over `consumer` (claim-checked details read back from `objects`). */
  transport: QueueServer;
}

/** What {@link bindServicePorts} needs of a service's config. */
export interface ServicePortsConfig extends DeploymentConfig {
  queueName: string;
  concurrency: number;
}

/**
 * Binds the ports the three services share, by mode: called only from each service's composition
 * root (`app.module.ts`), which binds its own ports (compute, logs) beside them. One place, so the
 * embedded default and AWS can never be wired differently from one service to the next.
 */
export function bindServicePorts(service: string, config: ServicePortsConfig, runtime: ServiceRuntime): ServicePorts {
  assertRuntimeMatches(service, config, runtime);
  const bound =
    runtime.mode === 'aws'
      ? {
          dynamo: runtime.aws.dynamo,
          objects: s3ObjectStoreForBuckets(runtime.aws.s3, { bucket: config.bucket!, landingBucket: config.landingBucket, claimCheckBucket: config.claimCheckBucket }),
          events: new EventBridgePutEventsTarget(runtime.aws.eventBridge),
          consumer: new SqsMessageConsumer(runtime.aws.sqs, { queue: config.queueName }),
          eventBusName: config.eventBusName,
        }
      : {
          dynamo: runtime.dynamo,
          objects: new DirectoryObjectStore(config.objectStoreDir!),
          events: runtime.bus,
          consumer: runtime.bus.consumer(config.queueName),
          eventBusName: undefined,
        };
  const { dynamo, objects, consumer } = bound;
  return {
    dynamo,
    objects,
    consumer,
    publisher: new PutEventsPublisher(bound.events, { claimChecks: objects, ...(bound.eventBusName !== undefined ? { eventBusName: bound.eventBusName } : {}) }),
    transport: new QueueServer({ consumer, claimChecks: objects, concurrency: config.concurrency }),
  };
}
