import { z } from 'zod';

/** Ingestion's configuration, parsed once at boot. */
export const ingestionConfigSchema = z.object({
  /** Only the embedded mode has adapters so far; `aws` arrives with the infra (EventBridge/SQS, S3). */
  mode: z.literal('local'),
  /** DynamoDB table holding job state. */
  tableName: z.string().min(3),
  /** Root directory of the object store (local mode). */
  objectStoreDir: z.string().min(1),
  /** Concurrent events handled. */
  concurrency: z.number().int().min(1).max(64).default(2),
});
export type IngestionConfig = z.infer<typeof ingestionConfigSchema>;

/** Reads the config from the environment (the standalone deployable). */
export function loadIngestionConfig(env: NodeJS.ProcessEnv = process.env): IngestionConfig {
  return ingestionConfigSchema.parse({
    mode: env['NIGHTSHIFT_MODE'] ?? 'local',
    tableName: env['NIGHTSHIFT_TABLE'] ?? 'nightshift',
    objectStoreDir: env['NIGHTSHIFT_OBJECT_STORE_DIR'],
    concurrency: env['NIGHTSHIFT_CONCURRENCY'] ? Number(env['NIGHTSHIFT_CONCURRENCY']) : undefined,
  });
}
