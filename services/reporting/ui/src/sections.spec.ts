import { describe, expect, it } from 'vitest';
import { sectionKind, sectionViews } from './sections.js';

const metrics = (over: Record<string, number | null>) => ({ annual_return: 0.1, annual_volatility: 0.2, max_drawdown: -0.15, sharpe_ratio: 0.5, sortino_ratio: 0.7, ...over });

describe('report sections as charts', () => {
  it('draws TCA cost by each roll-up it has, without the total row (null key)', () => {
    const tca = {
      markout_seconds: 60,
      total: {},
      by: {
        broker: [
          { key: 'BRKA', arrival_slippage_bps: 3.2, implementation_shortfall_bps: 4.1, commission_bps: 1.5, fees_bps: 0.2 },
          { key: null, arrival_slippage_bps: 9 },
        ],
        venue: [{ key: 'XNYS', arrival_slippage_bps: 2, implementation_shortfall_bps: null, commission_bps: 1, fees_bps: 0.3 }],
      },
    };
    const [view] = sectionViews({ tca });
    expect(view!.kind).toBe('tca');
    expect(view!.charts.map((c) => c.title)).toEqual(['TCA cost by broker', 'TCA cost by venue']);
    expect(view!.charts[0]!.labels).toEqual(['BRKA']);
    expect(view!.charts[0]!.datasets.map((d) => d.data[0])).toEqual([3.2, 4.1, 1.5, 0.2]);
    expect(view!.charts[1]!.datasets[1]!.data).toEqual([null]);
  });

  it("compares brokers by RPM in percent, leaving out brokers without one", () => {
    const tca = {
      markout_seconds: 60,
      total: {},
      by: { broker: [{ key: 'BRKA', rpm: 0.5523 }, { key: 'BRKB', rpm: 0.41 }, { key: 'BRKC', rpm: null }] },
    };
    const [view] = sectionViews({ tca });
    const rpm = view!.charts.find((c) => c.title === 'Broker performance: RPM')!;
    expect(rpm.labels).toEqual(['BRKA', 'BRKB']);
    expect(rpm.datasets[0]!.data).toEqual([55.23, 41]);
  });

  it('draws fill rates in percent only for roll-ups that have them, and order outcomes', () => {
    const execution = {
      total: { fill_rate_qty: 0.9, filled_orders: 8, partially_filled_orders: 1, cancelled_orders: 1, rejected_orders: 0 },
      by: { broker: [{ key: 'BRKA', fill_rate_qty: 0.875, fill_rate_count: 0.5 }], venue: [{ key: 'XNYS', fill_rate_qty: null, fill_rate_count: null }] },
    };
    const [view] = sectionViews({ execution });
    expect(view!.kind).toBe('execution');
    expect(view!.charts.map((c) => c.title)).toEqual(['Order outcomes', 'Fill rates by broker']);
    expect(view!.charts[1]!.datasets.map((d) => d.data)).toEqual([[87.5], [50]]);
  });

  it('draws VaR and ES per desk and for the firm', () => {
    const level = (c: number, v: number) => ({ confidence: c, historical_var: v, historical_es: v * 1.2, parametric_var: v, parametric_es: v * 1.1 });
    const risk = { lookback_days: 250, by_desk: [{ desk: 'cash', levels: [level(0.95, 100), level(0.99, 150)] }], total: { desk: null, levels: [level(0.95, 120), level(0.99, 180)] } };
    const [view] = sectionViews({ risk });
    expect(view!.kind).toBe('risk');
    expect(view!.charts[0]!.labels).toEqual(['cash', 'firm']);
    expect(view!.charts[0]!.datasets.find((d) => d.label === 'VaR 99%')!.data).toEqual([150, 180]);
  });

  it('draws performance and drawdown per portfolio, and backtests by rank', () => {
    const performance = [{ portfolio: 'alpha', metrics: metrics({ max_drawdown: -0.2 }) }, { portfolio: 'beta', metrics: metrics({ sharpe_ratio: null }) }];
    const sweep = [
      { rank: 2, params: { fast: 10, slow: 50 }, metrics: metrics({ sharpe_ratio: 0.4 }) },
      { rank: 1, params: { fast: 5, slow: 20 }, metrics: metrics({ sharpe_ratio: 0.9 }) },
    ];
    const [perf, bt] = sectionViews({ performance, sweep });
    expect(perf!.kind).toBe('performance');
    expect(perf!.charts[0]!.datasets.find((d) => d.label === 'max drawdown')!.data).toEqual([-20, -15]);
    expect(perf!.charts[1]!.datasets[0]!.data).toEqual([0.5, null]);
    expect(bt!.kind).toBe('backtest');
    expect(bt!.charts[0]!.labels).toEqual(['#1 fast=5 slow=20', '#2 fast=10 slow=50']);
    expect(bt!.charts[0]!.datasets[0]!.data).toEqual([0.9, 0.4]);
  });

  it("draws each portfolio's Sharpe ratio per declared period, only when the step declared several", () => {
    const byPeriod = (daily: number, weekly: number | null) => ({ daily: metrics({ sharpe_ratio: daily }), weekly: metrics({ sharpe_ratio: weekly }) });
    const performance = [
      { portfolio: 'alpha', metrics: metrics({ sharpe_ratio: 1.1 }), by_period: byPeriod(1.1, 1.4) },
      { portfolio: 'beta', metrics: metrics({ sharpe_ratio: 0.6 }), by_period: byPeriod(0.6, null) },
    ];
    const [perf] = sectionViews({ performance });
    expect(perf!.kind).toBe('performance');
    const chart = perf!.charts.find((c) => c.title === 'Sharpe ratio by period')!;
    expect(chart.labels).toEqual(['alpha', 'beta']);
    expect(chart.datasets).toEqual([{ label: 'daily', data: [1.1, 0.6] }, { label: 'weekly', data: [1.4, null] }]);
    const dailyOnly = [{ portfolio: 'alpha', metrics: metrics({}), by_period: { daily: metrics({}) } }];
    expect(sectionViews({ performance: dailyOnly })[0]!.charts.map((c) => c.title)).not.toContain('Sharpe ratio by period');
  });

  it('leaves a section of no known analytic as data', () => {
    expect(sectionKind([{ upstreamOutputs: 4 }])).toBe('other');
    expect(sectionViews({ summarise: [{ upstreamOutputs: 4 }] })[0]!.charts).toEqual([]);
  });
});
