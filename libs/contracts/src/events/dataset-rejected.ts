import { z } from 'zod';
import { dataProblemSchema } from '../common.js';
import { detailEnvelope, NightshiftSource } from '../envelope.js';

/** Dataset Rejected: a landed dataset failed validation; nothing was registered. */
export const DatasetRejected = {
  source: NightshiftSource.ingestion,
  detailType: 'Dataset Rejected',
  version: '1',
  detail: detailEnvelope(
    z.object({
      /** The id of the Dataset Landed event that was rejected. */
      landedEventId: z.string(),
      dataset: z.string().optional(),
      businessDate: z.string().optional(),
      reasons: z.array(dataProblemSchema).min(1),
    }),
  ),
} as const;
export type DatasetRejectedDetail = z.infer<typeof DatasetRejected.detail>;
