import { z } from 'zod';
import { detailEnvelope, NightshiftSource } from '../envelope.js';

/**
 * Run Cancel Requested: someone asks to stop a run (`POST /runs/:id/cancel`). The planner fails
 * the run with the reason, terminates its jobs and publishes Run Failed once; a run already
 * finished is left as it is.
 */
export const RunCancelRequested = {
  source: NightshiftSource.api,
  detailType: 'Run Cancel Requested',
  version: '1',
  detail: detailEnvelope(
    z.object({
      runId: z.string().min(1),
      reason: z.string().min(1).max(1024),
      requestedBy: z.string().min(1),
    }),
  ),
} as const;
export type RunCancelRequestedDetail = z.infer<typeof RunCancelRequested.detail>;
