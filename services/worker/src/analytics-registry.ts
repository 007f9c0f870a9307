import { computeMetrics, runBacktest, runExecutionReport, runRisk, runTca } from '@nightshift/analytics';
import type { ManifestEntry } from '@nightshift/jobs-domain';
import { WorkerUsageError } from './config.js';

/** Runs one analytic over one partition's inputs; `uri` turns an object key into a path DuckDB reads. */
export type Analytic = (entry: ManifestEntry, uri: (key: string) => string) => Promise<unknown>;

function single(entry: ManifestEntry, table: keyof ManifestEntry['inputs'], uri: (key: string) => string): string;
function single(entry: ManifestEntry, table: keyof ManifestEntry['inputs'], uri: (key: string) => string, optional: true): string | undefined;
function single(entry: ManifestEntry, table: keyof ManifestEntry['inputs'], uri: (key: string) => string, optional = false): string | undefined {
  const keys = entry.inputs[table] ?? [];
  if (keys.length === 0) {
    if (optional) return undefined;
    throw new WorkerUsageError(`partition ${entry.partition} has no ${table} input`);
  }
  if (keys.length > 1) throw new WorkerUsageError(`partition ${entry.partition} has ${keys.length} ${table} files; one per partition is supported`);
  return uri(keys[0]!);
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
 * A portfolio's own return series and the benchmark's. The manifest lists a partition's files by
 * table only, own and shared together, so the benchmark is told apart by its name: the file called
 * `benchmark.<ext>` (the benchmark lands without a desk, which makes it shared by every portfolio).
 */
function returnSeries(entry: ManifestEntry, uri: (key: string) => string): { returnsPath: string; benchmarkPath: string } {
  const keys = entry.inputs.returns ?? [];
  const isBenchmark = (key: string): boolean => /^benchmark\.[^./]+$/.test(key.slice(key.lastIndexOf('/') + 1));
  const benchmark = keys.filter(isBenchmark);
  const own = keys.filter((k) => !isBenchmark(k));
  if (benchmark.length !== 1 || own.length !== 1) {
    throw new WorkerUsageError(
      `partition ${entry.partition} needs one returns file of its own and one benchmark returns file (named benchmark.<ext>), got ${own.length} and ${benchmark.length}`,
    );
  }
  return { returnsPath: uri(own[0]!), benchmarkPath: uri(benchmark[0]!) };
}

/** The analytics a worker can run, by the name pipelines use in `step.analytic`. */
export const ANALYTICS: Readonly<Record<string, Analytic>> = {
  tca: (entry, uri) =>
    runTca({
      orders: single(entry, 'orders', uri),
      fills: single(entry, 'fills', uri),
      quotes: single(entry, 'quotes', uri),
      trades: single(entry, 'trades', uri, true),
      by: ['broker', 'venue', 'algo', 'symbol'],
      threads: 1,
    }),
  'execution-report': (entry, uri) =>
    runExecutionReport({
      orders: single(entry, 'orders', uri),
      fills: single(entry, 'fills', uri),
      by: ['broker', 'venue', 'algo', 'symbol'],
      threads: 1,
    }),
  risk: (entry, uri) =>
    runRisk({
      prices: single(entry, 'prices', uri),
      orders: single(entry, 'orders', uri),
      fills: single(entry, 'fills', uri),
      threads: 1,
    }),
  performance: async (entry, uri) => ({ portfolio: entry.partition, metrics: await computeMetrics({ ...returnSeries(entry, uri), periods: 'daily' }) }),
  backtest: (entry, uri) => {
    const allowShort = parameter(entry, 'allowShort', 'boolean', true);
    return runBacktest({
      prices: single(entry, 'prices', uri),
      fast: parameter(entry, 'fast', 'number'),
      slow: parameter(entry, 'slow', 'number'),
      costBps: parameter(entry, 'costBps', 'number'),
      ...(allowShort === undefined ? {} : { allowShort }),
      threads: 1,
    });
  },
};
