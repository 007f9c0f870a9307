import { z } from 'zod';

/** Reporting's configuration, parsed once at boot. */
export const reportingConfigSchema = z.object({
  /** Only the embedded mode has adapters so far; `aws` arrives with the infra. */
  mode: z.literal('local'),
  tableName: z.string().min(3),
  objectStoreDir: z.string().min(1),
  /** REST API listen address. */
  httpHost: z.string().default('127.0.0.1'),
  /** 0 picks a free port. */
  httpPort: z.number().int().min(0).max(65535).default(3000),
  concurrency: z.number().int().min(1).max(64).default(2),
});
export type ReportingConfig = z.infer<typeof reportingConfigSchema>;
