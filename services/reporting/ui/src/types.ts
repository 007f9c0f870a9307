/*
 * The REST API's resources as the dashboard reads them: the fields it shows, nothing more. The
 * authoritative schemas are libs/api's (zod, node-side); the dashboard is a browser bundle and
 * keeps its own narrow view, tolerant of fields it does not know (the API adds fields, never renames).
 */

export type RunStatus = 'PENDING' | 'RUNNING' | 'SUCCEEDED' | 'FAILED';
export type StepStatus = 'PENDING' | 'SUBMITTING' | 'SUBMITTED' | 'WAITING' | 'SUCCEEDED' | 'FAILED' | 'SKIPPED';
export type JobStatus = 'SUBMITTED' | 'PENDING' | 'RUNNABLE' | 'STARTING' | 'RUNNING' | 'SUCCEEDED' | 'FAILED';

export const RUN_STATUSES: readonly RunStatus[] = ['PENDING', 'RUNNING', 'SUCCEEDED', 'FAILED'];

export interface Page<T> {
  items: T[];
  nextCursor?: string;
}

export interface Run {
  runId: string;
  pipeline: string;
  businessDate: string;
  datasetId: string;
  status: RunStatus;
  correlationId: string;
  tenant?: string;
  tasksTotal: number;
  createdAt: string;
  updatedAt: string;
  startedAt?: string;
  finishedAt?: string;
  durationMs?: number;
  reason?: string;
  attempt?: number;
  /** The run's trace, when the platform records one (`GET /runs/:id/trace`). */
  traceId?: string;
  backfillId?: string;
}

export interface Step {
  step: string;
  status: StepStatus;
  size: number;
  jobId?: string;
  submittedAt?: string;
  finishedAt?: string;
  succeeded: number;
  failed: number;
  reason?: string;
  waitUntil?: string;
  decision?: { decision: 'APPROVED' | 'REJECTED'; by: string; at: string; comment?: string };
  job?: { jobId: string; status: JobStatus; statusReason?: string; waitingReason?: string };
}

export interface Attempt {
  attempt: number;
  startedAt?: string;
  stoppedAt?: string;
  exitCode?: number;
  statusReason?: string;
  reason?: string;
  logUrl?: string;
}

export interface Task {
  taskId: string;
  step: string;
  partition: string;
  status: JobStatus;
  attempts: Attempt[];
  createdAt: string;
  startedAt?: string;
  stoppedAt?: string;
  exitCode?: number;
  statusReason?: string;
}

export interface RunDetail extends Run {
  progress: { done: number; total: number; failed: number };
  steps: Step[];
  tasks: Task[];
  tasksNextCursor?: string;
}

export interface PipelineStep {
  name: string;
  analytic?: string;
  command?: string[];
  wait?: { seconds: number } | { until: string; timezone: string };
  approval?: { timeoutSeconds: number; description?: string };
  dependsOn: string[];
  onFailure?: string;
}

export interface Pipeline {
  name: string;
  description: string;
  steps: PipelineStep[];
  calendar: string;
}

export interface Report {
  reportId: string;
  runId: string;
  pipeline: string;
  businessDate: string;
  headline: Record<string, number | string | null>;
  publishedAt: string;
}

export interface ReportDetail extends Report {
  document: { sections?: Record<string, unknown>; partitions?: Record<string, string[]> } | null;
}

export interface Backfill {
  backfillId: string;
  pipeline: string;
  from: string;
  to: string;
  status: string;
  total: number;
  location?: string;
}
