import { z } from 'zod';
import { businessDateSchema, pipelineNameSchema } from '../common.js';
import { detailEnvelope, NightshiftSource } from '../envelope.js';

/** Run Requested: someone (API, schedule) asks for a pipeline run over a registered dataset. */
export const RunRequested = {
  source: NightshiftSource.api,
  detailType: 'Run Requested',
  version: '1',
  detail: detailEnvelope(
    z.object({
      pipeline: pipelineNameSchema,
      businessDate: businessDateSchema,
      /** The dataset version to run on; the latest registered one for the date when absent. */
      datasetId: z.string().min(1).optional(),
      requestedBy: z.string().min(1),
    }),
  ),
} as const;
export type RunRequestedDetail = z.infer<typeof RunRequested.detail>;
