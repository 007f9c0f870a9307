import { definePipeline, type PipelineDefinition } from './pipeline-definition.js';

/**
 * The nightly TCA pipeline: per desk (one array child each), the execution report (fill rates,
 * CumQty/AvgPx invariants, busts and corrections) and then transaction cost analysis against the
 * day's quotes and trades; reporting merges the partials of both steps.
 */
export const NIGHTLY_TCA: PipelineDefinition = definePipeline({
  name: 'nightly-tca',
  description: "Transaction cost analysis of yesterday's executions, per desk, rolled up by broker and venue.",
  trigger: { datasets: ['executions'] },
  requiredTables: ['orders', 'fills', 'quotes', 'trades'],
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
  ],
});

/** Every pipeline nightshift ships, by name. */
export const BUILT_IN_PIPELINES: readonly PipelineDefinition[] = [NIGHTLY_TCA];
