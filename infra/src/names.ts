import type { InfraConfig } from './config.js';

/**
 * Names every stack agrees on without referencing each other: the job queues (the messaging stack
 * matches their Batch state changes by ARN, the compute stack creates them, the planner submits to
 * them by name) and the worker's job definition.
 */
export const JOB_QUEUE_TIERS = ['high', 'default', 'low'] as const;
export type JobQueueTier = (typeof JOB_QUEUE_TIERS)[number];

/** Scheduling priority of each tier's job queue (higher first), as the embedded platform's queues. */
export const JOB_QUEUE_PRIORITY: Readonly<Record<JobQueueTier, number>> = { high: 100, default: 10, low: 1 };

export function jobQueueName(config: Pick<InfraConfig, 'prefix'>, tier: JobQueueTier): string {
  return `${config.prefix}-${tier}`;
}

export function workerJobDefinitionName(config: Pick<InfraConfig, 'prefix'>): string {
  return `${config.prefix}-worker`;
}
