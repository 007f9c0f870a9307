import { z } from 'zod';

/**
 * The periods the `performance` analytic compounds a portfolio's daily returns into before its
 * statistics (libs/analytics' `Periodicity`: ISO weeks, calendar months; annualised by 252, 52, 12).
 */
export const PERFORMANCE_PERIODS = ['daily', 'weekly', 'monthly'] as const;
export type PerformancePeriod = (typeof PERFORMANCE_PERIODS)[number];

/** What a `performance` step may set: which periods each portfolio's metrics are computed over. */
export const performanceOptionsSchema = z.strictObject({
  /** One or more periods, each computed separately (default daily only); the first one ranks the portfolios. */
  periods: z
    .array(z.enum(PERFORMANCE_PERIODS, { error: `must be one of ${PERFORMANCE_PERIODS.join(', ')}` }))
    .min(1, 'needs at least one period')
    .refine((periods) => new Set(periods).size === periods.length, 'periods must be distinct')
    .default(['daily']),
});
export type PerformanceOptions = z.infer<typeof performanceOptionsSchema>;

/**
 * The options each analytic takes, by the name pipelines use in `step.analytic`; an analytic not
 * listed takes none. A step's `options` are checked against its analytic's schema when the pipeline
 * is defined, and again by the worker (which also fills in the defaults of a step that gave none).
 */
export const ANALYTIC_OPTIONS: Readonly<Record<string, z.ZodType<Record<string, unknown>, Record<string, unknown>>>> = {
  performance: performanceOptionsSchema,
};

/** One problem of a step's options: where under `options`, and what is wrong there. */
export interface AnalyticOptionsProblem {
  path: Array<string | number>;
  message: string;
}

/**
 * Checks `options` against `analytic`'s schema: the parsed options (defaults filled in), or every
 * problem, each at its path under `options` (an unknown option at its own key); the caller says
 * which step and analytic the problems are of.
 */
export function parseAnalyticOptions(
  analytic: string,
  options: unknown,
): { ok: true; options: Record<string, unknown> } | { ok: false; problems: AnalyticOptionsProblem[] } {
  const schema = ANALYTIC_OPTIONS[analytic];
  if (!schema) return { ok: false, problems: [{ path: [], message: 'the analytic takes no options' }] };
  const parsed = schema.safeParse(options);
  if (parsed.success) return { ok: true, options: parsed.data };
  const known = schema instanceof z.ZodObject ? Object.keys(schema.shape).join(', ') : '';
  return {
    ok: false,
    problems: parsed.error.issues.flatMap((i) => {
      const path = i.path.map((k) => (typeof k === 'number' ? k : String(k)));
      if (i.code === 'unrecognized_keys') return i.keys.map((key) => ({ path: [...path, key], message: `unknown option "${key}" (the analytic takes ${known})` }));
      return [{ path, message: i.message }];
    }),
  };
}
