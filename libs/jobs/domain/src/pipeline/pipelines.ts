import { definePipeline, type PipelineDefinition } from './pipeline-definition.js';

/**
 * The nightly TCA pipeline: transaction cost analysis of each desk's orders and fills against the
 * day's quotes and trades, one array child per desk; reporting merges the partials.
 */
export const NIGHTLY_TCA: PipelineDefinition = definePipeline({
  name: 'nightly-tca',
  description: "Transaction cost analysis of yesterday's executions, per desk, rolled up by broker and venue.",
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

/** Every pipeline nightshift ships, by name. */
export const BUILT_IN_PIPELINES: readonly PipelineDefinition[] = [NIGHTLY_TCA];
