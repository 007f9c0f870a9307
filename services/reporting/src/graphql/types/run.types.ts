import { Extensions, Field, Float, ID, InputType, Int, ObjectType, registerEnumType } from '@nestjs/graphql';
import { BATCH_JOB_STATUSES } from '@nightshift/contracts';
import { RUN_STATUSES, STEP_STATUSES, type Run, type StepExecution } from '@nightshift/jobs-domain';
import type { TaskView } from '../../api/platform-api.js';
import { Connection } from '../connection.js';
import { COST } from '../limits.js';
import { JSONScalar } from './json.scalar.js';

/*
 * Runs as GraphQL shows them: a run, its steps (with the step's job as the compute environment sees
 * it now), each step's tasks and each task's attempts (with the API path of its log). The objects
 * resolvers return carry what the field resolvers need to read further (`run` of a step, `stepOf`
 * of a task) besides the fields shown.
 */

export const RunStatus = Object.fromEntries(RUN_STATUSES.map((s) => [s, s]));
registerEnumType(RunStatus, { name: 'RunStatus', description: 'PENDING until its first task is submitted, RUNNING, then SUCCEEDED or FAILED.' });
export const StepStatus = Object.fromEntries(STEP_STATUSES.map((s) => [s, s]));
registerEnumType(StepStatus, { name: 'StepStatus' });
export const TaskStatus = Object.fromEntries(BATCH_JOB_STATUSES.map((s) => [s, s]));
registerEnumType(TaskStatus, { name: 'TaskStatus', description: "AWS Batch's job states." });

/** A run as resolvers pass it on. */
export type RunNode = Run & { durationMs?: number };
/** A step as resolvers pass it on: with its run. */
export type StepNode = StepExecution & { name: string; run: Run };
/** A task as resolvers pass it on: with its step. */
export type TaskNode = TaskView & { stepOf: StepNode };
/** An attempt as resolvers pass it on: with its task's step. */
export type AttemptNode = TaskView['attempts'][number] & { stepOf: StepNode; durationMs?: number };

@ObjectType({ description: 'Progress of one step: tasks finished of its size.' })
export class StepProgress {
  @Field()
  step!: string;

  @Field(() => StepStatus)
  status!: string;

  @Field(() => Int, { description: 'Tasks that succeeded.' })
  done!: number;

  @Field(() => Int)
  failed!: number;

  @Field(() => Int)
  total!: number;
}

@ObjectType({ description: "A run's progress over all its steps." })
export class RunProgress {
  @Field(() => Int)
  done!: number;

  @Field(() => Int)
  failed!: number;

  @Field(() => Int)
  total!: number;

  @Field(() => [StepProgress])
  @Extensions({ [COST]: { listSize: 5 } })
  steps!: StepProgress[];
}

@ObjectType({ description: "A step's job as the compute environment sees it now (while the step is SUBMITTED)." })
export class StepJob {
  @Field()
  jobId!: string;

  @Field(() => TaskStatus)
  status!: string;

  @Field(() => String, { nullable: true })
  statusReason?: string;

  @Field(() => JSONScalar, { nullable: true, description: 'Array children by status, e.g. {"RUNNABLE": 3, "RUNNING": 2}.' })
  statusSummary?: Record<string, number>;

  @Field(() => String, { nullable: true, description: 'Why the first RUNNABLE task of the step waits: what it needs, what is in use, how many jobs are ahead.' })
  waitingReason?: string;
}

@ObjectType({ description: 'One attempt of a task.' })
export class Attempt {
  @Field(() => Int, { description: 'From 1.' })
  attempt!: number;

  @Field(() => String, { nullable: true })
  startedAt?: string;

  @Field(() => String, { nullable: true })
  stoppedAt?: string;

  @Field(() => Float, { nullable: true })
  durationMs?: number;

  @Field(() => Int, { nullable: true })
  exitCode?: number;

  @Field(() => String, { nullable: true })
  statusReason?: string;

  @Field(() => String, { nullable: true, description: "The container's own reason (CannotStartContainerError, SIGKILL)." })
  reason?: string;

  @Field(() => String, { nullable: true, description: "The REST API path of the attempt's output (GET it with the same token); null when it never started." })
  logUrl?: string;
}

@ObjectType({ description: 'One unit of work: one step over one partition (an array child).' })
export class Task {
  @Field(() => ID, { description: '`<step>#<partition>`' })
  taskId!: string;

  @Field()
  runId!: string;

  @Field()
  step!: string;

  @Field()
  partition!: string;

  @Field(() => Int)
  arrayIndex!: number;

  @Field(() => TaskStatus)
  status!: string;

  @Field(() => String, { nullable: true })
  jobId?: string;

  @Field(() => Int)
  maxAttempts!: number;

  @Field(() => [Attempt])
  @Extensions({ [COST]: { listSize: 3 } })
  attempts!: AttemptNode[];

  @Field(() => String, { nullable: true })
  outputKey?: string;

  @Field()
  createdAt!: string;

  @Field()
  updatedAt!: string;

  @Field(() => String, { nullable: true })
  startedAt?: string;

  @Field(() => String, { nullable: true })
  stoppedAt?: string;

