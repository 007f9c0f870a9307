import { describe, expect, it } from 'vitest';
import { DatasetLacksTablesError } from '../errors.js';
import type { Task, TaskStatus } from '../model/types.js';
import { aDatasetVersion, aFile, aPipeline, aStep, T0 } from '../testing/builders.js';
import { parameterPartitionName, planRun, readySteps, stepManifest, WHOLE_DATASET_PARTITION, type PlanRequest } from './planner.js';

const TRIGGER = '0d9c8b7a-6f5e-4d3c-8b2a-190817263544';

function request(overrides: Partial<PlanRequest> = {}): PlanRequest {
  return {
    pipeline: aPipeline(),
    dataset: aDatasetVersion(),
    triggerEventId: TRIGGER,
    correlationId: 'c0a8012e-7f3d-4b9a-8e21-6d5c4b3a2f10',
    now: T0,
    ...overrides,
  };
}

/** tca fans out over desks, then a single-task rollup, then per-desk letters that also need tca. */
const multiStep = () =>
  aPipeline({
    steps: [
      aStep({ name: 'tca' }),
      aStep({ name: 'rollup', analytic: 'tca-rollup', fanOut: 'single', dependsOn: ['tca'] }),
      aStep({ name: 'letters', analytic: 'best-ex-letter', dependsOn: ['tca'], attempts: 1 }),
    ],
  });

