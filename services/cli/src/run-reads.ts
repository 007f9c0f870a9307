import { pipelineSchema, runDetailSchema, type RunDetail, type TaskResource } from '@nightshift/api-contract';
import type { ApiAnswer, PlatformApiClient } from './api-client.js';
import { CliUsageError, ApiProblemError } from './errors.js';
import { queryString, segment } from './platform-options.js';
import { failureOf, stepsOf, tail, waitsFor, type PipelineStepInfo, type PipelineSteps, type RunExplanation } from './run-view.js';

/*
 * The reads behind `runs show|watch|logs|why`: a run with one page of tasks or all of them, a
 * task's log, and the explanation of a run's state.
 */

/** The largest task page the API gives (`tasksLimit`). */
const TASK_PAGE = 5_000;

/** `GET /runs/:id` with at most `tasksLimit` task records. */
export function getRun(api: PlatformApiClient, runId: string, tasksLimit: number, tasksCursor?: string): Promise<ApiAnswer<RunDetail>> {
  return api.get(`/runs/${segment(runId)}${queryString({ tasksLimit, tasksCursor })}`, runDetailSchema, 'run');
}

/**
 * The run with every task record, following `tasksNextCursor`: parsed, and as JSON (the first
 * page's, with every page's tasks and no cursor). The run's fields are those of the first page.
 */
export async function getRunWithTasks(api: PlatformApiClient, runId: string): Promise<{ run: RunDetail; json: unknown; tasks: TaskResource[] }> {
  const first = await getRun(api, runId, TASK_PAGE);
  const tasks = [...first.data.tasks];
  const json = [...(first.json as { tasks: unknown[] }).tasks];
  for (let cursor = first.data.tasksNextCursor; cursor !== undefined; ) {
    const page = await getRun(api, runId, TASK_PAGE, cursor);
    tasks.push(...page.data.tasks);
    json.push(...(page.json as { tasks: unknown[] }).tasks);
    cursor = page.data.tasksNextCursor;
  }
  const { tasksNextCursor: _cursor, ...run } = first.json as Record<string, unknown>;
  return { run: first.data, json: { ...run, tasks: json }, tasks };
}

/**
 * The task `<step>#<partition>` of a run; a bare `<step>` names the step's task when it has only
 * one (a `single` step's `<step>#all`). @throws CliUsageError when no task (or several) match.
 */
export function findTask(runId: string, tasks: readonly TaskResource[], name: string): TaskResource {
  const exact = tasks.find((t) => t.taskId === name);
  if (exact) return exact;
  const ofStep = name.includes('#') ? [] : tasks.filter((t) => t.step === name);
  if (ofStep.length === 1) return ofStep[0]!;
  const known = tasks.slice(0, 10).map((t) => t.taskId).join(', ');
  if (ofStep.length > 1) throw new CliUsageError(`step ${name} of run ${runId} has ${ofStep.length} tasks: name one as <step>#<partition> (${ofStep.slice(0, 5).map((t) => t.taskId).join(', ')}, ...)`);
  throw new CliUsageError(`run ${runId} has no task ${name}${known ? ` (its tasks: ${known}${tasks.length > 10 ? ', ...' : ''})` : ' (no task has reported yet)'}`);
}

/** The API path of an attempt's log. */
export function logPath(runId: string, taskId: string, attempt: number): string {
  return `/runs/${segment(runId)}/tasks/${segment(taskId)}/attempts/${attempt}/log`;
}

/** `runs why`: the run's state and, by state, its failed tasks with their logs' tails or what its steps wait for. */
export async function explainRun(api: PlatformApiClient, runId: string, options: { tasks: number; lines: number }): Promise<RunExplanation> {
  const { run, tasks } = await getRunWithTasks(api, runId);
  const failed = tasks.filter((t) => t.status === 'FAILED');
  const why: RunExplanation = {
    runId: run.runId,
    pipeline: run.pipeline,
    status: run.status,
    ...(run.reason ? { reason: run.reason } : {}),
    ...(run.durationMs !== undefined ? { durationMs: run.durationMs } : {}),
    failedTasks: [],
    failedTaskCount: run.status === 'FAILED' ? failed.length : 0,
    waiting: [],
  };
  if (run.status === 'FAILED') {
    // The task the run's reason names first, then the others as listed.
    const named = failed.filter((t) => run.reason?.includes(t.taskId));
    const ordered = [...named, ...failed.filter((t) => !named.includes(t))].slice(0, options.tasks);
    why.failedTasks = await Promise.all(ordered.map((t) => failedTask(api, runId, t, options.lines)));
  } else if (run.status === 'PENDING' || run.status === 'RUNNING') {
    const pipeline = await pipelineSteps(api, run.pipeline);
    const steps = stepsOf(run, pipeline).filter((s) => s.status !== 'SUCCEEDED' && s.status !== 'FAILED' && s.status !== 'SKIPPED');
    why.waiting = steps.map((s) => ({ step: s.step, status: s.status, done: s.done, total: s.total, waitsFor: waitsFor(s, pipeline?.get(s.step)) }));
  }
  return why;
}

async function failedTask(api: PlatformApiClient, runId: string, task: TaskResource, lines: number): Promise<RunExplanation['failedTasks'][number]> {
  const { exitCode, reason } = failureOf(task);
  const attempt = task.attempts.at(-1);
  const base = { taskId: task.taskId, attempts: task.attempts.length, maxAttempts: task.maxAttempts, ...(exitCode !== undefined ? { exitCode } : {}), reason };
  if (!attempt?.logUrl) return { ...base, logUnavailable: 'the attempt never started' };
  try {
    return { ...base, logUrl: attempt.logUrl, logTail: tail(await api.text(logPath(runId, task.taskId, attempt.attempt)), lines) };
  } catch (e) {
    // A log that is gone (expired, or never written) is part of the explanation, not a failure of it.
    if (e instanceof ApiProblemError && e.status === 404) return { ...base, logUrl: attempt.logUrl, logUnavailable: e.problem.detail };
    throw e;
  }
}

/**
 * The pipeline's steps in its order, with their dependencies and what they do, from its definition
 * (`GET /pipelines/:name`); undefined when the pipeline is no longer defined.
 */
export async function pipelineSteps(api: PlatformApiClient, pipeline: string): Promise<PipelineSteps | undefined> {
  try {
    const { data } = await api.get(`/pipelines/${segment(pipeline)}`, pipelineSchema, 'pipeline');
    return new Map(data.steps.map((s) => [s.name, { dependsOn: s.dependsOn, ...kindOf(s) }]));
  } catch (e) {
    if (e instanceof ApiProblemError && e.status === 404) return undefined;
    throw e;
  }
}

/** What a pipeline's step does, as far as its description says. */
function kindOf(step: Record<string, unknown>): Pick<PipelineStepInfo, 'kind'> {
  if (step['approval'] !== undefined) return { kind: 'approval' };
  if (step['wait'] !== undefined) return { kind: 'wait' };
  if (step['analytic'] !== undefined || step['command'] !== undefined) return { kind: 'job' };
  return {};
}
