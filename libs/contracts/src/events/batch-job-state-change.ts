import { z } from 'zod';

/** AWS Batch job states, in lifecycle order. */
export const BATCH_JOB_STATUSES = ['SUBMITTED', 'PENDING', 'RUNNABLE', 'STARTING', 'RUNNING', 'SUCCEEDED', 'FAILED'] as const;
export const batchJobStatusSchema = z.enum(BATCH_JOB_STATUSES);
export type BatchJobStatus = z.infer<typeof batchJobStatusSchema>;

const keyValue = z.object({ name: z.string(), value: z.string() });

/** One attempt of a job, as AWS Batch reports it (`AttemptDetail`). Times are epoch milliseconds. */
export const batchAttemptSchema = z.object({
  container: z
    .object({
      containerInstanceArn: z.string().optional(),
      taskArn: z.string().optional(),
      exitCode: z.number().int().optional(),
      reason: z.string().optional(),
      logStreamName: z.string().optional(),
      networkInterfaces: z.array(z.unknown()).optional(),
    })
    .optional(),
  startedAt: z.number().optional(),
  stoppedAt: z.number().optional(),
  statusReason: z.string().optional(),
});
export type BatchAttempt = z.infer<typeof batchAttemptSchema>;

/**
 * "Batch Job State Change", emitted by AWS Batch (source `aws.batch`) on every status change of a
 * job; the local compute environment emits the same shape. The detail is AWS's own (a `JobDetail`),
 * not nightshift's metadata envelope; unknown fields are kept.
 */
export const BatchJobStateChange = {
  source: 'aws.batch',
  detailType: 'Batch Job State Change',
  version: '0',
  detail: z.looseObject({
    jobArn: z.string(),
    jobName: z.string(),
    jobId: z.string(),
    jobQueue: z.string(),
    status: batchJobStatusSchema,
    statusReason: z.string().optional(),
    attempts: z.array(batchAttemptSchema),
    createdAt: z.number(),
    startedAt: z.number().optional(),
    stoppedAt: z.number().optional(),
    retryStrategy: z
      .object({
        attempts: z.number().int().min(1).max(10).optional(),
        evaluateOnExit: z.array(z.looseObject({ action: z.string() })).optional(),
      })
      .optional(),
    dependsOn: z.array(z.looseObject({ jobId: z.string().optional(), type: z.string().optional() })),
    jobDefinition: z.string(),
    parameters: z.record(z.string(), z.string()),
    container: z.looseObject({
      image: z.string().optional(),
      command: z.array(z.string()).optional(),
      environment: z.array(keyValue).optional(),
      exitCode: z.number().int().optional(),
      reason: z.string().optional(),
      logStreamName: z.string().optional(),
      resourceRequirements: z.array(z.object({ type: z.enum(['VCPU', 'MEMORY', 'GPU']), value: z.string() })).optional(),
    }),
    arrayProperties: z
      .object({
        size: z.number().int().optional(),
        index: z.number().int().optional(),
        statusSummary: z.record(z.string(), z.number()).optional(),
      })
      .optional(),
    timeout: z.object({ attemptDurationSeconds: z.number().int().optional() }).optional(),
    tags: z.record(z.string(), z.string()).optional(),
    propagateTags: z.boolean().optional(),
    platformCapabilities: z.array(z.string()).optional(),
  }),
} as const;
export type BatchJobStateChangeDetail = z.infer<typeof BatchJobStateChange.detail>;
