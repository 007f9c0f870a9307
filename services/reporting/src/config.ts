import { z } from 'zod';
import { checkDeployment, DEPLOYMENT_ENV_NAMES, deploymentEnv, deploymentFields, parseConfig } from '@nightshift/platform';
import { apiKeyRecordSchema } from './auth/api-keys.js';

/** Reporting's configuration, parsed once at boot. */
export const reportingConfigSchema = z
  .object({
    ...deploymentFields,
    /** The queue reporting consumes (its SQS queue's name in aws mode). */
    queueName: z.string().min(1).default('reporting'),
    /** REST API listen address (0.0.0.0 in a container). */
    httpHost: z.string().default('127.0.0.1'),
    /** 0 picks a free port. */
    httpPort: z.number().int().min(0).max(65535).default(3000),
    concurrency: z.number().int().min(1).max(64).default(2),
    /** CloudWatch Logs group of the worker's job logs (aws mode; AWS Batch's default). */
    jobLogGroup: z.string().min(1).default('/aws/batch/job'),
    /** REST API keys given inline (tests, the embedded host); only their SHA-256 (see `hashApiKey`). */
    apiKeys: z.array(apiKeyRecordSchema).default([]),
    /** A file of API keys (`{ keys: [{ id, keyHash, role, tenant? }] }`), read at boot; the embedded default's is `<home>/api-keys.json`. */
    apiKeysFile: z.string().min(1).optional(),
    /** JWKS that JWT bearer tokens are verified against (your identity provider's `jwks_uri`). */
    jwksUrl: z.string().url().optional(),
    /** The `iss` a JWT must have (checked when set). */
    jwtIssuer: z.string().min(1).optional(),
    /** The `aud` a JWT must have (checked when set). */
    jwtAudience: z.string().min(1).optional(),
  })
  .superRefine(checkDeployment)
  .superRefine((config, ctx) => {
    // No mode serves the REST API unauthenticated: the embedded host passes its keys file.
    if (config.apiKeys.length === 0 && config.apiKeysFile === undefined && config.jwksUrl === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['apiKeysFile'],
        message: 'the REST API refuses to start without authentication: set NIGHTSHIFT_API_KEYS_FILE (API keys) and/or NIGHTSHIFT_JWKS_URL (JWTs)',
      });
    }
  });
export type ReportingConfig = z.infer<typeof reportingConfigSchema>;

/** Reads the config from the environment (the standalone deployable); names each variable that is wrong. */
export function loadReportingConfig(env: NodeJS.ProcessEnv = process.env): ReportingConfig {
  const num = (name: string) => (env[name] ? Number(env[name]) : undefined);
  return parseConfig(
    reportingConfigSchema,
    {
      ...deploymentEnv(env),
      queueName: env['NIGHTSHIFT_QUEUE'] || undefined,
      httpHost: env['NIGHTSHIFT_HTTP_HOST'] || undefined,
      httpPort: num('NIGHTSHIFT_HTTP_PORT') ?? num('PORT'),
      concurrency: num('NIGHTSHIFT_CONCURRENCY'),
      jobLogGroup: env['NIGHTSHIFT_JOB_LOG_GROUP'] || undefined,
      apiKeysFile: env['NIGHTSHIFT_API_KEYS_FILE'] || undefined,
      jwksUrl: env['NIGHTSHIFT_JWKS_URL'] || undefined,
      jwtIssuer: env['NIGHTSHIFT_JWT_ISSUER'] || undefined,
      jwtAudience: env['NIGHTSHIFT_JWT_AUDIENCE'] || undefined,
    },
    {
      ...DEPLOYMENT_ENV_NAMES,
      queueName: 'NIGHTSHIFT_QUEUE',
      httpHost: 'NIGHTSHIFT_HTTP_HOST',
      httpPort: 'NIGHTSHIFT_HTTP_PORT',
      concurrency: 'NIGHTSHIFT_CONCURRENCY',
      jobLogGroup: 'NIGHTSHIFT_JOB_LOG_GROUP',
      apiKeysFile: 'NIGHTSHIFT_API_KEYS_FILE',
      jwksUrl: 'NIGHTSHIFT_JWKS_URL',
      jwtIssuer: 'NIGHTSHIFT_JWT_ISSUER',
      jwtAudience: 'NIGHTSHIFT_JWT_AUDIENCE',
    },
    'reporting',
  );
}
