import { z } from 'zod';
import { LOG_LEVELS } from '@nightshift/observability';
import { WorkerUsageError } from './errors.js';

/** An S3 bucket name, as far as the config checks it (S3 refuses the rest at the first request). */
const bucketName = z.string().min(3).max(63);

/** The worker's configuration: what AWS Batch (or the local compute environment) passes in. */
export const workerConfigSchema = z
  .object({
    /** `local`: the object store is a directory (the embedded default); `aws`: S3 (AWS Batch, or the embedded platform's S3 endpoint). */
    mode: z.enum(['local', 'aws']).default('local'),
    manifestKey: z.string().min(1),
    /** Root of the directory object store (local mode). */
    objectStoreDir: z.string().min(1).optional(),
    /** S3 bucket of the object store (aws mode); endpoint and credentials come from the SDK's standard configuration. */
    bucket: bucketName.optional(),
    /** S3 bucket of `landing/` keys, the data upstream landed (aws mode); unset: `bucket`. */
    landingBucket: bucketName.optional(),
    /** S3 bucket of `claim-checks/` keys (aws mode); unset: `bucket`. The same buckets as the services', so keys resolve alike. */
    claimCheckBucket: bucketName.optional(),
    /** Path-style S3 addressing (an endpoint on an IP address). */
    s3ForcePathStyle: z.boolean().default(false),
    arrayIndex: z.coerce.number().int().min(0).default(0),
    attempt: z.coerce.number().int().min(1).default(1),
    jobId: z.string().default('local'),
    traceparent: z.string().optional(),
    otlpEndpoint: z.string().url().optional(),
    traceFile: z.string().optional(),
    /** The least severe line the worker writes to the job's log (NIGHTSHIFT_LOG_LEVEL). */
    logLevel: z.enum(LOG_LEVELS).default('info'),
  })
  .superRefine((c, ctx) => {
    if (c.mode === 'local' && c.objectStoreDir === undefined) ctx.addIssue({ code: 'custom', path: ['objectStoreDir'], message: 'required in local mode' });
    if (c.mode === 'aws' && c.bucket === undefined) ctx.addIssue({ code: 'custom', path: ['bucket'], message: 'required in aws mode' });
  });
export type WorkerConfig = z.infer<typeof workerConfigSchema>;

/** Reads the worker's configuration from its environment; names the variable that is wrong. */
export function loadWorkerConfig(env: NodeJS.ProcessEnv = process.env): WorkerConfig {
  const result = workerConfigSchema.safeParse({
    mode: env['NIGHTSHIFT_MODE'] || undefined,
    manifestKey: env['NIGHTSHIFT_MANIFEST_KEY'],
    objectStoreDir: env['NIGHTSHIFT_OBJECT_STORE_DIR'] || undefined,
    bucket: env['NIGHTSHIFT_BUCKET'] || undefined,
    landingBucket: env['NIGHTSHIFT_LANDING_BUCKET'] || undefined,
    claimCheckBucket: env['NIGHTSHIFT_CLAIM_CHECK_BUCKET'] || undefined,
    s3ForcePathStyle: env['NIGHTSHIFT_S3_FORCE_PATH_STYLE'] === 'true',
    arrayIndex: env['NIGHTSHIFT_ARRAY_INDEX'] ?? env['AWS_BATCH_JOB_ARRAY_INDEX'],
    attempt: env['AWS_BATCH_JOB_ATTEMPT'],
    jobId: env['AWS_BATCH_JOB_ID'],
    traceparent: env['TRACEPARENT'] || undefined,
    otlpEndpoint: env['OTEL_EXPORTER_OTLP_ENDPOINT'] || undefined,
    traceFile: env['NIGHTSHIFT_TRACE_FILE'] || undefined,
    logLevel: env['NIGHTSHIFT_LOG_LEVEL'] || undefined,
  });
  if (!result.success) {
    const names: Record<string, string> = {
      mode: 'NIGHTSHIFT_MODE',
      manifestKey: 'NIGHTSHIFT_MANIFEST_KEY',
      objectStoreDir: 'NIGHTSHIFT_OBJECT_STORE_DIR',
      bucket: 'NIGHTSHIFT_BUCKET',
      landingBucket: 'NIGHTSHIFT_LANDING_BUCKET',
      claimCheckBucket: 'NIGHTSHIFT_CLAIM_CHECK_BUCKET',
      arrayIndex: 'AWS_BATCH_JOB_ARRAY_INDEX',
      attempt: 'AWS_BATCH_JOB_ATTEMPT',
      otlpEndpoint: 'OTEL_EXPORTER_OTLP_ENDPOINT',
      logLevel: 'NIGHTSHIFT_LOG_LEVEL',
    };
    const problems = result.error.issues.map((i) => `${names[String(i.path[0])] ?? String(i.path[0])}: ${i.message}`);
    throw new WorkerUsageError(`invalid worker environment: ${problems.join('; ')}`);
  }
  return result.data;
}

/**
 * The environment a user's command starts from (`run-command`): the worker's own, whole, since the
 * step's variables, AWS_BATCH_*, credentials and the proxy settings are the command's as much as the
 * worker's. Passed on, not configuration, so nothing in it is validated; read here because this is
 * where the worker's environment is read.
 */
export function commandBaseEnvironment(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined));
}
