import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { computeMetrics, generateBusinessDay, generateReturnSeries, type PerformanceMetrics, type TableName } from '@nightshift/analytics';
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
    arrayIndex, taskId: `t${arrayIndex}`, partition, inputs, sharedInputs: {}, outputKey: `runs/r1/tca/out/${arrayIndex}.json`,
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

const output = async (key: string): Promise<{ partition: string; result: { groups: Array<{ sums: { fills: number } }> } }> =>
  JSON.parse(Buffer.from(await store.get(key)).toString('utf8'));

describe('worker analytics registry', () => {
  it('runs TCA over every file of a table in the partition, as if they were one file', async () => {
    const whole = await output((await run(0)).outputKey);
    const split = await output((await run(1)).outputKey);
    expect(whole.result.groups[0]?.sums.fills).toBeGreaterThan(10);
    expect(split.partition).toBe('EQ1-split');
    expect(split.result).toEqual(whole.result);
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

  const perf = async (arrayIndex: number): Promise<{ portfolio: string; metrics: PerformanceMetrics }> => {
    const config = loadWorkerConfig({ NIGHTSHIFT_MANIFEST_KEY: PERF, NIGHTSHIFT_OBJECT_STORE_DIR: join(root, 'objects'), NIGHTSHIFT_ARRAY_INDEX: String(arrayIndex) });
    const { outputKey } = await runTask(config, store, quiet);
    return (JSON.parse(Buffer.from(await store.get(outputKey)).toString('utf8')) as { result: { portfolio: string; metrics: PerformanceMetrics } }).result;
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
});
