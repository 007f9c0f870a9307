import { type Command } from './command.js';
import { choiceFlag, intFlag, optional, parseFlags } from './args.js';
import { assertBenchChecks, DEFAULT_BENCH_OPTIONS, formatBench, runBench, type BenchResult } from './bench.js';

/** `nightshift bench` (what `npm run bench` runs): TCA timings, the ratio to a hand-written query, partition speedup. */
export const benchCommand: Command<BenchResult> = {
  name: 'bench',
  summary: 'time TCA on a generated day: analytic vs hand-written DuckDB query, 4 partitions vs 1',
  usage: `nightshift bench [--quotes 10000000] [--fills 1000000] [--partitions 4] [--runs 3] [--warmup 1]
                 [--format parquet|csv] [--tmp-dir DIR] [--json]

  Generates a day (deleted at the end), then measures (a) the TCA analytic over the whole day,
  (b) one hand-written DuckDB query for the same report (every TCA metric, in total and by broker
  and venue), checks they agree within 1e-9 relative, and (c) the partitions (desks) run
  concurrently against sequentially on one thread each. Prints a table (or JSON with --json);
  progress goes to stderr. Exits 1 if a cross-check fails.`,
  async run(argv, io) {
    const values = parseFlags(argv, {
      quotes: { type: 'string' },
      fills: { type: 'string' },
      partitions: { type: 'string' },
      runs: { type: 'string' },
      warmup: { type: 'string' },
      format: { type: 'string' },
      'tmp-dir': { type: 'string' },
      json: { type: 'boolean' },
    });
    if (values['help']) return null;
    const tmpDir = optional(values, 'tmp-dir');
    const result = await runBench({
      quotes: intFlag(values, 'quotes', 10) ?? DEFAULT_BENCH_OPTIONS.quotes,
      fills: intFlag(values, 'fills', 1) ?? DEFAULT_BENCH_OPTIONS.fills,
      partitions: intFlag(values, 'partitions', 1) ?? DEFAULT_BENCH_OPTIONS.partitions,
      runs: intFlag(values, 'runs', 1) ?? DEFAULT_BENCH_OPTIONS.runs,
      warmup: intFlag(values, 'warmup', 0) ?? DEFAULT_BENCH_OPTIONS.warmup,
      format: choiceFlag(values, 'format', ['csv', 'parquet'] as const) ?? DEFAULT_BENCH_OPTIONS.format,
      ...(tmpDir !== undefined ? { tmpDir } : {}),
      log: (line) => io.stderr.write(`bench: ${line}\n`),
    });
    io.stdout.write(values['json'] ? `${JSON.stringify(result, null, 2)}\n` : formatBench(result));
    assertBenchChecks(result);
    return undefined;
  },
};
