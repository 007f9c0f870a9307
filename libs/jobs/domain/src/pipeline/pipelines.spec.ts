import { describe, expect, it } from 'vitest';
import { aDatasetVersion, aFile, T0 } from '../testing/builders.js';
import { planRun, readySteps, stepManifest } from '../planning/planner.js';
import { definePipeline, topologicalSteps } from './pipeline-definition.js';
import { BACKTEST_SWEEP, BUILT_IN_PIPELINES, DESK_RISK, EXECUTION_REPORT, MARKET_PERFORMANCE, NIGHTLY_TCA } from './pipelines.js';

/** The default executions dataset plus the shared price history risk needs. */
const executions = () => {
  const base = aDatasetVersion();
  return aDatasetVersion({ files: [...base.files, aFile({ table: 'prices', key: 'datasets/executions/2024-05-02/v1/prices.csv', rows: 2_080 })] });
};

describe('built-in pipelines', () => {
  it('are valid definitions with unique names', () => {
    for (const pipeline of BUILT_IN_PIPELINES) {
      expect(definePipeline(pipeline)).toEqual(pipeline);
      expect(topologicalSteps(pipeline)).toHaveLength(pipeline.steps.length);
    }
    const names = BUILT_IN_PIPELINES.map((p) => p.name);
    expect(new Set(names).size).toBe(names.length);
  });

  it('gives each workload of the landed executions a pipeline of its own, all triggered by the landing', () => {
    const byExecutions = BUILT_IN_PIPELINES.filter((p) => p.trigger.datasets.includes('executions'));
    expect(byExecutions.map((p) => [p.name, p.steps.map((s) => s.analytic)])).toEqual([
      ['nightly-tca', ['tca']],
      ['execution-report', ['execution-report']],
      ['desk-risk', ['risk']],
    ]);
    for (const pipeline of byExecutions) {
      const { tasks } = planRun({ pipeline, dataset: executions(), triggerEventId: 'evt-1', correlationId: 'c-1', now: T0 });
      const step = pipeline.steps[0]!.name;
      expect(tasks.map((t) => t.taskId)).toEqual(['apac-cash', 'emea-cash', 'us-program'].map((d) => `${step}#${d}`));
      expect(readySteps(pipeline, tasks).map((s) => s.name)).toEqual([step]);
    }
  });

  it('plans each workload from the tables it reads: TCA needs no price history, risk no quotes', () => {
    const withoutPrices = aDatasetVersion();
    expect(planRun({ pipeline: NIGHTLY_TCA, dataset: withoutPrices, triggerEventId: 'evt-1', correlationId: 'c-1', now: T0 }).tasks).toHaveLength(3);
    expect(planRun({ pipeline: EXECUTION_REPORT, dataset: withoutPrices, triggerEventId: 'evt-1', correlationId: 'c-1', now: T0 }).tasks).toHaveLength(3);
    expect(() => planRun({ pipeline: DESK_RISK, dataset: withoutPrices, triggerEventId: 'evt-1', correlationId: 'c-1', now: T0 })).toThrow(/cannot feed pipeline desk-risk: no prices file \(shared or per desk\)$/);
    const noMarket = aDatasetVersion({ files: aDatasetVersion().files.filter((f) => f.table === 'orders' || f.table === 'fills') });
    expect(() => planRun({ pipeline: NIGHTLY_TCA, dataset: noMarket, triggerEventId: 'evt-1', correlationId: 'c-1', now: T0 })).toThrow(/no quotes file \(shared or per desk\); no trades file \(shared or per desk\)$/);
    expect(planRun({ pipeline: EXECUTION_REPORT, dataset: noMarket, triggerEventId: 'evt-1', correlationId: 'c-1', now: T0 }).tasks).toHaveLength(3);
  });

  it("desk-risk reads each desk's orders and fills and the shared price history", () => {
    const risk = DESK_RISK.steps[0]!;
    const dataset = executions();
    const { run, tasks } = planRun({ pipeline: DESK_RISK, dataset, triggerEventId: 'evt-1', correlationId: 'c-1', now: T0 });
    const entry = stepManifest(run, risk, dataset, tasks).entries.find((e) => e.partition === 'emea-cash')!;
    expect(entry.inputs.prices).toEqual(['datasets/executions/2024-05-02/v1/prices.csv']);
    expect(entry.sharedInputs.prices).toEqual(['datasets/executions/2024-05-02/v1/prices.csv']);
    expect(entry.inputs.orders).toEqual(['datasets/executions/2024-05-02/v1/orders-emea-cash.csv']);
    expect(entry.inputs.fills).toEqual(['datasets/executions/2024-05-02/v1/fills-emea-cash.csv']);
  });

  it('backtest-sweep is triggered by market history and plans one task per parameter set of its grid', () => {
    expect(BACKTEST_SWEEP.trigger.datasets).toEqual(['market-history']);
    const dataset = aDatasetVersion({ dataset: 'market-history', partitions: [], files: [aFile({ table: 'prices', key: 'prices.csv' })] });
    const { run, tasks } = planRun({ pipeline: BACKTEST_SWEEP, dataset, triggerEventId: 'evt-1', correlationId: 'c-1', now: T0 });
    expect(tasks).toHaveLength(12);
    const entries = stepManifest(run, BACKTEST_SWEEP.steps[0], dataset, tasks).entries;
    expect(entries[0]).toMatchObject({ taskId: 'sweep#p0000', parameters: { fast: 5, slow: 50, costBps: 1 }, inputs: { prices: ['prices.csv'] } });
    expect(entries.every((e) => (e.parameters!.fast as number) < (e.parameters!.slow as number))).toBe(true);
  });
  it('market-performance is triggered by returns and plans one task per portfolio, each with its own series and the shared benchmark', () => {
    expect(MARKET_PERFORMANCE.trigger.datasets).toEqual(['returns']);
    expect(BUILT_IN_PIPELINES).toContain(MARKET_PERFORMANCE);
    const dataset = aDatasetVersion({
      dataset: 'returns',
      partitions: ['growth', 'value'],
      files: [
        aFile({ table: 'returns', key: 'returns/benchmark.csv' }),
        aFile({ table: 'returns', desk: 'growth', key: 'returns/growth.csv' }),
        aFile({ table: 'returns', desk: 'value', key: 'returns/value.csv' }),
      ],
    });
    const { run, tasks } = planRun({ pipeline: MARKET_PERFORMANCE, dataset, triggerEventId: 'evt-1', correlationId: 'c-1', now: T0 });
    // The benchmark has no desk: it is no partition, so it gets no child of its own.
    expect(tasks.map((t) => t.taskId)).toEqual(['performance#growth', 'performance#value']);
    const entries = stepManifest(run, MARKET_PERFORMANCE.steps[0], dataset, tasks).entries;
    expect(entries.map((e) => [e.partition, e.inputs, e.sharedInputs])).toEqual([
      ['growth', { returns: ['returns/benchmark.csv', 'returns/growth.csv'] }, { returns: ['returns/benchmark.csv'] }],
      ['value', { returns: ['returns/benchmark.csv', 'returns/value.csv'] }, { returns: ['returns/benchmark.csv'] }],
    ]);
    expect(() =>
      planRun({ pipeline: MARKET_PERFORMANCE, dataset: aDatasetVersion({ dataset: 'returns', partitions: [], files: [aFile({ table: 'returns', key: 'returns/benchmark.csv' })] }), triggerEventId: 'evt-2', correlationId: 'c-2', now: T0 }),
    ).toThrow(/no partitions/);
  });
});
