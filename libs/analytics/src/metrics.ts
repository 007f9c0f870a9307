import { type Db, errorMessage, sqlIdent, withDuckDb } from './duckdb.js';
import { AnalyticsEngineError, InputDataError, InvalidAnalyticsOptionsError, type RowProblem } from './errors.js';
import { normalDensity, normalQuantile } from './normal.js';
import { csvReader, fileList, readCsvHeader, type TableFiles } from './source.js';
import { rejectMessage, rowLinesSql } from './validate.js';

/** Return periodicity after aggregation; the annualisation factor follows empyrical. */
export type Periodicity = 'daily' | 'weekly' | 'monthly';
export const ANNUALIZATION_FACTORS: Readonly<Record<Periodicity, number>> = { daily: 252, weekly: 52, monthly: 12 };

export interface MetricsInput {
  /** CSV with header `date,return` (other columns ignored); one row per day. Several files are read as one series. */
  returnsPath: TableFiles;
  /** Optional benchmark, same format (one file or several); aligned on the period. */
  benchmarkPath?: TableFiles;
  /** Aggregate (compound) daily returns into ISO weeks or calendar months first (default daily). */
  periods?: Periodicity;
  /** Risk-free return per period (of the aggregated series), also the Sortino required return. Default 0. */
  rf?: number;
  /** Tail probability for VaR/CVaR (default 0.05). */
  cutoff?: number;
}

/** Performance statistics; keys follow empyrical's function names. Null when undefined (e.g. zero volatility). */
export interface PerformanceMetrics {
  periods: Periodicity;
  annualization_factor: number;
  observations: number;
  missing_observations: number;
  start_date: string | null;
  end_date: string | null;
  cumulative_return: number | null;
  annual_return: number | null;
  annual_volatility: number | null;
  sharpe_ratio: number | null;
  sortino_ratio: number | null;
  downside_risk: number | null;
  max_drawdown: number | null;
  calmar_ratio: number | null;
  tail_ratio: number | null;
  value_at_risk: number | null;
  conditional_value_at_risk: number | null;
  value_at_risk_parametric: number | null;
  conditional_value_at_risk_parametric: number | null;
  alpha: number | null;
  beta: number | null;
  benchmark_observations: number | null;
  benchmark_annual_return: number | null;
}

/**
 * Market performance over a return series (optionally against a benchmark), all in SQL. Conventions
 * are empyrical's (see docs/analytics.md): missing returns (empty field or NaN) are skipped by the
 * moment statistics but count as periods in the annualisation of compounded return; VaR/CVaR are
 * return quantiles (negative = loss); max drawdown is negative; alpha is the mean daily excess
 * intercept × annualisation factor (not compounded).
 *
 * Throws `InputDataError` naming file, line and column for missing columns, non-numeric values,
 * duplicate dates and empty series.
 */
export async function computeMetrics(input: MetricsInput): Promise<PerformanceMetrics> {
  const periods = input.periods ?? 'daily';
  if (!(periods in ANNUALIZATION_FACTORS)) throw new InvalidAnalyticsOptionsError(`periods must be daily, weekly or monthly, got "${String(periods)}"`);
  const rf = input.rf ?? 0;
  const cutoff = input.cutoff ?? 0.05;
  if (!Number.isFinite(rf)) throw new InvalidAnalyticsOptionsError(`rf must be a finite number, got ${rf}`);
  if (!(cutoff > 0 && cutoff < 1)) throw new InvalidAnalyticsOptionsError(`cutoff must be in (0,1), got ${cutoff}`);
  return withDuckDb(async (db) => {
    await loadReturnSeries(db, input.returnsPath, 'returns_raw');
    if (input.benchmarkPath) await loadReturnSeries(db, input.benchmarkPath, 'bench_raw');
    await db.exec(aggregateSql('returns_raw', 'series', periods));
    if (input.benchmarkPath) await db.exec(aggregateSql('bench_raw', 'bench', periods));
    return seriesMetrics(db, 'series', input.benchmarkPath ? 'bench' : null, periods, rf, cutoff);
  }).catch((cause: unknown) => {
    if (cause instanceof Error && 'retryable' in cause) throw cause;
    throw new AnalyticsEngineError(`metrics query failed: ${errorMessage(cause)}`, { cause });
  });
}

/**
 * Reads a `date,return` series, one CSV or several (their rows together make the series), into
 * table `name(date DATE, ret DOUBLE)` (NULL = missing), failing with every unparseable row,
 * duplicate date (also across files) and out-of-range return as one `InputDataError`, each problem
 * naming its own file.
 */
