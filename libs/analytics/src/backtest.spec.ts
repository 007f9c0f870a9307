import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateBusinessDay, InvalidAnalyticsOptionsError, parameterGrid, rankBacktests, runBacktest } from './index.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'backtest-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('runBacktest (moving-average crossover)', () => {
  it('matches a hand-computed run', async () => {
    /*
     * Closes 10, 11, 12, 11, 10, 11, 12, 13 (days k = 1..8); fast = 1, slow = 2, cost 10 bps.
     * SMA2 from k=2: 10.5, 11.5, 11.5, 10.5, 10.5, 11.5, 12.5; signal (close > SMA2): k2..k8 = 1,1,0,0,1,1,1.
     * Position on day k = signal of day k-1; returns start at k = 3 (first day after a defined signal):
     *   k3: pos 1 (was 0): 12/11-1 - 0.001        k6: pos 0: 0
     *   k4: pos 1: 11/12-1                        k7: pos 1 (was 0): 12/11-1 - 0.001
     *   k5: pos 0 (was 1): -0.001                 k8: pos 1: 13/12-1
     */
    const closes = [10, 11, 12, 11, 10, 11, 12, 13];
    const path = join(dir, 'prices.csv');
    const rows = closes.map((c, i) => `2024-01-${String(i + 1).padStart(2, '0')},XYZ,${c},${c},${c},${c},1000`);
    await writeFile(path, ['date,symbol,open,high,low,close,volume', ...rows].join('\n') + '\n');
    const expected = [12 / 11 - 1 - 0.001, 11 / 12 - 1, -0.001, 0, 12 / 11 - 1 - 0.001, 13 / 12 - 1];
    const result = await runBacktest({ prices: path, fast: 1, slow: 2, costBps: 10 });
    expect(result).toMatchObject({ symbols: 1, trades: 3, turnover: 3 });
    expect(result.metrics.observations).toBe(6);
    expect(result.metrics.cumulative_return).toBeCloseTo(expected.reduce((w, r) => w * (1 + r), 1) - 1, 12);
    const mean = expected.reduce((a, b) => a + b) / 6;
    const sd = Math.sqrt(expected.reduce((a, r) => a + (r - mean) ** 2, 0) / 5);
    expect(result.metrics.sharpe_ratio).toBeCloseTo((mean / sd) * Math.sqrt(252), 10);

    // Shorting turns the flat days k5, k6 into shorts: k5 = -(10/11-1) - 0.002 (flip 1 -> -1), ...
    const short = await runBacktest({ prices: path, fast: 1, slow: 2, costBps: 10, allowShort: true });
    expect(short.trades).toBe(3);
    expect(short.turnover).toBe(5);
  });

  it('sweeps a parameter grid over generated prices and ranks the results', async () => {
    const { files } = await generateBusinessDay({ outDir: dir, businessDate: '2024-03-15', seed: 3, desks: ['D1'], symbols: 4, ordersPerDesk: 10, quotesPerSymbol: 50, historyDays: 120 });
    const prices = files.find((f) => f.table === 'prices')?.path ?? '';
    const grid = parameterGrid({ fast: [5, 10, 20], slow: [10, 20], costBps: [5] });
    expect(grid.map((p) => `${p.fast}/${p.slow}`)).toEqual(['5/10', '5/20', '10/20']);
    const results = [];
    for (const params of grid) results.push(await runBacktest({ prices, ...params }));
    const ranked = rankBacktests(results);
    expect(ranked.map((r) => r.rank)).toEqual([1, 2, 3]);
    const sharpe = ranked.map((r) => r.metrics.sharpe_ratio ?? -Infinity);
    expect([...sharpe].sort((a, b) => b - a)).toEqual(sharpe);
    expect(ranked.every((r) => r.symbols === 4)).toBe(true);
  });

  it('rejects impossible parameters', async () => {
    await expect(runBacktest({ prices: join(dir, 'prices.csv'), fast: 5, slow: 5, costBps: 0 })).rejects.toBeInstanceOf(InvalidAnalyticsOptionsError);
  });
});
