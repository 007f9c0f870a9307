import type { RunDetail, RunResource, TaskResource } from '@nightshift/api-contract';
import { clip, formatDuration, formatTable, formatTime, plural, progressBar } from './format.js';

/*
 * How runs read for people: the `runs` commands' human output, as pure functions of what the REST
 * API answered (the commands fetch, these render).
 */

type Attempt = TaskResource['attempts'][number];
type Step = RunDetail['steps'][number];

/** `GET /runs` as a table. */
export function runTable(runs: readonly RunResource[]): string[] {
  return formatTable(
    ['RUN', 'PIPELINE', 'DATE', 'STATUS', 'TASKS', 'CREATED', 'DURATION', 'REASON'],
    runs.map((r) => [r.runId, r.pipeline, r.businessDate, r.status, String(r.tasksTotal), formatTime(r.createdAt), formatDuration(r.durationMs), clip(r.reason ?? '', 60)]),
  );
}

/** The last attempt of a task, if it made one. */
export function lastAttempt(task: TaskResource): Attempt | undefined {
  return task.attempts.at(-1);
}

/** Why a task (its last attempt) failed, in the platform's words. */
export function failureOf(task: TaskResource): { exitCode?: number; reason: string } {
  const attempt = lastAttempt(task);
  const exitCode = attempt?.exitCode ?? task.exitCode;
  const reason = attempt?.reason ?? attempt?.statusReason ?? task.statusReason ?? 'no reason recorded';
  return { ...(exitCode !== undefined ? { exitCode } : {}), reason };
}

/** `exit 3: reason` or the reason alone. */
function failureText(task: TaskResource): string {
  const { exitCode, reason } = failureOf(task);
  return exitCode !== undefined ? `exit code ${exitCode}: ${reason}` : reason;
}

/** What the CLI knows of a pipeline's step from `GET /pipelines/:name`: its dependencies and what it does. */
export interface PipelineStepInfo {
  dependsOn: readonly string[];
  /** `approval` or `wait` when the pipeline says so; `job` for an analytic or a command; absent when the pipeline does not say. */
  kind?: 'approval' | 'wait' | 'job';
}

/** The pipeline's steps in its order, by name (a Map keeps the order). */
export type PipelineSteps = ReadonlyMap<string, PipelineStepInfo>;

/** A step of a run as the views show it. */
export interface StepView {
  step: string;
  status: string;
  done: number;
  total: number;
  failed: number;
  job?: Step['job'];
  waitUntil?: string;
  reason?: string;
  decision?: Step['decision'];
}

/**
 * The run's steps, each with its progress (steps the planner has not recorded yet have progress
 * only): in the pipeline's order when it is given, else the API's (the recorded ones first).
 */
export function stepsOf(run: RunDetail, pipeline?: PipelineSteps): StepView[] {
  const recorded = new Map(run.steps.map((s) => [s.step, s]));
  const listed = [...run.steps.map((s) => s.step), ...Object.keys(run.progress.steps).filter((s) => !recorded.has(s))];
  const names = pipeline ? [...[...pipeline.keys()].filter((s) => listed.includes(s)), ...listed.filter((s) => !pipeline.has(s))] : listed;
  return names.map((step) => {
    const p = run.progress.steps[step];
    const s = recorded.get(step);
    const job = s?.job;
    return {
      step,
      status: p?.status ?? s?.status ?? 'PENDING',
      done: p?.done ?? s?.succeeded ?? 0,
      total: p?.total ?? s?.size ?? 0,
      failed: p?.failed ?? s?.failed ?? 0,
      ...(job ? { job } : {}),
      ...(s?.waitUntil ? { waitUntil: s.waitUntil } : {}),
      ...(s?.reason ? { reason: s.reason } : {}),
      ...(s?.decision ? { decision: s.decision } : {}),
    };
  });
}

/** An approval's answer: `APPROVED by ops@example.com: numbers checked`. */
export function decisionText(decision: NonNullable<Step['decision']>): string {
  return `${decision.decision} by ${decision.by}${decision.comment ? `: ${decision.comment}` : ''}`;
}

