import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { AnalyticsEngineError } from './errors.js';

/** Result row with BIGINT/HUGEINT already converted to `number` (all our counts fit in 2^53). */
export type Row = Record<string, unknown>;

/** The only handle analytics code gets on DuckDB: run statements, fetch small aggregated results. */
export interface Db {
  /** Executes one or more statements, discarding results. */
  exec(sql: string): Promise<void>;
  /** Runs a query and returns all rows as plain objects (keep results small: aggregate in SQL). */
  all<T extends Row = Row>(sql: string): Promise<T[]>;
  /** Runs a query expected to return exactly one row. */
  one<T extends Row = Row>(sql: string): Promise<T>;
}

/**
 * Wraps every statement an analytic runs: the worker traces each as a span (analytics imports no
 * tracing). `run` must be called once and its outcome returned.
 */
export type DuckDbQueryInstrumentation = <T>(query: { sql: string }, run: () => Promise<T>) => Promise<T>;

let instrumentation: DuckDbQueryInstrumentation = (_query, run) => run();

/** Sets how statements are wrapped, for the whole process (the worker's tracing, at start). */
export function instrumentDuckDbQueries(wrap: DuckDbQueryInstrumentation): void {
  instrumentation = wrap;
}

export interface DuckDbOptions {
  /** Worker threads for this instance; defaults to DuckDB's choice (all cores). */
  threads?: number;
}

/**
 * The single place that creates DuckDB connections: an in-memory instance per call, closed when `fn`
 * settles. A fresh instance per analytic keeps partitions isolated (no shared temp tables, no
 * cross-run caches) at a cost of a few milliseconds.
 */
export async function withDuckDb<T>(fn: (db: Db) => Promise<T>, options: DuckDbOptions = {}): Promise<T> {
  const config: Record<string, string> = {};
  if (options.threads !== undefined) config['threads'] = String(options.threads);
  let instance: DuckDBInstance;
  try {
    instance = await DuckDBInstance.create(':memory:', config);
  } catch (cause) {
    throw new AnalyticsEngineError(`cannot start DuckDB: ${errorMessage(cause)}`, { cause });
  }
  let connection: DuckDBConnection | undefined;
  try {
    connection = await instance.connect();
    return await fn(wrap(connection));
  } finally {
    connection?.closeSync();
    instance.closeSync();
  }
}

function wrap(connection: DuckDBConnection): Db {
  const all = <T extends Row>(sql: string): Promise<T[]> =>
    instrumentation({ sql }, async () => {
      const reader = await connection.runAndReadAll(sql);
      return reader.getRowObjectsJS().map((row) => normalise(row) as T);
    });
  return {
    async exec(sql) {
      await instrumentation({ sql }, () => connection.run(sql));
    },
    all,
    async one<T extends Row>(sql: string) {
      const rows = await all<T>(sql);
      if (rows.length !== 1) throw new AnalyticsEngineError(`expected one row, got ${rows.length}`);
      return rows[0];
    },
  };
}

function normalise(row: Record<string, unknown>): Row {
  const out: Row = {};
  for (const [key, value] of Object.entries(row)) out[key] = typeof value === 'bigint' ? Number(value) : value;
  return out;
}

/** Quotes a string as an SQL literal (file paths, keys): doubles embedded single quotes. */
export function sqlString(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

/** Quotes an identifier (column names coming from file headers). */
export function sqlIdent(value: string): string {
  return `"${value.replaceAll('"', '""')}"`;
}

/** Renders a finite JS number as a DOUBLE literal (DuckDB reads bare numeric literals as DECIMAL). */
export function sqlDouble(value: number): string {
  if (!Number.isFinite(value)) throw new AnalyticsEngineError(`not a finite number: ${value}`);
  return `${value}::DOUBLE`;
}

export function errorMessage(cause: unknown): string {
  return cause instanceof Error ? cause.message : String(cause);
}
