import type { PerformanceMetrics } from '@nightshift/analytics';
import { describe, expect, it } from 'vitest';
import { PERFORMANCE_SECTION, type PortfolioPerformance } from './sections.js';

/** Metrics of one period with the figures these tests read; the rest null. */
function metricsOf(periods: PerformanceMetrics['periods'], sharpe: number | null): PerformanceMetrics {
  const factor = { daily: 252, weekly: 52, monthly: 12 }[periods];
  return {
    periods, annualization_factor: factor, observations: factor, missing_observations: 0, start_date: '2024-01-01', end_date: '2024-12-31',
    cumulative_return: null, annual_return: null, annual_volatility: null, sharpe_ratio: sharpe, sortino_ratio: null, downside_risk: null,
    max_drawdown: null, calmar_ratio: null, tail_ratio: null, value_at_risk: null, conditional_value_at_risk: null, value_at_risk_parametric: null,
    conditional_value_at_risk_parametric: null, alpha: null, beta: null, benchmark_observations: null, benchmark_annual_return: null,
  };
}

function portfolio(name: string, sharpe: { daily: number | null; weekly: number | null; monthly: number | null }): PortfolioPerformance {
  const byPeriod = { daily: metricsOf('daily', sharpe.daily), weekly: metricsOf('weekly', sharpe.weekly), monthly: metricsOf('monthly', sharpe.monthly) };
  return { portfolio: name, metrics: byPeriod.daily, by_period: byPeriod };
}

describe('the performance section', () => {
  it("ranks the portfolios by the first period's Sharpe ratio and keeps each one's metrics per period", () => {
    // value ranks first by daily Sharpe although growth is ahead weekly and monthly: the first period decides.
    const growth = portfolio('growth', { daily: 0.8, weekly: 1.5, monthly: 2.1 });
    const value = portfolio('value', { daily: 1.1, weekly: 0.9, monthly: 0.7 });
    const flat = portfolio('flat', { daily: null, weekly: null, monthly: null });
    const merged = PERFORMANCE_SECTION.merge([flat, growth, value]) as PortfolioPerformance[];
    expect(merged.map((p) => p.portfolio)).toEqual(['value', 'growth', 'flat']);
    expect(merged.map((p) => Object.keys(p.by_period ?? {}))).toEqual([['daily', 'weekly', 'monthly'], ['daily', 'weekly', 'monthly'], ['daily', 'weekly', 'monthly']]);
    expect(merged[1]!.by_period!.monthly!.sharpe_ratio).toBe(2.1);
    expect(PERFORMANCE_SECTION.headline(merged)).toMatchObject({ portfolios: 3, best_portfolio: 'value', best_portfolio_sharpe_ratio: 1.1 });
  });
});
