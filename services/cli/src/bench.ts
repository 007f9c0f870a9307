import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { filesOfSymbols, generateBusinessDay, mergeTcaPartials, runTca, tableSymbols, type GeneratedTable, type TcaInput, type TcaPartial, type TcaReport } from '@nightshift/analytics';
import { type AgreementCheck, type BenchFiles, compareReports, compareWithHandWritten, type HandWrittenTcaRow, runHandWrittenTca } from './bench-baseline.js';
import { BenchCheckFailedError, CliUsageError } from './errors.js';

export interface BenchOptions {
  /** Quotes in the generated day (default 10M). */
  quotes: number;
  /** Fill rows in the generated day, approximately (default 1M). */
  fills: number;
  /** Desks = partitions for the concurrency measurement (default 4). */
  partitions: number;
  /** Measured runs per figure; the median is reported (default 3). */
  runs: number;
  /** Unmeasured runs before them (default 1). */
  warmup: number;
  format: 'csv' | 'parquet';
  /** Partitions run at a time in (e) (default: the machine's cores, as a compute environment of that many vCPUs would). */
  concurrency?: number;
  /** Parent of the temporary data directory (default the OS temp dir); the data is deleted at the end. */
  tmpDir?: string;
  /** Progress lines (the bench takes minutes at full size). */
  log?: (line: string) => void;
}

export const DEFAULT_BENCH_OPTIONS: BenchOptions = { quotes: 10_000_000, fills: 1_000_000, partitions: 4, runs: 5, warmup: 1, format: 'parquet' };

/** Timings of one figure. */
export interface Timing {
  median_s: number;
  runs_s: number[];
  /** Process CPU time over wall time during the measured runs: how many cores the work kept busy. */
  cpu_per_wall: number;
  /** Peak resident set size during this figure's runs (warm-ups included), MB. */
  peak_rss_mb: number;
}

export interface BenchResult {
  machine: { cpus: number; node: string; peak_rss_resettable: boolean };
  options: { runs: number; warmup: number; format: 'csv' | 'parquet'; concurrency: number };
  /** Quotes and trades are one file per symbol; each desk trades `symbols_per_desk` of them (its book). */
  data: { quotes: number; trades: number; orders: number; fills: number; symbols: number; symbols_per_desk: number; desks: string[] };
  generation: { seconds: number; peak_rss_mb: number };
  /** (a) the nightshift analytic over the whole day as one partition, DuckDB default threads. */
  analytic: Timing;
  /** (b) one hand-written DuckDB query for the same report (every metric, total and by broker and venue) on the same files, same threads. */
  hand_written_query: Timing;
  /** (a)/(b), the median of the rounds' ratios (each round runs (a) then (b)); the goal is <= 1.25. */
  ratio: number;
  /** (a)/(b) of each round, in order. */
  ratio_rounds: number[];
  /** (c) the whole day as one partition on one DuckDB thread: the "1" of the partition speedup. */
  whole_day_one_thread: Timing;
  /**
   * (d) the partitions one after the other, each on one DuckDB thread, each reading its orders'
   * symbols and then only those symbols' quote and trade files (what a worker does).
   */
  partitions_sequential: Timing;
  /** (e) the same partitions, `options.concurrency` at a time, each its own DuckDB instance on one thread. */
  partitions_concurrent: Timing;
  /**
   * (c)/(e): the partitions `concurrency` at a time against the whole day in one, the median of the
   * rounds' ratios (each round runs (c), (d), (e)); the goal is >= 1.9 on 2 cores.
   */
  speedup: number;
  /** (c)/(e) of each round, in order. */
  speedup_rounds: number[];
  /** (d)/(c), median of the rounds': the partitions' total work over the whole day's (1.0: splitting by desk reads no quote twice). */
  partitions_over_whole_day: number;
  /** Quote files each partition read, of `data.symbols`. */
  quote_files_per_partition: number[];
  check_analytic_vs_query: AgreementCheck;
  check_partitions_vs_whole_day: AgreementCheck;
  peak_rss_mb: number;
}

