import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BenchResult } from './bench.js';
import type { TcaMetrics, TcaReport } from '@nightshift/analytics';
import { compareWithHandWritten, type HandWrittenTcaRow, horizonMetricKeys, TCA_METRICS } from './bench-baseline.js';
import { benchPlan, median } from './bench.js';

const BIN = fileURLToPath(new URL('../bin/nightshift.js', import.meta.url));

let dir: string;
let docsDir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nightshift-bench-spec-'));
  docsDir = await mkdtemp(join(tmpdir(), 'nightshift-bench-docs-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
  await rm(docsDir, { recursive: true, force: true });
});

describe('bench sizing', () => {
  it('plans 10M quotes and about 1M fills over 4 desks with the default sizes', () => {
    const plan = benchPlan({ quotes: 10_000_000, fills: 1_000_000, partitions: 4 });
    expect(plan.symbols * plan.quotesPerSymbol).toBe(10_000_000);
    expect(plan.desks).toEqual(['D1', 'D2', 'D3', 'D4']);
    // 100 symbols, a book of 25 per desk: the desks' books are disjoint and cover the day.
    expect(plan.symbols).toBe(100);
    expect(plan.symbolsPerDesk).toBe(25);
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
    const docs = join(docsDir, 'performance.md');
    await writeFile(docs, '# Performance\n\nprose kept\n');
    const args = [BIN, 'bench', '--quotes', '200000', '--fills', '20000', '--runs', '1', '--warmup', '0', '--concurrency', '2', '--tmp-dir', dir, '--docs', docs, '--json'];
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
    // 100 symbols (one per 1,000 quotes, at most 100), 25 per desk: each partition read only its book's quote files.
    expect(result.data.symbols).toBe(100);
    expect(result.data.symbols_per_desk).toBe(25);
    expect(result.quote_files_per_partition).toEqual([25, 25, 25, 25]);
    expect(result.options.concurrency).toBe(2);
    // The analytic and the hand-written query agree on every TCA metric (29, and realized spread and price
    // impact at each of the 3 default horizons: 35) of every group: total, 5 brokers, 6 venues and the venue
    // roll-up's null group of order-level quantities = 455 values, less the 38 that are null on both sides
    // (the null venue's 20 fill-based ratios, and fill rate, participation and RPM of the 6 venues, whose
    // lines carry no order quantity or market volume).
    expect(result.check_analytic_vs_query.mismatches).toEqual([]);
    expect(result.check_analytic_vs_query.compared).toBe(417);
    expect(result.check_analytic_vs_query.tolerance).toBe(1e-9);
    expect(result.check_analytic_vs_query.max_relative_difference).toBeLessThanOrEqual(1e-9);
    expect(result.check_partitions_vs_whole_day.mismatches).toEqual([]);
    expect(result.check_partitions_vs_whole_day.compared).toBeGreaterThan(100);
    for (const t of [result.analytic, result.hand_written_query, result.whole_day_one_thread, result.partitions_sequential, result.partitions_concurrent]) {
      expect(t.runs_s).toHaveLength(1);
      expect(t.median_s).toBeGreaterThan(0);
    }
    // Ratios are the median of each round's: (a) and (b) of one round ran one after the other.
    expect(result.ratio_rounds).toEqual(result.analytic.runs_s.map((a, i) => a / result.hand_written_query.runs_s[i]!));
    expect(result.ratio).toBe(median(result.ratio_rounds));
    expect(result.speedup).toBe(median(result.whole_day_one_thread.runs_s.map((c, i) => c / result.partitions_concurrent.runs_s[i]!)));
    expect(result.partitions_over_whole_day).toBe(median(result.partitions_sequential.runs_s.map((d, i) => d / result.whole_day_one_thread.runs_s[i]!)));
    // --docs rewrote the tca block of the doc, keeping the rest.
    const written = await readFile(docs, 'utf8');
    expect(written).toContain('prose kept');
    expect(written).toContain('<!-- bench:tca:begin (generated by `npm run bench:tca`; do not edit by hand) -->');
    expect(written).toContain(`| (e) 4 partitions 2 at a time, 1 thread each | ${result.partitions_concurrent.median_s.toFixed(2)} s |`);
    expect(result.peak_rss_mb).toBeGreaterThan(0);
    expect(stderr).toContain('bench: generated in');
    expect(await readdir(dir)).toEqual([]);
  });
});

