import { definePipeline, type PipelineDefinition } from './pipeline-definition.js';

/**
 * The nightly TCA pipeline: per desk (one array child each), the execution report (fill rates,
 * CumQty/AvgPx invariants, busts and corrections) and then transaction cost analysis against the
 * day's quotes and trades; beside them, risk (historical and parametric VaR/ES of the desk's
 * positions over the price history). Reporting merges the partials of every step.
 */
export const NIGHTLY_TCA: PipelineDefinition = definePipeline({
  name: 'nightly-tca',
  description: "Transaction cost analysis of yesterday's executions, per desk, rolled up by broker and venue.",
  trigger: { datasets: ['executions'] },
  requiredTables: ['orders', 'fills', 'quotes', 'trades', 'prices'],
  steps: [
    {
      name: 'execution',
      analytic: 'execution-report',
      fanOut: 'partitions',
      vcpus: 1,
      memoryMiB: 512,
      attempts: 3,
      timeoutSeconds: 600,
    },
    {
      name: 'tca',
      dependsOn: ['execution'],
      analytic: 'tca',
      fanOut: 'partitions',
      vcpus: 1,
      memoryMiB: 1024,
      attempts: 3,
      timeoutSeconds: 900,
    },
    {
      // VaR/ES is not additive: each desk's child writes scenario P&L, reporting sums them by date.
      name: 'risk',
      analytic: 'risk',
      fanOut: 'partitions',
      vcpus: 1,
      memoryMiB: 512,
      attempts: 3,
      timeoutSeconds: 600,
    },
  ],
});

/**
 * The backtest sweep: a moving-average crossover with costs over the price history, one array
 * child per parameter set (fast x slow x costBps = 12), ranked by Sharpe ratio in reporting.
 */
export const BACKTEST_SWEEP: PipelineDefinition = definePipeline({
  name: 'backtest-sweep',
  description: 'Moving-average crossover backtest over the price history, swept over windows and costs.',
  trigger: { datasets: ['market-history'] },
  requiredTables: ['prices'],
  steps: [
    {
      name: 'sweep',
      analytic: 'backtest',
      fanOut: 'parameters',
      parameters: { fast: [5, 10, 20], slow: [50, 100], costBps: [1, 5] },
      vcpus: 1,
      memoryMiB: 512,
      attempts: 2,
      timeoutSeconds: 600,
    },
  ],
});

/**
 * Market performance: one array child per portfolio (a `returns` file with desk = the portfolio)
 * computing empyrical-style metrics against the benchmark, which lands without a desk so that every
 * portfolio's child reads it as a shared file and it gets no child of its own. Reporting ranks the
 * portfolios by Sharpe ratio.
 */
export const MARKET_PERFORMANCE: PipelineDefinition = definePipeline({
  name: 'market-performance',
  description: 'Performance and risk metrics of each portfolio return series against the benchmark, ranked by Sharpe ratio.',
  trigger: { datasets: ['returns'] },
  requiredTables: ['returns'],
  steps: [
    {
      name: 'performance',
      analytic: 'performance',
      fanOut: 'partitions',
      vcpus: 1,
      memoryMiB: 512,
      attempts: 2,
      timeoutSeconds: 600,
    },
  ],
});

/** Every pipeline nightshift ships, by name. */
export const BUILT_IN_PIPELINES: readonly PipelineDefinition[] = [NIGHTLY_TCA, BACKTEST_SWEEP, MARKET_PERFORMANCE];