/** Mean fill rows per order the generator produces with fillsPerOrder = 20 (3% rejects, busts, corrections). */
const FILL_ROWS_PER_ORDER = 19.1;
const FILLS_PER_ORDER = 20;
const BUSINESS_DATE = '2024-03-15';
const SEED = 20240315;

/** Generator options that give about `quotes` quotes and `fills` fill rows over `partitions` desks. */
export function benchPlan(opts: Pick<BenchOptions, 'quotes' | 'fills' | 'partitions'>): {
  symbols: number;
  quotesPerSymbol: number;
  tradesPerSymbol: number;
  ordersPerDesk: number;
  fillsPerOrder: number;
  symbolsPerDesk: number;
  desks: string[];
} {
  const symbols = Math.min(100, Math.max(1, Math.floor(opts.quotes / 1000)));
  const quotesPerSymbol = Math.round(opts.quotes / symbols);
  if (quotesPerSymbol < 10 || quotesPerSymbol > 1_000_000) throw new CliUsageError(`--quotes must be between 10 and 100000000, got ${opts.quotes}`);
  return {
    symbols,
    quotesPerSymbol,
    // One print per ten quote updates, a typical ratio for liquid names.
    tradesPerSymbol: Math.max(10, Math.round(quotesPerSymbol / 10)),
    ordersPerDesk: Math.max(1, Math.round(opts.fills / opts.partitions / FILL_ROWS_PER_ORDER)),
    fillsPerOrder: FILLS_PER_ORDER,
    // Each desk trades a book of its own (a quarter of the symbols with 4 desks), as desks do.
    symbolsPerDesk: Math.max(1, Math.ceil(symbols / opts.partitions)),
    desks: Array.from({ length: opts.partitions }, (_, i) => `D${i + 1}`),
  };
}

/**
 * `npm run bench`: generates a day in a temporary directory, then measures in this process
 * (a) the TCA analytic over the whole day, (b) one hand-written DuckDB query for the same report
 * (every metric), and the partitions run sequentially on one thread versus concurrently. Cross-checks the
 * results (a = b on every metric within 1e-9 relative, merged partitions = whole day) and throws
 * `BenchCheckFailedError` when they disagree, since the timings would then compare different work.
 */
