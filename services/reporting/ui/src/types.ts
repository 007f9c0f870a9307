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

/** One headline figure's change against the previous business date's report (see the API's ReportDocument). */
export interface HeadlineChange {
  previous: number;
  current: number;
  absolute: number;
  relative: number | null;
  /** In the figure's unit, for people: `+1.22 bps (+16.5 %)`. */
  text: string;
}

/** Where a report's figures come from. */
export interface ReportProvenance {
  dataset: { datasetId: string; files: Array<{ table: string; key: string; desk?: string; rows: number; checksum: string }> };
  pipeline: { name: string; definitionHash?: string };
  run: { runId: string; attempt: number };
  codeVersion: string;
}

export interface ReportDetail extends Report {
  document: {
    sections?: Record<string, unknown>;
    partitions?: Record<string, string[]>;
    currency?: string;
    /** Each figure with its unit, formatted by reporting: the dashboard shows these as they are. */
    headlineText?: Record<string, string>;
    provenance?: ReportProvenance;
    previous?: { reportId: string; businessDate: string; changes: Record<string, HeadlineChange> } | null;
  } | null;
}

/** A report's sections and the tables each exports. */
export interface ReportSections {
  items: Array<{ section: string; kind: string; tables: Array<{ name: string; rows: number; csv: string; parquet: string }> }>;
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
