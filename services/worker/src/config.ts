import { z } from 'zod';

/** The worker's configuration: what AWS Batch (or the local compute environment) passes in. */
export const workerConfigSchema = z.object({
  manifestKey: z.string().min(1),
  objectStoreDir: z.string().min(1),
  arrayIndex: z.coerce.number().int().min(0).default(0),
  attempt: z.coerce.number().int().min(1).default(1),
  jobId: z.string().default('local'),
  traceparent: z.string().optional(),
  otlpEndpoint: z.string().url().optional(),
  traceFile: z.string().optional(),
});
export type WorkerConfig = z.infer<typeof workerConfigSchema>;

/** Reads the worker's configuration from its environment; names the variable that is wrong. */
export function loadWorkerConfig(env: NodeJS.ProcessEnv = process.env): WorkerConfig {
  const result = workerConfigSchema.safeParse({
    manifestKey: env['NIGHTSHIFT_MANIFEST_KEY'],
    objectStoreDir: env['NIGHTSHIFT_OBJECT_STORE_DIR'],
    arrayIndex: env['NIGHTSHIFT_ARRAY_INDEX'] ?? env['AWS_BATCH_JOB_ARRAY_INDEX'],
    attempt: env['AWS_BATCH_JOB_ATTEMPT'],
    jobId: env['AWS_BATCH_JOB_ID'],
    traceparent: env['TRACEPARENT'] || undefined,
    otlpEndpoint: env['OTEL_EXPORTER_OTLP_ENDPOINT'] || undefined,
    traceFile: env['NIGHTSHIFT_TRACE_FILE'] || undefined,
  });
  if (!result.success) {
    const names: Record<string, string> = {
      manifestKey: 'NIGHTSHIFT_MANIFEST_KEY',
      objectStoreDir: 'NIGHTSHIFT_OBJECT_STORE_DIR',
      arrayIndex: 'AWS_BATCH_JOB_ARRAY_INDEX',
      attempt: 'AWS_BATCH_JOB_ATTEMPT',
      otlpEndpoint: 'OTEL_EXPORTER_OTLP_ENDPOINT',
    };
    const problems = result.error.issues.map((i) => `${names[String(i.path[0])] ?? String(i.path[0])}: ${i.message}`);
    throw new WorkerUsageError(`invalid worker environment: ${problems.join('; ')}`);
  }
  return result.data;
}

/** The worker was started wrongly (environment, manifest, unknown analytic): retrying cannot help. */
export class WorkerUsageError extends Error {
  readonly retryable = false;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'WorkerUsageError';
  }
}
