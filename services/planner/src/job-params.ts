import type { BatchJobStateChangeDetail } from '@nightshift/contracts';
import type { JobStore, Task } from '@nightshift/jobs-domain';

/** Parameters nightshift sets on every job; they come back on every state-change event and in DescribeJobs. */
export const JOB_PARAM_RUN_ID = 'nightshift.runId';
export const JOB_PARAM_STEP = 'nightshift.step';
export const JOB_PARAM_PIPELINE = 'nightshift.pipeline';
/** On a job that runs one task of an array step alone: the task's index in the step (the job has no array index). */
export const JOB_PARAM_ARRAY_INDEX = 'nightshift.arrayIndex';
/** On a resubmitted job: how many attempts the task had before it, so its own attempts continue the count. */
export const JOB_PARAM_PRIOR_ATTEMPTS = 'nightshift.priorAttempts';
/** On a resubmitted job: the claim it was submitted under; the task's jobId holds the same claim until the job reports. */
export const JOB_PARAM_RESUBMISSION = 'nightshift.resubmission';

/** What a task's `jobId` holds between its resubmission being claimed and the new job's first event. */
export function resubmissionClaim(token: string): string {
  return `resubmission:${token}`;
}

/**
 * The claim token a retry of a run puts on each task it runs again, for the attempt the retry
 * starts: deterministic, so a redelivered retry (or a second request racing it) finds the claims
 * already made and each task is resubmitted once, under one job name.
 */
export function retryClaimToken(runAttempt: number, step: string, arrayIndex: number): string {
  return `retry-a${runAttempt}-${step}-${arrayIndex}`;
}

export function isResubmissionClaim(jobId: string | undefined): boolean {
  return jobId?.startsWith('resubmission:') === true;
}

/** Which task (or step) a job's detail is about, read from the parameters nightshift set on it. */
export type JobRef =
  | { kind: 'step'; runId: string; step: string; pipeline: string }
  | { kind: 'task'; runId: string; step: string; pipeline: string; arrayIndex: number; priorAttempts: number; token?: string };

/** Undefined for a job nightshift did not submit (or whose parameters were tampered with). */
export function jobRefOf(detail: BatchJobStateChangeDetail): JobRef | undefined {
  const p = detail.parameters;
  const runId = p[JOB_PARAM_RUN_ID];
  const step = p[JOB_PARAM_STEP];
  const pipeline = p[JOB_PARAM_PIPELINE];
  if (!runId || !step || !pipeline) return undefined;
  // An array parent's status only summarises its children, which report for themselves.
  if (detail.arrayProperties?.size !== undefined && detail.arrayProperties.index === undefined) return { kind: 'step', runId, step, pipeline };
  const arrayIndex = count(p[JOB_PARAM_ARRAY_INDEX]) ?? detail.arrayProperties?.index ?? 0;
  const token = p[JOB_PARAM_RESUBMISSION];
  return { kind: 'task', runId, step, pipeline, arrayIndex, priorAttempts: count(p[JOB_PARAM_PRIOR_ATTEMPTS]) ?? 0, ...(token ? { token } : {}) };
}

/** A non-negative integer job parameter, or undefined when absent or malformed. */
function count(value: string | undefined): number | undefined {
  if (value === undefined || !/^\d+$/.test(value)) return undefined;
  return Number(value);
}

/**
 * Whose job runs a task, from its record: its step's own job (an array child `<stepJobId>:<n>`, or
 * the step's job itself), a resubmission claimed and not yet reporting, or a job of its own (the
 * task was resubmitted alone after its step's job was lost). A task with no job yet is its step's.
 */
export function jobOwnerOf(task: Pick<Task, 'jobId'>, stepJobId: string | undefined): 'step' | 'claim' | 'alone' {
  const jobId = task.jobId;
  if (jobId === undefined) return 'step';
  if (isResubmissionClaim(jobId)) return 'claim';
  return stepJobId !== undefined && (jobId === stepJobId || jobId.startsWith(`${stepJobId}:`)) ? 'step' : 'alone';
}

/** Every task record of a step, by array index, reading the store's pages one after another. */
export async function tasksOfStep(store: Pick<JobStore, 'listTasks'>, runId: string, step: string): Promise<Map<number, Task>> {
  const tasks = new Map<number, Task>();
  let nextToken: string | undefined;
  do {
    const page = await store.listTasks(runId, { step, ...(nextToken ? { nextToken } : {}) });
    for (const t of page.items) tasks.set(t.arrayIndex, t);
    nextToken = page.nextToken;
  } while (nextToken);
  return tasks;
}
