import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { z } from 'zod';

/**
 * What a deployment of nightshift is configured with: one typed object, read from a JSON file
 * named by the CDK context `config` (`cdk synth -c config=infra/config/prod.json`) over these
 * defaults, and checked here so that a typo fails the synth with the path of what is wrong.
 * Nothing in it is a secret; account and region are optional (environment-agnostic stacks).
 */
export const infraConfigSchema = z
  .object({
    /** Prefix of every named resource (stacks, queues, job queues, the table, buckets' logical names). */
    prefix: z.string().regex(/^[a-z][a-z0-9-]{1,20}$/, 'lowercase letters, digits and "-", 2-21 characters, starting with a letter').default('nightshift'),
    /** Pin the stacks to an account/region; absent, they are environment-agnostic. */
    env: z.object({ account: z.string().regex(/^\d{12}$/).optional(), region: z.string().min(1).optional() }).strict().prefault({}),
    network: z
      .object({
        maxAzs: z.number().int().min(2).max(6).default(2),
        /** NAT gateways for the private subnets' egress (0 with `vpcEndpoints` only: no internet from the subnets). */
        natGateways: z.number().int().min(0).max(6).default(1),
        /** Interface/gateway endpoints for S3, DynamoDB, SQS, EventBridge, ECR, Logs, Batch, X-Ray: AWS traffic stays off the NAT. */
        vpcEndpoints: z.boolean().default(true),
      })
      .strict()
      .prefault({}),
    compute: z
      .object({
        /** The Spot compute environment (SPOT_PRICE_CAPACITY_OPTIMIZED); off: on-demand only. */
        spot: z.boolean().default(true),
        spotMaxVcpus: z.number().int().min(1).default(256),
        onDemandMaxVcpus: z.number().int().min(1).default(64),
        minVcpus: z.number().int().min(0).default(0),
        /** Instance types (or families) the compute environments may launch. */
        instanceTypes: z.array(z.string().min(1)).min(1).default(['c7i', 'm7i', 'r7i']),
      })
      .strict()
      .prefault({}),
    worker: z
      .object({
        vcpus: z.number().positive().default(1),
        memoryMiB: z.number().int().min(128).default(2048),
        attempts: z.number().int().min(1).max(10).default(3),
        timeoutSeconds: z.number().int().min(60).default(3600),
      })
      .strict()
      .prefault({}),
    services: z
      .object({
        /** Fargate size and task count range of each service (autoscaled on its queue's backlog). */
        cpu: z.number().int().default(512),
        memoryMiB: z.number().int().default(1024),
        minTasks: z.number().int().min(1).default(1),
        maxTasks: z.number().int().min(1).default(4),
        /** Visible messages per task the autoscaling aims at. */
        backlogPerTask: z.number().int().min(1).default(100),
      })
      .strict()
      .prefault({}),
    api: z
      .object({
        /** ACM certificate for the API's HTTPS listener; absent, the load balancer listens on HTTP only. */
        certificateArn: z.string().startsWith('arn:').optional(),
        /** CIDR allowed to reach the API's load balancer. */
        allowedCidr: z.string().default('10.0.0.0/8'),
        /**
         * How the REST API verifies bearer tokens: your identity provider's JWKS (`jwks_uri`), and the
         * `iss` / `aud` a token must carry. Reporting refuses to start without it (no unauthenticated API).
         */
        jwksUrl: z.string().url().optional(),
        jwtIssuer: z.string().min(1).optional(),
        jwtAudience: z.string().min(1).optional(),
      })
      .strict()
      .prefault({}),
    retention: z
      .object({
        logDays: z.number().int().min(1).default(30),
        /** The event bus archive (replay). */
        archiveDays: z.number().int().min(1).default(30),
        /** Oversized event details: never needed after the longest queue retention (SQS max 14 days). */
        claimCheckDays: z.number().int().min(14).default(15),
        /** Landed files move to Infrequent Access after this many days. */
        landingInfrequentAccessDays: z.number().int().min(30).default(30),
        /** Overwritten versions of results and reports are kept this long. */
        noncurrentVersionDays: z.number().int().min(1).default(90),
      })
      .strict()
      .prefault({}),
    alarms: z
      .object({
        /** Email subscribed to the notifications topic, if any. */
        email: z.string().email().optional(),
        /** Age of the oldest message in a service queue that raises the alarm. */
        oldestMessageAgeSeconds: z.number().int().min(60).default(900),
      })
      .strict()
      .prefault({}),
  })
  .strict();

export type InfraConfig = z.infer<typeof infraConfigSchema> & {
  /**
   * The directory of the pipelines users define, one per `*.yaml`, `*.yml` or `*.json` file (as the
   * services read them): their schedules become EventBridge Scheduler schedules, their command steps
   * Batch job definitions, and the planner and reporting images carry a copy of the directory, so it
   * must be inside the repository (the images' build context). Absolute, once loaded. Absent: the
   * built-in pipelines only. Not a field of the file: the CDK context `pipelinesDir`
   * (`-c pipelinesDir=../pipelines`, relative to infra/) or `NIGHTSHIFT_PIPELINES_DIR` sets it
   * ({@link loadInfraConfig}).
   */
  pipelinesDir?: string;
};

/** The configuration file or context is not valid; the message names the path of each problem. */
export class InfraConfigError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'InfraConfigError';
  }
}

/** Parses a configuration object (defaults filled in); `source` names where it came from in errors. */
export function parseInfraConfig(raw: unknown, source = 'configuration'): InfraConfig {
  const result = infraConfigSchema.safeParse(raw ?? {});
  if (!result.success) {
    const problems = result.error.issues.map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`);
    throw new InfraConfigError(`${source} is not a valid nightshift deployment configuration: ${problems.join('; ')}`);
  }
  return result.data;
}

/** Reads and parses the JSON configuration file at `path`. */
export function loadInfraConfigFile(path: string): InfraConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (cause) {
    throw new InfraConfigError(`cannot read the deployment configuration ${path}: ${(cause as Error).message}`, { cause });
  }
  return parseInfraConfig(raw, path);
}

/** Where a synth's configuration comes from besides the file: the CDK app's context and the process's environment. */
export interface InfraConfigSources {
  /**
   * A CDK context value (`app.node.tryGetContext`): `config` names the configuration file,
   * `pipelinesDir` the pipelines' directory; both relative to where cdk runs (infra/).
   */
  context: (key: string) => unknown;
  /** `NIGHTSHIFT_PIPELINES_DIR`, read when the context has no `pipelinesDir`. Default: the process's. */
  env?: Readonly<Record<string, string | undefined>>;
}

/**
 * The deployment's configuration as the CDK app is given it: the file named by the context `config`
 * (without one, the defaults), and `pipelinesDir` from the context, else `NIGHTSHIFT_PIPELINES_DIR`,
 * resolved to an absolute path.
 */
export function loadInfraConfig({ context, env = process.env }: InfraConfigSources): InfraConfig {
  const file = contextString(context, 'config');
  const config = file ? loadInfraConfigFile(file) : parseInfraConfig({}, 'the default configuration');
  const pipelinesDir = contextString(context, 'pipelinesDir') || env['NIGHTSHIFT_PIPELINES_DIR'] || undefined;
  return pipelinesDir === undefined ? config : { ...config, pipelinesDir: resolve(pipelinesDir) };
}

function contextString(context: InfraConfigSources['context'], key: string): string | undefined {
  const value = context(key);
  if (value === undefined || typeof value === 'string') return value;
  throw new InfraConfigError(`the CDK context value ${key} must be a path, got ${JSON.stringify(value)}`);
}
