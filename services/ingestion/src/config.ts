import { z } from 'zod';
import { checkDeployment, DEPLOYMENT_ENV_NAMES, deploymentEnv, deploymentFields, parseConfig } from '@nightshift/platform';

/** Ingestion's configuration, parsed once at boot. */
export const ingestionConfigSchema = z
  .object({
    ...deploymentFields,
    /** The queue ingestion consumes (its SQS queue's name in aws mode). */
    queueName: z.string().min(1).default('ingestion'),
    /** Concurrent events handled. */
    concurrency: z.number().int().min(1).max(64).default(2),
  })
  .superRefine(checkDeployment);
export type IngestionConfig = z.infer<typeof ingestionConfigSchema>;

/** Reads the config from the environment (the standalone deployable); names each variable that is wrong. */
export function loadIngestionConfig(env: NodeJS.ProcessEnv = process.env): IngestionConfig {
  return parseConfig(
    ingestionConfigSchema,
    { ...deploymentEnv(env), queueName: env['NIGHTSHIFT_QUEUE'] || undefined, concurrency: env['NIGHTSHIFT_CONCURRENCY'] ? Number(env['NIGHTSHIFT_CONCURRENCY']) : undefined },
    { ...DEPLOYMENT_ENV_NAMES, queueName: 'NIGHTSHIFT_QUEUE', concurrency: 'NIGHTSHIFT_CONCURRENCY' },
    'ingestion',
  );
}
