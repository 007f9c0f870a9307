import type { App, Environment } from 'aws-cdk-lib';
import type { PipelineDefinition } from '@nightshift/jobs-domain';
import type { InfraConfig } from './config.js';
import { ComputeStack } from './stacks/compute-stack.js';
import { MessagingStack } from './stacks/messaging-stack.js';
import { ObservabilityStack } from './stacks/observability-stack.js';
import { ServicesStack } from './stacks/services-stack.js';
import { StateStack } from './stacks/state-stack.js';

/** The stacks of one deployment, by lifecycle: state apart from what can be redeployed at will. */
export interface NightshiftStacks {
  state: StateStack;
  messaging: MessagingStack;
  compute: ComputeStack;
  services: ServicesStack;
  observability: ObservabilityStack;
}

/** What a deployment adds to its configuration. */
export interface NightshiftStacksOptions {
  /**
   * The pipelines deployed: their schedules become EventBridge Scheduler schedules, their command
   * steps AWS Batch job definitions. The built-in ones by default; `deployedPipelines(config)` adds
   * those of `config.pipelinesDir`, which the planner's and reporting's images carry.
   */
  pipelines?: readonly PipelineDefinition[];
}

/**
 * Adds nightshift's stacks to `app`: State (the table and buckets, retained, termination-protected),
 * Messaging (bus, queues, rules, topic, schedules), Compute (VPC, Batch), Services (ECS Fargate,
 * the API's load balancer) and Observability (alarms, dashboard). A redeploy of the last four
 * never replaces the first.
 */
export function addNightshiftStacks(app: App, config: InfraConfig, options: NightshiftStacksOptions = {}): NightshiftStacks {
  const env: Environment | undefined = config.env.account || config.env.region ? { account: config.env.account, region: config.env.region } : undefined;
  const base = { config, ...(env ? { env } : {}) };
  const name = (part: string): string => `${pascal(config.prefix)}${part}`;
  const state = new StateStack(app, name('State'), { ...base, terminationProtection: true });
  const pipelines = options.pipelines ? { pipelines: options.pipelines } : {};
  const messaging = new MessagingStack(app, name('Messaging'), { ...base, ...pipelines });
  const compute = new ComputeStack(app, name('Compute'), { ...base, state, ...pipelines });
  const services = new ServicesStack(app, name('Services'), { ...base, state, messaging, compute });
  const observability = new ObservabilityStack(app, name('Observability'), { ...base, messaging, compute, services });
  return { state, messaging, compute, services, observability };
}

function pascal(prefix: string): string {
  return prefix
    .split('-')
    .map((p) => p.charAt(0).toUpperCase() + p.slice(1))
    .join('');
}
