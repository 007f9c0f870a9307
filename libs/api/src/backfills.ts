import { businessDateSchema, pipelineNameSchema } from '@nightshift/contracts';
import { BACKFILL_DATE_STATUSES, BACKFILL_STATUSES, MAX_BACKFILL_CONCURRENCY, MAX_BACKFILL_YEARS } from '@nightshift/jobs-domain';
import { z } from 'zod';
import { limitSchema } from './requests.js';
import { pageSchema } from './resources.js';

/*
 * Backfills in the API: what `POST /backfills` and its siblings accept and answer (the routes
 * validate with these, the OpenAPI document is generated from them, the CLI parses answers with them).
 */

const timestamp = z.string().describe('ISO-8601 UTC timestamp');

export const backfillStatusSchema = z.enum(BACKFILL_STATUSES);
export const backfillDateStatusSchema = z.enum(BACKFILL_DATE_STATUSES);

/** `POST /backfills`. */
export const backfillRequestBodySchema = z
  .object({
    pipeline: pipelineNameSchema,
    from: businessDateSchema.describe('First date of the range (inclusive).'),
    to: businessDateSchema.describe(`Last date of the range (inclusive); at most ${MAX_BACKFILL_YEARS} years after from.`),
    concurrency: z
      .number()
      .int()
      .min(1)
      .max(MAX_BACKFILL_CONCURRENCY)
      .default(1)
      .describe(`How many of its runs may be open at once, 1-${MAX_BACKFILL_CONCURRENCY} (default 1).`),
  })
  .strict()
  .refine((b) => b.from <= b.to, { message: 'from is after to', path: ['from'] })
  .meta({ id: 'BackfillRequest' });
export type BackfillRequestBody = z.infer<typeof backfillRequestBodySchema>;

export const cancelBackfillBodySchema = z
  .object({ reason: z.string().min(1).max(1024).optional(), requestedBy: z.string().min(1).max(256).optional() })
  .strict()
  .meta({ id: 'CancelBackfillRequest' });

/** A comma-separated or repeated query parameter as a list. */
function listOf<T extends z.ZodType>(item: T) {
  return z.preprocess((v) => (typeof v === 'string' ? v.split(',').map((s) => s.trim()).filter((s) => s.length > 0) : v), z.array(item).min(1));
}

export const backfillListQuerySchema = z
  .object({
    pipeline: pipelineNameSchema.optional(),
    status: listOf(backfillStatusSchema).optional().describe(`Only backfills in these statuses (comma-separated): ${BACKFILL_STATUSES.join(', ')}.`),
    tenant: z
      .string()
      .regex(/^[A-Za-z0-9._-]{1,64}$/, 'must be 1-64 letters, digits or ._-')
      .optional()
      .describe("A tenant to read: a tenant-bound token may name only its own; a tenantless admin reads every tenant's unless it names one."),
    limit: limitSchema(20, 100),
    cursor: z.string().min(1).max(2048).optional().describe('The `nextCursor` of the previous page.'),
  })
  .strict();
export type BackfillListQuery = z.infer<typeof backfillListQuerySchema>;

export const backfillCountsSchema = z
  .object(Object.fromEntries(BACKFILL_DATE_STATUSES.map((s) => [s, z.number().int().nonnegative()])) as Record<(typeof BACKFILL_DATE_STATUSES)[number], z.ZodNumber>)
  .meta({ id: 'BackfillCounts', description: 'How many dates are in each status.' });

export const backfillDateSchema = z
  .object({
    date: businessDateSchema,
    status: backfillDateStatusSchema,
    runId: z.string().optional().describe("The date's run, once it has one."),
    reason: z.string().optional().describe('Why the date failed, has no dataset, or was cancelled.'),
  })
  .meta({ id: 'BackfillDate' });

/** A backfill without its dates: what listings carry. */
export const backfillSummarySchema = z
  .object({
    backfillId: z.string(),
    tenant: z.string().optional(),
    pipeline: pipelineNameSchema,
    from: businessDateSchema,
    to: businessDateSchema,
    concurrency: z.number().int(),
    requestedBy: z.string(),
    status: backfillStatusSchema,
    counts: backfillCountsSchema,
    total: z.number().int().nonnegative().describe('How many business dates the range holds.'),
    createdAt: timestamp,
    updatedAt: timestamp,
    finishedAt: timestamp.optional().describe('When the last date was settled (a cancelled backfill: when its last run ended).'),
    summary: z.string().optional().describe('What the backfill did, once finished.'),
    durationMs: z.number().optional(),
  })
  .meta({ id: 'BackfillSummary', description: 'A backfill: one run of a pipeline per business date of its calendar in a range.' });
export type BackfillSummaryResource = z.infer<typeof backfillSummarySchema>;

export const backfillSchema = backfillSummarySchema
  .extend({ dates: z.array(backfillDateSchema).describe('Every business date of the range, ascending, with its run and what became of it.') })
  .meta({ id: 'Backfill' });
export type BackfillResource = z.infer<typeof backfillSchema>;

export const backfillAcceptedSchema = backfillSchema
  .extend({ location: z.string().describe('Where the backfill is (also the `Location` header).') })
  .meta({ id: 'BackfillAccepted' });

export const backfillActionAcceptedSchema = z
  .object({ backfillId: z.string(), location: z.string() })
  .meta({ id: 'BackfillActionAccepted', description: 'The planner has the request; follow `location` for its effect.' });

export const backfillsPageSchema = pageSchema(backfillSummarySchema, 'BackfillPage');
