/*
 * Errors of the platform lib that are not configuration errors (those are `ConfigError`, in
 * config.ts, where each deployable's config is parsed). Each says whether trying again can help
 * (`retryable`), so a caller decides from the type alone.
 */

// Pipeline files are parsed by the jobs domain (so that the CDK app checks them too); their error
// stays importable from here, where the services' loader throws it.
export { formatPipelineFileProblem, InvalidPipelineFilesError, type PipelineFileProblem } from '@nightshift/jobs-domain';
