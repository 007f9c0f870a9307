import { z } from 'zod';
import { businessDateSchema, objectKeySchema } from '../common.js';
import { detailEnvelope, NightshiftSource } from '../envelope.js';

/** An output object a task wrote: one line of a run's outputs listing. */
export const runOutputSchema = z.object({ step: z.string(), partition: z.string(), key: objectKeySchema });
export type RunOutput = z.infer<typeof runOutputSchema>;

/**
 * The object a Run Succeeded's `outputs.key` names (claim-check: the list grows with the run, the
 * event does not): every task output, by step then array index.
 */
export const runOutputsListingSchema = z.object({ runId: z.string(), outputs: z.array(runOutputSchema) });
export type RunOutputsListing = z.infer<typeof runOutputsListingSchema>;

/**
 * Run Succeeded: every task of a run succeeded. Its outputs are listed in an object of the object
 * store (`outputs.key`, a `RunOutputsListing`), so the event stays the same size for 1 task or
 * 10,000; `steps` says how many tasks each step had.
 */
export const RunSucceeded = {
  source: NightshiftSource.planner,
  detailType: 'Run Succeeded',
  version: '2',
  detail: detailEnvelope(
    z.object({
      runId: z.string(),
      pipeline: z.string(),
      businessDate: businessDateSchema,
      datasetId: z.string(),
      outputs: z.object({ key: objectKeySchema, count: z.number().int().nonnegative() }),
      steps: z.array(z.object({ step: z.string(), tasks: z.number().int().nonnegative() })),
      startedAt: z.string(),
      finishedAt: z.string(),
      /** The backfill the run is part of, if any: the planner moves that backfill on (rule planner-run-finished). */
      backfillId: z.string().min(1).optional(),
    }),
  ),
} as const;
export type RunSucceededDetail = z.infer<typeof RunSucceeded.detail>;
