import { issuesToProblems } from '@nightshift/contracts';
import type { z } from 'zod';
import { ApiProblemError } from '../api/api-problem.js';

/** Drops null and undefined fields: GraphQL's absent and null arguments are REST's absent fields. */
export function defined<T extends object>(value: T | null | undefined): { [K in keyof T]?: Exclude<T[K], null> } {
  return Object.fromEntries(Object.entries(value ?? {}).filter(([, v]) => v !== null && v !== undefined)) as { [K in keyof T]?: Exclude<T[K], null> };
}

/**
 * Validates arguments with the REST API's schema for the same input, so both refuse alike: a 400
 * problem listing every invalid field, named by its argument path (`filter.businessDate`).
 */
export function parseArgs<S extends z.ZodType>(schema: S, value: unknown, path: string): z.output<S> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const problems = issuesToProblems(parsed.error.issues, path);
  throw new ApiProblemError(400, `invalid ${path}: ${problems.map((p) => `${p.path}: ${p.message}`).join('; ')}`, problems);
}