export async function runBench(options: BenchOptions): Promise<BenchResult> {
  const log = options.log ?? ((): void => undefined);
  const plan = benchPlan(options);
  const dir = await mkdtemp(join(options.tmpDir ?? tmpdir(), 'nightshift-bench-'));
  // An interrupted bench would otherwise leave gigabytes in the temp dir.
  const onSignal = (): void => {
    rmSync(dir, { recursive: true, force: true });
    process.exit(130);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const rss = new PeakRss();
  try {
    log(`generating ${options.quotes} quotes / ~${options.fills} fills over ${plan.desks.length} desks (${plan.symbols} symbols, ${options.format}) in ${dir}`);
    rss.reset();
    const started = performance.now();
    const { files } = await generateBusinessDay({
      outDir: join(dir, 'data'),
      businessDate: BUSINESS_DATE,
      seed: SEED,
      desks: plan.desks,
      symbols: plan.symbols,
      quotesPerSymbol: plan.quotesPerSymbol,
      tradesPerSymbol: plan.tradesPerSymbol,
      ordersPerDesk: plan.ordersPerDesk,
      fillsPerOrder: plan.fillsPerOrder,
      symbolsPerDesk: plan.symbolsPerDesk,
      marketFilesBySymbol: true,
      // The prices history is not used by TCA.
      historyDays: 5,
      format: options.format,
    });
    const generation = { seconds: (performance.now() - started) / 1000, peak_rss_mb: rss.read() };
    log(`generated in ${generation.seconds.toFixed(1)} s`);

    const market = (table: 'quotes' | 'trades'): string[] => files.filter((f) => f.table === table).map((f) => f.path);
    const whole = {
      ...(await concatenateDesks(files, join(dir, 'whole-day'), options.format)),
      quotes: market('quotes'),
      trades: market('trades'),
    } satisfies BenchFiles;
    const count = (table: GeneratedTable['table']): number => files.filter((f) => f.table === table).reduce((n, f) => n + f.rows, 0);
    const data = {
      quotes: count('quotes'), trades: count('trades'), orders: count('orders'), fills: count('fills'),
      symbols: plan.symbols, symbols_per_desk: plan.symbolsPerDesk, desks: plan.desks,
    };
    const concurrency = options.concurrency ?? availableParallelism();

    const tcaInput = (f: Pick<TcaInput, 'orders' | 'fills' | 'quotes' | 'trades'>, threads?: number): TcaInput => ({
      ...f,
      by: ['broker', 'venue'],
      ...(threads !== undefined ? { threads } : {}),
    });

    const [analytic, query] = await timeRounds<[TcaReport, HandWrittenTcaRow[]]>(
      [
        { label: '(a) nightshift TCA, whole day', fn: async () => mergeTcaPartials([await runTca(tcaInput(whole))]) },
        { label: '(b) hand-written DuckDB query', fn: () => runHandWrittenTca(whole) },
      ],
      options, rss, log,
    );
    const checkQuery = compareWithHandWritten(analytic.last, query.last);

    // What a worker does for a desk's child: read its orders' symbols, then only their quote and trade files.
    const runPartition = async (desk: string): Promise<TcaPartial> => {
      const orders = find(files, 'orders', desk).path;
      const symbols = new Set(await tableSymbols('orders', orders));
      return runTca(tcaInput({ orders, fills: find(files, 'fills', desk).path, quotes: filesOfSymbols(whole.quotes, symbols), trades: filesOfSymbols(whole.trades, symbols) }, 1));
    };
    const quoteFilesPerPartition = await Promise.all(
      plan.desks.map(async (desk) => filesOfSymbols(whole.quotes, new Set(await tableSymbols('orders', find(files, 'orders', desk).path))).length),
    );
    const [wholeOneThread, sequential, concurrent] = await timeRounds<[TcaReport, TcaReport, TcaReport]>(
      [
        { label: '(c) whole day as one partition, 1 thread', fn: async () => mergeTcaPartials([await runTca(tcaInput(whole, 1))]) },
        {
          label: `(d) ${plan.desks.length} partitions sequential, 1 thread`,
          fn: async () => {
            const parts = [];
            for (const desk of plan.desks) parts.push(await runPartition(desk));
            return mergeTcaPartials(parts);
          },
        },
        {
          label: `(e) ${plan.desks.length} partitions ${concurrency} at a time, 1 thread each`,
          fn: async () => mergeTcaPartials(await mapConcurrently(plan.desks, concurrency, runPartition)),
        },
      ],
      options, rss, log,
    );
    const checkPartitions = compareReports(concurrent.last, analytic.last);
    const sequentialCheck = compareReports(sequential.last, concurrent.last);
    checkPartitions.mismatches.push(...sequentialCheck.mismatches.map((m) => `sequential vs concurrent: ${m}`));
    const oneThreadCheck = compareReports(wholeOneThread.last, analytic.last);
    checkPartitions.mismatches.push(...oneThreadCheck.mismatches.map((m) => `whole day on 1 thread vs all cores: ${m}`));

    const result: BenchResult = {
      machine: { cpus: availableParallelism(), node: process.version, peak_rss_resettable: rss.resettable },
      options: { runs: options.runs, warmup: options.warmup, format: options.format, concurrency },
      data,
      generation,
      analytic: analytic.timing,
      hand_written_query: query.timing,
      ratio: median(perRound(analytic.timing, query.timing)),
      ratio_rounds: perRound(analytic.timing, query.timing),
      whole_day_one_thread: wholeOneThread.timing,
      partitions_sequential: sequential.timing,
      partitions_concurrent: concurrent.timing,
      speedup: median(perRound(wholeOneThread.timing, concurrent.timing)),
      speedup_rounds: perRound(wholeOneThread.timing, concurrent.timing),
      partitions_over_whole_day: median(perRound(sequential.timing, wholeOneThread.timing)),
      quote_files_per_partition: quoteFilesPerPartition,
      check_analytic_vs_query: checkQuery,
      check_partitions_vs_whole_day: checkPartitions,
      peak_rss_mb: process.resourceUsage().maxRSS / 1024,
    };
    return result;
  } finally {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    await rm(dir, { recursive: true, force: true });
  }
}

/** Throws when a cross-check failed (after the figures were printed, so they are not lost). */
export function assertBenchChecks(result: BenchResult): void {
  const failed = [
    ...result.check_analytic_vs_query.mismatches.map((m) => `analytic vs hand-written query: ${m}`),
    ...result.check_partitions_vs_whole_day.mismatches.map((m) => `partitions vs whole day: ${m}`),
  ];
  if (failed.length > 0) throw new BenchCheckFailedError(`${failed.length} value(s) disagree, first: ${failed[0]}`);
  if (result.check_analytic_vs_query.compared === 0) throw new BenchCheckFailedError('the hand-written query and the analytic had no value in common to compare');
}

/** `fn` over every item, at most `limit` at a time; results in the items' order. */
async function mapConcurrently<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const runner = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, runner));
  return results;
}

