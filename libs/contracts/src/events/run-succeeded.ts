import { z } from 'zod';
import { businessDateSchema, objectKeySchema } from '../common.js';
import { detailEnvelope, NightshiftSource } from '../envelope.js';

/** An output object a task wrote. */
export const runOutputSchema = z.object({ step: z.string(), partition: z.string(), key: objectKeySchema });

/** Run Succeeded: every task of a run succeeded; its outputs are in the object store. */
export const RunSucceeded = {
  source: NightshiftSource.planner,
  detailType: 'Run Succeeded',
  version: '1',
  detail: detailEnvelope(
    z.object({
      runId: z.string(),
      pipeline: z.string(),
      businessDate: businessDateSchema,
      datasetId: z.string(),
      outputs: z.array(runOutputSchema),
      startedAt: z.string(),
      finishedAt: z.string(),
    }),
  ),
} as const;
export type RunSucceededDetail = z.infer<typeof RunSucceeded.detail>;
