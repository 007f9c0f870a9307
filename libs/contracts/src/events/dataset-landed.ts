import { z } from 'zod';
import { businessDateSchema, datasetTableSchema, objectKeySchema, partitionNameSchema } from '../common.js';
import { traceparentSchema } from '../envelope.js';

/**
 * Dataset Landed: an upstream system (OMS, market-data loader) says a business day's files are in
 * the object store. Sent in the plain form an upstream system would send: no nightshift metadata
 * envelope, trace context optional.
 */
export const DatasetLanded = {
  detailType: 'Dataset Landed',
  version: '1',
  detail: z.object({
    /** Logical dataset name, e.g. `executions`; pipelines subscribe to it. */
    dataset: z.string().min(1).max(128).regex(/^[a-z0-9][a-z0-9._-]*$/, 'must be lowercase letters, digits, ".", "_" or "-"'),
    businessDate: businessDateSchema,
    files: z
      .array(
        z.object({
          table: datasetTableSchema,
          key: objectKeySchema,
          /** The partition (desk) the file belongs to; market tables have none. One name rule everywhere (`partitionNameSchema`). */
          desk: partitionNameSchema.optional(),
        }),
      )
      .min(1, 'must list at least one file'),
    producer: z.string().optional(),
    /**
     * Whose data this is. The registered version is this tenant's (none: the default tenant's):
     * runs it triggers are the tenant's, and only the tenant's run requests may use it.
     */
    tenant: z.string().min(1).optional(),
    traceparent: traceparentSchema.optional(),
    /**
     * Register a new version even when an already registered version of the same dataset and date
     * holds the same content (same table, desk and checksum per file); without it such a landing is
     * answered as already registered and starts nothing.
     */
    force: z.boolean().optional(),
  }),
} as const;
export type DatasetLandedDetail = z.infer<typeof DatasetLanded.detail>;
