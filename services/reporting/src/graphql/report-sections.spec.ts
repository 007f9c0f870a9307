import { describe, expect, it } from 'vitest';
import { camelKeys, headlineFigures, reportSections } from './report-sections.js';

const metrics = { periods: 'daily', annualization_factor: 252, observations: 250, sharpe_ratio: 1.2, max_drawdown: -0.1 };
const riskFigures = (desk: string | null) => ({
  desk,
  positions: 20,
  gross_exposure: 1e6,
  net_exposure: 2e5,
  scenarios: 250,
  mean_pnl: 10,
  stdev_pnl: 100,
  levels: [{ confidence: 0.99, historical_var: 300, historical_es: 350, parametric_var: 310, parametric_es: 360 }],
});

const DOCUMENT = {
  sections: {
    tca: { markout_seconds: 60, total: { orders: 10, arrival_slippage_bps: 2.5 }, by: { broker: [{ key: 'BRKA', orders: 4, arrival_slippage_bps: 1.5 }], venue: [{ key: null, orders: 10 }] } },
    execution: { total: { orders: 800, fill_rate_qty: 0.9 }, by: { desk: [{ key: 'EQ', orders: 400, fill_rate_qty: 0.8 }] } },
    risk: { lookback_days: 250, by_desk: [riskFigures('EQ')], total: riskFigures(null) },
    performance: [
      { portfolio: 'alpha', metrics, by_period: { daily: metrics, monthly: { ...metrics, periods: 'monthly', annualization_factor: 12, observations: 12 } } },
      // Written before steps declared periods: daily only.
      { portfolio: 'beta', metrics: { ...metrics, sharpe_ratio: 0.4 } },
    ],
    sweep: [{ rank: 1, params: { fast: 5, slow: 50, costBps: 1 }, symbols: 20, trades: 300, turnover: 12.5, metrics }],
    notes: ['a plain command wrote this'],
  },
};

const ANALYTICS: Record<string, string> = { tca: 'tca', execution: 'execution-report', risk: 'risk', performance: 'performance', sweep: 'backtest' };

describe("a report's typed sections", () => {
  it("types each step's section by its analytic, the figures in camelCase", () => {
    const sections = reportSections(DOCUMENT, (step) => ANALYTICS[step]);
    expect(sections.map((s) => [s.step, s.kind, s.analytic])).toEqual([
      ['tca', 'tca', 'tca'],
      ['execution', 'execution', 'execution-report'],
      ['risk', 'risk', 'risk'],
      ['performance', 'performance', 'performance'],
      ['sweep', 'backtest', 'backtest'],
      ['notes', 'untyped', null],
    ]);
    const [tca, execution, risk, performance, sweep, notes] = sections;
    expect(tca).toMatchObject({
      markoutSeconds: 60,
      total: { orders: 10, arrivalSlippageBps: 2.5 },
      rollups: [
        { dimension: 'broker', groups: [{ key: 'BRKA', metrics: { orders: 4, arrivalSlippageBps: 1.5 } }] },
        { dimension: 'venue', groups: [{ key: null, metrics: { orders: 10 } }] },
      ],
    });
    expect(execution).toMatchObject({ total: { fillRateQty: 0.9 }, rollups: [{ dimension: 'desk', groups: [{ key: 'EQ', metrics: { fillRateQty: 0.8 } }] }] });
    expect(risk).toMatchObject({
      lookbackDays: 250,
      total: { desk: null, grossExposure: 1e6, levels: [{ confidence: 0.99, historicalVar: 300, parametricEs: 360 }] },
      byDesk: [{ desk: 'EQ', meanPnl: 10 }],
    });
    expect(performance).toMatchObject({ portfolios: [{ rank: 1, portfolio: 'alpha', metrics: { sharpeRatio: 1.2, maxDrawdown: -0.1 } }, { rank: 2, portfolio: 'beta' }] });
    const portfolios = performance!['portfolios'] as Array<{ byPeriod: Array<{ periods: string; observations: number }> }>;
    expect(portfolios.map((p) => p.byPeriod.map((m) => [m.periods, m.observations]))).toEqual([
      [['daily', 250], ['monthly', 12]],
      [['daily', 250]],
    ]);
    expect(sweep).toMatchObject({ ranking: [{ rank: 1, params: { fast: 5, slow: 50, costBps: 1 }, trades: 300, metrics: { annualizationFactor: 252 } }] });
    expect(notes).toEqual({ kind: 'untyped', step: 'notes', analytic: null, data: ['a plain command wrote this'] });
  });

  it("recognises a section by its shape when its pipeline is not known here, and leaves one that matches neither untyped", () => {
    const sections = reportSections(DOCUMENT, () => undefined);
    expect(sections.map((s) => s.kind)).toEqual(['tca', 'execution', 'risk', 'performance', 'backtest', 'untyped']);
    expect(sections.every((s) => s.analytic === null)).toBe(true);
    // An analytic whose section does not have the shape it should is untyped rather than wrong.
    expect(reportSections({ sections: { tca: { nothing: true } } }, () => 'tca')).toEqual([{ kind: 'untyped', step: 'tca', analytic: 'tca', data: { nothing: true } }]);
    expect(reportSections({ no: 'sections' }, () => undefined)).toEqual([]);
  });

  it('maps keys to camelCase one level deep and headline figures to numbers or texts', () => {
    expect(camelKeys({ is_delay_bps: 1, p99_ms: 2, plain: 3 })).toEqual({ isDelayBps: 1, p99Ms: 2, plain: 3 });
    expect(headlineFigures({ orders: 10, best_portfolio: 'alpha', var_99: null })).toEqual([
      { name: 'orders', value: 10, text: null },
      { name: 'best_portfolio', value: null, text: 'alpha' },
      { name: 'var_99', value: null, text: null },
    ]);
  });
});
