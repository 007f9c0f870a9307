import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { computeMetrics, generateReturnSeries, InputDataError } from './index.js';
import { normalQuantile } from './normal.js';

/*
 * Reference values: quantopian/empyrical, empyrical/tests/test_stats.py (commit 0a9fa58, the
 * `TestStats` fixtures), asserted there to 8 decimal places (DECIMAL_PLACES = 8):
 *   mixed_returns    = [nan, 1, 10, -4, 2, 3, 2, 1, -10] / 100, daily from 2000-01-30
 *   negative_returns = [0, -6, -7, -1, -9, -2, -6, -8, -5] / 100, daily from 2000-01-30
 *   all_negative_returns = [-2, -6, -7, -1, -9, -2, -6, -8, -5] / 100
 *   weekly_returns / monthly_returns = [0, 1, 10, -4, 2, 3, 2, 1, -10] / 100, freq 'W' / 'M'
 */
const MIXED = [NaN, 1, 10, -4, 2, 3, 2, 1, -10].map((x) => x / 100);
const NEGATIVE = [0, -6, -7, -1, -9, -2, -6, -8, -5].map((x) => x / 100);
const ALL_NEGATIVE = [-2, -6, -7, -1, -9, -2, -6, -8, -5].map((x) => x / 100);

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'metrics-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Writes a `date,return` CSV; NaN becomes an empty field. */
async function series(name: string, values: number[], start = '2000-01-30', stepDays = 1, dates?: string[]): Promise<string> {
  const path = join(dir, `${name}.csv`);
  const t0 = Date.parse(`${start}T00:00:00Z`);
  const rows = values.map((v, i) => `${dates?.[i] ?? new Date(t0 + i * stepDays * 86_400_000).toISOString().slice(0, 10)},${Number.isNaN(v) ? '' : v}`);
  await writeFile(path, ['date,return', ...rows].join('\n') + '\n');
  return path;
}