function find(files: GeneratedTable[], table: GeneratedTable['table'], desk?: string): GeneratedTable {
  const file = files.find((f) => f.table === table && f.desk === desk);
  if (!file) throw new BenchCheckFailedError(`the generator wrote no ${table} file${desk ? ` for desk ${desk}` : ''}`);
  return file;
}

/** One orders and one fills file for the whole day: the analytic reads one file per table. */
async function concatenateDesks(files: GeneratedTable[], dir: string, format: 'csv' | 'parquet'): Promise<Pick<BenchFiles, 'orders' | 'fills'>> {
  await mkdir(dir, { recursive: true });
  const instance = await DuckDBInstance.create(':memory:');
  try {
    const connection = await instance.connect();
    try {
      const out: Record<string, string> = {};
      for (const table of ['orders', 'fills'] as const) {
        const list = `[${files.filter((f) => f.table === table).map((f) => `'${f.path.replaceAll("'", "''")}'`).join(', ')}]`;
        const path = join(dir, `${table}.${format}`);
        // all_varchar copies CSV text unchanged instead of re-rendering inferred types.
        const source = format === 'parquet' ? `read_parquet(${list}, hive_partitioning = false)` : `read_csv(${list}, header = true, all_varchar = true, hive_partitioning = false)`;
        const target = format === 'parquet' ? 'FORMAT parquet, COMPRESSION zstd' : 'FORMAT csv, HEADER true';
        await connection.run(`COPY (SELECT * FROM ${source}) TO '${path.replaceAll("'", "''")}' (${target})`);
        out[table] = path;
      }
      return { orders: out['orders']!, fills: out['fills']! };
    } finally {
      connection.closeSync();
    }
  } finally {
    instance.closeSync();
  }
}

/** One figure of a set measured round by round: its label and the work it times. */
interface Measured<T> {
  label: string;
  fn: () => Promise<T>;
}

/**
 * Times figures that are compared with each other in rounds: each warm-up and each run does every
 * figure once, in turn, so a machine that gets slower or busier while the bench runs (another VM on
 * the host, a build) weighs on every figure of a ratio alike, instead of on whichever ran then.
 * Peak RSS is per figure (the high-water mark reset before each of its runs).
 */