export async function loadReturnSeries(db: Db, paths: TableFiles, name: string): Promise<void> {
  const files = fileList('returns', paths);
  const types: Record<string, string> = { date: 'DATE', return: 'DOUBLE' };
  const problems: RowProblem[] = [];
  for (const [i, path] of files.entries()) {
    const header = await readCsvHeader(path);
    const missing = ['date', 'return'].filter((c) => !header.includes(c));
    if (missing.length > 0) {
      throw new InputDataError(missing.map((c) => ({ file: path, line: 1, column: c, message: `missing required column "${c}" (expected header date,return)` })));
    }
    const rejects = `${name}_rej${i}`;
    const reader = csvReader(
      path,
      header.map((c) => ({ name: c, type: types[c] ?? 'VARCHAR' })),
      `, store_rejects = true, rejects_table = '${rejects}', rejects_scan = '${name}_scan${i}', force_not_null = ['date']`,
    );
    await db.exec(`CREATE TEMP TABLE ${name}_file${i} AS SELECT date, ${sqlIdent('return')} AS ret FROM ${reader}`);
    problems.push(
      ...(
        await db.all<{ line: number; column_name: string | null; error_type: string; error_message: string }>(
          `SELECT line, column_name, error_type, error_message FROM ${rejects} ORDER BY line, column_idx LIMIT 1000`,
        )
      ).map((r) => ({ file: path, line: r.line, ...(r.column_name ? { column: r.column_name } : {}), message: rejectMessage(r.error_type, r.error_message) })),
    );
  }
  if (problems.length > 0) throw new InputDataError(problems.slice(0, 1000));
  // fi/rid: the file (index into `files`) and the row within it, to name the line of a problem.
  await db.exec(
    `CREATE TEMP TABLE ${name}_file AS ${files.map((_, i) => `SELECT ${i} AS fi, rowid AS rid, date, ret FROM ${name}_file${i}`).join(' UNION ALL ')}`,
  );
  const bad = await db.all<{ fi: number; line: number; column_name: string; message: string }>(`
    WITH lines AS (${files.map((path, i) => `SELECT ${i} AS fi, line, rid FROM (${rowLinesSql(path, null)})`).join(' UNION ALL ')}),
    rows AS (SELECT fi, rid, date, ret, count(*) OVER (PARTITION BY date) AS dup, row_number() OVER (PARTITION BY date ORDER BY fi, rid) AS nth FROM ${name}_file)
    SELECT l.fi, l.line, v.column_name, v.message FROM (
      SELECT fi, rid, 'date' AS column_name, 'duplicate date ' || CAST(date AS VARCHAR) AS message FROM rows WHERE dup > 1 AND nth > 1
      UNION ALL SELECT fi, rid, 'return', 'return below -100%' FROM rows WHERE ret < -1
      UNION ALL SELECT fi, rid, 'return', 'infinite return' FROM rows WHERE isinf(ret)
    ) v JOIN lines l USING (fi, rid) ORDER BY l.fi, l.line LIMIT 1000`);
  if (bad.length > 0) throw new InputDataError(bad.map((b) => ({ file: files[b.fi], line: b.line, column: b.column_name, message: b.message })));
  const { n } = await db.one<{ n: number }>(`SELECT count(*) FILTER (ret IS NOT NULL AND NOT isnan(ret)) AS n FROM ${name}_file`);
  if (n === 0) {
    const where = files.length > 1 ? ` in any of its ${files.length} files` : '';
    throw new InputDataError([{ file: files[0], line: 2, column: 'return', message: `empty return series: no numeric returns${where}` }]);
  }
  await db.exec(`CREATE TEMP TABLE ${name} AS SELECT date, CASE WHEN isnan(ret) THEN NULL ELSE ret END AS ret FROM ${name}_file`);
}

/**
 * Compounds daily rows into periods (ISO week starting Monday, calendar month) as empyrical's
 * aggregate_returns does: missing days count as zero return; daily keeps missing values missing.
 */
export function aggregateSql(source: string, target: string, periods: Periodicity): string {
  if (periods === 'daily') return `CREATE TEMP TABLE ${target} AS SELECT date AS period, ret FROM ${source}`;
  const unit = periods === 'weekly' ? 'week' : 'month';
  return `CREATE TEMP TABLE ${target} AS
    SELECT date_trunc('${unit}', date)::DATE AS period, product(1 + coalesce(ret, 0)) - 1 AS ret FROM ${source} GROUP BY 1`;
}

