import { z } from 'zod';
import { checkDeployment, DEPLOYMENT_ENV_NAMES, deploymentEnv, deploymentFields, parseConfig } from '@nightshift/platform';

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
  })
  .superRefine(checkDeployment);
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
    },
    {
      ...DEPLOYMENT_ENV_NAMES,
      queueName: 'NIGHTSHIFT_QUEUE',
      httpHost: 'NIGHTSHIFT_HTTP_HOST',
      httpPort: 'NIGHTSHIFT_HTTP_PORT',
      concurrency: 'NIGHTSHIFT_CONCURRENCY',
      jobLogGroup: 'NIGHTSHIFT_JOB_LOG_GROUP',
    },
    'reporting',
  );
}
