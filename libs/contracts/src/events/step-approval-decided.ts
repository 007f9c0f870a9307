import { z } from 'zod';
import { detailEnvelope, NightshiftSource } from '../envelope.js';

/**
 * Step Approval Decided: a person answered a run's approval step (`POST /runs/:id/steps/:step/approve`
 * or `/reject`). The planner records the answer on the step if it is still waiting for one: approved,
 * the run goes on; rejected, the step fails and so does the run. An answer to a step that is not
 * waiting (answered already, timed out, run ended) changes nothing. Idempotent: the first answer wins.
 */
export const StepApprovalDecided = {
  source: NightshiftSource.api,
  detailType: 'Step Approval Decided',
  version: '1',
  detail: detailEnvelope(
    z.object({
      runId: z.string().min(1),
      step: z.string().min(1),
      decision: z.enum(['APPROVED', 'REJECTED']),
      /** Who answered (the API's caller). */
      decidedBy: z.string().min(1),
      /** Why, for people; optional. */
      comment: z.string().min(1).max(1024).optional(),
    }),
  ),
} as const;
export type StepApprovalDecidedDetail = z.infer<typeof StepApprovalDecided.detail>;
