export { LocalComputeEnvironment, type LocalComputeEnvironmentOptions, type BatchJobStateChangeEmission } from './local-compute-environment.js';
export { InvalidLocalComputeOptionsError } from './errors.js';
