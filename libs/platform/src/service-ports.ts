import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { SERVICE_RULES } from '@nightshift/contracts';
import { PutEventsPublisher, type DeadLetterQueues, type EventPublisher, type MessageConsumer } from '@nightshift/events-domain';
import { EventBridgePutEventsTarget, SqsDeadLetterQueues, SqsMessageConsumer } from '@nightshift/events-aws';
import { QueueServer } from '@nightshift/events-nest';
import { s3ObjectStoreForBuckets } from '@nightshift/storage-aws';
import type { ObjectStore } from '@nightshift/storage-domain';
import { DirectoryObjectStore } from '@nightshift/storage-local';
import type { DeploymentConfig } from './config.js';
import { MeteredPutEventsTarget } from './metered-put-events-target.js';
import { assertRuntimeMatches, type ServiceRuntime } from './runtime.js';

/** The services that own a queue on the bus. */
const SERVICE_NAMES: readonly string[] = Object.keys(SERVICE_RULES);

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
  /**
   * The dead-letter queues of the three service queues, by service name (`ingestion`, `planner`,
   * `reporting`) in both modes: the embedded bus's, or SQS's `<queue>-dlq` (see {@link serviceQueueNames}).
   */
  deadLetters: DeadLetterQueues;
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
          deadLetters: new SqsDeadLetterQueues(runtime.aws.sqs, { queues: serviceQueueNames(service, config.queueName) }),
          eventBusName: config.eventBusName,
        }
      : {
          dynamo: runtime.dynamo,
          objects: new DirectoryObjectStore(config.objectStoreDir!),
          events: runtime.bus,
          consumer: runtime.bus.consumer(config.queueName),
          // The service queues only: the host's own queues on the bus (the console's) are not the API's.
          deadLetters: runtime.bus.deadLetterQueues(SERVICE_NAMES),
          eventBusName: undefined,
        };
  const { dynamo, objects, consumer, deadLetters } = bound;
  return {
    dynamo,
    objects,
    consumer,
    deadLetters,
    publisher: new PutEventsPublisher(new MeteredPutEventsTarget(bound.events), { claimChecks: objects, ...(bound.eventBusName !== undefined ? { eventBusName: bound.eventBusName } : {}) }),
    transport: new QueueServer({ consumer, claimChecks: objects, concurrency: config.concurrency }),
  };
}

/**
 * The SQS queue names of the service queues, by service name, as a service in aws mode derives them
 * from its own queue's: infra names them `${prefix}-<service>` (and their DLQs `${prefix}-<service>-dlq`),
 * the embedded platform's split topology `<service>`, so the prefix is the queue name less the service
 * name. A queue named otherwise (a NIGHTSHIFT_QUEUE of another pattern) yields only the service's own.
 */
export function serviceQueueNames(service: string, queueName: string): Record<string, string> {
  const prefix = queueName === service ? '' : queueName.endsWith(`-${service}`) ? queueName.slice(0, -service.length) : undefined;
  if (prefix === undefined || !SERVICE_NAMES.includes(service)) return { [service]: queueName };
  return Object.fromEntries(SERVICE_NAMES.map((name) => [name, `${prefix}${name}`]));
}