async function timeRounds<T extends unknown[]>(
  figures: { [K in keyof T]: Measured<T[K]> },
  options: Pick<BenchOptions, 'runs' | 'warmup'>,
  rss: PeakRss,
  log: (line: string) => void,
): Promise<{ [K in keyof T]: { timing: Timing; last: T[K] } }> {
  const list = figures as unknown as Array<Measured<unknown>>;
  const state = list.map(() => ({ runs: [] as number[], cpu_s: 0, peak: 0, last: undefined as unknown }));
  const once = async (i: number, what: string): Promise<{ seconds: number; cpu_s: number }> => {
    const figure = list[i]!;
    rss.reset();
    const cpu = process.cpuUsage();
    const started = performance.now();
    state[i]!.last = await figure.fn();
    const seconds = (performance.now() - started) / 1000;
    const used = process.cpuUsage(cpu);
    state[i]!.peak = Math.max(state[i]!.peak, rss.read());
    log(`${figure.label}: ${what} ${seconds.toFixed(2)} s`);
    return { seconds, cpu_s: (used.user + used.system) / 1e6 };
  };
  for (let w = 0; w < options.warmup; w++) for (let i = 0; i < list.length; i++) await once(i, `warm-up ${w + 1}/${options.warmup}`);
  for (let r = 0; r < options.runs; r++) {
    for (let i = 0; i < list.length; i++) {
      const { seconds, cpu_s } = await once(i, `run ${r + 1}/${options.runs}`);
      state[i]!.runs.push(seconds);
      state[i]!.cpu_s += cpu_s;
    }
  }
  return state.map((s) => {
    const wall = s.runs.reduce((a, b) => a + b, 0);
    return { timing: { median_s: median(s.runs), runs_s: s.runs, cpu_per_wall: wall > 0 ? s.cpu_s / wall : 0, peak_rss_mb: s.peak }, last: s.last };
  }) as { [K in keyof T]: { timing: Timing; last: T[K] } };
}

/**
 * x/y of each round: the two figures of a round ran one after the other, so the machine's state
 * (its other load, another VM on the host) weighs on both; the median of these is the bench's ratio.
 */
