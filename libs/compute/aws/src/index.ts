export { BatchComputeEnvironment } from './batch-compute-environment.js';
export { NIGHTSHIFT_PARAMETER_PREFIX } from './batch-mapping.js';
export { BatchRequestRefusedError, BatchUnavailableError, UnexpectedBatchResponseError } from './errors.js';
