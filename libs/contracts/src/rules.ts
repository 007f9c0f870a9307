import { BackfillCancelRequested } from './events/backfill-cancel-requested.js';
import { BackfillRequested } from './events/backfill-requested.js';
import { BatchJobStateChange } from './events/batch-job-state-change.js';
import { DatasetLanded } from './events/dataset-landed.js';
import { DatasetRegistered } from './events/dataset-registered.js';
import { DatasetRejected } from './events/dataset-rejected.js';
import { MessageDeadLettered } from './events/message-dead-lettered.js';
import { RunCancelRequested } from './events/run-cancel-requested.js';
import { RunFailed } from './events/run-failed.js';
import { RunRequested } from './events/run-requested.js';
import { RunRetryRequested } from './events/run-retry-requested.js';
import { RunSucceeded } from './events/run-succeeded.js';
import { StepApprovalDecided } from './events/step-approval-decided.js';
import { NightshiftSource } from './envelope.js';

/**
 * One EventBridge rule: a name, the pattern, and the service queue it targets. Declared once here;
 * the embedded bus routes by these objects and infra builds its EventBridge rules from them.
 */
export interface RuleDefinition {
  readonly name: string;
  readonly description: string;
  readonly eventPattern: Readonly<Record<string, unknown>>;
}

/** The services that own a queue on the bus. */
export type ServiceName = 'ingestion' | 'planner' | 'reporting';

/** Each service's subscriptions. */
export const SERVICE_RULES: Readonly<Record<ServiceName, readonly RuleDefinition[]>> = {
  ingestion: [
    {
      name: 'ingestion-dataset-landed',
      description: 'Upstream systems announce landed datasets (any source but nightshift itself).',
      eventPattern: { 'detail-type': [DatasetLanded.detailType], source: [{ 'anything-but': { prefix: 'nightshift.' } }] },
    },
  ],
  planner: [
    {
      name: 'planner-dataset-registered',
      description: 'A validated dataset version may trigger pipelines.',
      eventPattern: { source: [DatasetRegistered.source], 'detail-type': [DatasetRegistered.detailType] },
    },
    {
      name: 'planner-run-requested',
      description: 'Runs asked for through the API or a schedule.',
      eventPattern: { source: [NightshiftSource.api, NightshiftSource.scheduler], 'detail-type': [RunRequested.detailType] },
    },
    {
      name: 'planner-run-cancel-requested',
      description: 'Requests to stop a run.',
      eventPattern: { source: [NightshiftSource.api], 'detail-type': [RunCancelRequested.detailType] },
    },
    {
      name: 'planner-run-retry-requested',
      description: 'Requests to run a failed run again (its failed tasks only, as its next attempt).',
      eventPattern: { source: [NightshiftSource.api], 'detail-type': [RunRetryRequested.detailType] },
    },
    {
      name: 'planner-step-approval-decided',
      description: "People's answers to approval steps (approve or reject).",
      eventPattern: { source: [NightshiftSource.api], 'detail-type': [StepApprovalDecided.detailType] },
    },
    {
      name: 'planner-backfill-requested',
      description: 'Backfills recorded through the API: the planner starts their first runs.',
      eventPattern: { source: [NightshiftSource.api], 'detail-type': [BackfillRequested.detailType] },
    },
    {
      name: 'planner-backfill-cancel-requested',
      description: 'Requests to stop a backfill: its waiting dates are cancelled, its open runs stopped.',
      eventPattern: { source: [NightshiftSource.api], 'detail-type': [BackfillCancelRequested.detailType] },
    },
    {
      name: 'planner-run-finished',
      description: "The planner's own finished runs: a success starts the pipelines chained after it; a backfill's run frees its place.",
      eventPattern: { source: [RunSucceeded.source], 'detail-type': [RunSucceeded.detailType, RunFailed.detailType] },
    },
    {
      name: 'planner-batch-job-state-change',
      description:
        "AWS Batch (or the local compute environment) reports a job's status; only nightshift's jobs, and only the states the planner records (SUBMITTED, PENDING, RUNNABLE and STARTING are merged into the next, so the rule does not even queue them).",
      eventPattern: {
        source: [BatchJobStateChange.source],
        'detail-type': [BatchJobStateChange.detailType],
        detail: { parameters: { 'nightshift.runId': [{ exists: true }] }, status: ['RUNNING', 'SUCCEEDED', 'FAILED'] },
      },
    },
  ],
  reporting: [
    {
      name: 'reporting-run-finished',
      description: 'Finished runs are merged into reports (succeeded) or recorded (failed).',
      eventPattern: { source: [RunSucceeded.source], 'detail-type': [RunSucceeded.detailType, RunFailed.detailType] },
    },
    {
      name: 'reporting-notifications',
      description: 'Rejected landings and dead-lettered messages, for the webhook/SNS notifications (finished runs come by reporting-run-finished).',
      eventPattern: {
        source: [DatasetRejected.source, MessageDeadLettered.source],
        'detail-type': [DatasetRejected.detailType, MessageDeadLettered.detailType],
      },
    },
  ],
};