/** What `runs show` notes of a step: what its job waits for, why it was skipped or failed, when its wait ends, its approval's answer. */
export function stepNote(step: StepView, kind?: PipelineStepInfo['kind']): string {
  if (step.job?.waitingReason) return step.job.waitingReason;
  if (step.decision) return decisionText(step.decision);
  if (step.status === 'WAITING') {
    const until = formatTime(step.waitUntil);
    if (kind === 'approval') return `approval: times out ${until}`;
    return kind === 'wait' ? `until ${until}` : `until ${until} (a wait, or an approval's timeout)`;
  }
  if ((step.status === 'SKIPPED' || step.status === 'FAILED') && step.reason) {
    // The engine's skip reasons already say "skipped: ...".
    const prefix = step.status === 'SKIPPED' ? 'skipped: ' : 'failed: ';
    return step.reason.startsWith(prefix) ? step.reason : `${prefix}${step.reason}`;
  }
  return '';
}

/** What a step's job is doing now: `2 RUNNING, 1 RUNNABLE`. */
function jobSummary(job: Step['job']): string {
  const summary = Object.entries(job?.statusSummary ?? {}).filter(([, n]) => n > 0);
  return summary.length > 0 ? summary.map(([status, n]) => `${n} ${status}`).join(', ') : (job?.status ?? '');
}

/** `runs show`: the run, its steps with progress and what they wait for, and its failed tasks. */
export function describeRun(run: RunDetail, failedTasks: readonly TaskResource[], pipeline?: PipelineSteps): string[] {
  const lines = [
    `run       ${run.runId}`,
    `pipeline  ${run.pipeline}   business date ${run.businessDate}   dataset ${run.datasetId}${run.tenant ? `   tenant ${run.tenant}` : ''}`,
    `status    ${run.status}${run.attempt && run.attempt > 1 ? ` (attempt ${run.attempt})` : ''}   ${run.progress.done}/${run.progress.total} tasks done, ${run.progress.failed} failed`,
    `times     created ${formatTime(run.createdAt)}   started ${formatTime(run.startedAt)}   finished ${formatTime(run.finishedAt)}${run.durationMs !== undefined ? `   (${formatDuration(run.durationMs)})` : ''}`,
  ];
  if (run.reason) lines.push(`reason    ${run.reason}`);
  const steps = stepsOf(run, pipeline);
  if (steps.length > 0) {
    lines.push('', ...formatTable(
      ['STEP', 'STATUS', 'DONE', 'FAILED', 'JOB', 'NOTE'],
      steps.map((s) => [s.step, s.status, `${s.done}/${s.total}`, String(s.failed), jobSummary(s.job), clip(stepNote(s, pipeline?.get(s.step)?.kind), 100)]),
    ));
  }
  if (failedTasks.length > 0) {
    lines.push('', ...formatTable(
      ['FAILED TASK', 'ATTEMPTS', 'LAST ATTEMPT'],
      failedTasks.map((t) => [t.taskId, `${t.attempts.length}/${t.maxAttempts}`, clip(failureText(t), 120)]),
    ));
  }
  return lines;
}

/** What `runs why` found: the machine form (`--json`) and the input of {@link explanationLines}. */
export interface RunExplanation {
  runId: string;
  pipeline: string;
  status: RunResource['status'];
  reason?: string;
  durationMs?: number;
  /** The failed tasks (those of a FAILED run), at most the first few, with their last attempt. */
  failedTasks: Array<{ taskId: string; attempts: number; maxAttempts: number; exitCode?: number; reason: string; logUrl?: string; logTail?: string[]; logUnavailable?: string }>;
  /** How many tasks failed in all. */
  failedTaskCount: number;
  /** The unfinished steps (of a PENDING or RUNNING run) and what each waits for. */
  waiting: Array<{ step: string; status: string; done: number; total: number; waitsFor: string }>;
}

/** Why an unfinished step is not done yet, from its status, its job now, and what the pipeline says of it (its dependencies, whether it is an approval or a wait). */
export function waitsFor(step: StepView, info: PipelineStepInfo | undefined): string {
  switch (step.status) {
    case 'PENDING':
      return info && info.dependsOn.length > 0 ? `not submitted: waits for step(s) ${info.dependsOn.join(', ')} to succeed` : 'not submitted yet: the planner has not got to it';
    case 'SUBMITTING':
      return 'being submitted to the compute environment';
    case 'WAITING': {
      const until = step.waitUntil ?? 'its time';
      if (info?.kind === 'approval') return `approval: answer with nightshift runs approve|reject <run-id> ${step.step} before ${until}`;
      if (info?.kind === 'wait') return `waiting until ${until}`;
      // The pipeline does not say which (it is no longer defined, or the API does not tell).
      return `waiting until ${until}: a wait, or an approval to answer with nightshift runs approve|reject <run-id> ${step.step} (it times out then)`;
    }
    case 'SUBMITTED': {
      const now = jobSummary(step.job);
      if (step.job?.waitingReason) return `${now ? `${now}; ` : ''}waiting: ${step.job.waitingReason}`;
      return now ? `running: ${now}` : 'submitted; the compute environment has not reported on it yet';
    }
    default:
      return step.status;
  }
}

