import { BATCH_JOB_STATUSES, type BatchAttempt, type BatchJobStateChangeDetail, type BatchJobStatus } from '@nightshift/contracts';
import type { JobSummary } from '@nightshift/jobs-domain';
import type { JobSpec } from './job-spec.js';

/** One finished attempt of a unit. Times are epoch milliseconds. */
export interface AttemptRecord {
  startedAt?: number;
  stoppedAt: number;
  exitCode?: number;
  /** Why the container stopped or could not start (AWS's `container.reason`). */
  containerReason?: string;
  logStreamName?: string;
  taskArn?: string;
  statusReason: string;
}

/** What AWS Batch reports about a job that runs: a plain job or one array child. */
export interface UnitState {
  jobId: string;
  jobArn: string;
  spec: JobSpec;
  /** Set for array children. */
  index?: number;
  status: BatchJobStatus;
  statusReason?: string;
  attempts: AttemptRecord[];
  createdAt: number;
  startedAt?: number;
  stoppedAt?: number;
}

/** What AWS Batch reports about an array parent: it never runs, it summarises its children. */
export interface ParentState {
  jobId: string;
  jobArn: string;
  spec: JobSpec;
  status: BatchJobStatus;
  statusReason?: string;
  children: readonly UnitState[];
  createdAt: number;
  startedAt?: number;
  stoppedAt?: number;
}

/**
 * The `detail` of a "Batch Job State Change" event for a plain job or an array child, which is also
 * what `describeJobs` answers. `statusReason` replaces the stored one (a RUNNABLE job's reason is
 * computed when it is read).
 */
export function unitDetail(unit: UnitState, statusReason?: string): BatchJobStateChangeDetail {
  const last = unit.attempts.at(-1);
  return {
    ...common(unit, unit.spec, statusReason),
    attempts: unit.attempts.map(toBatchAttempt),
    container: {
      ...containerOf(unit.spec),
      ...(last?.exitCode !== undefined && { exitCode: last.exitCode }),
      ...(last?.containerReason !== undefined && { reason: last.containerReason }),
      ...(last?.logStreamName !== undefined && { logStreamName: last.logStreamName }),
    },
    ...(unit.index !== undefined && { arrayProperties: { index: unit.index } }),
  };
}

/** The `detail` of a "Batch Job State Change" event for an array parent. */
export function parentDetail(parent: ParentState): BatchJobStateChangeDetail {
  const statusSummary: Record<string, number> = Object.fromEntries(BATCH_JOB_STATUSES.map((s) => [s, 0]));
  for (const child of parent.children) statusSummary[child.status] += 1;
  return {
    ...common(parent, parent.spec, undefined),
    attempts: [],
    container: containerOf(parent.spec),
    arrayProperties: { size: parent.spec.arraySize ?? parent.children.length, statusSummary },
  };
}

/**
 * AWS Batch's `JobSummary` of a job, as `listJobs` answers it: the fields of its detail, built
 * without the rest of it (a listing of 10,000 array children stays cheap).
 */
export function summaryOf(job: UnitState | ParentState, statusReason?: string): JobSummary {
  const reason = statusReason ?? job.statusReason;
  const last = 'attempts' in job ? job.attempts.at(-1) : undefined;
  const arrayProperties = 'children' in job ? { size: job.spec.arraySize ?? job.children.length } : job.index !== undefined ? { index: job.index } : undefined;
  return {
    jobId: job.jobId,
    jobArn: job.jobArn,
    jobName: job.spec.jobName,
    status: job.status,
    ...(reason !== undefined && { statusReason: reason }),
    createdAt: job.createdAt,
    ...(job.startedAt !== undefined && { startedAt: job.startedAt }),
    ...(job.stoppedAt !== undefined && { stoppedAt: job.stoppedAt }),
    ...(arrayProperties && { arrayProperties }),
    ...((last?.exitCode !== undefined || last?.containerReason !== undefined) && {
      container: {
        ...(last?.exitCode !== undefined && { exitCode: last.exitCode }),
        ...(last?.containerReason !== undefined && { reason: last.containerReason }),
      },
    }),
  };
}

function common(job: UnitState | ParentState, spec: JobSpec, statusReasonOnRead: string | undefined) {
  const statusReason = statusReasonOnRead ?? job.statusReason;
  return {
    jobArn: job.jobArn,
    jobName: spec.jobName,
    jobId: job.jobId,
    jobQueue: spec.jobQueueArn,
    status: job.status,
    ...(statusReason !== undefined && { statusReason }),
    createdAt: job.createdAt,
    ...(job.startedAt !== undefined && { startedAt: job.startedAt }),
    ...(job.stoppedAt !== undefined && { stoppedAt: job.stoppedAt }),
    retryStrategy: {
      attempts: spec.retryStrategy.attempts,
      ...(spec.retryStrategy.evaluateOnExit !== undefined && { evaluateOnExit: spec.retryStrategy.evaluateOnExit.map((rule) => ({ ...rule })) }),
    },
    ...(spec.shareIdentifier !== undefined && { shareIdentifier: spec.shareIdentifier }),
    ...(spec.schedulingPriority !== undefined && { schedulingPriority: spec.schedulingPriority }),
    dependsOn: spec.dependsOn.map((d) => ({ ...d })),
    jobDefinition: spec.jobDefinitionArn,
    parameters: { ...spec.parameters },
    ...(spec.timeoutSeconds !== undefined && { timeout: { attemptDurationSeconds: spec.timeoutSeconds } }),
    tags: { ...spec.tags },
    propagateTags: spec.propagateTags,
    platformCapabilities: ['EC2'],
  };
}

function containerOf(spec: JobSpec) {
  return {
    command: [...spec.command],
    environment: Object.entries(spec.environment).map(([name, value]) => ({ name, value })),
    resourceRequirements: [
      { type: 'VCPU' as const, value: String(spec.vcpus) },
      { type: 'MEMORY' as const, value: String(spec.memoryMiB) },
    ],
  };
}

function toBatchAttempt(a: AttemptRecord): BatchAttempt {
  return {
    container: {
      ...(a.taskArn !== undefined && { taskArn: a.taskArn }),
      ...(a.exitCode !== undefined && { exitCode: a.exitCode }),
      ...(a.containerReason !== undefined && { reason: a.containerReason }),
      ...(a.logStreamName !== undefined && { logStreamName: a.logStreamName }),
    },
    ...(a.startedAt !== undefined && { startedAt: a.startedAt }),
    stoppedAt: a.stoppedAt,
    statusReason: a.statusReason,
  };
}
