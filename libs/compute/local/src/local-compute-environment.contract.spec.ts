// eslint-disable-next-line @nx/enforce-module-boundaries -- the conformance suite is test-only, not in jobs-domain's index
import { describeComputeEnvironmentContract } from '../../../jobs/domain/src/testing/compute.contract.js';
import { LocalComputeEnvironment } from './local-compute-environment.js';

// The port's conformance suite against the local environment itself; `batch-compute-environment.spec.ts`
// (compute-aws) runs the same suite through the AWS adapter and the Batch endpoint in front of it.
describeComputeEnvironmentContract('LocalComputeEnvironment', async () => {
  const compute = new LocalComputeEnvironment({
    vcpus: 2,
    memoryMiB: 2048,
    killGraceMs: 500,
    strictQueues: true,
    jobQueues: [{ name: 'contract-queue', priority: 1 }],
    emit: async () => {},
  });
  return { compute, jobQueue: 'contract-queue', jobDefinition: 'nightshift-worker', vcpus: 2, close: () => compute.shutdown() };
});
