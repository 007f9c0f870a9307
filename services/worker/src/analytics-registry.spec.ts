import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { computeMetrics, generateBusinessDay, generateReturnSeries, sqlString, withDuckDb, type PerformanceMetrics, type TableName } from '@nightshift/analytics';
import type { ManifestEntry, StepManifest } from '@nightshift/jobs-domain';
import { createLogger } from '@nightshift/observability';
import { DirectoryObjectStore } from '@nightshift/storage-local';
import { loadWorkerConfig } from './config.js';
import { WorkerUsageError } from './errors.js';
import { runTask } from './run-task.js';

/*
 * The worker as a batch child runs it: a step manifest and the landed files in a real object store
 * directory, `runTask` for one array index, the result read back from the entry's output key.
 */

/** The worker's own lines are not what these tests are about. */
const quiet = createLogger({ service: 'nightshift-worker', level: 'silent' });

let root: string;
let store: DirectoryObjectStore;
const MANIFEST = 'runs/r1/tca/manifest.json';

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'worker-registry-'));
  store = new DirectoryObjectStore(join(root, 'objects'));
  const { files } = await generateBusinessDay({
    outDir: join(root, 'day'), businessDate: '2024-03-15', seed: 5, desks: ['EQ1'], symbols: 3, ordersPerDesk: 30, quotesPerSymbol: 200, historyDays: 10,
  });
  const path = (table: TableName): string => files.find((f) => f.table === table)!.path;
  for (const table of ['orders', 'fills', 'quotes', 'trades'] as const) {
    const text = await readFile(path(table), 'utf8');
    await store.put(`landing/whole/${table}.csv`, text);
    // The same rows landed as a first part and a late second part, each with the header.
    const [header, ...rows] = text.trimEnd().split('\n');
    const half = Math.ceil(rows.length / 2);
    await store.put(`landing/split/${table}/part-0.csv`, [header, ...rows.slice(0, half)].join('\n') + '\n');
    await store.put(`landing/split/${table}/part-1.csv`, [header, ...rows.slice(half)].join('\n') + '\n');
  }
  const entry = (arrayIndex: number, partition: string, inputs: ManifestEntry['inputs']): ManifestEntry => ({
    arrayIndex, taskId: `t${arrayIndex}`, partition, inputs, sharedInputs: {}, outputKey: `runs/r1/tca/partition=${partition}/result.json`,
  });
  const whole = (table: string): string[] => [`landing/whole/${table}.csv`];
  const split = (table: string): string[] => [`landing/split/${table}/part-0.csv`, `landing/split/${table}/part-1.csv`];
  const manifest: StepManifest = {
    runId: 'r1', step: 'tca', analytic: 'tca', datasetId: 'd1', businessDate: '2024-03-15',
    entries: [
      entry(0, 'EQ1-whole', { orders: whole('orders'), fills: whole('fills'), quotes: whole('quotes'), trades: whole('trades') }),
      entry(1, 'EQ1-split', { orders: split('orders'), fills: split('fills'), quotes: split('quotes'), trades: split('trades') }),
      entry(2, 'EQ1-no-orders', { orders: [], fills: split('fills'), quotes: split('quotes') }),
      // As an older planner wrote it: no sharedInputs.
      { arrayIndex: 3, taskId: 't3', partition: 'EQ1-old', inputs: { orders: whole('orders') }, outputKey: 'runs/r1/tca/out/3.json' } as unknown as ManifestEntry,
    ],
  };
  await store.put(MANIFEST, JSON.stringify(manifest));
}, 60_000);
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const run = (arrayIndex: number): Promise<{ outputKey: string }> =>
  runTask(
    loadWorkerConfig({ NIGHTSHIFT_MANIFEST_KEY: MANIFEST, NIGHTSHIFT_OBJECT_STORE_DIR: join(root, 'objects'), NIGHTSHIFT_ARRAY_INDEX: String(arrayIndex) }),
    store,
    quiet,
  );

interface TcaOutput {
  partition: string;
  result: { groups: Array<{ sums: { fills: string } }>; detail?: { partition: string; orders: string; fills: string } };
}

const output = async (key: string): Promise<TcaOutput> => JSON.parse(Buffer.from(await store.get(key)).toString('utf8'));

