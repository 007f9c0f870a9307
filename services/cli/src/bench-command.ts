import { choiceList, type Command } from './command.js';
import { choiceFlag, intFlag, listFlag, optional, parseFlags, type FlagValues } from './args.js';
import { assertBenchChecks, DEFAULT_BENCH_OPTIONS, formatBench, formatBenchMarkdown, runBench, type BenchResult } from './bench.js';
import {
  assertControlPlaneChecks,
  DEFAULT_CONTROL_PLANE_OPTIONS,
  formatControlPlaneMarkdown,
  runControlPlaneBench,
  type ControlPlaneBenchResult,
} from './bench-control-plane.js';
import { assertSoakChecks, DEFAULT_SOAK_OPTIONS, formatSoakMarkdown, runSoakBench, type SoakResult } from './bench-soak.js';
import { writeDocsBlockIfAsked } from './docs-block.js';
import { CliUsageError } from './errors.js';

/** Flags of the TCA bench, refused with --control-plane (and the other way round) so a typo cannot go unnoticed. */
const TCA_FLAGS = ['quotes', 'fills', 'partitions', 'concurrency', 'runs', 'warmup', 'format'] as const;
const CONTROL_PLANE_FLAGS = ['children', 'latency-runs', 'profile-children', 'sides', 'redis-server', 'profile-out'] as const;
const SOAK_FLAGS = ['rounds', 'backlog'] as const;

/**
 * `nightshift bench`: the TCA timings (analytic vs a hand-written query, partition speedup), or with
 * `--control-plane` the run engine against BullMQ. `npm run bench` runs both.
 */
export const benchCommand: Command<BenchResult | ControlPlaneBenchResult | SoakResult> = {
  name: 'bench',
  summary: 'time TCA (analytic vs hand-written DuckDB query), or with --control-plane the run engine vs BullMQ',
  usage: `nightshift bench [--quotes 10000000] [--fills 1000000] [--partitions 4] [--concurrency CORES] [--runs 5]
                 [--warmup 1] [--format parquet|csv] [--docs FILE] [--tmp-dir DIR] [--json]
nightshift bench --control-plane [--children 1000,10000] [--latency-runs 200] [--profile-children 10000]
                 [--sides nightshift,bullmq] [--redis-server PATH] [--docs FILE] [--profile-out FILE] [--tmp-dir DIR] [--json]
nightshift bench --soak [--rounds 12] [--backlog 20000] [--docs FILE] [--tmp-dir DIR] [--json]

  TCA: generates a day (deleted at the end; quotes and trades one file per symbol, each desk trading
  its own book of symbols), then measures (a) the TCA analytic over the whole day, (b) one
  hand-written DuckDB query for the same report (every TCA metric, in total and by broker and venue),
  checks they agree within 1e-9 relative, and (c) the whole day as one partition on one thread
  against the partitions (desks), each reading only its orders' symbols, (d) one after the other
  and (e) --concurrency at a time (default: the cores), one thread each. --docs FILE rewrites the
  tca block of FILE (docs/performance.md) with the figures.

  --control-plane: the embedded platform in this process against BullMQ 6.7.0 on a redis-server
  the bench starts on 127.0.0.1 (AOF with fsync always, and no persistence), same task (a fresh
  \`true\` process), 8 at once, 2 attempts: runs of N tasks started by one event (wall, tasks/s, CPU
  per task, store writes per task), one-task runs one at a time (event -> task RUNNING p50/p99), and
  where the time goes from a separate profiled run. Without redis-server the BullMQ side is skipped.
  --docs FILE rewrites the generated block of FILE (docs/performance.md) with the figures.

  --soak: the embedded platform in this process under rounds of mixed traffic (20 one-task runs
  requested over REST and followed to their reports, 1,000 REST reads, refused REST calls, accepted
  and refused PutEvents); the heap after a full GC after each round, its last/warm ratio (flat is
  1.0), and what a waiting event costs the heap (a backlog queue nobody reads).

  Prints a table (markdown for --control-plane and --soak; JSON with --json); progress goes to stderr.
  Exits 1 if a cross-check or a measurement failed.`,
  async run(argv, io) {
    const values = parseFlags(argv, {
      quotes: { type: 'string' },
      fills: { type: 'string' },
      partitions: { type: 'string' },
      concurrency: { type: 'string' },
      runs: { type: 'string' },
      warmup: { type: 'string' },
      format: { type: 'string' },
      'tmp-dir': { type: 'string' },
      json: { type: 'boolean' },
      'control-plane': { type: 'boolean' },
      children: { type: 'string' },
      'latency-runs': { type: 'string' },
      'profile-children': { type: 'string' },
      sides: { type: 'string' },
      'redis-server': { type: 'string' },
      docs: { type: 'string' },
      'profile-out': { type: 'string' },
      soak: { type: 'boolean' },
      rounds: { type: 'string' },
      backlog: { type: 'string' },
    });
    if (values['help']) return null;
    const log = (line: string): void => {
      io.stderr.write(`bench: ${line}\n`);
    };
    const tmpDir = optional(values, 'tmp-dir');
    const docs = optional(values, 'docs');
    if (values['soak']) {
      refuse(values, [...TCA_FLAGS, ...CONTROL_PLANE_FLAGS, 'control-plane'], 'the TCA or control-plane bench (without --soak)');
      const result = await runSoakBench({
        ...DEFAULT_SOAK_OPTIONS,
        rounds: intFlag(values, 'rounds', 3) ?? DEFAULT_SOAK_OPTIONS.rounds,
        backlog: intFlag(values, 'backlog', 1) ?? DEFAULT_SOAK_OPTIONS.backlog,
        ...(tmpDir !== undefined ? { tmpDir } : {}),
        log,
      });
      const markdown = formatSoakMarkdown(result);
      io.stdout.write(values['json'] ? `${JSON.stringify(result, null, 2)}\n` : markdown);
      await writeDocsBlockIfAsked(docs, markdown, log, 'soak');
      assertSoakChecks(result);
      return undefined;
    }
    refuse(values, SOAK_FLAGS, '--soak');
    if (values['control-plane']) {
      refuse(values, TCA_FLAGS, 'the TCA bench (without --control-plane)');
      const result = await runControlPlaneBench(controlPlaneOptions(values, tmpDir, log));
      const markdown = formatControlPlaneMarkdown(result);
      io.stdout.write(values['json'] ? `${JSON.stringify(result, null, 2)}\n` : markdown);
      await writeDocsBlockIfAsked(docs, markdown, log);
      assertControlPlaneChecks(result);
      return undefined;
    }
    refuse(values, CONTROL_PLANE_FLAGS, '--control-plane or --soak');
    const concurrency = intFlag(values, 'concurrency', 1);
    const result = await runBench({
      quotes: intFlag(values, 'quotes', 10) ?? DEFAULT_BENCH_OPTIONS.quotes,
      fills: intFlag(values, 'fills', 1) ?? DEFAULT_BENCH_OPTIONS.fills,
      partitions: intFlag(values, 'partitions', 1) ?? DEFAULT_BENCH_OPTIONS.partitions,
      runs: intFlag(values, 'runs', 1) ?? DEFAULT_BENCH_OPTIONS.runs,
      warmup: intFlag(values, 'warmup', 0) ?? DEFAULT_BENCH_OPTIONS.warmup,
      format: choiceFlag(values, 'format', ['csv', 'parquet'] as const) ?? DEFAULT_BENCH_OPTIONS.format,
      ...(concurrency !== undefined ? { concurrency } : {}),
      ...(tmpDir !== undefined ? { tmpDir } : {}),
      log,
    });
    io.stdout.write(values['json'] ? `${JSON.stringify(result, null, 2)}\n` : formatBench(result));
    await writeDocsBlockIfAsked(docs, formatBenchMarkdown(result), log, 'tca');
    assertBenchChecks(result);
    return undefined;
  },
};

