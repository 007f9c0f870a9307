import type { z } from 'zod';
import { BackfillCancelRequested } from './events/backfill-cancel-requested.js';
import { BackfillRequested } from './events/backfill-requested.js';
import { BatchJobStateChange } from './events/batch-job-state-change.js';
import { DatasetLanded } from './events/dataset-landed.js';
import { DatasetRegistered } from './events/dataset-registered.js';
import { DatasetRejected } from './events/dataset-rejected.js';
import { MessageDeadLettered } from './events/message-dead-lettered.js';
import { ReportPublished } from './events/report-published.js';
import { RunCancelRequested } from './events/run-cancel-requested.js';
import { RunFailed } from './events/run-failed.js';
import { RunRequested } from './events/run-requested.js';
import { RunRetryRequested } from './events/run-retry-requested.js';
import { RunSucceeded } from './events/run-succeeded.js';
import { StepApprovalDecided } from './events/step-approval-decided.js';

/** A contract: its detail-type, version, optional fixed source, and the zod schema of its detail. */
export interface EventContract {
  readonly detailType: string;
  readonly version: string;
  readonly source?: string;
  readonly detail: z.ZodType;
}

/** Every event nightshift emits or consumes, keyed by detail-type. docs/events.md is generated from this. */
export const EVENT_CATALOG = {
  [DatasetLanded.detailType]: { ...DatasetLanded, producer: 'upstream systems', consumers: ['ingestion'], enveloped: false },
  [DatasetRegistered.detailType]: { ...DatasetRegistered, producer: 'ingestion', consumers: ['planner'], enveloped: true },
  [DatasetRejected.detailType]: { ...DatasetRejected, producer: 'ingestion', consumers: ['reporting (notifications)'], enveloped: true },
  [RunRequested.detailType]: { ...RunRequested, producer: 'api, scheduler', consumers: ['planner'], enveloped: true },
  [RunCancelRequested.detailType]: { ...RunCancelRequested, producer: 'api', consumers: ['planner'], enveloped: true },
  [RunRetryRequested.detailType]: { ...RunRetryRequested, producer: 'api', consumers: ['planner'], enveloped: true },
  [BackfillRequested.detailType]: { ...BackfillRequested, producer: 'api', consumers: ['planner'], enveloped: true },
  [BackfillCancelRequested.detailType]: { ...BackfillCancelRequested, producer: 'api', consumers: ['planner'], enveloped: true },
  [StepApprovalDecided.detailType]: { ...StepApprovalDecided, producer: 'api', consumers: ['planner'], enveloped: true },
  [RunSucceeded.detailType]: { ...RunSucceeded, producer: 'planner', consumers: ['reporting', 'planner'], enveloped: true },
  [RunFailed.detailType]: { ...RunFailed, producer: 'planner', consumers: ['reporting', 'planner'], enveloped: true },
  [ReportPublished.detailType]: { ...ReportPublished, producer: 'reporting', consumers: ['anyone'], enveloped: true },
  [BatchJobStateChange.detailType]: { ...BatchJobStateChange, producer: 'AWS Batch / local compute', consumers: ['planner'], enveloped: false },
  [MessageDeadLettered.detailType]: { ...MessageDeadLettered, producer: 'the embedded event bus', consumers: ['reporting (notifications)'], enveloped: true },
} as const satisfies Record<string, EventContract & { producer: string; consumers: readonly string[]; enveloped: boolean }>;

export type CatalogDetailType = keyof typeof EVENT_CATALOG;
