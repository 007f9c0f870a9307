import {
  mergeExecutionPartials, mergeRiskPartials, mergeTcaPartials, rankBacktests,
  type BacktestResult, type ExecutionPartial, type ExecutionReport, type PerformanceMetrics, type RankedBacktest, type RiskPartial, type RiskReport, type TcaPartial, type TcaReport,
} from '@nightshift/analytics';
import type { ReportSection } from './publish-report.js';

const round = (x: number | null, digits = 2): number | null => (x === null ? null : Math.round(x * 10 ** digits) / 10 ** digits);

/**
 * TCA: partials of every desk merged exactly (exact decimal sums, then ratios: the section is the
 * same bytes whatever the order the partials come in); headline in bps, positive = cost. The section
 * lists each partition's per-order and per-fill Parquet detail the worker published (`detail:
 * [{ partition, orders, fills }]`, object keys, by partition).
 */
export const TCA_SECTION: ReportSection = {
  analytic: 'tca',
  merge: (partials) => mergeTcaPartials(partials as TcaPartial[]),
  headline: (merged) => {
    const r = merged as TcaReport;
    return {
      orders: r.total.orders,
      fills: r.total.fills,
      notional: round(r.total.notional, 0),
      arrival_slippage_bps: round(r.total.arrival_slippage_bps),
      interval_vwap_slippage_bps: round(r.total.interval_vwap_slippage_bps),
      implementation_shortfall_bps: round(r.total.implementation_shortfall_bps),
      commission_bps: round(r.total.commission_bps),
      // Benefits, not costs: RPM above 0.5 beat the average share of the interval's volume; price improvement > 0 was inside the far quote.
      rpm: round(r.total.rpm, 4),
      price_improvement_bps: round(r.total.price_improvement_bps),
    };
  },
};

/** Execution report: fill rates and order outcomes over all desks; invariant breaks are headline figures. */
export const EXECUTION_SECTION: ReportSection = {
  analytic: 'execution-report',
  merge: (partials) => mergeExecutionPartials(partials as ExecutionPartial[]),
  headline: (merged) => {
    const t = (merged as ExecutionReport).total;
    return {
      fill_rate_qty: round(t.fill_rate_qty, 4),
      cancelled_orders: t.cancelled_orders,
      rejected_orders: t.rejected_orders,
      busts: t.busts,
      corrections: t.corrections,
      cum_qty_mismatches: t.cum_qty_mismatches,
      avg_px_mismatches: t.avg_px_mismatches,
    };
  },
};

/**
 * Risk: every desk's scenario P&L summed by date (VaR/ES are not additive), then VaR/ES at 95 and
 * 99%; headline is the portfolio's 99% figures, in currency, positive = loss.
 */
export const RISK_SECTION: ReportSection = {
  analytic: 'risk',
  merge: (partials) => mergeRiskPartials(partials as RiskPartial[]),
  headline: (merged) => {
    const t = (merged as RiskReport).total;
    const at99 = t.levels.find((l) => l.confidence === 0.99);
    return {
      risk_gross_exposure: round(t.gross_exposure, 0),
      var_99_historical: round(at99?.historical_var ?? null, 0),
      es_99_historical: round(at99?.historical_es ?? null, 0),
      var_99_parametric: round(at99?.parametric_var ?? null, 0),
      es_99_parametric: round(at99?.parametric_es ?? null, 0),
    };
  },
};

/** Backtest sweep: one result per parameter set, ranked by Sharpe ratio; headline is the best set. */
export const BACKTEST_SECTION: ReportSection = {
  analytic: 'backtest',
  merge: (partials) => rankBacktests(partials as BacktestResult[]),
  headline: (merged) => {
    const ranked = merged as RankedBacktest[];
    const best = ranked[0];
    return {
      parameter_sets: ranked.length,
      best_parameters: best ? Object.entries(best.params).map(([k, v]) => `${k}=${String(v)}`).join(' ') : null,
      best_sharpe_ratio: round(best?.metrics.sharpe_ratio ?? null, 4),
      best_annual_return: round(best?.metrics.annual_return ?? null, 4),
    };
  },
};

/**
 * One portfolio's result of the `performance` analytic: its metrics against the benchmark over each
 * period its step declared (`by_period`, in the declared order), `metrics` being the first one's.
 * A result written before steps declared periods has no `by_period` (daily only).
 */
export interface PortfolioPerformance {
  portfolio: string;
  metrics: PerformanceMetrics;
  by_period?: Partial<Record<PerformanceMetrics['periods'], PerformanceMetrics>>;
}

/**
 * Market performance: every portfolio's metrics, best Sharpe ratio first (of the first declared
 * period; an undefined Sharpe ratio last, ties by portfolio name so the order is stable), each with
 * its metrics per period as the worker wrote them; headline is the best portfolio.
 */
export const PERFORMANCE_SECTION: ReportSection = {
  analytic: 'performance',
  merge: (partials) => {
    const sharpe = (p: PortfolioPerformance): number => p.metrics.sharpe_ratio ?? Number.NEGATIVE_INFINITY;
    return [...(partials as PortfolioPerformance[])].sort((a, b) => sharpe(b) - sharpe(a) || a.portfolio.localeCompare(b.portfolio));
  },
  headline: (merged) => {
    const ranked = merged as PortfolioPerformance[];
    const best = ranked[0];
    return {
      portfolios: ranked.length,
      best_portfolio: best?.portfolio ?? null,
      best_portfolio_sharpe_ratio: round(best?.metrics.sharpe_ratio ?? null, 4),
    };
  },
};