describe('worker analytics registry', () => {
  it('runs TCA over every file of a table in the partition, as if they were one file', async () => {
    const whole = await output((await run(0)).outputKey);
    const split = await output((await run(1)).outputKey);
    expect(Number(whole.result.groups[0]?.sums.fills)).toBeGreaterThan(10);
    expect(split.partition).toBe('EQ1-split');
    // Equal but for where each partition's detail files went.
    expect({ ...split.result, detail: undefined }).toEqual({ ...whole.result, detail: undefined });
  });

  it("publishes the partition's per-order and per-fill TCA detail as Parquet beside its result, and lists the keys", async () => {
    const { result } = await output((await run(0)).outputKey);
    expect(result.detail).toEqual({
      partition: 'EQ1-whole',
      orders: 'runs/r1/tca/partition=EQ1-whole/detail/tca-orders.parquet',
      fills: 'runs/r1/tca/partition=EQ1-whole/detail/tca-fills.parquet',
    });
    const orders = await store.localFile(result.detail!.orders, root);
    const fills = await store.localFile(result.detail!.fills, root);
    const rows = await withDuckDb((db) =>
      db.one<{ orders: number; fills: number }>(`SELECT (SELECT count(*) FROM read_parquet(${sqlString(orders)})) AS orders,
                     (SELECT count(*) FROM read_parquet(${sqlString(fills)})) AS fills`),
    );
    // One row per order of the partition (30 generated), one per effective fill (the total group's fill count).
    expect(rows.orders).toBe(30);
    expect(rows.fills).toBe(Number(result.groups[0]?.sums.fills));
  });

  it('refuses a manifest entry without sharedInputs rather than guess which inputs are shared', async () => {
    await expect(run(3)).rejects.toThrow(new WorkerUsageError(`manifest ${MANIFEST} entry 3 lacks inputs or sharedInputs (written by an older planner?): request the run again`));
  });

  it('refuses a partition without any file of a required table, naming the partition and the table', async () => {
    const error = await run(2).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WorkerUsageError);
    expect((error as Error).message).toBe('partition EQ1-no-orders has no orders input');
  });
});

describe('worker performance analytic', () => {
  const PERF = 'runs/r2/performance/manifest.json';
  let series: { benchmark: string; portfolios: Record<string, string> };

  beforeAll(async () => {
    series = await generateReturnSeries({ outDir: join(root, 'returns'), endDate: '2024-03-15', seed: 3, portfolios: ['growth'], days: 120 });
    // Keys that say nothing: the benchmark is told apart by being shared, not by its name.
    await store.putFile('landing/r/index-a.csv', series.benchmark);
    await store.putFile('landing/r/p-1.csv', series.portfolios['growth']!);
    const entry = (arrayIndex: number, inputs: string[], shared: string[]): ManifestEntry => ({
      arrayIndex, taskId: `performance#${arrayIndex}`, partition: 'growth', inputs: { returns: inputs }, sharedInputs: shared.length ? { returns: shared } : {}, outputKey: `runs/r2/out/${arrayIndex}.json`,
    });
    const manifest: StepManifest = {
      runId: 'r2', step: 'performance', analytic: 'performance', datasetId: 'returns@2024-03-15#v1', businessDate: '2024-03-15',
      entries: [
        entry(0, ['landing/r/index-a.csv', 'landing/r/p-1.csv'], ['landing/r/index-a.csv']),
        entry(1, ['landing/r/p-1.csv'], []),
        entry(2, ['landing/r/index-a.csv'], ['landing/r/index-a.csv']),
      ],
    };
    await store.put(PERF, JSON.stringify(manifest));
  }, 60_000);

  const perf = async (arrayIndex: number): Promise<{ portfolio: string; metrics: PerformanceMetrics; by_period: Record<string, PerformanceMetrics> }> => {
    const config = loadWorkerConfig({ NIGHTSHIFT_MANIFEST_KEY: PERF, NIGHTSHIFT_OBJECT_STORE_DIR: join(root, 'objects'), NIGHTSHIFT_ARRAY_INDEX: String(arrayIndex) });
    const { outputKey } = await runTask(config, store, quiet);
    return (JSON.parse(Buffer.from(await store.get(outputKey)).toString('utf8')) as { result: { portfolio: string; metrics: PerformanceMetrics; by_period: Record<string, PerformanceMetrics> } }).result;
  };

  it("measures the portfolio's own series against the shared benchmark, whatever the files are called", async () => {
    const { portfolio, metrics } = await perf(0);
    expect(portfolio).toBe('growth');
    expect(metrics).toEqual(await computeMetrics({ returnsPath: series.portfolios['growth']!, benchmarkPath: series.benchmark, periods: 'daily' }));
    expect(metrics.beta).not.toBeNull();
  });

  it('runs without a benchmark when none landed: alpha and beta are null, the rest is computed', async () => {
    const { metrics } = await perf(1);
    expect(metrics).toMatchObject({ alpha: null, beta: null, observations: 120 });
    expect(metrics.sharpe_ratio).not.toBeNull();
  });

  it('refuses a partition with only the shared benchmark, naming the partition', async () => {
    await expect(perf(2)).rejects.toThrow(new WorkerUsageError('partition growth has no returns file of its own (only 1 shared benchmark file(s))'));
  });

  it('computes daily periods only for a step that declared none', async () => {
    const result = await perf(0);
    expect(Object.keys(result.by_period)).toEqual(['daily']);
    expect(result.by_period['daily']).toEqual(result.metrics);
  });
});

