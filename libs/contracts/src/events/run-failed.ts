import { z } from 'zod';
import { businessDateSchema } from '../common.js';
import { detailEnvelope, NightshiftSource } from '../envelope.js';

/** Run Failed: a task exhausted its attempts (or the run could not be planned). */
export const RunFailed = {
  source: NightshiftSource.planner,
  detailType: 'Run Failed',
  version: '1',
  detail: detailEnvelope(
    z.object({
      runId: z.string(),
      pipeline: z.string(),
      businessDate: businessDateSchema,
      reason: z.string(),
      failedTask: z
        .object({
          taskId: z.string(),
          step: z.string(),
          partition: z.string(),
          attempts: z.number().int(),
          exitCode: z.number().int().optional(),
          statusReason: z.string().optional(),
        })
        .optional(),
      finishedAt: z.string(),
      /** The backfill the run is part of, if any: the planner moves that backfill on (rule planner-run-finished). */
      backfillId: z.string().min(1).optional(),
    }),
  ),
} as const;
export type RunFailedDetail = z.infer<typeof RunFailed.detail>;
