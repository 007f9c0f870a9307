import { computeMetrics, runBacktest, runExecutionReport, runRisk, runTca } from '@nightshift/analytics';
import type { ManifestEntry } from '@nightshift/jobs-domain';
import { WorkerUsageError } from './errors.js';

/** Runs one analytic over one partition's inputs; `uri` turns an object key into a path DuckDB reads. */
export type Analytic = (entry: ManifestEntry, uri: (key: string) => string) => Promise<unknown>;

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

/** The analytics a worker can run, by the name pipelines use in `step.analytic`. */
export const ANALYTICS: Readonly<Record<string, Analytic>> = {
  tca: (entry, uri) =>
    runTca({
      orders: files(entry, 'orders', uri),
      fills: files(entry, 'fills', uri),
      quotes: files(entry, 'quotes', uri),
      trades: files(entry, 'trades', uri, true),
      by: [...ROLL_UPS],
      threads: 1,
    }),
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
  performance: async (entry, uri) => ({ portfolio: entry.partition, metrics: await computeMetrics({ ...returnSeries(entry, uri), periods: 'daily' }) }),
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
