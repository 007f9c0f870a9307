import { z } from 'zod';
import { businessDateSchema, datasetTableSchema, objectKeySchema } from '../common.js';
import { detailEnvelope, NightshiftSource } from '../envelope.js';

/** A registered, validated file of a dataset version. */
export const registeredFileSchema = z.object({
  table: datasetTableSchema,
  key: objectKeySchema,
  desk: z.string().optional(),
  rows: z.number().int().nonnegative(),
  /** sha256 of the file's bytes, hex. */
  checksum: z.string().regex(/^[0-9a-f]{64}$/),
  bytes: z.number().int().nonnegative(),
});
export type RegisteredFile = z.infer<typeof registeredFileSchema>;

/** Dataset Registered: ingestion validated a landed dataset and stored it as a new version. */
export const DatasetRegistered = {
  source: NightshiftSource.ingestion,
  detailType: 'Dataset Registered',
  version: '1',
  detail: detailEnvelope(
    z.object({
      datasetId: z.string(),
      dataset: z.string(),
      businessDate: businessDateSchema,
      version: z.number().int().positive(),
      files: z.array(registeredFileSchema),
      rowCount: z.number().int().nonnegative(),
      /** Partitions (desks) present in the dataset, sorted. */
      partitions: z.array(z.string()),
      manifestKey: objectKeySchema,
    }),
  ),
} as const;
export type DatasetRegisteredDetail = z.infer<typeof DatasetRegistered.detail>;
