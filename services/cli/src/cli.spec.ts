import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { computeMetrics, generateBusinessDay, mergeTcaPartials, runTca, type GeneratedTable } from '@nightshift/analytics';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/*
 * These tests run the BUILT command as a real child process (the repo's vitest global setup runs
 * `tsc -b tsconfig.build.json` first), exactly as `npx nightshift ...` would.
 */
const BIN = fileURLToPath(new URL('../bin/nightshift.js', import.meta.url));
const MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function nightshift(args: string[], bin = BIN): Promise<Run> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [bin, ...args], { maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error && typeof error.code !== 'number') reject(error);
      else resolve({ code: error ? (error.code as number) : 0, stdout, stderr });
    });
  });
}

/** The error output must be exactly one line. */
function oneLine(run: Run): string {
  const lines = run.stderr.split('\n').filter((l) => l !== '');
  expect(lines).toHaveLength(1);
  return lines[0]!;
}

let dir: string;
let files: GeneratedTable[];
let orders: string;
let fills: string;
let quotes: string;
let trades: string;

const path = (table: GeneratedTable['table']): string => files.find((f) => f.table === table)!.path;

beforeAll(async () => {
  expect(existsSync(MAIN), `${MAIN} is missing: build with npx tsc -b services/cli/tsconfig.lib.json`).toBe(true);
  dir = await mkdtemp(join(tmpdir(), 'nightshift-cli-'));
  ({ files } = await generateBusinessDay({
    outDir: join(dir, 'day'),
    businessDate: '2024-03-15',
    seed: 11,
    desks: ['D1'],
    symbols: 3,
    quotesPerSymbol: 300,
    ordersPerDesk: 25,
    historyDays: 30,
  }));
  [orders, fills, quotes, trades] = [path('orders'), path('fills'), path('quotes'), path('trades')];
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('nightshift (top level)', () => {
  it('--help lists every subcommand and exits 0', async () => {
    const run = await nightshift(['--help']);
    expect(run.code).toBe(0);
    for (const name of ['tca', 'metrics', 'generate', 'bench']) expect(run.stdout).toMatch(new RegExp(`^  ${name}\\b`, 'm'));
  });

  it('no command prints the usage on stderr and exits 2; an unknown command exits 2', async () => {
    const none = await nightshift([]);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('usage: nightshift');
    const unknown = await nightshift(['frobnicate']);
    expect(unknown.code).toBe(2);
    expect(oneLine(unknown)).toContain('unknown command "frobnicate"');
  });

  it('the launcher says the CLI is not built (exit 2) when dist/main.js is missing', async () => {
    const bin = join(dir, 'unbuilt', 'bin', 'nightshift.js');
    await mkdir(join(dir, 'unbuilt', 'bin'), { recursive: true });
    await copyFile(BIN, bin);
    const run = await nightshift(['--help'], bin);
    expect(run.code).toBe(2);
    expect(oneLine(run)).toBe('nightshift is not built yet: run `npm run build`');
  });
});

describe('nightshift tca', () => {
  it('prints the merged report, equal to mergeTcaPartials([runTca(...)]) computed in-process', async () => {
    const run = await nightshift(['tca', '--orders', orders, '--fills', fills, '--quotes', quotes, '--trades', trades]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const report = JSON.parse(run.stdout) as Record<string, unknown>;
    expect(Object.keys(report).sort()).toEqual(['by', 'markout_horizons_seconds', 'markout_seconds', 'total']);
    expect(Object.keys(report['by'] as object).sort()).toEqual(['broker', 'venue']);
    const total = report['total'] as Record<string, unknown>;
    for (const key of ['arrival_slippage_bps', 'interval_vwap_slippage_bps', 'implementation_shortfall_bps', 'effective_spread_bps']) {
      expect(typeof total[key]).toBe('number');
    }
    const expected = mergeTcaPartials([await runTca({ orders, fills, quotes, trades })]);
    expect(report).toEqual(JSON.parse(JSON.stringify(expected)));
  });

  it('--by picks the roll-up dimensions; without --trades the VWAP metrics are null', async () => {
    const run = await nightshift(['tca', '--orders', orders, '--fills', fills, '--quotes', quotes, '--by', 'algo,desk,symbol']);
    expect(run.code).toBe(0);
    const report = JSON.parse(run.stdout) as { by: Record<string, Array<{ key: string }>>; total: Record<string, unknown> };
    expect(Object.keys(report.by).sort()).toEqual(['algo', 'desk', 'symbol']);
    expect(report.by['desk']!.map((g) => g.key)).toEqual(['D1']);
    expect(report.total['interval_vwap_slippage_bps']).toBeNull();
    expect(report).toEqual(JSON.parse(JSON.stringify(mergeTcaPartials([await runTca({ orders, fills, quotes, by: ['algo', 'desk', 'symbol'] })]))));
  });

  it('--markout-seconds lists the horizons; a non-number or a repeated horizon exits 2 naming it', async () => {
    const run = await nightshift(['tca', '--orders', orders, '--fills', fills, '--quotes', quotes, '--trades', trades, '--markout-seconds', '30,120']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const report = JSON.parse(run.stdout) as { markout_horizons_seconds: number[]; total: Record<string, unknown> };
    expect(report.markout_horizons_seconds).toEqual([30, 120]);
    expect(Object.keys(report.total).filter((k) => /_\d+s_bps$/.test(k)).sort()).toEqual(['price_impact_120s_bps', 'price_impact_30s_bps', 'realized_spread_120s_bps', 'realized_spread_30s_bps']);
    expect(report).toEqual(JSON.parse(JSON.stringify(mergeTcaPartials([await runTca({ orders, fills, quotes, trades, markoutHorizonsSeconds: [30, 120] })]))));
    const word = await nightshift(['tca', '--orders', orders, '--fills', fills, '--quotes', quotes, '--markout-seconds', '60,five']);
    expect(word.code).toBe(2);
    expect(oneLine(word)).toContain('--markout-seconds must list numbers of seconds, got "five"');
    const twice = await nightshift(['tca', '--orders', orders, '--fills', fills, '--quotes', quotes, '--markout-seconds', '60,60']);
    expect(twice.code).toBe(2);
    expect(oneLine(twice)).toContain('markout horizons repeat: 60, 60');
  });

  it('reads a table split over several files when its option is repeated: same report as the whole file', async () => {
    const [header, ...rows] = (await readFile(fills, 'utf8')).trimEnd().split('\n');
    const parts = [join(dir, 'fills-part-0.csv'), join(dir, 'fills-part-1.csv')];
    await writeFile(parts[0]!, [header, ...rows.slice(0, 20)].join('\n') + '\n');
    await writeFile(parts[1]!, [header, ...rows.slice(20)].join('\n') + '\n');
    const whole = await nightshift(['tca', '--orders', orders, '--fills', fills, '--quotes', quotes, '--trades', trades]);
    const split = await nightshift(['tca', '--orders', orders, '--fills', parts[0]!, '--fills', parts[1]!, '--quotes', quotes, '--trades', trades]);
    expect(split.stderr).toBe('');
    expect(split.code).toBe(0);
    expect(JSON.parse(split.stdout)).toEqual(JSON.parse(whole.stdout));
    // A bad value in the second part is reported against that part.
    const bad = rows.slice(20);
    const qty = header!.split(',').indexOf('last_qty');
    bad[1] = bad[1]!.split(',').map((cell, i) => (i === qty ? 'lots' : cell)).join(',');
    await writeFile(parts[1]!, [header, ...bad].join('\n') + '\n');
    const broken = await nightshift(['tca', '--orders', orders, '--fills', parts[0]!, '--fills', parts[1]!, '--quotes', quotes]);
    expect(broken.code).toBe(2);
    expect(oneLine(broken)).toContain(`${parts[1]}:3 column last_qty`);
  });

  it('a non-numeric value exits 2 with file, line and column on one line', async () => {
    const lines = (await readFile(fills, 'utf8')).split('\n');
    const column = lines[0]!.split(',').indexOf('last_px');
    const cells = lines[2]!.split(',');
    cells[column] = 'twelve';
    lines[2] = cells.join(',');
    const bad = join(dir, 'bad-fills.csv');
    await writeFile(bad, lines.join('\n'));
    const run = await nightshift(['tca', '--orders', orders, '--fills', bad, '--quotes', quotes]);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    const message = oneLine(run);
    expect(message).toContain(`${bad}:3 column last_px: not a valid DOUBLE`);
    // File content never appears in a problem (issue 9): the value is named by its type.
    expect(message).not.toContain('twelve');
  });

  it('a missing column exits 2 naming the header line and the column', async () => {
    const text = await readFile(orders, 'utf8');
    const header = text.split('\n', 1)[0]!.split(',');
    const keep = header.map((_, i) => i).filter((i) => header[i] !== 'broker');
    const bad = join(dir, 'orders-no-broker.csv');
    await writeFile(bad, text.split('\n').map((l) => (l === '' ? l : keep.map((i) => l.split(',')[i]).join(','))).join('\n'));
    const run = await nightshift(['tca', '--orders', bad, '--fills', fills, '--quotes', quotes]);
    expect(run.code).toBe(2);
    expect(oneLine(run)).toContain(`${bad}:1 column broker: missing required column "broker"`);
  });

  it('a missing file exits 2 naming it', async () => {
    const missing = join(dir, 'nope.csv');
    const run = await nightshift(['tca', '--orders', orders, '--fills', missing, '--quotes', quotes]);
    expect(run.code).toBe(2);
    expect(oneLine(run)).toContain(`${missing}: file not found`);
  });

  it('an unknown flag, a missing flag or an unknown dimension exits 2', async () => {
    const unknown = await nightshift(['tca', '--orders', orders, '--fills', fills, '--quotes', quotes, '--colour', 'red']);
    expect(unknown.code).toBe(2);
    expect(oneLine(unknown)).toContain("Unknown option '--colour'");
    const missing = await nightshift(['tca', '--orders', orders, '--fills', fills]);
    expect(missing.code).toBe(2);
    expect(oneLine(missing)).toContain('missing required option --quotes');
    const dimension = await nightshift(['tca', '--orders', orders, '--fills', fills, '--quotes', quotes, '--by', 'broker,planet']);
    expect(dimension.code).toBe(2);
    expect(oneLine(dimension)).toContain('planet');
  });
});

describe('nightshift metrics', () => {
  const KEYS = [
    'sharpe_ratio', 'max_drawdown', 'annual_return', 'annual_volatility', 'sortino_ratio', 'calmar_ratio',
    'alpha', 'beta', 'value_at_risk', 'conditional_value_at_risk', 'tail_ratio',
  ];
  let returns: string;
  let benchmark: string;

  beforeAll(async () => {
    // Two deterministic daily series over 40 weekdays (no randomness: the values are a formula).
    const dates = Array.from({ length: 60 }, (_, i) => new Date(Date.UTC(2024, 0, 1) + i * 86_400_000))
      .filter((d) => d.getUTCDay() !== 0 && d.getUTCDay() !== 6)
      .map((d) => d.toISOString().slice(0, 10));
    const r = dates.map((_, i) => (Math.sin(i * 1.7) * 0.012 + 0.0004).toFixed(6));
    const b = dates.map((_, i) => (Math.sin(i * 1.7 + 0.4) * 0.01 + 0.0002).toFixed(6));
    returns = join(dir, 'returns.csv');
    benchmark = join(dir, 'benchmark.csv');
    await writeFile(returns, ['date,return', ...dates.map((d, i) => `${d},${r[i]}`)].join('\n') + '\n');
    await writeFile(benchmark, ['date,return', ...dates.map((d, i) => `${d},${b[i]}`)].join('\n') + '\n');
  });

  it('prints the performance statistics with snake_case keys, equal to computeMetrics in-process', async () => {
    const run = await nightshift(['metrics', '--returns', returns, '--benchmark', benchmark, '--rf', '0.0001']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const metrics = JSON.parse(run.stdout) as Record<string, unknown>;
    for (const key of KEYS) expect(typeof metrics[key], key).toBe('number');
    expect(metrics).toEqual(JSON.parse(JSON.stringify(await computeMetrics({ returnsPath: returns, benchmarkPath: benchmark, rf: 0.0001 }))));
  });

  it('reads a series split over several files when --returns is repeated', async () => {
    const [header, ...rows] = (await readFile(returns, 'utf8')).trimEnd().split('\n');
    const parts = [join(dir, 'returns-h1.csv'), join(dir, 'returns-h2.csv')];
    await writeFile(parts[0]!, [header, ...rows.slice(0, 15)].join('\n') + '\n');
    await writeFile(parts[1]!, [header, ...rows.slice(15)].join('\n') + '\n');
    const whole = await nightshift(['metrics', '--returns', returns, '--benchmark', benchmark]);
    const split = await nightshift(['metrics', '--returns', parts[0]!, '--returns', parts[1]!, '--benchmark', benchmark]);
    expect(split.code).toBe(0);
    expect(JSON.parse(split.stdout)).toEqual(JSON.parse(whole.stdout));
  });

  it('--periods monthly aggregates first; without a benchmark alpha and beta are null', async () => {
    const run = await nightshift(['metrics', '--returns', returns, '--periods', 'monthly']);
    expect(run.code).toBe(0);
    const metrics = JSON.parse(run.stdout) as Record<string, unknown>;
    expect(metrics['periods']).toBe('monthly');
    expect(metrics['observations']).toBe(2); // January and February 2024
    expect(metrics['alpha']).toBeNull();
    expect(metrics['beta']).toBeNull();
  });

  it('a non-numeric return exits 2 with file, line and column', async () => {
    const bad = join(dir, 'bad-returns.csv');
    await writeFile(bad, 'date,return\n2024-01-02,0.01\n2024-01-03,abc\n2024-01-04,0.02\n');
    const run = await nightshift(['metrics', '--returns', bad]);
    expect(run.code).toBe(2);
    expect(oneLine(run)).toContain(`${bad}:3 column return`);
  });

  it('a missing column, an empty series and a bad --rf or --periods exit 2', async () => {
    const noReturn = join(dir, 'no-return.csv');
    await writeFile(noReturn, 'date,value\n2024-01-02,0.01\n');
    const missing = await nightshift(['metrics', '--returns', noReturn]);
    expect(missing.code).toBe(2);
    expect(oneLine(missing)).toContain(`${noReturn}:1 column return`);

    const empty = join(dir, 'empty-returns.csv');
    await writeFile(empty, 'date,return\n');
    const none = await nightshift(['metrics', '--returns', empty]);
    expect(none.code).toBe(2);
    expect(oneLine(none)).toMatch(new RegExp(`${empty}:\\d+ column return: empty`));

    const rf = await nightshift(['metrics', '--returns', returns, '--rf', 'lots']);
    expect(rf.code).toBe(2);
    expect(oneLine(rf)).toContain('--rf must be a number');
    const periods = await nightshift(['metrics', '--returns', returns, '--periods', 'hourly']);
    expect(periods.code).toBe(2);
    expect(oneLine(periods)).toContain('--periods must be one of daily, weekly, monthly');
  });
});

describe('nightshift generate', () => {
  it('writes a sample day and prints its files; the same options write the same data', async () => {
    const args = ['--date', '2024-03-15', '--seed', '3', '--desks', 'EQ,FI', '--symbols', '2', '--orders-per-desk', '5', '--quotes-per-symbol', '50', '--history-days', '10'];
    const first = await nightshift(['generate', '--out', join(dir, 'gen1'), ...args]);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    const { files: written } = JSON.parse(first.stdout) as { files: GeneratedTable[] };
    expect(written.map((f) => `${f.table}${f.desk ? `/${f.desk}` : ''}`).sort()).toEqual(
      ['fills/EQ', 'fills/FI', 'orders/EQ', 'orders/FI', 'prices', 'quotes', 'trades'],
    );
    for (const f of written) expect(existsSync(f.path), f.path).toBe(true);
    expect(written.find((f) => f.table === 'quotes')!.rows).toBe(100);
    expect(written.find((f) => f.table === 'orders' && f.desk === 'EQ')!.path).toContain(join('gen1', 'orders', 'business_date=2024-03-15', 'desk=EQ'));

    const second = await nightshift(['generate', '--out', join(dir, 'gen2'), ...args]);
    expect(second.code).toBe(0);
    const again = (JSON.parse(second.stdout) as { files: GeneratedTable[] }).files;
    for (const [i, f] of written.entries()) expect(await readFile(again[i]!.path, 'utf8')).toBe(await readFile(f.path, 'utf8'));
  });

  it('a weekend date or a bad --format exits 2', async () => {
    const weekend = await nightshift(['generate', '--out', join(dir, 'gen3'), '--date', '2024-03-16']);
    expect(weekend.code).toBe(2);
    expect(oneLine(weekend)).toContain('weekend');
    const format = await nightshift(['generate', '--out', join(dir, 'gen3'), '--date', '2024-03-15', '--format', 'xlsx']);
    expect(format.code).toBe(2);
    expect(oneLine(format)).toContain('--format must be one of csv, parquet');
  });

  it('an output directory that cannot be created exits 1 (not an input problem)', async () => {
    const blocker = join(dir, 'a-file');
    await writeFile(blocker, 'not a directory');
    const run = await nightshift(['generate', '--out', join(blocker, 'day'), '--date', '2024-03-15', '--symbols', '1', '--orders-per-desk', '1', '--quotes-per-symbol', '20', '--history-days', '2']);
    expect(run.code).toBe(1);
    expect(oneLine(run)).toContain('nightshift generate: failed:');
  });
});
