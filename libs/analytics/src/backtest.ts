import { sqlString } from './duckdb.js';
import { InvalidAnalyticsOptionsError } from './errors.js';
import { seriesMetrics, type PerformanceMetrics } from './metrics.js';
import { tableSource, type TableFiles } from './source.js';
import { withInputs } from './tca.js';

/** One parameter set of the moving-average crossover strategy. */
export interface BacktestParams {
  /** Fast and slow simple moving-average windows, in days (fast < slow). */
  fast: number;
  slow: number;
  /** Cost per unit of turnover, in bps of the position (charged on each position change). */
  costBps: number;
  /** Go short when the fast average is below the slow one (default: flat). */
  allowShort?: boolean;
}

export interface BacktestInput extends BacktestParams {
  /** Daily bars (the `prices` table), in one file or several. */
  prices: TableFiles;
  /** Restrict to these symbols (default: all in the file). */
  symbols?: string[];
  threads?: number;
}

export interface BacktestResult {
  params: BacktestParams;
  symbols: number;
  /** Position changes over all symbols. */
  trades: number;
  /** Σ |Δposition| per symbol, averaged over symbols. */
  turnover: number;
  metrics: PerformanceMetrics;
}

export interface RankedBacktest extends BacktestResult {
  rank: number;
}

/**
 * Moving-average crossover with costs over the price history, in SQL: the signal at close t is
 * +1 when SMA(fast) > SMA(slow) (−1 below it when shorting is allowed, else 0), held over day t+1;
 * each position change costs `costBps` of the traded position on the day the new position is first
 * held. The portfolio is the equal-weighted daily average across symbols; metrics as
 * `computeMetrics` (daily, rf 0), starting on each symbol's first day with a defined signal.
 */
export async function runBacktest(input: BacktestInput): Promise<BacktestResult> {
  const params = checkParams(input);
  return withInputs(
    [{ table: 'prices', path: input.prices }],
    async (db) => {
      const prices = await tableSource(db, 'prices', input.prices);
      const filter = input.symbols?.length ? `WHERE symbol IN (${input.symbols.map(sqlString).join(', ')})` : '';
      const signal = params.allowShort
        ? `CASE WHEN k < ${params.slow} THEN 0 WHEN sma_f > sma_s THEN 1 WHEN sma_f < sma_s THEN -1 ELSE 0 END`
        : `CASE WHEN k >= ${params.slow} AND sma_f > sma_s THEN 1 ELSE 0 END`;
      await db.exec(`
        CREATE TEMP TABLE sig AS
        SELECT symbol, date, k, close / lag(close) OVER ws - 1 AS r, ${signal} AS signal FROM (
          SELECT symbol, date, close,
                 avg(close) OVER (PARTITION BY symbol ORDER BY date ROWS BETWEEN ${params.fast - 1} PRECEDING AND CURRENT ROW) AS sma_f,
                 avg(close) OVER (PARTITION BY symbol ORDER BY date ROWS BETWEEN ${params.slow - 1} PRECEDING AND CURRENT ROW) AS sma_s,
                 row_number() OVER (PARTITION BY symbol ORDER BY date) AS k
          FROM ${prices} ${filter}
        ) WINDOW ws AS (PARTITION BY symbol ORDER BY date);
        CREATE TEMP TABLE held AS
        SELECT symbol, date, k, r, coalesce(lag(signal) OVER wh, 0) AS pos, coalesce(lag(signal, 2) OVER wh, 0) AS prev_pos
        FROM sig WINDOW wh AS (PARTITION BY symbol ORDER BY date);
        CREATE TEMP TABLE legs AS
        SELECT symbol, date, pos * r - abs(pos - prev_pos) * ${params.costBps}::DOUBLE / 1e4 AS ret, abs(pos - prev_pos) AS traded
        FROM held WHERE k > ${params.slow} AND r IS NOT NULL;
        CREATE TEMP TABLE series AS SELECT date AS period, avg(ret) AS ret FROM legs GROUP BY date;
      `);
      const stats = await db.one<{ symbols: number; trades: number; turnover: number }>(
        `SELECT count(DISTINCT symbol) AS symbols, count(*) FILTER (traded > 0) AS trades, coalesce(sum(traded) / nullif(count(DISTINCT symbol), 0), 0) AS turnover FROM legs`,
      );
      if (stats.symbols === 0) {
        throw new InvalidAnalyticsOptionsError(`no symbol in ${input.prices} has more than ${params.slow} days of history`);
      }
      const metrics = await seriesMetrics(db, 'series', null, 'daily', 0, 0.05);
      return { params, symbols: stats.symbols, trades: stats.trades, turnover: Number(stats.turnover), metrics };
    },
    input.threads,
  );
}

function checkParams(p: BacktestParams): BacktestParams {
  if (!Number.isInteger(p.fast) || !Number.isInteger(p.slow) || p.fast < 1 || p.slow <= p.fast) {
    throw new InvalidAnalyticsOptionsError(`need integer windows with 1 <= fast < slow, got fast=${p.fast} slow=${p.slow}`);
  }
  if (!Number.isFinite(p.costBps) || p.costBps < 0) throw new InvalidAnalyticsOptionsError(`costBps must be >= 0, got ${p.costBps}`);
  return { fast: p.fast, slow: p.slow, costBps: p.costBps, allowShort: p.allowShort ?? false };
}

/**
 * The sweep's parameter sets in a stable order (one array child per element: child i runs
 * element i). Combinations with fast >= slow are skipped.
 */
export function parameterGrid(grid: { fast: number[]; slow: number[]; costBps: number[]; allowShort?: boolean[] }): BacktestParams[] {
  const out: BacktestParams[] = [];
  for (const allowShort of grid.allowShort ?? [false])
    for (const costBps of grid.costBps)
      for (const fast of grid.fast)
        for (const slow of grid.slow) if (fast < slow) out.push({ fast, slow, costBps, allowShort });
  return out;
}

/**
 * Merges sweep results into one ranking: descending by `by` (default Sharpe ratio), undefined
 * values last, ties broken by the parameters so the order is deterministic.
 */
export function rankBacktests(results: BacktestResult[], by: 'sharpe_ratio' | 'sortino_ratio' | 'calmar_ratio' | 'annual_return' | 'cumulative_return' = 'sharpe_ratio'): RankedBacktest[] {
  const key = (r: BacktestResult): number => r.metrics[by] ?? Number.NEGATIVE_INFINITY;
  const tie = (r: BacktestResult): string => JSON.stringify([r.params.allowShort, r.params.costBps, r.params.fast, r.params.slow]);
  return [...results]
    .sort((a, b) => key(b) - key(a) || (tie(a) < tie(b) ? -1 : tie(a) > tie(b) ? 1 : 0))
    .map((r, i) => ({ ...r, rank: i + 1 }));
}
