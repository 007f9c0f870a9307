import { computeMetrics, runBacktest, runExecutionReport, runRisk, runTca, type PerformanceMetrics } from '@nightshift/analytics';
import { parseAnalyticOptions, type ManifestEntry, type PerformanceOptions, type PerformancePeriod } from '@nightshift/jobs-domain';
import type { DatasetTable } from '@nightshift/contracts';
import { WorkerUsageError } from './errors.js';

/**
 * Runs one analytic over one partition's inputs; `uri` turns an object key into a path DuckDB reads;
 * `options` are the step's (the manifest's `options`, absent when the step gave none).
 */
export type Analytic = (
  entry: ManifestEntry,
  uri: (key: string) => string,
  options?: Readonly<Record<string, unknown>>,
  outputs?: AnalyticOutputs,
) => Promise<unknown>;

/**
 * Files an analytic publishes beside its result (TCA's per-order and per-fill detail): `file(name)`
 * answers a scratch path to write and the object key the worker stores it under, before the result
 * that lists the key is written. Absent where nothing can be published (a direct call).
 */
export interface AnalyticOutputs {
  file(name: string): { path: string; key: string };
}

/** The step's options parsed by its analytic's schema (defaults filled in): the planner wrote what the definition said, checked again here. */
function stepOptions(analytic: string, options: Readonly<Record<string, unknown>> | undefined): Record<string, unknown> {
  const parsed = parseAnalyticOptions(analytic, options ?? {});
  if (!parsed.ok) throw new WorkerUsageError(`options of analytic ${analytic}: ${parsed.problems.map((p) => `${['options', ...p.path].join('.')}: ${p.message}`).join('; ')}`);
  return parsed.options;
}

/**
 * Every file of `table` in a partition, as paths DuckDB reads: a landing may split a desk's table
 * over several files (hive parts, late corrections), and the analytics read them as one table.
 * A required table without any file is a `WorkerUsageError` naming the partition and the table.
 */
function files(entry: ManifestEntry, table: keyof ManifestEntry['inputs'], uri: (key: string) => string): string[];
function files(entry: ManifestEntry, table: keyof ManifestEntry['inputs'], uri: (key: string) => string, optional: true): string[] | undefined;
function files(entry: ManifestEntry, table: keyof ManifestEntry['inputs'], uri: (key: string) => string, optional = false): string[] | undefined {
  const keys = entry.inputs[table] ?? [];
  if (keys.length === 0) {
    if (optional) return undefined;
    throw new WorkerUsageError(`partition ${entry.partition} has no ${table} input`);
  }
  return keys.map((key) => uri(key));
}

/** A sweep child's parameter, checked: the planner writes what the pipeline's grid says, which may not suit the analytic. */
function parameter(entry: ManifestEntry, name: string, type: 'number'): number;
function parameter(entry: ManifestEntry, name: string, type: 'boolean', optional: true): boolean | undefined;
function parameter(entry: ManifestEntry, name: string, type: 'number' | 'boolean', optional = false): number | boolean | undefined {
  if (!entry.parameters) throw new WorkerUsageError(`partition ${entry.partition} has no parameter set (the step must fan out by "parameters")`);
  const value = entry.parameters[name];
  if (value === undefined && optional) return undefined;
  if (typeof value !== type) throw new WorkerUsageError(`partition ${entry.partition}: parameter ${name} must be a ${type}, got ${JSON.stringify(value)}`);
  return value;
}

/**
 * A portfolio's own return series and, when one landed, the benchmark's. The benchmark lands
 * without a desk, so the planner marks its files as shared by every portfolio; the partition's
 * own files are its portfolio's series. Either may be split over several files.
 */
function returnSeries(entry: ManifestEntry, uri: (key: string) => string): { returnsPath: string[]; benchmarkPath?: string[] } {
  const shared = new Set(entry.sharedInputs.returns ?? []);
  const own = (entry.inputs.returns ?? []).filter((key) => !shared.has(key));
  if (own.length === 0) {
    throw new WorkerUsageError(`partition ${entry.partition} has no returns file of its own (only ${shared.size} shared benchmark file(s))`);
  }
  return { returnsPath: own.map(uri), ...(shared.size > 0 ? { benchmarkPath: [...shared].map(uri) } : {}) };
}

/** Roll-up dimensions of the per-desk TCA and execution partials; reporting merges them over desks. */
const ROLL_UPS = ['broker', 'venue', 'algo', 'desk', 'symbol'] as const;

/**
 * The input tables each analytic reads: a partition's other inputs (a landing holds every table of
 * the day) are neither fetched nor handed to it. The execution report reads no quotes, so its
 * children do not download the day's quote files.
 */
export const TABLES_READ: Readonly<Record<keyof typeof ANALYTICS, readonly DatasetTable[]>> = {
  tca: ['orders', 'fills', 'quotes', 'trades'],
  'execution-report': ['orders', 'fills'],
  risk: ['prices', 'orders', 'fills'],
  performance: ['returns'],
  backtest: ['prices'],
};

/** The analytics a worker can run, by the name pipelines use in `step.analytic`. */
export const ANALYTICS: Readonly<Record<string, Analytic>> = {
  // The partition's per-order and per-fill detail is published as Parquet beside its result, and the partial lists the keys.
  tca: async (entry, uri, _options, outputs) => {
    const orders = outputs?.file('tca-orders.parquet');
    const fills = outputs?.file('tca-fills.parquet');
    const partial = await runTca({
      orders: files(entry, 'orders', uri),
      fills: files(entry, 'fills', uri),
      quotes: files(entry, 'quotes', uri),
      trades: files(entry, 'trades', uri, true),
      by: [...ROLL_UPS],
      threads: 1,
      ...(orders && fills ? { ordersOut: orders.path, fillsOut: fills.path } : {}),
    });
    return orders && fills ? { ...partial, detail: { partition: entry.partition, orders: orders.key, fills: fills.key } } : partial;
  },
  'execution-report': (entry, uri) =>
    runExecutionReport({
      orders: files(entry, 'orders', uri),
      fills: files(entry, 'fills', uri),
      by: [...ROLL_UPS],
      threads: 1,
    }),
  risk: (entry, uri) =>
    runRisk({
      prices: files(entry, 'prices', uri),
      orders: files(entry, 'orders', uri),
      fills: files(entry, 'fills', uri),
      threads: 1,
    }),
  // Every declared period over the same files: `metrics` is the first (it ranks the portfolios), `by_period` has each.
  performance: async (entry, uri, options) => {
    const { periods } = stepOptions('performance', options) as PerformanceOptions;
    const series = returnSeries(entry, uri);
    const byPeriod: Partial<Record<PerformancePeriod, PerformanceMetrics>> = {};
    for (const period of periods) byPeriod[period] = await computeMetrics({ ...series, periods: period });
    return { portfolio: entry.partition, metrics: byPeriod[periods[0]!], by_period: byPeriod };
  },
  backtest: (entry, uri) => {
    const allowShort = parameter(entry, 'allowShort', 'boolean', true);
    return runBacktest({
      prices: files(entry, 'prices', uri),
      fast: parameter(entry, 'fast', 'number'),
      slow: parameter(entry, 'slow', 'number'),
      costBps: parameter(entry, 'costBps', 'number'),
      ...(allowShort === undefined ? {} : { allowShort }),
      threads: 1,
    });
  },
};