function refuse(values: FlagValues, flags: readonly string[], belongsTo: string): void {
  const given = flags.filter((f) => values[f] !== undefined);
  if (given.length > 0) throw new CliUsageError(`${given.map((f) => `--${f}`).join(', ')} only appl${given.length === 1 ? 'ies' : 'y'} to ${belongsTo}`);
}

function controlPlaneOptions(values: FlagValues, tmpDir: string | undefined, log: (line: string) => void): Parameters<typeof runControlPlaneBench>[0] {
  const children = listFlag(values, 'children')?.map((raw) => {
    const value = Number(raw.replaceAll('_', ''));
    if (!Number.isSafeInteger(value) || value < 1 || value > 10_000) throw new CliUsageError(`--children must list integers from 1 to 10000 (AWS Batch's array limit), got "${raw}"`);
    return value;
  });
  const profileChildren = intFlag(values, 'profile-children', 0);
  if (profileChildren !== undefined && profileChildren > 10_000) throw new CliUsageError(`--profile-children must be at most 10000, got ${profileChildren}`);
  const resolvedChildren = children ?? DEFAULT_CONTROL_PLANE_OPTIONS.children;
  const sides = choiceList(values, 'sides', ['nightshift', 'bullmq'] as const) ?? ['nightshift', 'bullmq'];
  const redisServer = optional(values, 'redis-server');
  const profileOut = optional(values, 'profile-out');
  return {
    children: resolvedChildren,
    latencyRuns: intFlag(values, 'latency-runs', 1) ?? DEFAULT_CONTROL_PLANE_OPTIONS.latencyRuns,
    warmupRuns: DEFAULT_CONTROL_PLANE_OPTIONS.warmupRuns,
    sides: { nightshift: sides.includes('nightshift'), bullmq: sides.includes('bullmq') },
    profileChildren: profileChildren ?? Math.max(...resolvedChildren),
    ...(redisServer !== undefined ? { redisServer } : {}),
    ...(tmpDir !== undefined ? { tmpDir } : {}),
    ...(profileOut !== undefined ? { profileOut } : {}),
    log,
  };
}
