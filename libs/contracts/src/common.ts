import { z } from 'zod';

/** A business date, YYYY-MM-DD, a real calendar day. */
export const businessDateSchema = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, 'must be YYYY-MM-DD')
  .refine((s) => !Number.isNaN(Date.parse(`${s}T00:00:00Z`)) && new Date(`${s}T00:00:00Z`).toISOString().startsWith(s), 'must be a real calendar date');

/** A pipeline's name: lowercase letters, digits and "-", starting with a letter (it is part of run ids and URLs). */
export const pipelineNameSchema = z.string().regex(/^[a-z][a-z0-9-]{0,62}$/, 'must be lowercase letters, digits and "-", starting with a letter (at most 63)');

/**
 * The tables a dataset can carry. `returns` is a return series (CSV `date,return`): one per
 * portfolio (desk = the portfolio), plus the benchmark's, landed without a desk so every portfolio shares it.
 */
export const datasetTableSchema = z.enum(['prices', 'quotes', 'trades', 'orders', 'fills', 'returns']);
export type DatasetTable = z.infer<typeof datasetTableSchema>;

/** An object-store key: relative, no `..` segments, no leading slash. */
export const objectKeySchema = z
  .string()
  .min(1)
  .max(1024)
  .refine((k) => !k.startsWith('/') && !k.split('/').includes('..'), 'must be a relative key without ".." segments');

/** A problem found in input data, located as precisely as known. */
export const dataProblemSchema = z.object({
  message: z.string(),
  /** JSON path of the offending field in an event, e.g. `detail.files[0].table`. */
  path: z.string().optional(),
  file: z.string().optional(),
  line: z.number().int().positive().optional(),
  column: z.string().optional(),
});
export type DataProblem = z.infer<typeof dataProblemSchema>;
