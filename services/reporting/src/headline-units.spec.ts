import { describe, expect, it } from 'vitest';
import { formatHeadlineFigure, headlineUnit } from './headline-units.js';
import { BACKTEST_SECTION, EXECUTION_SECTION, PERFORMANCE_SECTION, RISK_SECTION, TCA_SECTION } from './sections.js';

/** The smallest merged value of each section that its headline reads: only the figures' names matter here. */
const EMPTY_MERGED = [
  { section: TCA_SECTION, merged: { total: {} } },
  { section: EXECUTION_SECTION, merged: { total: {} } },
  { section: RISK_SECTION, merged: { total: { levels: [] } } },
  { section: BACKTEST_SECTION, merged: [] },
  { section: PERFORMANCE_SECTION, merged: [] },
];

describe('headline units', () => {
  it.each(EMPTY_MERGED)('has a unit for every headline figure of the $section.analytic section', ({ section, merged }) => {
    const names = Object.keys(section.headline(merged));
    expect(names.length).toBeGreaterThan(0);
    expect(names.filter((name) => headlineUnit(name) === undefined)).toEqual([]);
  });

  it.each([
    ['arrival_slippage_bps', 8.634, '8.63 bps'],
    ['commission_bps', -0.2, '-0.20 bps'],
    ['fill_rate_qty', 0.926, '92.60 %'],
    ['best_annual_return', 0.0712, '7.12 %'],
    ['notional', 176614486, '176,614,486 ccy'],
    ['var_99_historical', 889610.4, '889,610 ccy'],
    ['orders', 1437, '1,437 orders'],
    ['busts', 1, '1 fill'],
    ['parameter_sets', 12, '12 parameter sets'],
    ['best_sharpe_ratio', 1.23456, '1.2346 (annualised)'],
    ['best_parameters', 'fast=5 slow=20', 'fast=5 slow=20'],
    ['es_99_parametric', null, 'n/a'],
    ['latency_bps', 3, '3.00 bps'],
    ['something_else', 3.5, '3.5'],
  ] as const)('shows %s = %j as %j', (name, value, shown) => {
    expect(formatHeadlineFigure(name, value)).toBe(shown);
  });
});
