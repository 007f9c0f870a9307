import { z } from 'zod';
import { detailEnvelope, NightshiftSource } from '../envelope.js';

/**
 * Run Retry Requested: someone asks to run a FAILED run again (`POST /runs/:id/retry`). The planner
 * reopens the run as its next attempt (`attempt` n + 1) and runs again only what did not succeed:
 * the failed or unfinished tasks of its failed steps, each alone with a fresh attempt budget, and
 * the steps that never started; succeeded tasks are not run again. The attempt then ends as any run
 * does, with its own Run Succeeded or Run Failed. A run that is not FAILED is left as it is.
 * Idempotent per `metadata.eventId`: a redelivery finishes the attempt it started, never starts another.
 */
export const RunRetryRequested = {
  source: NightshiftSource.api,
  detailType: 'Run Retry Requested',
  version: '1',
  detail: detailEnvelope(
    z.object({
      runId: z.string().min(1),
      /** Who asked (the API's caller), for the run's history and logs. */
      requestedBy: z.string().min(1),
      /** Why, for people; optional. */
      reason: z.string().min(1).max(1024).optional(),
    }),
  ),
} as const;
export type RunRetryRequestedDetail = z.infer<typeof RunRetryRequested.detail>;