/** Metrics of table `series(period, ret)` (and `bench(period, ret)` when given), see docs/analytics.md. */
export async function seriesMetrics(db: Db, series: string, bench: string | null, periods: Periodicity, rf: number, cutoff: number): Promise<PerformanceMetrics> {
  const ann = ANNUALIZATION_FACTORS[periods];
  const rfSql = `${rf}::DOUBLE`;
  const row = await db.one(`
    WITH s AS (SELECT period, ret FROM ${series}),
    wealth AS (
      SELECT period, product(1 + coalesce(ret, 0)) OVER (ORDER BY period ROWS UNBOUNDED PRECEDING) AS w FROM s
    ), peaks AS (
      -- The starting wealth 1 is a peak too (empyrical prepends it), so a first-day loss is a drawdown.
      SELECT w, greatest(1.0, max(w) OVER (ORDER BY period ROWS UNBOUNDED PRECEDING)) AS peak FROM wealth
    ), dd AS (
      SELECT min(w / peak - 1) AS max_dd FROM peaks
    ), stats AS (
      SELECT count(*) AS n_total, count(ret) AS n, min(period) AS start_date, max(period) AS end_date,
             product(1 + coalesce(ret, 0)) AS growth,
             avg(ret - ${rfSql}) AS mean_excess, stddev_samp(ret - ${rfSql}) AS sd_excess, stddev_samp(ret) AS sd, avg(ret) AS mean,
             -- least() skips NULLs in DuckDB, so missing returns are filtered explicitly.
             sqrt(avg(power(least(ret - ${rfSql}, 0), 2)) FILTER (ret IS NOT NULL)) AS downside,
             quantile_cont(ret, 0.95) AS p95, quantile_cont(ret, 0.05) AS p05,
             quantile_cont(ret, ${cutoff}::DOUBLE) AS var_h
      FROM s
    )
    SELECT stats.*, (SELECT avg(ret) FROM s WHERE ret <= stats.var_h) AS cvar_h, (SELECT max_dd FROM dd) AS max_dd FROM stats`);
  const n = Number(row['n']);
  const nTotal = Number(row['n_total']);
  const num = (k: string): number | null => (row[k] === null || row[k] === undefined ? null : Number(row[k]));
  const finite = (x: number | null): number | null => (x === null || !Number.isFinite(x) ? null : x);
  const growth = num('growth');
  const cumulative = growth === null ? null : growth - 1;
  const annualReturn = growth === null || nTotal === 0 ? null : finite(Math.pow(growth, ann / nTotal) - 1);
  const sd = num('sd');
  const sdExcess = num('sd_excess');
  const meanExcess = num('mean_excess');
  const downside = num('downside');
  const maxDd = num('max_dd');
  const z = normalQuantile(cutoff);
  const mean = num('mean');
  const result: PerformanceMetrics = {
    periods,
    annualization_factor: ann,
    observations: n,
    missing_observations: nTotal - n,
    start_date: row['start_date'] ? isoDate(row['start_date']) : null,
    end_date: row['end_date'] ? isoDate(row['end_date']) : null,
    cumulative_return: cumulative,
    annual_return: annualReturn,
    annual_volatility: sd === null ? null : sd * Math.sqrt(ann),
    sharpe_ratio: meanExcess === null || !sdExcess ? null : finite((meanExcess / sdExcess) * Math.sqrt(ann)),
    downside_risk: downside === null ? null : downside * Math.sqrt(ann),
    sortino_ratio: meanExcess === null || !downside ? null : finite((meanExcess * ann) / (downside * Math.sqrt(ann))),
    max_drawdown: maxDd,
    calmar_ratio: annualReturn === null || !maxDd ? null : finite(annualReturn / Math.abs(maxDd)),
    tail_ratio: num('p95') === null || !num('p05') ? null : finite(Math.abs(num('p95') ?? 0) / Math.abs(num('p05') ?? 0)),
    value_at_risk: num('var_h'),
    conditional_value_at_risk: num('cvar_h'),
    value_at_risk_parametric: mean === null || sd === null ? null : mean + z * sd,
    conditional_value_at_risk_parametric: mean === null || sd === null ? null : mean - (sd * normalDensity(z)) / cutoff,
    alpha: null,
    beta: null,
    benchmark_observations: null,
    benchmark_annual_return: null,
  };
  if (bench) {
    const b = await db.one(`
      WITH pairs AS (
        SELECT s.ret - ${rfSql} AS y, b.ret - ${rfSql} AS x FROM ${series} s JOIN ${bench} b USING (period)
        WHERE s.ret IS NOT NULL AND b.ret IS NOT NULL
      )
      SELECT count(*) AS n, regr_slope(y, x) AS beta, regr_intercept(y, x) AS intercept,
             (SELECT product(1 + coalesce(ret, 0)) FROM ${bench}) AS b_growth, (SELECT count(*) FROM ${bench}) AS b_total
      FROM pairs`);
    const beta = b['beta'] === null ? null : Number(b['beta']);
    result.beta = finite(beta);
    result.alpha = b['intercept'] === null || beta === null ? null : finite(Number(b['intercept']) * ann);
    result.benchmark_observations = Number(b['n']);
    const bTotal = Number(b['b_total']);
    result.benchmark_annual_return = bTotal > 0 ? finite(Math.pow(Number(b['b_growth']), ann / bTotal) - 1) : null;
  }
  return result;
}

function isoDate(value: unknown): string {
  return value instanceof Date ? value.toISOString().slice(0, 10) : String(value);
}
