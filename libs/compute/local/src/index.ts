export { LocalComputeEnvironment, type LocalComputeEnvironmentOptions } from './local-compute-environment.js';
export type { BatchJobStateChangeEmission } from './state-change-emitter.js';
export type { LocalJobSubmission } from './job-spec.js';
export { BatchHttpEndpoint, type BatchHttpEndpointOptions, type BatchJobDefinition } from './batch-endpoint.js';
export type { JobQueueOptions, FairShareOptions } from './job-queues.js';
export { reapOrphans } from './process-journal.js';
export { DirectoryJobLogs } from './directory-job-logs.js';
export { InvalidLocalComputeOptionsError, InvalidComputeRequestError } from './errors.js';
export { LogsHttpEndpoint, type LogsHttpEndpointOptions } from './logs-endpoint.js';