describe('computeMetrics against empyrical reference values', () => {
  it('mixed_returns (daily)', async () => {
    const m = await computeMetrics({ returnsPath: await series('mixed', MIXED) });
    expect(m.observations).toBe(8);
    expect(m.missing_observations).toBe(1);
    expect(m.cumulative_return).toBeCloseTo(0.03893, 4); // test_cum_returns_final
    expect(m.annual_return).toBeCloseTo(1.9135925373194231, 8); // test_annual_ret
    expect(m.annual_volatility).toBeCloseTo(0.9136465399704637, 8); // test_annual_volatility
    expect(m.sharpe_ratio).toBeCloseTo(1.7238613961706866, 8); // test_sharpe_ratio (risk_free 0)
    expect(m.downside_risk).toBeCloseTo(0.60448325038829653, 8); // test_downside_risk (required 0)
    expect(m.sortino_ratio).toBeCloseTo(2.605531251673693, 8); // test_sortino
    expect(m.max_drawdown).toBeCloseTo(-0.1, 8); // test_max_drawdown
    expect(m.calmar_ratio).toBeCloseTo(19.135925373194233, 8); // test_calmar
    expect(m.tail_ratio).toBeCloseTo(0.9473684210526313, 1); // test_tail_ratio (asserted to 1 decimal there)
  });

  it('alpha and beta against negative_returns[1:]', async () => {
    const m = await computeMetrics({
      returnsPath: await series('mixed2', MIXED),
      benchmarkPath: await series('neg1', NEGATIVE.slice(1), '2000-01-31'),
    });
    // test_alpha_beta: (mixed_returns, negative_returns[1:]) -> (-8.306666666666668, -0.71296296296296313)
    expect(m.alpha).toBeCloseTo(-8.306666666666668, 8);
    expect(m.beta).toBeCloseTo(-0.71296296296296313, 8);
    expect(m.benchmark_observations).toBe(8);
  });

  it('alpha 0 / beta 1 against itself and beta -1 against its negation', async () => {
    const r = await series('mixed3', MIXED);
    expect(await computeMetrics({ returnsPath: r, benchmarkPath: r })).toMatchObject({ alpha: 0, beta: 1 });
    const inverse = await computeMetrics({ returnsPath: r, benchmarkPath: await series('inv', MIXED.map((x) => -x)) });
    expect(inverse.beta).toBeCloseTo(-1, 12);
    expect(inverse.alpha).toBeCloseTo(0, 12);
  });

  it('max drawdown counts the starting value as a peak', async () => {
    // test_max_drawdown: negative series -> cum_returns_final; [10, -10, 10]% -> -0.10
    const allNeg = await computeMetrics({ returnsPath: await series('allneg', ALL_NEGATIVE) });
    expect(allNeg.max_drawdown).toBeCloseTo(ALL_NEGATIVE.reduce((w, r) => w * (1 + r), 1) - 1, 8);
    expect((await computeMetrics({ returnsPath: await series('tenten', [0.1, -0.1, 0.1]) })).max_drawdown).toBeCloseTo(-0.1, 8);
    // test_cum_returns_final: negative_returns -> -0.36590
    expect((await computeMetrics({ returnsPath: await series('neg', NEGATIVE) })).cumulative_return).toBeCloseTo(-0.3659, 4);
  });

  it('weekly and monthly periods (annualisation 52 and 12)', async () => {
    const values = [0, 1, 10, -4, 2, 3, 2, 1, -10].map((x) => x / 100);
    // pandas freq 'W' = Sundays from 2000-01-30; each falls in its own ISO week.
    const weekly = await computeMetrics({ returnsPath: await series('weekly', values, '2000-01-30', 7), periods: 'weekly' });
    expect(weekly.observations).toBe(9);
    expect(weekly.annual_return).toBeCloseTo(0.24690830513998208, 8); // test_annual_ret WEEKLY
    expect(weekly.annual_volatility).toBeCloseTo(0.38851569394870583, 8); // test_annual_volatility WEEKLY
    expect(weekly.calmar_ratio).toBeCloseTo(2.4690830513998208, 8); // test_calmar WEEKLY
    // pandas freq 'M' = month ends from 2000-01-31.
    const monthEnds = ['2000-01-31', '2000-02-29', '2000-03-31', '2000-04-30', '2000-05-31', '2000-06-30', '2000-07-31', '2000-08-31', '2000-09-30'];
    const monthly = await computeMetrics({ returnsPath: await series('monthly', values, '', 0, monthEnds), periods: 'monthly' });
    expect(monthly.annual_return).toBeCloseTo(0.052242061386048144, 8); // test_annual_ret MONTHLY
    expect(monthly.annual_volatility).toBeCloseTo(0.18663690238892558, 8); // test_annual_volatility MONTHLY
    expect(monthly.calmar_ratio).toBeCloseTo(0.52242061386048144, 8); // test_calmar MONTHLY
  });

  it('compounds daily returns into ISO weeks and calendar months', async () => {
    // test_aggregate_returns: simple_benchmark [0,1,0,1,0,1,0,1,0]% daily from Sunday 2000-01-30
    // WEEKLY -> [0.0, 0.04060401, 0.0]; MONTHLY -> [0.01, 0.030301]
    const simple = await series('simple', [0, 1, 0, 1, 0, 1, 0, 1, 0].map((x) => x / 100));
    const weekly = await computeMetrics({ returnsPath: simple, periods: 'weekly' });
    expect(weekly.observations).toBe(3);
    expect(weekly.cumulative_return).toBeCloseTo(1.04060401 - 1, 12);
    // Sample std of [0, 0.04060401, 0]
    const w = [0, 0.04060401, 0];
    const mean = w.reduce((a, b) => a + b) / 3;
    const sd = Math.sqrt(w.reduce((a, b) => a + (b - mean) ** 2, 0) / 2);
    expect(weekly.annual_volatility).toBeCloseTo(sd * Math.sqrt(52), 10);
    const monthly = await computeMetrics({ returnsPath: simple, periods: 'monthly' });
    expect(monthly.observations).toBe(2);
    expect(monthly.start_date).toBe('2000-01-01');
    expect(monthly.annual_volatility).toBeCloseTo(Math.abs(0.030301 - 0.01) / Math.SQRT2 * Math.sqrt(12), 10);
  });

  it('historical VaR/CVaR are linearly interpolated return quantiles', async () => {
    // test_value_at_risk: [1, 81, 82, 83, 84, 85] at cutoff 0.1 -> 41, 0.2 -> 81, 0.3 -> 81.5
    const path = await series('var', [1, 81, 82, 83, 84, 85]);
    expect((await computeMetrics({ returnsPath: path, cutoff: 0.1 })).value_at_risk).toBeCloseTo(41, 10);
    expect((await computeMetrics({ returnsPath: path, cutoff: 0.2 })).value_at_risk).toBeCloseTo(81, 10);
    const m = await computeMetrics({ returnsPath: path, cutoff: 0.3 });
    expect(m.value_at_risk).toBeCloseTo(81.5, 10);
    // test_conditional_value_at_risk: mean of the returns at or below the VaR -> mean(1, 81)
    expect(m.conditional_value_at_risk).toBeCloseTo(41, 10);
    // Parametric (normal): mean + z * sd, mean - sd * phi(z) / cutoff
    const xs = [1, 81, 82, 83, 84, 85];
    const mu = xs.reduce((a, b) => a + b) / 6;
    const sd = Math.sqrt(xs.reduce((a, b) => a + (b - mu) ** 2, 0) / 5);
    expect(m.value_at_risk_parametric).toBeCloseTo(mu + normalQuantile(0.3) * sd, 10);
  });

  it('uses rf as the per-period risk-free return in Sharpe and Sortino', async () => {
    // Shifting returns and rf together leaves Sharpe unchanged (empyrical test_sharpe_translation_same).
    const base = await computeMetrics({ returnsPath: await series('rf0', MIXED), rf: 0.001 });
    const shifted = await computeMetrics({ returnsPath: await series('rf1', MIXED.map((x) => x + 0.002)), rf: 0.003 });
    expect(shifted.sharpe_ratio).toBeCloseTo(base.sharpe_ratio ?? NaN, 10);
    expect(shifted.sortino_ratio).toBeCloseTo(base.sortino_ratio ?? NaN, 10);
  });
});

