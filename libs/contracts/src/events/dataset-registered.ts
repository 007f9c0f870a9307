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

/**
 * Dataset Registered: ingestion validated a landed dataset and stored it as a new version, or found
 * the landing's content already registered (`alreadyRegistered`). In the latter case the event
 * describes the existing version and carries that version's registration event id as its
 * `metadata.eventId` (the landing's own id is its `correlationId`), so a consumer idempotent per
 * event id (the planner: run ids derive from it) starts nothing new. `metadata.tenant` is the
 * version's tenant (the landing's); the planner reads it from the stored version, not from here.
 */
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
      /**
       * True when the landing held the same content (table, desk, checksum per file) as this already
       * registered version and did not ask for `force`: nothing new was registered. Absent otherwise.
       */
      alreadyRegistered: z.literal(true).optional(),
    }),
  ),
} as const;
export type DatasetRegisteredDetail = z.infer<typeof DatasetRegistered.detail>;
