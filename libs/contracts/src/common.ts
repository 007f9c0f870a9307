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

/**
 * The object store's key rule, the one every adapter applies (storage-domain re-exports it), so
 * that a key valid in one mode is valid in all and a contract accepts only keys the store accepts:
 * relative, `/`-separated, at most 1024 characters, no empty, `.` or `..` segment, no `\` or NUL.
 * Stricter than S3 on purpose: the directory store maps keys to paths, and a key that would escape
 * or alias a path there must not be accepted in AWS either.
 * Returns the reason the key is invalid, or undefined when it is valid.
 */
export function objectKeyProblem(key: string): string | undefined {
  if (key.length === 0) return 'empty';
  if (key.length > 1024) return 'longer than 1024 characters';
  if (key.startsWith('/')) return 'starts with "/"';
  if (key.includes('\\')) return 'contains "\\"';
  if (key.includes('\0')) return 'contains a NUL byte';
  if (key.split('/').some((s) => s === '..' || s === '.' || s === '')) return 'has an empty, "." or ".." segment';
  return undefined;
}

/** An object-store key: the store's own rule (`objectKeyProblem`), refused with its reason. */
export const objectKeySchema = z
  .string()
  .min(1)
  .max(1024)
  .superRefine((k, ctx) => {
    // Lengths are the checks above (they also show in the JSON Schema); the rest of the rule here.
    const problem = k.length >= 1 && k.length <= 1024 ? objectKeyProblem(k) : undefined;
    if (problem) ctx.addIssue({ code: 'custom', message: `not a valid object key: ${problem}` });
  });

/**
 * The rule for a partition (desk) name, wherever one is accepted or used: it becomes a path segment
 * of object keys (`partition=<name>`), a task id and a job name, so it is one plain segment.
 */
export const PARTITION_NAME_PATTERN = /^[a-z0-9][a-z0-9._-]{0,62}$/;

const PARTITION_NAME_RULE = 'must be 1 to 63 lowercase letters, digits, ".", "_" or "-", starting with a letter or digit';
const NO_DOTDOT = 'must not contain ".."';

/** Why `name` is not a valid partition (desk) name, or undefined when it is. */
export function partitionNameProblem(name: string): string | undefined {
  if (!PARTITION_NAME_PATTERN.test(name)) return PARTITION_NAME_RULE;
  if (name.includes('..')) return NO_DOTDOT;
  return undefined;
}

/** A partition (desk) name: the same rule as `partitionNameProblem`, its pattern visible in the JSON Schema. */
export const partitionNameSchema = z
  .string()
  .regex(PARTITION_NAME_PATTERN, PARTITION_NAME_RULE)
  .refine((name) => !name.includes('..'), NO_DOTDOT);

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
