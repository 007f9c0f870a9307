import { describe, expect, it } from 'vitest';
import { formatChange, formatHeadlineFigure, headlineUnit, reportHeadlineUnits } from './headline-units.js';
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
    ['risk_gross_exposure', 2500.4, '2,500 ccy'],
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

  it('names the currency beside money when the report has one', () => {
    expect(formatHeadlineFigure('notional', 176614486, 'EUR')).toBe('176,614,486 EUR');
    expect(formatHeadlineFigure('orders', 12, 'EUR')).toBe('12 orders');
  });

  it("gives the report document every figure's unit, money with the report's currency code", () => {
    expect(reportHeadlineUnits({ orders: 1, notional: 2, fill_rate_qty: 0.5, best_sharpe_ratio: 1, best_parameters: 'a', latency_bps: 1, mystery: 3 }, 'JPY')).toEqual({
      orders: { kind: 'count', of: 'order' },
      notional: { kind: 'currency', currency: 'JPY' },
      fill_rate_qty: { kind: 'fraction' },
      best_sharpe_ratio: { kind: 'ratio', note: 'annualised' },
      best_parameters: { kind: 'text' },
      latency_bps: { kind: 'bps' },
    });
  });

  it.each([
    [2, 0.25, { kind: 'bps' }, '+2.00 bps (+25.0 %)'],
    [1.22, 0.165, { kind: 'bps' }, '+1.22 bps (+16.5 %)'],
    [-0.013, -0.0141, { kind: 'fraction' }, '-1.30 pp (-1.4 %)'],
    [-100, -0.1, { kind: 'currency', currency: 'EUR' }, '-100 EUR (-10.0 %)'],
    [1, null, { kind: 'count', of: 'bust' }, '+1 bust'],
    [-3, -0.5, { kind: 'count', of: 'order' }, '-3 orders (-50.0 %)'],
    [0.05, 0.04, { kind: 'ratio', note: 'annualised' }, '+0.0500 (+4.0 %)'],
    [0, 0, { kind: 'bps' }, '0.00 bps (0.0 %)'],
  ] as const)('shows a change of %j (relative %j) in %j as %j', (absolute, relative, unit, shown) => {
    expect(formatChange(absolute, relative, unit)).toBe(shown);
  });
});
