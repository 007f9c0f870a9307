import { businessDateSchema, pipelineNameSchema, runRequestFieldsSchema } from '@nightshift/contracts';
import { RUN_STATUSES } from '@nightshift/jobs-domain';
import { z } from 'zod';

/*
 * What the REST API accepts, as zod schemas: the routes validate with these and the OpenAPI
 * document is generated from them. Unknown body fields are refused (strict), not ignored; unknown
 * query parameters are refused too, so a misspelt filter is an error instead of a silent no-op.
 */

/** A page size: 1..max, `fallback` when absent. */
export function limitSchema(fallback: number, max: number) {
  return z.coerce.number().int().min(1).max(max).default(fallback).describe(`Items per page, 1-${max} (default ${fallback}).`);
}

const cursor = z.string().min(1).max(2048).optional().describe('The `nextCursor` of the previous page.');
const tenant = z
  .string()
  .regex(/^[A-Za-z0-9._-]{1,64}$/, 'must be 1-64 letters, digits or ._-')
  .optional()
  .describe("A tenant to read: a tenant-bound token may name only its own; a tenantless admin reads every tenant's unless it names one.");

/** A comma-separated or repeated query parameter as a list. */
function listOf<T extends z.ZodType>(item: T) {
  return z.preprocess((v) => (typeof v === 'string' ? v.split(',').map((s) => s.trim()).filter((s) => s.length > 0) : v), z.array(item).min(1));
}

export const runListQuerySchema = z
  .object({
    status: listOf(z.enum(RUN_STATUSES)).optional().describe(`Only runs in these statuses (comma-separated): ${RUN_STATUSES.join(', ')}.`),
    pipeline: pipelineNameSchema.optional(),
    businessDate: businessDateSchema.optional().describe('Only runs of this business date (same as businessDateFrom = businessDateTo).'),
    businessDateFrom: businessDateSchema.optional().describe('Only runs of this business date or later.'),
    businessDateTo: businessDateSchema.optional().describe('Only runs of this business date or earlier.'),
    correlationId: z.string().min(1).max(512).optional(),
    datasetId: z.string().min(1).max(1024).optional(),
    tenant,
    limit: limitSchema(50, 500),
    cursor,
  })
  .strict()
  .refine((q) => !(q.businessDate && (q.businessDateFrom || q.businessDateTo)), { message: 'give businessDate or a range (businessDateFrom/businessDateTo), not both', path: ['businessDate'] })
  .refine((q) => !(q.businessDateFrom && q.businessDateTo && q.businessDateFrom > q.businessDateTo), { message: 'businessDateFrom is after businessDateTo', path: ['businessDateFrom'] });
export type RunListQuery = z.infer<typeof runListQuerySchema>;

export const runDetailQuerySchema = z
  .object({ tasksLimit: limitSchema(500, 5000), tasksCursor: cursor })
  .strict();

export const reportListQuerySchema = z.object({ runId: z.string().min(1).optional(), tenant, limit: limitSchema(50, 500), cursor }).strict();
export const datasetListQuerySchema = z.object({ dataset: z.string().min(1).max(256).optional(), tenant, limit: limitSchema(50, 500), cursor }).strict();
export const datasetDetailQuerySchema = z.object({ runsLimit: limitSchema(50, 500), runsCursor: cursor }).strict();
export const pipelineListQuerySchema = z.object({ limit: limitSchema(100, 500), cursor }).strict();
export const deadLetterListQuerySchema = z
  .object({ queue: z.string().min(1).max(80).optional().describe('One service queue; every queue when absent.'), tenant, limit: limitSchema(20, 100), cursor })
  .strict();
export const tenantQuerySchema = z.object({ tenant }).strict();
export const emptyQuerySchema = z.object({}).strict();

/**
 * `POST /runs`: Run Requested's data, `requestedBy` defaulting to the caller and `businessDate` to
 * the pipeline calendar's business day before today (UTC). A schedule's fire is not asked for here.
 */
export const runRequestBodySchema = runRequestFieldsSchema
  .omit({ schedule: true })
  .extend({
    businessDate: businessDateSchema
      .optional()
      .describe("The business date to run (YYYY-MM-DD). Default: the last business day of the pipeline's calendar before today (UTC), as a nightly run covers."),
    requestedBy: runRequestFieldsSchema.shape.requestedBy.optional(),
  })
  .strict()
  .meta({ id: 'RunRequest' });
export type RunRequestBody = z.infer<typeof runRequestBodySchema>;

export const cancelRunBodySchema = z
  .object({ reason: z.string().min(1).max(1024).optional(), requestedBy: z.string().min(1).max(256).optional() })
  .strict()
  .meta({ id: 'CancelRunRequest' });

export const retryRunBodySchema = z
  .object({ reason: z.string().min(1).max(1024).optional(), requestedBy: z.string().min(1).max(256).optional() })
  .strict()
  .meta({ id: 'RetryRunRequest' });

export const approvalDecisionBodySchema = z
  .object({ comment: z.string().min(1).max(1024).optional().describe('Why, for the run\'s record.') })
  .strict()
  .meta({ id: 'ApprovalDecisionRequest' });

export const stepParamsSchema = z.object({
  id: z.string().min(1).max(1024).describe('The run id'),
  step: z.string().min(1).max(63).describe('The approval step'),
});

export const redriveBodySchema = z
  .object({ max: z.number().int().min(1).max(100_000).optional().describe('Move at most this many messages (all when absent).') })
  .strict()
  .meta({ id: 'RedriveRequest' });

/** A client's `Idempotency-Key`: 1-128 letters, digits and `._:-`. */
export const idempotencyKeySchema = z.string().regex(/^[A-Za-z0-9._:-]{1,128}$/, 'must be 1-128 characters of letters, digits and ._:-');