describe('formatBench', () => {
  it('prints the table with the ratio and the speedup lines', async () => {
    const { formatBench } = await import('./bench.js');
    const timing = (s: number): BenchResult['analytic'] => ({ median_s: s, runs_s: [s, s, s], cpu_per_wall: 1.5, peak_rss_mb: 100 });
    const check = { compared: 290, max_relative_difference: 1e-14, tolerance: 1e-9, mismatches: [] };
    const text = formatBench({
      machine: { cpus: 2, node: 'v20', peak_rss_resettable: true },
      options: { runs: 3, warmup: 1, format: 'parquet', concurrency: 2 },
      data: { quotes: 10_000_000, trades: 1_000_000, orders: 52_000, fills: 995_000, symbols: 100, symbols_per_desk: 25, desks: ['D1', 'D2', 'D3', 'D4'] },
      generation: { seconds: 40, peak_rss_mb: 2800 },
      analytic: timing(12),
      hand_written_query: timing(10),
      ratio: 1.2,
      ratio_rounds: [1.2, 1.1, 1.3],
      whole_day_one_thread: timing(20),
      partitions_sequential: timing(21),
      partitions_concurrent: timing(10.5),
      speedup: 20 / 10.5,
      speedup_rounds: [20 / 10.5, 1.95, 1.85],
      partitions_over_whole_day: 21 / 20,
      quote_files_per_partition: [25, 25, 25, 25],
      check_analytic_vs_query: check,
      check_partitions_vs_whole_day: { ...check, compared: 290, tolerance: 1e-6 },
      peak_rss_mb: 3000,
    });
    expect(text).toContain('data: 10,000,000 quotes, 1,000,000 trades, 52,000 orders, 995,000 fills; 100 symbols (one quote and one trade file each), 4 desks of 25 symbols each');
    expect(text).toContain('ratio analytic / hand-written query (a)/(b): 1.20x (goal <= 1.25x: met); by round: 1.20 1.10 1.30');
    expect(text).toContain('speedup 4 partitions over 1, 2 at a time (c)/(e): 1.90x (goal >= 1.9x on 2 cores: met); by round: 1.90 1.95 1.85');
    expect(text).toContain("4 partitions' work over the whole day's (d)/(c): 1.05x; quote files read per partition: 25, 25, 25, 25 of 100");
    expect(text).toMatch(/\(a\) nightshift TCA analytic, whole day\s+12\.00 s\s+12\.00 12\.00 12\.00\s+1\.50\s+100 MB/);
    expect(text).toContain('check (a) = (b), every TCA metric, total and by broker, venue: 290 values, max relative difference 1.0e-14 (tolerance 1e-9): OK');
  });
});

describe('compareWithHandWritten', () => {
  const metrics = (value: number): TcaMetrics => {
    const m = {} as Record<keyof TcaMetrics, number | null>;
    for (const k of [...TCA_METRICS, ...horizonMetricKeys([60, 300])]) m[k] = value;
    return m as TcaMetrics;
  };
  const report: TcaReport = {
    markout_seconds: 60,
    markout_horizons_seconds: [60, 300],
    total: metrics(1),
    by: { broker: [{ key: 'B1', ...metrics(2) }], venue: [{ key: 'V1', ...metrics(3) }, { key: null, ...metrics(4), arrival_slippage_bps: null }] },
  };
  const rows = (): HandWrittenTcaRow[] => [
    { dimension: 'total', key: null, ...metrics(1) },
    { dimension: 'broker', key: 'B1', ...metrics(2) },
    { dimension: 'venue', key: 'V1', ...metrics(3) },
    { dimension: 'venue', key: null, ...metrics(4), arrival_slippage_bps: null },
  ];

  it('compares every metric of every group, nulls on both sides being equal', () => {
    const check = compareWithHandWritten(report, rows());
    expect(check.mismatches).toEqual([]);
    expect(check.compared).toBe(4 * (TCA_METRICS.length + 4) - 1);
    expect(TCA_METRICS).toHaveLength(29);
  });

  it('reports a difference beyond 1e-9 in any metric, a one-sided null and a one-sided group', () => {
    const changed = rows();
    changed[2] = { ...changed[2]!, twap_slippage_bps: 3 * (1 + 1e-8), price_impact_bps: 3 * (1 + 1e-10), price_impact_300s_bps: 3.1 };
    changed[3] = { ...changed[3]!, participation_rate: null };
    changed.push({ dimension: 'broker', key: 'B2', ...metrics(5) });
    const check = compareWithHandWritten(report, changed);
    expect(check.mismatches).toEqual([
      expect.stringMatching(/^venue=V1 twap_slippage_bps: 3 vs 3\.00000003/),
      expect.stringMatching(/^venue=V1 price_impact_300s_bps: 3 vs 3\.1 /),
      'venue=(none) participation_rate: 4 vs null',
      'broker=B2: only in the hand-written query',
    ]);
  });
});
