import { z } from 'zod';
import { businessDateSchema, pipelineNameSchema } from '../common.js';
import { detailEnvelope, NightshiftSource } from '../envelope.js';

/**
 * Backfill Requested: a backfill was recorded (`POST /backfills`): one run of `pipeline` per
 * business date of its calendar from `from` to `to`, at most `concurrency` open at once. The record
 * in the job store is the backfill's state; the event only tells the planner to start moving it,
 * so a redelivery (or a second event for the same backfill) changes nothing.
 */
export const BackfillRequested = {
  source: NightshiftSource.api,
  detailType: 'Backfill Requested',
  version: '1',
  detail: detailEnvelope(
    z.object({
      backfillId: z.string().min(1).max(128),
      pipeline: pipelineNameSchema,
      from: businessDateSchema,
      to: businessDateSchema,
      concurrency: z.number().int().min(1).max(50),
      requestedBy: z.string().min(1),
    }),
  ),
} as const;
export type BackfillRequestedDetail = z.infer<typeof BackfillRequested.detail>;
