import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { ServiceBus } from '@nightshift/events-domain';
import type { ComputeEnvironment, JobLogs } from '@nightshift/jobs-domain';
import type { AwsClients } from './aws-clients.js';

/**
 * What a service's composition root binds its ports to, owned by the process that starts it:
 * in `local` mode the embedded host's shared pieces (one bus, one DynamoDB-compatible server, one
 * compute environment with the machine's vCPU/memory budget); in `aws` mode the process's AWS SDK
 * clients. Its `mode` must be the config's (checked by {@link assertRuntimeMatches}).
 */
export type ServiceRuntime = EmbeddedRuntime | AwsRuntime;

/** The embedded host's shared pieces, by port. */
export interface EmbeddedRuntime {
  mode: 'local';
  dynamo: DynamoDBDocumentClient;
  bus: ServiceBus;
  /** The compute environment (planner submits to it; reporting reads job states from it). */
  compute?: ComputeEnvironment;
  /** Where attempt logs are read (reporting). */
  logs?: JobLogs;
}

/** A process of its own on AWS's APIs (or the embedded platform's AWS-compatible endpoints). */
export interface AwsRuntime {
  mode: 'aws';
  aws: AwsClients;
}

/** A config for one mode with a runtime of the other is a wiring bug: fail at boot, naming both. */
export function assertRuntimeMatches(service: string, config: { mode: 'local' | 'aws' }, runtime: ServiceRuntime): void {
  if (config.mode !== runtime.mode) {
    throw new Error(`${service}: config mode "${config.mode}" but a "${runtime.mode}" runtime was given`);
  }
}
