import { z } from 'zod';
import { detailEnvelope, NightshiftSource } from '../envelope.js';

/**
 * Backfill Cancel Requested: someone asks to stop a backfill (`POST /backfills/:id/cancel`). The
 * planner marks it CANCELLED with its dates still waiting, and cancels the runs it has open; a
 * backfill already finished or cancelled is left as it is.
 */
export const BackfillCancelRequested = {
  source: NightshiftSource.api,
  detailType: 'Backfill Cancel Requested',
  version: '1',
  detail: detailEnvelope(
    z.object({
      backfillId: z.string().min(1).max(128),
      reason: z.string().min(1).max(1024),
      requestedBy: z.string().min(1),
    }),
  ),
} as const;
export type BackfillCancelRequestedDetail = z.infer<typeof BackfillCancelRequested.detail>;
