import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BenchResult } from './bench.js';
import { benchPlan, median } from './bench.js';

const BIN = fileURLToPath(new URL('../bin/nightshift.js', import.meta.url));

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nightshift-bench-spec-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('bench sizing', () => {
  it('plans 10M quotes and about 1M fills over 4 desks with the default sizes', () => {
    const plan = benchPlan({ quotes: 10_000_000, fills: 1_000_000, partitions: 4 });
    expect(plan.symbols * plan.quotesPerSymbol).toBe(10_000_000);
    expect(plan.desks).toEqual(['D1', 'D2', 'D3', 'D4']);
    // ~19.1 fill rows per order (measured on the generator: 13,000 orders/desk gave 995,641 fills).
    expect(plan.ordersPerDesk * 4 * 19.1).toBeGreaterThan(990_000);
    expect(plan.ordersPerDesk * 4 * 19.1).toBeLessThan(1_010_000);
  });

  it('median of an odd and an even number of runs', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });
});

describe('nightshift bench (smoke, small day)', () => {
  it('measures, cross-checks and deletes its data', async () => {
    const args = [BIN, 'bench', '--quotes', '200000', '--fills', '20000', '--runs', '1', '--warmup', '0', '--tmp-dir', dir, '--json'];
    const { code, stdout, stderr } = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve, reject) => {
      execFile(process.execPath, args, { maxBuffer: 16 * 1024 * 1024 }, (error, out, err) => {
        if (error && typeof error.code !== 'number') reject(error);
        else resolve({ code: error ? (error.code as number) : 0, stdout: out, stderr: err });
      });
    });
    expect(code, stderr).toBe(0);
    const result = JSON.parse(stdout) as BenchResult;
    expect(result.data.quotes).toBe(200_000);
    expect(result.data.fills).toBeGreaterThan(18_000);
    expect(result.data.fills).toBeLessThan(22_000);
    expect(result.data.desks).toHaveLength(4);
    // The analytic and the hand-written query agree on every headline value (3 metrics x total, 5 brokers, 6 venues).
    expect(result.check_analytic_vs_query.mismatches).toEqual([]);
    expect(result.check_analytic_vs_query.compared).toBe(36);
    expect(result.check_analytic_vs_query.max_relative_difference).toBeLessThanOrEqual(1e-6);
    expect(result.check_partitions_vs_whole_day.mismatches).toEqual([]);
    expect(result.check_partitions_vs_whole_day.compared).toBeGreaterThan(100);
    for (const t of [result.analytic, result.hand_written_query, result.partitions_sequential, result.partitions_concurrent]) {
      expect(t.runs_s).toHaveLength(1);
      expect(t.median_s).toBeGreaterThan(0);
    }
    expect(result.ratio).toBeCloseTo(result.analytic.median_s / result.hand_written_query.median_s, 10);
    expect(result.speedup).toBeCloseTo(result.partitions_sequential.median_s / result.partitions_concurrent.median_s, 10);
    expect(result.peak_rss_mb).toBeGreaterThan(0);
    expect(stderr).toContain('bench: generated in');
    expect(await readdir(dir)).toEqual([]);
  });
});

describe('formatBench', () => {
  it('prints the table with the ratio and the speedup lines', async () => {
    const { formatBench } = await import('./bench.js');
    const timing = (s: number): BenchResult['analytic'] => ({ median_s: s, runs_s: [s, s, s], cpu_per_wall: 1.5, peak_rss_mb: 100 });
    const check = { compared: 36, max_relative_difference: 1e-14, tolerance: 1e-6, mismatches: [] };
    const text = formatBench({
      machine: { cpus: 2, node: 'v20', peak_rss_resettable: true },
      options: { runs: 3, warmup: 1, format: 'parquet' },
      data: { quotes: 10_000_000, trades: 1_000_000, orders: 52_000, fills: 995_000, symbols: 100, desks: ['D1', 'D2', 'D3', 'D4'] },
      generation: { seconds: 40, peak_rss_mb: 2800 },
      analytic: timing(12),
      hand_written_query: timing(10),
      ratio: 1.2,
      partitions_sequential: timing(60),
      partitions_concurrent: timing(32),
      speedup: 1.875,
      check_analytic_vs_query: check,
      check_partitions_vs_whole_day: { ...check, compared: 290 },
      peak_rss_mb: 3000,
    });
    expect(text).toContain('data: 10,000,000 quotes, 1,000,000 trades, 52,000 orders, 995,000 fills; 100 symbols, 4 desks');
    expect(text).toContain('ratio analytic / hand-written query (a)/(b): 1.20x (goal <= 1.25x: met)');
    expect(text).toContain('speedup 4 partitions over 1: 1.88x');
    expect(text).toMatch(/\(a\) nightshift TCA analytic, whole day\s+12\.00 s\s+12\.00 12\.00 12\.00\s+1\.50\s+100 MB/);
    expect(text).toContain('36 values, max relative difference 1.0e-14 (tolerance 1e-6): OK');
  });
});
