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
  concurrency: z.number().int().min(1).max(64).default(4),
});
export type PlannerConfig = z.infer<typeof plannerConfigSchema>;
