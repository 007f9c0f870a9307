import { z } from 'zod';
import { LOG_LEVELS, type LogLevel } from '@nightshift/observability';

/** An S3 bucket name, as far as the config checks it (S3 refuses the rest at the first request). */
const bucketName = z.string().min(3).max(63);

/**
 * The deployment settings every service shares, as zod fields to spread into a service's own
 * config schema; check them with {@link checkDeployment}.
 */
export const deploymentFields = {
  /**
   * `local`: inside the embedded host, on its bus, compute environment and directory object store.
   * `aws`: its own process on AWS's APIs (EventBridge, SQS, S3, Batch, DynamoDB, CloudWatch Logs),
   * or on the embedded platform's AWS-compatible endpoints when `AWS_ENDPOINT_URL` points there.
   */
  mode: z.enum(['local', 'aws']).default('local'),
  /** DynamoDB table holding job state. */
  tableName: z.string().min(3),
  /** Root directory of the object store (local mode). */
  objectStoreDir: z.string().min(1).optional(),
  /** S3 bucket of the object store (aws mode): every key no other bucket below takes (`datasets/`, `runs/`, `reports/`). */
  bucket: bucketName.optional(),
  /**
   * S3 bucket of `landing/` keys, where upstream lands data (aws mode); unset: `bucket`. A bucket of
   * its own gives upstream's data its own lifecycle, versioning and access policy.
   */
  landingBucket: bucketName.optional(),
  /** S3 bucket of `claim-checks/` keys, oversized event details (aws mode); unset: `bucket`. Short-lived: a lifecycle of its own. */
  claimCheckBucket: bucketName.optional(),
  /** Path-style S3 addressing (needed for endpoints on an IP address, such as the embedded platform's). */
  s3ForcePathStyle: z.boolean().default(false),
  /** EventBridge bus the service publishes to (aws mode). */
  eventBusName: z.string().min(1).default('nightshift'),
  /** OTLP/HTTP endpoint for traces (an ADOT collector sidecar in AWS). */
  otlpEndpoint: z.string().url().optional(),
  /** Without an OTLP endpoint, spans go to this file (JSON lines). */
  traceFile: z.string().min(1).optional(),
  /**
   * A directory of pipelines users define, one per `*.yaml`, `*.yml` or `*.json` file (see
   * `loadPipelineFiles`), run beside the built-in ones. Read once at boot: a missing directory or a
   * bad file stops the start, naming each problem's file, path and line. Every deployable that
   * knows pipelines (planner, reporting) must be given the same directory.
   */
  pipelinesDir: z.string().min(1).optional(),
  /** The least severe log line written (JSON lines on stdout): `info` by default, `debug` adds the framework's boot lines. */
  logLevel: z.enum(LOG_LEVELS).default('info'),
};

/** The fields {@link deploymentFields} gives a parsed config. */
export interface DeploymentConfig {
  mode: 'local' | 'aws';
  tableName: string;
  objectStoreDir?: string;
  bucket?: string;
  landingBucket?: string;
  claimCheckBucket?: string;
  s3ForcePathStyle: boolean;
  eventBusName: string;
  otlpEndpoint?: string;
  traceFile?: string;
  pipelinesDir?: string;
  /** Default info (a config built in code may leave it out). */
  logLevel?: LogLevel;
}

/** What each mode requires: a directory in local mode, a bucket in aws mode. */
export function checkDeployment(config: DeploymentConfig, ctx: z.RefinementCtx): void {
  if (config.mode === 'local' && config.objectStoreDir === undefined) {
    ctx.addIssue({ code: 'custom', path: ['objectStoreDir'], message: 'required in local mode (NIGHTSHIFT_OBJECT_STORE_DIR)' });
  }
  if (config.mode === 'aws' && config.bucket === undefined) {
    ctx.addIssue({ code: 'custom', path: ['bucket'], message: 'required in aws mode (NIGHTSHIFT_BUCKET)' });
  }
}

/** The environment variables of {@link deploymentFields}, read once by each deployable's config loader. */
export function deploymentEnv(env: NodeJS.ProcessEnv = process.env): Record<keyof DeploymentConfig, unknown> {
  return {
    mode: env['NIGHTSHIFT_MODE'] || undefined,
    tableName: env['NIGHTSHIFT_TABLE'] ?? 'nightshift',
    objectStoreDir: env['NIGHTSHIFT_OBJECT_STORE_DIR'] || undefined,
    bucket: env['NIGHTSHIFT_BUCKET'] || undefined,
    landingBucket: env['NIGHTSHIFT_LANDING_BUCKET'] || undefined,
    claimCheckBucket: env['NIGHTSHIFT_CLAIM_CHECK_BUCKET'] || undefined,
    s3ForcePathStyle: env['NIGHTSHIFT_S3_FORCE_PATH_STYLE'] === 'true',
    eventBusName: env['NIGHTSHIFT_EVENT_BUS'] || undefined,
    otlpEndpoint: env['OTEL_EXPORTER_OTLP_ENDPOINT'] || undefined,
    traceFile: env['NIGHTSHIFT_TRACE_FILE'] || undefined,
    pipelinesDir: env['NIGHTSHIFT_PIPELINES_DIR'] || undefined,
    logLevel: env['NIGHTSHIFT_LOG_LEVEL'] || undefined,
  };
}

/** Which environment variable sets each config field: error messages name the variable, not the field. */
export const DEPLOYMENT_ENV_NAMES: Readonly<Record<string, string>> = {
  mode: 'NIGHTSHIFT_MODE',
  tableName: 'NIGHTSHIFT_TABLE',
  objectStoreDir: 'NIGHTSHIFT_OBJECT_STORE_DIR',
  bucket: 'NIGHTSHIFT_BUCKET',
  landingBucket: 'NIGHTSHIFT_LANDING_BUCKET',
  claimCheckBucket: 'NIGHTSHIFT_CLAIM_CHECK_BUCKET',
  s3ForcePathStyle: 'NIGHTSHIFT_S3_FORCE_PATH_STYLE',
  eventBusName: 'NIGHTSHIFT_EVENT_BUS',
  otlpEndpoint: 'OTEL_EXPORTER_OTLP_ENDPOINT',
  traceFile: 'NIGHTSHIFT_TRACE_FILE',
  pipelinesDir: 'NIGHTSHIFT_PIPELINES_DIR',
  logLevel: 'NIGHTSHIFT_LOG_LEVEL',
};

/** A deployable's configuration is invalid: names each variable and what is wrong. Not retryable. */
export class ConfigError extends Error {
  readonly retryable = false;
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** Parses `raw` with `schema`, or throws a {@link ConfigError} naming each offending variable. */
export function parseConfig<T>(schema: z.ZodType<T>, raw: unknown, envNames: Readonly<Record<string, string>>, what: string): T {
  const result = schema.safeParse(raw);
  if (result.success) return result.data;
  const problems = result.error.issues.map((i) => {
    const field = String(i.path[0] ?? '');
    return `${envNames[field] ?? (i.path.join('.') || '(config)')}: ${i.message}`;
  });
  throw new ConfigError(`invalid ${what} configuration: ${problems.join('; ')}`);
}
