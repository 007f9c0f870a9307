import { ComputeSubmissionError, type JobDependency, type JobSubmission, type RetryStrategy } from '@nightshift/jobs-domain';
import { retryStrategyProblems } from './evaluate-on-exit.js';
import { NAME, SHARE_IDENTIFIER_RE } from './job-queues.js';
import type { Demand } from './resource-scheduler.js';

/** A submission checked the way AWS Batch's SubmitJob checks it, with names resolved to ARNs. */
export interface JobSpec {
  jobName: string;
  jobQueueArn: string;
  jobQueueName: string;
  jobDefinitionArn: string;
  jobDefinitionName: string;
  command: readonly string[];
  environment: Readonly<Record<string, string>>;
  parameters: Readonly<Record<string, string>>;
  vcpus: number;
  memoryMiB: number;
  demand: Demand;
  /** Per-attempt timeout; absent: none (AWS Batch without `timeout`). */
  timeoutSeconds?: number;
  retryStrategy: RetryStrategy;
  arraySize?: number;
  shareIdentifier?: string;
  schedulingPriority?: number;
  /** As submitted; which jobs these ids are is resolved by the environment (`job-dependencies.ts`). */
  dependsOn: readonly JobDependency[];
  tags: Readonly<Record<string, string>>;
  propagateTags: boolean;
}

/**
 * What the local environment accepts: the port's `JobSubmission`, plus what AWS Batch's SubmitJob
 * takes and the port leaves out, for the Batch endpoint in front of it (`batch-endpoint.ts`): no
 * timeout at all, and tags, which are echoed in the job's detail as AWS echoes them.
 */
export interface LocalJobSubmission extends Omit<JobSubmission, 'timeoutSeconds'> {
  /** Per-attempt timeout in seconds; absent: the attempt may run for ever, as in AWS without `timeout`. */
  timeoutSeconds?: number;
  /** Up to 50 tags (AWS's limit); reported in `detail.tags`. */
  tags?: Record<string, string>;
  /** Reported in `detail.propagateTags`; there are no ECS tasks to tag locally. */
  propagateTags?: boolean;
}

/** Where ARNs point: the region and account the local environment pretends to live in. */
export interface ArnScope {
  region: string;
  account: string;
}

// AWS Batch names: enforcing them here keeps a name that AWS would reject from working only
// locally (and keeps the job definition name safe to use as a log directory).
const NAME_RE = new RegExp(`^${NAME}$`);
const QUEUE_RE = new RegExp(`^(?:arn:[^:]+:batch:[^:]*:[^:]*:job-queue/)?(${NAME})$`);
const DEFINITION_RE = new RegExp(`^(?:arn:[^:]+:batch:[^:]*:[^:]*:job-definition/)?(${NAME})(?::(\\d+))?$`);

/** The name of a job queue given by name or ARN, or undefined when it is neither. */
export function queueNameOf(jobQueue: string): string | undefined {
  return QUEUE_RE.exec(jobQueue)?.[1];
}

/** The ARN AWS Batch gives a job (or an array child, `${parentId}:${index}`). */
export function jobArn(scope: ArnScope, jobId: string): string {
  return `arn:aws:batch:${scope.region}:${scope.account}:job/${jobId}`;
}

/**
 * Checks a submission against AWS Batch's SubmitJob rules and resolves queue and definition names
 * to ARNs in `scope` (ARNs given as such are kept). A definition given without a revision gets
 * revision 1: there is no registry locally, and AWS always reports a revision. Whether the queue
 * exists, and whether it wants a share identifier, is the environment's to check.
 *
 * @throws ComputeSubmissionError (not retryable) listing every problem found.
 */
