import { z } from 'zod';

/** Planner's configuration, parsed once at boot. */
export const plannerConfigSchema = z.object({
  /** Only the embedded mode has adapters so far; `aws` arrives with the infra (Batch, EventBridge/SQS). */
  mode: z.literal('local'),
  tableName: z.string().min(3),
  objectStoreDir: z.string().min(1),
  /** How a job starts the worker: program and leading arguments. */
  workerCommand: z.array(z.string().min(1)).min(1),
  /** Extra environment every worker gets (object store location, tracing). */
  workerEnvironment: z.record(z.string(), z.string()).default({}),
  jobQueue: z.string().default('nightshift-default'),
  jobDefinition: z.string().default('nightshift-worker'),
  /** Job queues with a fair-share policy: jobs submitted to them carry a share identifier (tenant or pipeline). */
  fairShareQueues: z.array(z.string()).default([]),
  concurrency: z.number().int().min(1).max(64).default(4),
  /** How often the reconciliation sweep compares open runs with the compute environment. */
  reconcileIntervalMs: z.number().int().min(100).default(30_000),
  /** A submission claimed this long ago and not finished is taken over by the sweep (its claimant died). */
  claimTimeoutMs: z.number().int().min(0).default(60_000),
  /** Tries (first included) and first backoff of a submission that failed transiently, before the event goes back to the bus. */
  submitRetry: z.object({ attempts: z.number().int().min(1).max(10).default(4), baseDelayMs: z.number().int().min(0).default(200) }).default({ attempts: 4, baseDelayMs: 200 }),
});
export type PlannerConfig = z.infer<typeof plannerConfigSchema>;
