import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mergeRiskPartials, riskOfPnl, runRisk, type RiskPartial } from './index.js';
import { writeFixture } from './testing/fixture.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'risk-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('riskOfPnl', () => {
  it("parametric VaR/ES match Hull's normal-distribution worked example", () => {
    // Hull, "Options, Futures, and Other Derivatives" (VaR chapter, Microsoft example): a position with a
    // daily P&L standard deviation of $200,000 has a 1-day 99% VaR of 2.326 x 200,000 = $465,300; Hull,
    // "Risk Management and Financial Institutions" (ES for a normal distribution): ES(99%) = 2.665 sigma,
    // ES(95%) = 2.063 sigma, VaR(95%) = 1.645 sigma. P&L here: +-a with mean 0 and sample sd 200,000.
    const a = 200_000 * Math.sqrt(9 / 10);
    const pnl = [a, -a, a, -a, a, -a, a, -a, a, -a];
    const r = riskOfPnl(pnl, [0.95, 0.99]);
    expect(r.stdev_pnl).toBeCloseTo(200_000, 6);
    const [p95, p99] = r.levels;
    expect(p99.parametric_var).toBeCloseTo(465_269.5748, 3);
    expect(Math.round((p99.parametric_var ?? 0) / 100) * 100).toBe(465_300);
    expect((p99.parametric_es ?? 0) / 200_000).toBeCloseTo(2.665, 3);
    expect((p95.parametric_var ?? 0) / 200_000).toBeCloseTo(1.645, 3);
    expect((p95.parametric_es ?? 0) / 200_000).toBeCloseTo(2.063, 3);
  });

  it('historical VaR is the linearly interpolated loss quantile (numpy/empyrical convention)', () => {
    // empyrical test_value_at_risk uses np.percentile: percentile([-85,-84,-83,-82,-81,-1], 10) = -84.5,
    // so the 90% loss quantile is 84.5 and the mean loss at or beyond it is 85.
    const r = riskOfPnl([-85, -84, -83, -82, -81, -1], [0.9]);
    expect(r.levels[0].historical_var).toBeCloseTo(84.5, 12);
    expect(r.levels[0].historical_es).toBe(85);
  });
});

describe('runRisk', () => {
  it('revalues the desk position with each historical return and merges desks by scenario date', async () => {
    const paths = await writeFixture(dir);
    const prices = join(dir, 'prices.csv');
    await writeFile(
      prices,
      'date,symbol,open,high,low,close,volume\n2024-03-13,ABC,100,100,100,100,1\n2024-03-14,ABC,110,110,110,110,1\n2024-03-15,ABC,99,99,99,99,1\n',
    );
    const partial = await runRisk({ prices, orders: paths.orders, fills: paths.fills });
    // Net position: buy 2000 (O1) - sell 700 effective (O2) = 1300 ABC, valued at the last close 99.
    expect(partial.desks).toHaveLength(1);
    const d1 = partial.desks[0];
    expect(d1).toMatchObject({ desk: 'D1', positions: 1, unpriced_symbols: [] });
    expect(d1.net_exposure).toBeCloseTo(128_700, 9);
    // Scenario returns: 110/100 - 1 = +10%, 99/110 - 1 = -10%.
    expect(d1.scenarios.map(([date]) => date)).toEqual(['2024-03-14', '2024-03-15']);
    expect(d1.scenarios[0][1]).toBeCloseTo(12_870, 6);
    expect(d1.scenarios[1][1]).toBeCloseTo(-12_870, 6);

    // A second desk with the opposite position nets to zero risk in the portfolio.
    const other: RiskPartial = JSON.parse(JSON.stringify(partial));
    other.desks[0].desk = 'D2';
    other.desks[0].net_exposure = -d1.net_exposure;
    other.desks[0].scenarios = d1.scenarios.map(([date, pnl]) => [date, -pnl]);
    const report = mergeRiskPartials([partial, other]);
    expect(report.by_desk.map((d) => d.desk)).toEqual(['D1', 'D2']);
    expect(report.by_desk[0].levels[0].historical_var).toBeCloseTo(-12_870 + 0.95 * 25_740, 6);
    expect(report.total.levels.every((l) => Math.abs(l.historical_var ?? NaN) < 1e-9)).toBe(true);
    expect(report.total.net_exposure).toBeCloseTo(0, 9);
  });
});