describe('planRun', () => {
  it('plans one PENDING task per partition of a fan-out step, in sorted desk order', () => {
    const dataset = aDatasetVersion({ partitions: ['us-program', 'apac-cash', 'emea-cash'] });
    const { run, tasks } = planRun(request({ dataset }));
    expect(tasks.map((t) => [t.taskId, t.partition, t.arrayIndex])).toEqual([
      ['tca#apac-cash', 'apac-cash', 0],
      ['tca#emea-cash', 'emea-cash', 1],
      ['tca#us-program', 'us-program', 2],
    ]);
    for (const t of tasks) {
      expect(t).toMatchObject({ runId: run.runId, step: 'tca', status: 'PENDING', attempts: [], maxAttempts: 3, createdAt: T0.toISOString() });
      expect(t.jobId).toBeUndefined();
      expect(t.outputKey).toBe(`runs/${run.runId}/tca/partition=${t.partition}/result.json`);
    }
    expect(new Set(tasks.map((t) => t.outputKey)).size).toBe(tasks.length);
  });

  it('plans a PENDING run over the dataset, carrying the trigger context', () => {
    const dataset = aDatasetVersion();
    const { run } = planRun(request({ dataset, traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', tenant: 'apac' }));
    expect(run).toEqual({
      runId: run.runId,
      pipeline: 'nightly-tca',
      businessDate: '2024-05-02',
      datasetId: 'executions@2024-05-02#v1',
      status: 'PENDING',
      correlationId: 'c0a8012e-7f3d-4b9a-8e21-6d5c4b3a2f10',
      traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
      tenant: 'apac',
      tasksTotal: 3,
      createdAt: T0.toISOString(),
      updatedAt: T0.toISOString(),
    });
  });

  it('leaves out trace and tenant when the trigger had none', () => {
    const { run } = planRun(request());
    expect(run).not.toHaveProperty('traceparent');
    expect(run).not.toHaveProperty('tenant');
  });

  it(`plans one "${WHOLE_DATASET_PARTITION}" task for a step that does not fan out`, () => {
    const pipeline = aPipeline({ steps: [aStep({ name: 'var', analytic: 'var', fanOut: 'single', attempts: 2 })] });
    const { run, tasks } = planRun(request({ pipeline }));
    expect(tasks).toHaveLength(1);
    expect(tasks[0]).toMatchObject({ taskId: 'var#all', partition: 'all', arrayIndex: 0, maxAttempts: 2 });
    expect(run.tasksTotal).toBe(1);
  });

  it('plans every step of a multi-step pipeline up front', () => {
    const { run, tasks } = planRun(request({ pipeline: multiStep() }));
    expect(tasks.map((t) => t.taskId)).toEqual([
      'tca#apac-cash',
      'tca#emea-cash',
      'tca#us-program',
      'rollup#all',
      'letters#apac-cash',
      'letters#emea-cash',
      'letters#us-program',
    ]);
    expect(run.tasksTotal).toBe(7);
    expect(tasks.find((t) => t.step === 'letters')?.maxAttempts).toBe(1);
  });

  describe('run ids', () => {
    it('plans the same run for a redelivered trigger', () => {
      const first = planRun(request());
      const replay = planRun(request());
      expect(replay).toEqual(first);
      expect(first.run.runId).toMatch(/^run-20240502-nightly-tca-[0-9a-z]{7}$/);
    });

    it('plans a different run for a different trigger of the same pipeline and date', () => {
      const ids = new Set(['evt-1', 'evt-2', 'evt-3', TRIGGER].map((triggerEventId) => planRun(request({ triggerEventId })).run.runId));
      expect(ids.size).toBe(4);
    });

    it('plans a different run for another pipeline triggered by the same event', () => {
      const other = aPipeline({ name: 'nightly-exec-report', steps: [aStep({ name: 'report', analytic: 'exec-report' })] });
      expect(planRun(request({ pipeline: other })).run.runId).not.toBe(planRun(request()).run.runId);
    });
  });

  describe('required tables', () => {
    it('accepts shared market files as satisfying every partition', () => {
      expect(() => planRun(request())).not.toThrow();
    });

    it('rejects a dataset whose partition lacks a table, naming the partition and the tables', () => {
      const dataset = aDatasetVersion({
        files: aDatasetVersion().files.filter((f) => !(f.desk === 'us-program' && (f.table === 'fills' || f.table === 'orders'))),
      });
      let error: unknown;
      try {
        planRun(request({ dataset }));
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(DatasetLacksTablesError);
      expect((error as DatasetLacksTablesError).problems).toEqual(['no orders file for desk us-program', 'no fills file for desk us-program']);
      expect((error as Error).message).toBe(
        'dataset executions@2024-05-02#v1 cannot feed pipeline nightly-tca: no orders file for desk us-program; no fills file for desk us-program',
      );
    });

    it("does not let one desk's file stand in for another desk", () => {
      const files = aDatasetVersion().files.map((f) => (f.table === 'quotes' ? { ...f, desk: 'apac-cash' } : f));
      expect(() => planRun(request({ dataset: aDatasetVersion({ files }) }))).toThrow(
        /: no quotes file for desk emea-cash, us-program$/,
      );
    });

    it('rejects a dataset with no partitions', () => {
      expect(() => planRun(request({ dataset: aDatasetVersion({ partitions: [] }) }))).toThrow(/cannot feed pipeline nightly-tca: no partitions \(no file names a desk\)$/);
    });
  });
});

describe('readySteps', () => {
  // a; b and c each depend on a.
  const dag = aPipeline({
    steps: [aStep({ name: 'a' }), aStep({ name: 'b', dependsOn: ['a'] }), aStep({ name: 'c', fanOut: 'single', dependsOn: ['a'] })],
  });
  const ready = (tasks: readonly Task[]) => readySteps(dag, tasks).map((s) => s.name);
  const set = (tasks: Task[], step: string, status: TaskStatus, only?: string): Task[] =>
    tasks.map((t) => (t.step === step && (!only || t.partition === only) ? { ...t, status, jobId: `${step}-job:${t.arrayIndex}` } : t));
  /** The planner records the job id at submission; the tasks stay PENDING until compute reports. */
  const submit = (tasks: Task[], step: string): Task[] => tasks.map((t) => (t.step === step ? { ...t, jobId: `${step}-job:${t.arrayIndex}` } : t));

  it('follows the run as its tasks progress', () => {
    let tasks = planRun(request({ pipeline: dag })).tasks;
    expect(ready(tasks)).toEqual(['a']);

    tasks = submit(tasks, 'a');
    expect(ready(tasks)).toEqual([]);

    tasks = set(tasks, 'a', 'RUNNING');
    expect(ready(tasks)).toEqual([]);

    tasks = set(set(tasks, 'a', 'SUCCEEDED', 'apac-cash'), 'a', 'SUCCEEDED', 'emea-cash');
    expect(ready(tasks)).toEqual([]); // us-program still running: a is not done

    tasks = set(tasks, 'a', 'SUCCEEDED');
    expect(ready(tasks)).toEqual(['b', 'c']);

    tasks = submit(tasks, 'b');
    expect(ready(tasks)).toEqual(['c']);

    tasks = set(tasks, 'c', 'RUNNABLE');
    expect(ready(tasks)).toEqual([]);

    tasks = set(set(tasks, 'b', 'SUCCEEDED'), 'c', 'SUCCEEDED');
    expect(ready(tasks)).toEqual([]);
  });

  it('never readies the dependants of a step that failed', () => {
    let tasks = submit(planRun(request({ pipeline: dag })).tasks, 'a');
    tasks = set(set(tasks, 'a', 'SUCCEEDED'), 'a', 'FAILED', 'emea-cash');
    expect(ready(tasks)).toEqual([]);
  });

  it('does not resubmit a step whose task is back to RUNNABLE for a retry', () => {
    let tasks = planRun(request({ pipeline: dag })).tasks;
    tasks = set(tasks, 'a', 'RUNNABLE').map((t) => (t.step === 'a' ? { ...t, attempts: [{ attempt: 1, exitCode: 1 }] } : t));
    expect(ready(tasks)).toEqual([]);
  });
});

describe('stepManifest', () => {
  const dataset = aDatasetVersion();

  it('gives each desk its own files plus the shared market files', () => {
    const pipeline = aPipeline();
    const { run, tasks } = planRun(request({ pipeline, dataset }));
    const manifest = stepManifest(run, pipeline.steps[0], dataset, [...tasks].reverse());
    expect(manifest).toMatchObject({ runId: run.runId, step: 'tca', analytic: 'tca', datasetId: dataset.datasetId, businessDate: '2024-05-02' });
    expect(manifest.entries.map((e) => [e.arrayIndex, e.taskId])).toEqual([
      [0, 'tca#apac-cash'],
      [1, 'tca#emea-cash'],
      [2, 'tca#us-program'],
    ]);
    const prefix = 'datasets/executions/2024-05-02/v1';
    expect(manifest.entries[1].inputs).toEqual({
      orders: [`${prefix}/orders-emea-cash.csv`],
      fills: [`${prefix}/fills-emea-cash.csv`],
      quotes: [`${prefix}/quotes.csv`],
      trades: [`${prefix}/trades.csv`],
    });
    // Files landed without a desk are marked as shared; the desk's own are not.
    expect(manifest.entries[1].sharedInputs).toEqual({ quotes: [`${prefix}/quotes.csv`], trades: [`${prefix}/trades.csv`] });
    expect(manifest.entries[1].outputKey).toBe(`runs/${run.runId}/tca/partition=emea-cash/result.json`);
    for (const entry of manifest.entries) {
      const deskFiles = [...(entry.inputs.orders ?? []), ...(entry.inputs.fills ?? [])];
      expect(deskFiles.every((k) => k.includes(entry.partition))).toBe(true);
    }
  });

  it('gives a single-task step every file of the dataset', () => {
    const pipeline = multiStep();
    const { run, tasks } = planRun(request({ pipeline, dataset }));
    const rollup = pipeline.steps.find((s) => s.name === 'rollup')!;
    const manifest = stepManifest(run, rollup, dataset, tasks);
    expect(manifest.entries).toHaveLength(1);
    expect(manifest.entries[0]).toMatchObject({ arrayIndex: 0, taskId: 'rollup#all', partition: 'all' });
    const all = Object.values(manifest.entries[0].inputs).flat().sort();
    expect(all).toEqual(dataset.files.map((f) => f.key).sort());
    expect(manifest.entries[0].inputs.orders).toHaveLength(3);
  });

  it('only lists the tasks of the step asked for', () => {
    const pipeline = multiStep();
    const { run, tasks } = planRun(request({ pipeline, dataset }));
    const letters = stepManifest(run, pipeline.steps[2], dataset, tasks);
    expect(letters.analytic).toBe('best-ex-letter');
    expect(letters.entries.map((e) => e.taskId)).toEqual(['letters#apac-cash', 'letters#emea-cash', 'letters#us-program']);
  });

  it(`keeps a desk that happens to be named "${WHOLE_DATASET_PARTITION}" to its own files`, () => {
    const deskAll = aDatasetVersion({
      partitions: ['all', 'emea-cash'],
      files: [
        aFile({ table: 'orders', desk: 'all', key: 'd/orders-all.csv' }),
        aFile({ table: 'orders', desk: 'emea-cash', key: 'd/orders-emea-cash.csv' }),
        aFile({ table: 'fills', desk: 'all', key: 'd/fills-all.csv' }),
        aFile({ table: 'fills', desk: 'emea-cash', key: 'd/fills-emea-cash.csv' }),
        aFile({ table: 'quotes', key: 'd/quotes.csv' }),
        aFile({ table: 'trades', key: 'd/trades.csv' }),
      ],
    });
    const pipeline = aPipeline();
    const { run, tasks } = planRun(request({ pipeline, dataset: deskAll }));
    const [entry] = stepManifest(run, pipeline.steps[0], deskAll, tasks).entries;
    expect(entry.partition).toBe('all');
    expect(entry.inputs).toEqual({ orders: ['d/orders-all.csv'], fills: ['d/fills-all.csv'], quotes: ['d/quotes.csv'], trades: ['d/trades.csv'] });
    expect(entry.sharedInputs).toEqual({ quotes: ['d/quotes.csv'], trades: ['d/trades.csv'] });
  });
});

describe('parameter sweeps', () => {
  const grid = { fast: [5, 10, 20], slow: [50, 100], costBps: [1, 5] };
  const sweep = aPipeline({
    name: 'backtest-sweep',
    trigger: { datasets: ['market-history'] },
    requiredTables: ['prices'],
    steps: [aStep({ name: 'sweep', analytic: 'backtest', fanOut: 'parameters', parameters: grid })],
  });
  /** Market history: one shared prices file, no desks (so no partitions). */
  const history = aDatasetVersion({
    dataset: 'market-history',
    partitions: [],
    files: [aFile({ table: 'prices', key: 'datasets/market-history/2024-05-02/v1/prices.csv', rows: 2_080 })],
  });

  it('plans one task per parameter set: the product of the grid sizes', () => {
    const { run, tasks } = planRun(request({ pipeline: sweep, dataset: history }));
    expect(tasks).toHaveLength(3 * 2 * 2);
    expect(run.tasksTotal).toBe(12);
    expect(tasks.map((t) => t.arrayIndex)).toEqual([...Array(12).keys()]);
  });

  it('names the partitions p0000, p0001, … in grid order, the same on every plan', () => {
    const first = planRun(request({ pipeline: sweep, dataset: history })).tasks;
    expect(first.map((t) => t.partition)).toEqual(Array.from({ length: 12 }, (_, i) => `p${String(i).padStart(4, '0')}`));
    expect(first[11].taskId).toBe('sweep#p0011');
    expect(first[3].outputKey).toMatch(/\/sweep\/partition=p0003\/result\.json$/);
    expect(planRun(request({ pipeline: sweep, dataset: history })).tasks).toEqual(first);
    expect(parameterPartitionName(9_999)).toBe('p9999');
  });

  it('gives every child its parameter set and all the dataset files', () => {
    const { run, tasks } = planRun(request({ pipeline: sweep, dataset: history }));
    const manifest = stepManifest(run, sweep.steps[0], history, [...tasks].reverse());
    expect(manifest.analytic).toBe('backtest');
    expect(manifest.entries.map((e) => e.parameters)).toEqual(
      grid.fast.flatMap((fast) => grid.slow.flatMap((slow) => grid.costBps.map((costBps) => ({ fast, slow, costBps })))),
    );
    expect(manifest.entries[5]).toMatchObject({ arrayIndex: 5, partition: 'p0005', parameters: { fast: 10, slow: 50, costBps: 5 } });
    for (const entry of manifest.entries) expect(entry.inputs).toEqual({ prices: ['datasets/market-history/2024-05-02/v1/prices.csv'] });
  });

  it('gives a desk-partitioned dataset to every sweep child whole', () => {
    const dataset = aDatasetVersion();
    const { run, tasks } = planRun(request({ pipeline: aPipeline({ requiredTables: [], steps: [aStep({ fanOut: 'parameters', parameters: { k: [1, 2] } })] }), dataset }));
    const entries = stepManifest(run, { ...sweep.steps[0], name: 'tca', parameters: { k: [1, 2] } }, dataset, tasks).entries;
    expect(entries.map((e) => e.partition)).toEqual(['p0000', 'p0001']);
    expect(entries[1].inputs.orders).toHaveLength(3);
  });

  it('leaves parameters out of the entries of other fan-out kinds', () => {
    const pipeline = aPipeline();
    const { run, tasks } = planRun(request({ pipeline }));
    for (const entry of stepManifest(run, pipeline.steps[0], aDatasetVersion(), tasks).entries) expect(entry).not.toHaveProperty('parameters');
  });

  it('plans over a dataset without desks when no step fans out by desk, but still checks its tables', () => {
    expect(() => planRun(request({ pipeline: sweep, dataset: history }))).not.toThrow();
    const noPrices = aDatasetVersion({ dataset: 'market-history', partitions: [], files: [aFile({ table: 'quotes', key: 'q.csv' })] });
    expect(() => planRun(request({ pipeline: sweep, dataset: noPrices }))).toThrow(/market-history@2024-05-02#v1 cannot feed pipeline backtest-sweep: no prices file$/);
  });
});