export function toJobSpec(job: LocalJobSubmission, scope: ArnScope): JobSpec {
  const problems: string[] = [];
  if (!NAME_RE.test(job.jobName)) problems.push(`jobName "${job.jobName}" must be 1-128 letters, digits, hyphens or underscores, starting with a letter or digit`);
  const queue = QUEUE_RE.exec(job.jobQueue);
  if (!queue) problems.push(`jobQueue "${job.jobQueue}" is neither a job queue name nor a job queue ARN`);
  const definition = DEFINITION_RE.exec(job.jobDefinition);
  if (!definition) problems.push(`jobDefinition "${job.jobDefinition}" is neither name[:revision] nor a job definition ARN`);
  if (!Array.isArray(job.command) || job.command.length === 0 || job.command[0] === '') problems.push('command must name a program');
  if (!(Number.isFinite(job.vcpus) && job.vcpus > 0)) problems.push(`vcpus must be a positive number, got ${job.vcpus}`);
  if (!(Number.isInteger(job.memoryMiB) && job.memoryMiB > 0)) problems.push(`memoryMiB must be a positive integer, got ${job.memoryMiB}`);
  // AWS's minimum attemptDurationSeconds is 60; shorter timeouts are allowed here so that tests
  // of the timeout path stay fast.
  if (job.timeoutSeconds !== undefined && !(Number.isInteger(job.timeoutSeconds) && job.timeoutSeconds >= 1)) {
    problems.push(`timeoutSeconds must be an integer >= 1, got ${job.timeoutSeconds}`);
  }
  problems.push(...retryStrategyProblems(job.retryStrategy));
  if (job.arraySize !== undefined && !(Number.isInteger(job.arraySize) && job.arraySize >= 2 && job.arraySize <= 10_000)) {
    problems.push(`arraySize must be an integer in 2..10000, got ${job.arraySize}`);
  }
  if (job.shareIdentifier !== undefined && !(typeof job.shareIdentifier === 'string' && SHARE_IDENTIFIER_RE.test(job.shareIdentifier))) {
    problems.push(`shareIdentifier "${job.shareIdentifier}" must be 1-255 letters or digits`);
  }
  const priority = job.schedulingPriority;
  if (priority !== undefined && !(Number.isInteger(priority) && priority >= 0 && priority <= 9999)) {
    problems.push(`schedulingPriority must be an integer in 0..9999, got ${priority}`);
  }
  problems.push(...dependsOnProblems(job.dependsOn, job.arraySize !== undefined), ...tagProblems(job.tags));
  const reserved = Object.keys(job.environment).filter((name) => name.startsWith('AWS_BATCH'));
  if (reserved.length > 0) problems.push(`environment variables starting with AWS_BATCH are reserved for AWS Batch: ${reserved.join(', ')}`);
  if (problems.length > 0 || !queue || !definition) {
    throw new ComputeSubmissionError(`job "${job.jobName}" was refused: ${problems.join('; ')}`, false);
  }

  const jobQueueName = queue[1];
  const jobDefinitionName = definition[1];
  const revision = definition[2] ?? '1';
  return {
    jobName: job.jobName,
    jobQueueArn: job.jobQueue.startsWith('arn:') ? job.jobQueue : `arn:aws:batch:${scope.region}:${scope.account}:job-queue/${jobQueueName}`,
    jobQueueName,
    jobDefinitionArn: job.jobDefinition.startsWith('arn:')
      ? `${job.jobDefinition}${definition[2] === undefined ? `:${revision}` : ''}`
      : `arn:aws:batch:${scope.region}:${scope.account}:job-definition/${jobDefinitionName}:${revision}`,
    jobDefinitionName,
    command: [...job.command],
    environment: { ...job.environment },
    parameters: { ...job.parameters },
    vcpus: job.vcpus,
    memoryMiB: job.memoryMiB,
    // At least one thousandth, so that every running unit holds something and frees something.
    demand: { milliVcpus: Math.max(1, Math.round(job.vcpus * 1000)), memoryMiB: job.memoryMiB },
    ...(job.timeoutSeconds !== undefined && { timeoutSeconds: job.timeoutSeconds }),
    retryStrategy: {
      attempts: job.retryStrategy.attempts,
      ...(job.retryStrategy.evaluateOnExit !== undefined && { evaluateOnExit: job.retryStrategy.evaluateOnExit.map((rule) => ({ ...rule })) }),
    },
    ...(job.arraySize !== undefined && { arraySize: job.arraySize }),
    ...(job.shareIdentifier !== undefined && { shareIdentifier: job.shareIdentifier }),
    ...(priority !== undefined && { schedulingPriority: priority }),
    dependsOn: (job.dependsOn ?? []).map((d) => ({ ...(d.jobId !== undefined && { jobId: d.jobId }), ...(d.type !== undefined && { type: d.type }) })),
    tags: { ...job.tags },
    propagateTags: job.propagateTags ?? false,
  };
}

/** AWS's SubmitJob rules for `dependsOn` that need no other job to check (https://docs.aws.amazon.com/batch/latest/userguide/job_dependencies.html). */
function dependsOnProblems(dependsOn: readonly JobDependency[] | undefined, isArray: boolean): string[] {
  if (dependsOn === undefined) return [];
  if (!Array.isArray(dependsOn)) return ['dependsOn must be a list'];
  const problems: string[] = [];
  if (dependsOn.length > 20) problems.push(`dependsOn takes at most 20 jobs, got ${dependsOn.length}`);
  for (const [i, d] of (dependsOn as readonly (JobDependency | undefined)[]).entries()) {
    const at = `dependsOn[${i}]`;
    if (typeof d !== 'object' || d === null) {
      problems.push(`${at} must be an object`);
      continue;
    }
    if (d.jobId !== undefined && !(typeof d.jobId === 'string' && d.jobId !== '')) problems.push(`${at}.jobId must be a job id`);
    switch (d.type) {
      case undefined:
        if (d.jobId === undefined) problems.push(`${at} needs a jobId (only a SEQUENTIAL dependency has none)`);
        break;
      case 'SEQUENTIAL':
        if (d.jobId !== undefined) problems.push(`${at}: a SEQUENTIAL dependency takes no jobId (it orders this array job's own children)`);
        if (!isArray) problems.push(`${at}: a SEQUENTIAL dependency is for array jobs only`);
        break;
      case 'N_TO_N':
        if (d.jobId === undefined) problems.push(`${at}: an N_TO_N dependency needs the jobId of an array job`);
        if (!isArray) problems.push(`${at}: an N_TO_N dependency is for array jobs only`);
        break;
      default:
        problems.push(`${at}.type must be N_TO_N or SEQUENTIAL, got ${JSON.stringify(d.type)}`);
    }
  }
  return problems;
}

/** AWS's tag rules: up to 50, keys 1-128 characters not starting with `aws:`, values up to 256. */
function tagProblems(tags: Record<string, string> | undefined): string[] {
  if (tags === undefined) return [];
  const entries = Object.entries(tags);
  const problems: string[] = [];
  if (entries.length > 50) problems.push(`at most 50 tags, got ${entries.length}`);
  for (const [key, value] of entries) {
    if (key.length < 1 || key.length > 128 || key.toLowerCase().startsWith('aws:')) problems.push(`tag key "${key}" must be 1-128 characters and not start with aws:`);
    if (typeof value !== 'string' || value.length > 256) problems.push(`tag "${key}" must have a string value of at most 256 characters`);
  }
  return problems;
}
