import type { BatchJobStatus, RegisteredFile } from '@nightshift/contracts';

/** Task states are AWS Batch's job states. */
export type TaskStatus = BatchJobStatus;

/** Run states. A run is PENDING until its first task is submitted. */
export const RUN_STATUSES = ['PENDING', 'RUNNING', 'SUCCEEDED', 'FAILED'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

/** A registered, validated version of a dataset for one business date. */
export interface DatasetVersion {
  /** `${dataset}@${businessDate}#v${version}` */
  datasetId: string;
  dataset: string;
  businessDate: string;
  version: number;
  files: RegisteredFile[];
  rowCount: number;
  partitions: string[];
  manifestKey: string;
  /** Id of the Dataset Landed event that produced this version (idempotency key). */
  landedEventId: string;
  registeredAt: string;
}

/** One attempt of a task, as reported by the compute environment. Times are ISO-8601. */
export interface TaskAttempt {
  attempt: number;
  startedAt?: string;
  stoppedAt?: string;
  exitCode?: number;
  statusReason?: string;
}

/** One unit of work: one step over one partition (an array child in AWS Batch terms). */
export interface Task {
  runId: string;
  /** `${step}#${partition}` */
  taskId: string;
  step: string;
  partition: string;
  /** Index of this partition in the step's array job. */
  arrayIndex: number;
  status: TaskStatus;
  /**
   * The job currently running this task: for array children `${parentJobId}:${arrayIndex}`; while a
   * lost task is being resubmitted, the claim placeholder `resubmission:<uuid>`.
   */
  jobId?: string;
  maxAttempts: number;
  attempts: TaskAttempt[];
  /** The object-store key the worker writes its result to. */
  outputKey: string;
  createdAt: string;
  updatedAt: string;
  startedAt?: string;
  stoppedAt?: string;
  exitCode?: number;
  statusReason?: string;
}

/** A pipeline run over one dataset version. */
export interface Run {
  runId: string;
  pipeline: string;
  businessDate: string;
  datasetId: string;
  status: RunStatus;
  /** Ties the run to the event flow that started it. */
  correlationId: string;
  traceparent?: string;
  tenant?: string;
  tasksTotal: number;
  createdAt: string;
  updatedAt: string;
  startedAt?: string;
  finishedAt?: string;
  /** Why the run failed, for people. */
  reason?: string;
}

/** A published report. */
export interface Report {
  reportId: string;
  runId: string;
  pipeline: string;
  businessDate: string;
  key: string;
  headline: Record<string, number | string | null>;
  publishedAt: string;
}
