import type { JobDetail, JobSummary as SdkJobSummary, RetryAction, SubmitJobCommandInput } from '@aws-sdk/client-batch';
import { BATCH_JOB_STATUSES, BatchJobStateChange, type BatchJobStateChangeDetail, type BatchJobStatus } from '@nightshift/contracts';
import type { JobSubmission, JobSummary } from '@nightshift/jobs-domain';
import { UnexpectedBatchResponseError } from './errors.js';

/*
 * The port's shapes to and from AWS Batch's (https://docs.aws.amazon.com/batch/latest/APIReference/).
 * Pure: no client, no I/O.
 */

/** Parameters whose key starts with this are nightshift's ids (`nightshift.runId`, ...): they also become tags. */
export const NIGHTSHIFT_PARAMETER_PREFIX = 'nightshift.';
/** AWS's tag value alphabet: letters, digits, spaces and `_ . : / = + - @`. */
const TAG_VALUE_RE = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u;
const MAX_TAGS = 50;

/**
 * SubmitJob's input for a submission: the resources, command and environment (TRACEPARENT with it)
 * as container overrides of the job definition, the per-attempt timeout, the retry strategy with its
 * rules, the array size, dependencies, fair-share fields, and nightshift's ids as tags propagated to
 * the ECS tasks (cost allocation per run and step).
 */
export function toSubmitJobInput(job: JobSubmission): SubmitJobCommandInput {
  const tags = tagsOf(job.parameters);
  return {
    jobName: job.jobName,
    jobQueue: job.jobQueue,
    jobDefinition: job.jobDefinition,
    ...(job.arraySize !== undefined && { arrayProperties: { size: job.arraySize } }),
    ...(job.dependsOn !== undefined &&
      job.dependsOn.length > 0 && {
        dependsOn: job.dependsOn.map((d) => ({ ...(d.jobId !== undefined && { jobId: d.jobId }), ...(d.type !== undefined && { type: d.type }) })),
      }),
    retryStrategy: {
      attempts: job.retryStrategy.attempts,
      ...(job.retryStrategy.evaluateOnExit !== undefined && {
        evaluateOnExit: job.retryStrategy.evaluateOnExit.map((rule) => ({
          ...(rule.onExitCode !== undefined && { onExitCode: rule.onExitCode }),
          ...(rule.onStatusReason !== undefined && { onStatusReason: rule.onStatusReason }),
          ...(rule.onReason !== undefined && { onReason: rule.onReason }),
          // AWS reads the action case-insensitively; the SDK's type spells it in capitals.
          action: rule.action.toUpperCase() as RetryAction,
        })),
      }),
    },
    timeout: { attemptDurationSeconds: job.timeoutSeconds },
    containerOverrides: {
      command: [...job.command],
      environment: Object.entries(job.environment).map(([name, value]) => ({ name, value })),
      resourceRequirements: [
        { type: 'VCPU', value: String(job.vcpus) },
        { type: 'MEMORY', value: String(job.memoryMiB) },
      ],
    },
    parameters: { ...job.parameters },
    ...(job.shareIdentifier !== undefined && { shareIdentifier: job.shareIdentifier }),
    ...(job.schedulingPriority !== undefined && { schedulingPriorityOverride: job.schedulingPriority }),
    ...(Object.keys(tags).length > 0 && { tags }),
    propagateTags: true,
  };
}

/**
 * nightshift's ids among the parameters, as tags: keys starting with `nightshift.` whose key and
 * value AWS accepts as a tag (key up to 128 characters, value up to 256 of AWS's alphabet), at most
 * 50. The parameters stay the record; a value that cannot be a tag is only left off the tags.
 */
export function tagsOf(parameters: Readonly<Record<string, string>>): Record<string, string> {
  const tags: Record<string, string> = {};
  let count = 0;
  for (const [key, value] of Object.entries(parameters)) {
    if (count >= MAX_TAGS) break;
    if (!key.startsWith(NIGHTSHIFT_PARAMETER_PREFIX) || key.length > 128 || value.length > 256 || !TAG_VALUE_RE.test(value)) continue;
    tags[key] = value;
    count += 1;
  }
  return tags;
}

/**
 * DescribeJobs' `JobDetail` as the port's detail: the same object a "Batch Job State Change" event
 * carries (AWS's event detail is this JobDetail), checked against that contract; lists and maps
 * AWS leaves out when empty are given as empty.
 *
 * @throws UnexpectedBatchResponseError when the detail breaks the contract.
 */
export function toDetail(job: JobDetail): BatchJobStateChangeDetail {
  const parsed = BatchJobStateChange.detail.safeParse({
    ...job,
    attempts: job.attempts ?? [],
    dependsOn: job.dependsOn ?? [],
    parameters: job.parameters ?? {},
    container: job.container ?? {},
  });
  if (!parsed.success) {
    const issues = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ');
    throw new UnexpectedBatchResponseError('DescribeJobs', `job ${job.jobId}: ${issues}`);
  }
  return parsed.data;
}

/**
 * ListJobs' `JobSummary` as the port's.
 *
 * @throws UnexpectedBatchResponseError for a summary without id, ARN, name, status or creation time.
 */
export function toSummary(summary: SdkJobSummary): JobSummary {
  const { jobId, jobArn, jobName, status, createdAt } = summary;
  if (jobId === undefined || jobArn === undefined || jobName === undefined || createdAt === undefined || !isStatus(status)) {
    throw new UnexpectedBatchResponseError('ListJobs', `job summary ${JSON.stringify({ jobId, jobArn, jobName, status, createdAt })} lacks a documented field`);
  }
  const container = summary.container;
  const array = summary.arrayProperties;
  return {
    jobId,
    jobArn,
    jobName,
    status,
    ...(summary.statusReason !== undefined && { statusReason: summary.statusReason }),
    createdAt,
    ...(summary.startedAt !== undefined && { startedAt: summary.startedAt }),
    ...(summary.stoppedAt !== undefined && { stoppedAt: summary.stoppedAt }),
    ...(array && (array.size !== undefined || array.index !== undefined) && {
      arrayProperties: { ...(array.size !== undefined && { size: array.size }), ...(array.index !== undefined && { index: array.index }) },
    }),
    ...(container && (container.exitCode !== undefined || container.reason !== undefined) && {
      container: { ...(container.exitCode !== undefined && { exitCode: container.exitCode }), ...(container.reason !== undefined && { reason: container.reason }) },
    }),
  };
}

function isStatus(status: unknown): status is BatchJobStatus {
  return BATCH_JOB_STATUSES.includes(status as BatchJobStatus);
}