/** `runs why` for people. */
export function explanationLines(why: RunExplanation): string[] {
  switch (why.status) {
    case 'FAILED': {
      const lines = [`run ${why.runId} (${why.pipeline}) FAILED${why.reason ? `: ${why.reason}` : ''}`];
      if (why.failedTaskCount === 0) {
        lines.push('no task failed: the run failed before or around its tasks (see the reason).');
        return lines;
      }
      lines.push(`${plural(why.failedTaskCount, 'task')} failed${why.failedTaskCount > why.failedTasks.length ? ` (the first ${why.failedTasks.length} follow)` : ''}:`);
      for (const t of why.failedTasks) {
        lines.push(`  ${t.taskId}: attempt ${t.attempts} of ${t.maxAttempts}, ${t.exitCode !== undefined ? `exit code ${t.exitCode}, ` : ''}${t.reason}`);
        if (t.logTail) {
          lines.push(`    last ${plural(t.logTail.length, 'line')} of its log (nightshift runs logs ${why.runId} ${t.taskId} --attempt ${t.attempts}):`);
          for (const l of t.logTail) lines.push(`    | ${l}`);
        } else if (t.logUnavailable) lines.push(`    (no log: ${t.logUnavailable})`);
      }
      return lines;
    }
    case 'SUCCEEDED':
      return [`run ${why.runId} (${why.pipeline}) SUCCEEDED${why.durationMs !== undefined ? ` in ${formatDuration(why.durationMs)}` : ''}: nothing to explain`];
    case 'PENDING':
    case 'RUNNING': {
      const lines = [`run ${why.runId} (${why.pipeline}) is ${why.status}`];
      if (why.waiting.length === 0) lines.push('  no step planned yet: the planner has not got to the run');
      for (const w of why.waiting) lines.push(`  ${w.step} (${w.status}, ${w.done}/${w.total} done): ${w.waitsFor}`);
      return lines;
    }
  }
}

/** The last `n` lines of a log (its trailing newline ignored). */
export function tail(text: string, n: number): string[] {
  const lines = text.replace(/\n$/, '').split('\n');
  return n <= 0 ? [] : lines.slice(-n);
}

/** One line per change of a watched run, for a log file or a pipe. */
export function watchLine(run: RunDetail, at: Date): string {
  const steps = stepsOf(run).map((s) => `${s.step} ${s.status} ${s.done}/${s.total}${s.failed > 0 ? ` (${s.failed} failed)` : ''}${s.job?.waitingReason ? ` waiting: ${clip(s.job.waitingReason, 80)}` : ''}`);
  return `${at.toISOString().slice(11, 19)}Z ${run.status} ${run.progress.done}/${run.progress.total} done, ${run.progress.failed} failed${steps.length > 0 ? ` | ${steps.join(' | ')}` : ''}`;
}

/** What a watched run shows on a terminal: a header and a progress bar per step (redrawn in place). */
export function watchBlock(run: RunDetail, columns = 100): string[] {
  const steps = stepsOf(run);
  const width = Math.max(...steps.map((s) => s.step.length), 4);
  const lines = [`run ${run.runId} ${run.status}  ${run.progress.done}/${run.progress.total} done, ${run.progress.failed} failed`];
  for (const s of steps) {
    lines.push(clip(`  ${s.step.padEnd(width)} ${progressBar(s.done, s.total)} ${`${s.done}/${s.total}`.padStart(11)}  ${s.failed} failed  ${s.status}`, columns - 1));
    if (s.job?.waitingReason) lines.push(clip(`  ${''.padEnd(width)} waiting: ${s.job.waitingReason}`, columns - 1));
  }
  return lines;
}

/** Whether a run status is final. */
export function isTerminal(status: RunResource['status']): boolean {
  return status === 'SUCCEEDED' || status === 'FAILED';
}