export function perRound(x: Timing, y: Timing): number[] {
  return x.runs_s.map((s, i) => s / y.runs_s[i]!);
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/**
 * Peak RSS per phase. Linux keeps the high-water mark in /proc/self/status (VmHWM) and resets it
 * when "5" is written to /proc/self/clear_refs; elsewhere only the process-lifetime peak exists.
 */
class PeakRss {
  resettable = true;

  reset(): void {
    if (!this.resettable) return;
    try {
      writeFileSync('/proc/self/clear_refs', '5');
    } catch {
      this.resettable = false;
    }
  }

  /** MB. */
  read(): number {
    if (this.resettable) {
      try {
        const m = /VmHWM:\s+(\d+)\s+kB/.exec(readFileSync('/proc/self/status', 'utf8'));
        if (m) return Number(m[1]) / 1024;
      } catch {
        // fall through to the lifetime peak
      }
      this.resettable = false;
    }
    return process.resourceUsage().maxRSS / 1024;
  }
}

/** The figure lines, shared by the text and the markdown forms. */
function benchLines(r: BenchResult): { rows: Array<[string, Timing]>; ratios: string[]; checks: string[] } {
  const k = r.data.desks.length;
  const check = (c: AgreementCheck): string =>
    `${c.compared} values, max relative difference ${c.max_relative_difference.toExponential(1)} (tolerance ${c.tolerance.toExponential(0)}): ${c.mismatches.length === 0 && c.compared > 0 ? 'OK' : `FAILED (${c.mismatches.length} mismatches)`}`;
  return {
    rows: [
      ['(a) nightshift TCA analytic, whole day', r.analytic],
      ['(b) hand-written DuckDB query, whole day', r.hand_written_query],
      ['(c) whole day as one partition, 1 thread', r.whole_day_one_thread],
      [`(d) ${k} partitions sequential, 1 thread`, r.partitions_sequential],
      [`(e) ${k} partitions ${r.options.concurrency} at a time, 1 thread each`, r.partitions_concurrent],
    ],
    ratios: [
      `ratio analytic / hand-written query (a)/(b): ${r.ratio.toFixed(2)}x (goal <= 1.25x: ${r.ratio <= 1.25 ? 'met' : 'not met'}); by round: ${rounds(r.ratio_rounds)}`,
      `speedup ${k} partitions over 1, ${r.options.concurrency} at a time (c)/(e): ${r.speedup.toFixed(2)}x (goal >= 1.9x on 2 cores: ${r.speedup >= 1.9 ? 'met' : 'not met'}); by round: ${rounds(r.speedup_rounds)}`,
      `${k} partitions' work over the whole day's (d)/(c): ${r.partitions_over_whole_day.toFixed(2)}x; quote files read per partition: ${r.quote_files_per_partition.join(', ')} of ${r.data.symbols}`,
    ],
    checks: [
      `check (a) = (b), every TCA metric, total and by broker, venue: ${check(r.check_analytic_vs_query)}`,
      `check merged ${k} partitions = whole day, every TCA metric: ${check(r.check_partitions_vs_whole_day)}`,
    ],
  };
}

function rounds(ratios: number[]): string {
  return ratios.map((x) => x.toFixed(2)).join(' ');
}

function dataLine(r: BenchResult): string {
  const n = (x: number): string => x.toLocaleString('en-US');
  return `data: ${n(r.data.quotes)} quotes, ${n(r.data.trades)} trades, ${n(r.data.orders)} orders, ${n(r.data.fills)} fills; ${r.data.symbols} symbols (one quote and one trade file each), ${r.data.desks.length} desks of ${r.data.symbols_per_desk} symbols each`;
}

/** The result as a small text table with the ratios. */
export function formatBench(r: BenchResult): string {
  const n = (x: number): string => x.toLocaleString('en-US');
  const mb = (x: number): string => `${n(Math.round(x))} MB`;
  const s = (x: number): string => `${x.toFixed(2)} s`;
  const { rows, ratios, checks } = benchLines(r);
  const width = Math.max(...rows.map(([label]) => label.length));
  const rssNote = r.machine.peak_rss_resettable ? '' : ' (process lifetime peak: cannot reset per phase here)';
  return [
    `nightshift bench: ${r.machine.cpus} CPUs, node ${r.machine.node}, ${r.options.format}, median of ${r.options.runs} rounds after ${r.options.warmup} warm-up round(s)`,
    dataLine(r),
    `generation: ${s(r.generation.seconds)}, peak RSS ${mb(r.generation.peak_rss_mb)}`,
    '',
    `${'measurement'.padEnd(width)}  ${'median'.padStart(9)}  ${'runs'.padEnd(24)}  ${'cpu/wall'.padStart(8)}  ${'peak RSS'.padStart(10)}`,
    ...rows.map(
      ([label, t]) =>
        `${label.padEnd(width)}  ${s(t.median_s).padStart(9)}  ${t.runs_s.map((x) => x.toFixed(2)).join(' ').padEnd(24)}  ${t.cpu_per_wall.toFixed(2).padStart(8)}  ${mb(t.peak_rss_mb).padStart(10)}`,
    ),
    '',
    ...ratios,
    ...checks,
    `peak RSS: ${mb(r.peak_rss_mb)}${rssNote}`,
    '',
  ].join('\n');
}

/** The result as markdown for the generated block of docs/performance.md (`--docs`). */
export function formatBenchMarkdown(r: BenchResult, measuredAt = new Date()): string {
  const n = (x: number): string => x.toLocaleString('en-US');
  const mb = (x: number): string => `${n(Math.round(x))} MB`;
  const { rows, ratios, checks } = benchLines(r);
  return [
    `Measured ${measuredAt.toISOString().slice(0, 16).replace('T', ' ')} UTC: ${r.machine.cpus} CPUs, Node ${r.machine.node}, ${r.options.format}, median of ${r.options.runs} rounds after ${r.options.warmup} warm-up round(s); load average ${loadAverage()} at the end.`,
    '',
    `${dataLine(r).replace(/^data: /, 'Data: ')}; generated in ${r.generation.seconds.toFixed(1)} s.`,
    '',
    '| measurement | median | runs | CPU / wall | peak RSS |',
    '|---|---:|---|---:|---:|',
    ...rows.map(([label, t]) => `| ${label} | ${t.median_s.toFixed(2)} s | ${t.runs_s.map((x) => x.toFixed(2)).join(' ')} | ${t.cpu_per_wall.toFixed(2)} | ${mb(t.peak_rss_mb)} |`),
    '',
    ...[...ratios, ...checks].map((line) => `- ${line}`),
    '',
  ].join('\n');
}

function loadAverage(): string {
  return loadavg().map((x) => x.toFixed(2)).join(' ');
}
