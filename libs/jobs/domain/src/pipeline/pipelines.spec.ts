import { describe, expect, it } from 'vitest';
import type { DatasetVersion } from '../model/types.js';
import { aDatasetVersion, aFile, T0 } from '../testing/builders.js';
import { planRun, readySteps, stepManifest, type PlannedRun } from '../planning/planner.js';
import { definePipeline, topologicalSteps, WORKER_EXIT_RULES, type PipelineDefinition } from './pipeline-definition.js';
import { BACKTEST_SWEEP, BUILT_IN_PIPELINES, DESK_RISK, EXECUTION_REPORT, MARKET_PERFORMANCE, NIGHTLY_TCA } from './pipelines.js';

/** The default executions dataset plus the shared price history risk needs. */
const executions = () => {
  const base = aDatasetVersion();
  return aDatasetVersion({ files: [...base.files, aFile({ table: 'prices', key: 'datasets/executions/2024-05-02/v1/prices.csv', rows: 2_080 })] });
};

/** Plans a built-in pipeline over `dataset` as the planner service would. */
const plan = (pipeline: PipelineDefinition, dataset: DatasetVersion, triggerEventId = 'evt-1'): PlannedRun =>
  planRun({ pipeline, dataset, triggerEventId, correlationId: 'c-1', now: T0 });

/** The only step's partitions in array-index order, from the plan. */
const firstStepPartitions = (planned: PlannedRun): string[] => planned.plan.steps[0]!.partitions;

describe('built-in pipelines', () => {
  it('are valid definitions with unique names', () => {
    for (const pipeline of BUILT_IN_PIPELINES) {
      expect(definePipeline(pipeline)).toEqual(pipeline);
      expect(topologicalSteps(pipeline)).toHaveLength(pipeline.steps.length);
    }
    const names = BUILT_IN_PIPELINES.map((p) => p.name);
    expect(new Set(names).size).toBe(names.length);
  });

  it("run nightshift's worker in every step, so each writes the output its report reads and gets the worker's exit rule", () => {
    for (const pipeline of BUILT_IN_PIPELINES) {
      for (const step of pipeline.steps) {
        expect(step.analytic).toBeDefined();
        expect(step.command).toBeUndefined();
        // AWS Batch takes at most 5 evaluateOnExit rules; the worker's come first.
        expect(WORKER_EXIT_RULES.length + step.evaluateOnExit.length).toBeLessThanOrEqual(5);
      }
    }
  });

  it('gives each workload of the landed executions a pipeline of its own, all triggered by the landing', () => {
    const byExecutions = BUILT_IN_PIPELINES.filter((p) => p.trigger.datasets.includes('executions'));
    expect(byExecutions.map((p) => [p.name, p.steps.map((s) => s.analytic)])).toEqual([
      ['nightly-tca', ['tca']],
      ['execution-report', ['execution-report']],
      ['desk-risk', ['risk']],
    ]);
    for (const pipeline of byExecutions) {
      const planned = plan(pipeline, executions());
      const step = pipeline.steps[0]!.name;
      expect(planned.plan.steps).toEqual([{ step, partitions: ['apac-cash', 'emea-cash', 'us-program'], writesOutput: true }]);
      expect(planned.steps.map((s) => [s.step, s.status, s.size])).toEqual([[step, 'PENDING', 3]]);
      expect(readySteps(pipeline, planned.steps).map((s) => s.name)).toEqual([step]);
    }
  });

  it('plans each workload from the tables it reads: TCA needs no price history, risk no quotes', () => {
    const withoutPrices = aDatasetVersion();
    expect(plan(NIGHTLY_TCA, withoutPrices).run.tasksTotal).toBe(3);
    expect(plan(EXECUTION_REPORT, withoutPrices).run.tasksTotal).toBe(3);
    expect(() => plan(DESK_RISK, withoutPrices)).toThrow(/cannot feed pipeline desk-risk: no prices file \(shared or per desk\)$/);
    const noMarket = aDatasetVersion({ files: aDatasetVersion().files.filter((f) => f.table === 'orders' || f.table === 'fills') });
    expect(() => plan(NIGHTLY_TCA, noMarket)).toThrow(/no quotes file \(shared or per desk\); no trades file \(shared or per desk\)$/);
    expect(plan(EXECUTION_REPORT, noMarket).run.tasksTotal).toBe(3);
  });

  it("desk-risk reads each desk's orders and fills and the shared price history", () => {
    const risk = DESK_RISK.steps[0]!;
    const dataset = executions();
    const planned = plan(DESK_RISK, dataset);
    const entry = stepManifest(planned.run, risk, dataset, firstStepPartitions(planned)).entries.find((e) => e.partition === 'emea-cash')!;
    expect(entry.inputs.prices).toEqual(['datasets/executions/2024-05-02/v1/prices.csv']);
    expect(entry.sharedInputs.prices).toEqual(['datasets/executions/2024-05-02/v1/prices.csv']);
    expect(entry.inputs.orders).toEqual(['datasets/executions/2024-05-02/v1/orders-emea-cash.csv']);
    expect(entry.inputs.fills).toEqual(['datasets/executions/2024-05-02/v1/fills-emea-cash.csv']);
  });

  it('backtest-sweep is triggered by market history and plans one child per parameter set of its grid', () => {
    expect(BACKTEST_SWEEP.trigger.datasets).toEqual(['market-history']);
    const dataset = aDatasetVersion({ dataset: 'market-history', partitions: [], files: [aFile({ table: 'prices', key: 'prices.csv' })] });
    const planned = plan(BACKTEST_SWEEP, dataset);
    expect(planned.steps.map((s) => s.size)).toEqual([12]);
    expect(firstStepPartitions(planned)).toHaveLength(12);
    const entries = stepManifest(planned.run, BACKTEST_SWEEP.steps[0], dataset, firstStepPartitions(planned)).entries;
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
    const planned = plan(MARKET_PERFORMANCE, dataset);
    // The benchmark has no desk: it is no partition, so it gets no child of its own.
    expect(firstStepPartitions(planned)).toEqual(['growth', 'value']);
    const manifest = stepManifest(planned.run, MARKET_PERFORMANCE.steps[0], dataset, firstStepPartitions(planned));
    // The step declares its periods; every child reads them from the manifest.
    expect(manifest.options).toEqual({ periods: ['daily', 'weekly', 'monthly'] });
    const entries = manifest.entries;
    expect(entries.map((e) => e.taskId)).toEqual(['performance#growth', 'performance#value']);
    expect(entries.map((e) => [e.partition, e.inputs, e.sharedInputs])).toEqual([
      ['growth', { returns: ['returns/benchmark.csv', 'returns/growth.csv'] }, { returns: ['returns/benchmark.csv'] }],
      ['value', { returns: ['returns/benchmark.csv', 'returns/value.csv'] }, { returns: ['returns/benchmark.csv'] }],
    ]);
    expect(() =>
      plan(MARKET_PERFORMANCE, aDatasetVersion({ dataset: 'returns', partitions: [], files: [aFile({ table: 'returns', key: 'returns/benchmark.csv' })] }), 'evt-2'),
    ).toThrow(/no partitions/);
  });
});