describe('worker performance analytic over the periods its step declares', () => {
  type PerPeriod = { portfolio: string; metrics: PerformanceMetrics; by_period: Record<string, PerformanceMetrics> };
  // Every weekday from Monday 2024-01-01 to Friday 2024-03-29: 13 whole ISO weeks, 3 calendar months
  // (23 + 21 + 21 weekdays), so 65 daily, 13 weekly and 3 monthly observations.
  const days: string[] = [];
  for (let d = new Date('2024-01-01T00:00:00Z'); d <= new Date('2024-03-29T00:00:00Z'); d.setUTCDate(d.getUTCDate() + 1)) {
    if (d.getUTCDay() !== 0 && d.getUTCDay() !== 6) days.push(d.toISOString().slice(0, 10));
  }
  const returns = days.map((_, i) => ((i % 7) - 3) / 1000);
  const benchmark = days.map((_, i) => ((i % 5) - 2) / 2000);
  const csv = (values: number[]) => ['date,return', ...days.map((d, i) => `${d},${values[i]}`)].join('\n') + '\n';

  const run = async (step: string, options: Record<string, unknown> | undefined): Promise<PerPeriod> => {
    const key = `runs/r3/${step}/manifest.json`;
    const manifest: StepManifest = {
      runId: 'r3', step, analytic: 'performance', ...(options ? { options } : {}), datasetId: 'returns@2024-03-29#v1', businessDate: '2024-03-29',
      entries: [{ arrayIndex: 0, taskId: `${step}#growth`, partition: 'growth', inputs: { returns: ['periods/bench.csv', 'periods/growth.csv'] }, sharedInputs: { returns: ['periods/bench.csv'] }, outputKey: `runs/r3/${step}/out.json` }],
    };
    await store.put(key, JSON.stringify(manifest));
    const config = loadWorkerConfig({ NIGHTSHIFT_MANIFEST_KEY: key, NIGHTSHIFT_OBJECT_STORE_DIR: join(root, 'objects'), NIGHTSHIFT_ARRAY_INDEX: '0' });
    const { outputKey } = await runTask(config, store, quiet);
    return (JSON.parse(Buffer.from(await store.get(outputKey)).toString('utf8')) as { result: PerPeriod }).result;
  };

  beforeAll(async () => {
    await store.put('periods/growth.csv', csv(returns));
    await store.put('periods/bench.csv', csv(benchmark));
  });

  it('computes each declared period as the library does over the same files, the first one as the headline metrics', async () => {
    const result = await run('all-periods', { periods: ['weekly', 'daily', 'monthly'] });
    expect(result.portfolio).toBe('growth');
    expect(Object.keys(result.by_period)).toEqual(['weekly', 'daily', 'monthly']);
    expect(result.metrics).toEqual(result.by_period['weekly']);
    const [growth, bench] = [join(root, 'objects', 'periods/growth.csv'), join(root, 'objects', 'periods/bench.csv')];
    for (const periods of ['daily', 'weekly', 'monthly'] as const) {
      expect(result.by_period[periods]).toEqual(await computeMetrics({ returnsPath: growth, benchmarkPath: bench, periods }));
    }
  });

  it('counts 65 days, 13 ISO weeks and 3 months, compounds them to one cumulative return, and annualises a quarter of a year', async () => {
    const { by_period: p } = await run('worked', { periods: ['daily', 'weekly', 'monthly'] });
    expect([p['daily']!.observations, p['weekly']!.observations, p['monthly']!.observations]).toEqual([65, 13, 3]);
    expect([p['daily']!.annualization_factor, p['weekly']!.annualization_factor, p['monthly']!.annualization_factor]).toEqual([252, 52, 12]);
    expect([p['weekly']!.start_date, p['weekly']!.end_date]).toEqual(['2024-01-01', '2024-03-25']);
    expect([p['monthly']!.start_date, p['monthly']!.end_date]).toEqual(['2024-01-01', '2024-03-01']);
    const cumulative = returns.reduce((v, r) => v * (1 + r), 1) - 1;
    for (const period of ['daily', 'weekly', 'monthly']) expect(p[period]!.cumulative_return).toBeCloseTo(cumulative, 12);
    // 13 of 52 weeks and 3 of 12 months are both a quarter: the annual return is the growth to the 4th power.
    expect(p['weekly']!.annual_return).toBeCloseTo((1 + cumulative) ** 4 - 1, 12);
    expect(p['monthly']!.annual_return).toBeCloseTo((1 + cumulative) ** 4 - 1, 12);
    expect(p['daily']!.annual_return).toBeCloseTo((1 + cumulative) ** (252 / 65) - 1, 12);
  });

  it('refuses options the analytic does not take, naming the option', async () => {
    await expect(run('bad-period', { periods: ['hourly'] })).rejects.toThrow(
      new WorkerUsageError('options of analytic performance: options.periods.0: must be one of daily, weekly, monthly'),
    );
    await expect(run('bad-option', { periods: ['daily'], rf: 0.01 })).rejects.toThrow(/options\.rf: unknown option "rf"/);
  });
});
