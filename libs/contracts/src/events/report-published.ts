import { z } from 'zod';
import { businessDateSchema, objectKeySchema } from '../common.js';
import { detailEnvelope, NightshiftSource } from '../envelope.js';

/** Report Published: a run's merged report is in the object store and served by the API. */
export const ReportPublished = {
  source: NightshiftSource.reporting,
  detailType: 'Report Published',
  version: '1',
  detail: detailEnvelope(
    z.object({
      reportId: z.string(),
      runId: z.string(),
      pipeline: z.string(),
      businessDate: businessDateSchema,
      key: objectKeySchema,
      /** A few headline figures, for notifications; the report itself has everything. */
      headline: z.record(z.string(), z.union([z.number(), z.string(), z.null()])),
      /** ISO 4217 code of the headline's money figures (the pipeline's currency); absent from reports published before it was carried. */
      currency: z.string().regex(/^[A-Z]{3}$/).optional(),
    }),
  ),
} as const;
export type ReportPublishedDetail = z.infer<typeof ReportPublished.detail>;
