import { definePipeline, type PipelineDefinition } from './pipeline-definition.js';

/**
 * Transaction cost analysis of yesterday's executions: one array child per desk against the day's
 * quotes and market trades (shared by every desk); reporting merges the desks' additive partials
 * exactly and rolls them up by broker, venue, algo, desk and symbol.
 */
export const NIGHTLY_TCA: PipelineDefinition = definePipeline({
  name: 'nightly-tca',
  description: "Transaction cost analysis of yesterday's executions, per desk, rolled up by broker, venue, algo, desk and symbol.",
  trigger: { datasets: ['executions'] },
  requiredTables: ['orders', 'fills', 'quotes', 'trades'],
  steps: [
    {
      name: 'tca',
      analytic: 'tca',
      fanOut: 'partitions',
      vcpus: 1,
      memoryMiB: 1024,
      attempts: 3,
      timeoutSeconds: 900,
    },
  ],
});

/**
 * The execution report of yesterday's executions: per desk, fill rates, CumQty/AvgPx invariants,
 * busts and corrections, rejected and cancelled orders; merged over desks by broker and venue.
 */
export const EXECUTION_REPORT: PipelineDefinition = definePipeline({
  name: 'execution-report',
  description: "Fill rates, order outcomes and CumQty/AvgPx invariant checks of yesterday's executions, per desk.",
  trigger: { datasets: ['executions'] },
  requiredTables: ['orders', 'fills'],
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
  ],
});

/**
 * Desk risk: historical and parametric VaR/ES at 95 and 99% of each desk's end-of-day positions
 * over the shared price history. VaR/ES is not additive, so each desk's child writes its scenario
 * P&L and reporting sums them by date before taking the portfolio's quantiles.
 */
export const DESK_RISK: PipelineDefinition = definePipeline({
  name: 'desk-risk',
  description: 'Historical and parametric VaR and expected shortfall by desk and for the firm, at 95 and 99%.',
  trigger: { datasets: ['executions'] },
  requiredTables: ['orders', 'fills', 'prices'],
  steps: [
    {
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
 * portfolio's child reads it as a shared file and it gets no child of its own. Each child computes
 * the metrics over daily returns and over them compounded into ISO weeks and calendar months.
 * Reporting ranks the portfolios by daily Sharpe ratio.
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
      // Daily first: the portfolios are ranked by the daily Sharpe ratio; weeks and months are what a desk reviews alongside.
      options: { periods: ['daily', 'weekly', 'monthly'] },
      fanOut: 'partitions',
      vcpus: 1,
      memoryMiB: 512,
      attempts: 2,
      timeoutSeconds: 600,
    },
  ],
});

/** Every pipeline nightshift ships, by name. */
export const BUILT_IN_PIPELINES: readonly PipelineDefinition[] = [NIGHTLY_TCA, EXECUTION_REPORT, DESK_RISK, MARKET_PERFORMANCE, BACKTEST_SWEEP];

/** The no-op job: a trivial process, not a Node program, so that a run measures the control plane alone. */
export const NOOP_COMMAND: readonly string[] = ['true'];
/** The name of a no-op pipeline's one step. */
export const NOOP_STEP = 'noop';

/**
 * A pipeline of one `count` step of `children` no-op tasks (0.25 vCPU each: 8 at once on 2 vCPUs),
 * triggered by a dataset named `trigger` (default: the pipeline's name). For benchmarks and tests
 * of the control plane at size; `command` replaces the no-op where a test needs another program.
 */
export function noopPipeline(
  name: string,
  children: number,
  options: { trigger?: string; command?: readonly string[]; attempts?: number; vcpus?: number; description?: string } = {},
): PipelineDefinition {
  return definePipeline({
    name,
    description: options.description ?? `${children} no-op task(s): the control plane alone`,
    trigger: { datasets: [options.trigger ?? name] },
    steps: [
      {
        name: NOOP_STEP,
        command: [...(options.command ?? NOOP_COMMAND)],
        bare: true,
        fanOut: 'count',
        count: children,
        vcpus: options.vcpus ?? 0.25,
        memoryMiB: 64,
        attempts: options.attempts ?? 2,
        timeoutSeconds: 60,
      },
    ],
  });
}