  @Field(() => Float, { nullable: true })
  durationMs?: number;

  @Field(() => Int, { nullable: true })
  exitCode?: number;

  @Field(() => String, { nullable: true })
  statusReason?: string;
}

@ObjectType('ApprovalDecision', { description: "A person's answer to an approval step." })
export class ApprovalDecisionType {
  @Field({ description: 'APPROVED or REJECTED.' })
  decision!: string;

  @Field({ description: 'Who answered.' })
  by!: string;

  @Field({ description: 'When (ISO-8601).' })
  at!: string;

  @Field(() => String, { nullable: true })
  comment?: string;
}

@ObjectType({ description: 'One step of a run as it executes.' })
export class Step {
  @Field()
  runId!: string;

  @Field({ description: "The step's name in its pipeline." })
  name!: string;

  @Field(() => StepStatus)
  status!: string;

  @Field(() => Int, { description: 'How many tasks (array children) the step has.' })
  size!: number;

  @Field(() => Int)
  succeeded!: number;

  @Field(() => Int)
  failed!: number;

  @Field()
  jobName!: string;

  @Field(() => String, { nullable: true })
  jobId?: string;

  @Field(() => String, { nullable: true })
  submittedAt?: string;

  @Field(() => String, { nullable: true })
  finishedAt?: string;

  @Field(() => String, { nullable: true, description: 'Why the step failed or could not be submitted, or why it was skipped.' })
  reason?: string;

  @Field(() => String, { nullable: true, description: 'A WAITING step: when its wait ends, or when its approval times out (ISO-8601).' })
  waitUntil?: string;

  @Field(() => ApprovalDecisionType, { nullable: true, description: "An approval step's answer, once given." })
  decision?: ApprovalDecisionType;

  @Field()
  updatedAt!: string;
}

@ObjectType('Run', { description: 'A pipeline run over one dataset version.' })
export class RunType {
  @Field(() => ID)
  runId!: string;

  @Field()
  pipeline!: string;

  @Field()
  businessDate!: string;

  @Field()
  datasetId!: string;

  @Field(() => RunStatus)
  status!: string;

  @Field()
  correlationId!: string;

  @Field({ description: "The run's trace (OTLP trace id, 32 hex): its spans, whichever service wrote them." })
  traceId!: string;

  @Field(() => Int)
  tasksTotal!: number;

  @Field()
  createdAt!: string;

  @Field()
  updatedAt!: string;

  @Field(() => String, { nullable: true })
  startedAt?: string;

  @Field(() => String, { nullable: true })
  finishedAt?: string;

  @Field(() => Float, { nullable: true })
  durationMs?: number;

  @Field(() => String, { nullable: true, description: 'Why the run failed, for people.' })
  reason?: string;

  @Field(() => String, { nullable: true })
  deadline?: string;

  @Field(() => Int, { nullable: true, description: 'Which attempt of the run this is: 1 unless failed tasks were retried.' })
  attempt?: number;
}

@ObjectType()
export class RunConnection extends Connection(RunType, 'Run') {}

@InputType({ description: 'Which runs to list: those matching every field given.' })
export class RunFilter {
  @Field(() => [RunStatus], { nullable: true })
  status?: Array<(typeof RUN_STATUSES)[number]>;

  @Field(() => String, { nullable: true })
  pipeline?: string;

  @Field(() => String, { nullable: true, description: 'YYYY-MM-DD (the same as businessDateFrom = businessDateTo).' })
  businessDate?: string;

  @Field(() => String, { nullable: true, description: 'YYYY-MM-DD, inclusive.' })
  businessDateFrom?: string;

  @Field(() => String, { nullable: true, description: 'YYYY-MM-DD, inclusive.' })
  businessDateTo?: string;

  @Field(() => String, { nullable: true })
  correlationId?: string;

  @Field(() => String, { nullable: true })
  datasetId?: string;

  @Field(() => String, { nullable: true, description: "A tenant-bound token may name only its own; a tenantless admin reads every tenant's unless it names one." })
  tenant?: string;
}

@InputType({ description: 'A run of a pipeline over a registered dataset, as REST `POST /runs` takes it.' })
export class RunRequestInput {
  @Field()
  pipeline!: string;

  @Field({ description: 'YYYY-MM-DD' })
  businessDate!: string;

  @Field(() => String, { nullable: true, description: 'The dataset version to run on; the latest registered one for the date when absent.' })
  datasetId?: string;

  @Field(() => String, { nullable: true, description: 'Who asks (the token\'s subject when absent).' })
  requestedBy?: string;
}

@ObjectType({ description: 'The planner has the request: the run will be at `location`.' })
export class RunAccepted {
  @Field()
  requestId!: string;

  @Field(() => ID)
  runId!: string;

  @Field()
  pipeline!: string;

  @Field()
  businessDate!: string;

  @Field({ description: 'The REST path of the run.' })
  location!: string;
}

@ObjectType({ description: 'The planner has the request; the run shows its effect.' })
export class RunActionAccepted {
  @Field(() => ID)
  runId!: string;

  @Field({ description: 'The REST path of the run.' })
  location!: string;
}
