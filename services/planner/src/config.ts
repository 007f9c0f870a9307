import { z } from 'zod';
import { checkDeployment, DEPLOYMENT_ENV_NAMES, deploymentEnv, deploymentFields, parseConfig } from '@nightshift/platform';

/** Planner's configuration, parsed once at boot. */
export const plannerConfigSchema = z.object({
  ...deploymentFields,
  /** The queue the planner consumes (its SQS queue's name in aws mode). */
  queueName: z.string().min(1).default('planner'),
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
  /**
   * Who fires the pipelines' schedules. `embedded`: this planner's schedule loop (the embedded
   * platform, where nothing else would); `off`: EventBridge Scheduler does (infra creates one
   * schedule per pipeline schedule). Default: `embedded` in local mode, `off` in aws mode.
   */
  scheduler: z.enum(['embedded', 'off']).optional(),
  /** How often the embedded scheduler looks for due fires. */
  schedulerIntervalMs: z.number().int().min(10).default(1_000),
})
  .superRefine(checkDeployment)
  .transform((config) => ({ ...config, scheduler: config.scheduler ?? (config.mode === 'local' ? ('embedded' as const) : ('off' as const)) }));
export type PlannerConfig = z.infer<typeof plannerConfigSchema>;

const ENV_NAMES = {
  ...DEPLOYMENT_ENV_NAMES,
  queueName: 'NIGHTSHIFT_QUEUE',
  workerCommand: 'NIGHTSHIFT_WORKER_COMMAND',
  workerEnvironment: 'NIGHTSHIFT_WORKER_ENVIRONMENT',
  jobQueue: 'NIGHTSHIFT_JOB_QUEUE',
  jobDefinition: 'NIGHTSHIFT_JOB_DEFINITION',
  fairShareQueues: 'NIGHTSHIFT_FAIR_SHARE_QUEUES',
  concurrency: 'NIGHTSHIFT_CONCURRENCY',
  reconcileIntervalMs: 'NIGHTSHIFT_RECONCILE_INTERVAL_MS',
  claimTimeoutMs: 'NIGHTSHIFT_CLAIM_TIMEOUT_MS',
  scheduler: 'NIGHTSHIFT_SCHEDULER',
  schedulerIntervalMs: 'NIGHTSHIFT_SCHEDULER_INTERVAL_MS',
};

/**
 * Reads the config from the environment (the standalone deployable); names each variable that is
 * wrong. `NIGHTSHIFT_WORKER_COMMAND` and `NIGHTSHIFT_WORKER_ENVIRONMENT` are JSON (an array of
 * strings, an object of strings): the worker's program as the job definition's image runs it.
 */
export function loadPlannerConfig(env: NodeJS.ProcessEnv = process.env): PlannerConfig {
  const json = (name: string): unknown => {
    const v = env[name];
    if (!v) return undefined;
    try {
      return JSON.parse(v) as unknown;
    } catch {
      return `not JSON: ${v}`;
    }
  };
  const num = (name: string) => (env[name] ? Number(env[name]) : undefined);
  return parseConfig(
    plannerConfigSchema,
    {
      ...deploymentEnv(env),
      queueName: env['NIGHTSHIFT_QUEUE'] || undefined,
      workerCommand: json('NIGHTSHIFT_WORKER_COMMAND') ?? ['node', 'services/worker/dist/main.js'],
      workerEnvironment: json('NIGHTSHIFT_WORKER_ENVIRONMENT'),
      jobQueue: env['NIGHTSHIFT_JOB_QUEUE'] || undefined,
      jobDefinition: env['NIGHTSHIFT_JOB_DEFINITION'] || undefined,
      fairShareQueues: env['NIGHTSHIFT_FAIR_SHARE_QUEUES'] ? env['NIGHTSHIFT_FAIR_SHARE_QUEUES'].split(',').map((q) => q.trim()) : undefined,
      concurrency: num('NIGHTSHIFT_CONCURRENCY'),
      reconcileIntervalMs: num('NIGHTSHIFT_RECONCILE_INTERVAL_MS'),
      claimTimeoutMs: num('NIGHTSHIFT_CLAIM_TIMEOUT_MS'),
      scheduler: env['NIGHTSHIFT_SCHEDULER'] || undefined,
      schedulerIntervalMs: num('NIGHTSHIFT_SCHEDULER_INTERVAL_MS'),
    },
    ENV_NAMES,
    'planner',
  );
}