describe('computeMetrics on generated return series', () => {
  it('recovers the generated beta and reads what generateReturnSeries writes', async () => {
    const out = await generateReturnSeries({ outDir: dir, endDate: '2024-03-15', seed: 9, portfolios: ['P1'], days: 500 });
    const again = await generateReturnSeries({ outDir: join(dir, 'again'), endDate: '2024-03-15', seed: 9, portfolios: ['P1'], days: 500 });
    const { readFile } = await import('node:fs/promises');
    expect(await readFile(again.portfolios['P1'], 'utf8')).toBe(await readFile(out.portfolios['P1'], 'utf8'));
    const m = await computeMetrics({ returnsPath: out.portfolios['P1'], benchmarkPath: out.benchmark, periods: 'weekly' });
    expect(m.benchmark_observations).toBeGreaterThan(90);
    // Portfolio = a + beta * benchmark + noise (sd 0.6% vs 1% for the benchmark): beta in [0.5, 1.5].
    expect(m.beta).toBeGreaterThan(0.4);
    expect(m.beta).toBeLessThan(1.6);
    expect(m.end_date).toBe('2024-03-11');
  });
});

describe('computeMetrics input errors', () => {
  const fail = async (body: string): Promise<InputDataError> => {
    const path = join(dir, `bad-${Math.random().toString(36).slice(2)}.csv`);
    await writeFile(path, body);
    const e = await computeMetrics({ returnsPath: path }).catch((err: unknown) => err);
    expect(e).toBeInstanceOf(InputDataError);
    return e as InputDataError;
  };

  it('names file, line and column', async () => {
    expect(await fail('date,ret\n2024-01-02,0.1\n')).toMatchObject({ line: 1, column: 'return' });
    const nonNumeric = await fail('date,return\n2024-01-02,0.1\n2024-01-03,0.2\n2024-01-04,abc\n');
    expect(nonNumeric).toMatchObject({ line: 4, column: 'return' });
    expect(nonNumeric.message).toMatch(/bad-.*\.csv:4 column return: not a valid DOUBLE$/);
    expect(await fail('date,return\n2024-01-02,0.1\nnot-a-date,0.2\n')).toMatchObject({ line: 3, column: 'date' });
    expect(await fail('date,return\n')).toMatchObject({ line: 2, message: expect.stringMatching(/empty return series/) });
    expect(await fail('date,return\n2024-01-02,0.1\n\n2024-01-03,0.2\n2024-01-02,0.3\n')).toMatchObject({ line: 5, column: 'date' });
  });
});
