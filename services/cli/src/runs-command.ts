import { runActionAcceptedSchema, runsPageSchema, runStatusSchema } from '@nightshift/api-contract';
import { intFlag, numberFlag, optional, type FlagValues } from './args.js';
import { choiceList, type Command } from './command.js';
import { CliUsageError } from './errors.js';
import { PAGING, pages, printListing } from './listing.js';
import { PLATFORM_FLAGS_USAGE, queryString, runPlatformSubcommand, segment, type PlatformContext, type PlatformSubcommand } from './platform-options.js';
import { explainRun, findTask, getRunWithTasks, logPath, pipelineSteps } from './run-reads.js';
import { describeRun, explanationLines, runTable } from './run-view.js';
import { watchRun } from './run-watch.js';

const USAGE = `nightshift runs list [--status S1,S2] [--pipeline P] [--date D | --from D --to D] [--dataset ID]
                     [--correlation-id C] [--tenant T] [--limit N] [--cursor C] [--all]
nightshift runs show <run-id>
nightshift runs watch <run-id> [--interval 2]
nightshift runs why <run-id> [--tasks 5] [--lines 20]
nightshift runs logs <run-id> <task> [--attempt N]
nightshift runs cancel <run-id> [--reason TEXT]
nightshift runs retry <run-id> [--reason TEXT]
nightshift runs approve|reject <run-id> <step> [--comment TEXT]

  list    runs, newest first, filtered as GET /runs filters (statuses ${runStatusSchema.options.join(', ')});
          one page of --limit (default 50), --all follows every page
  show    status, reason, each step's progress and what it waits for, failed tasks and why
  watch   polls until the run ends: a progress bar per step on a terminal, a line per change
          otherwise; exits 0 when it SUCCEEDED, 1 when it FAILED
  why     FAILED: the reason, the failed tasks with exit code and the tail of their last
          attempt's log; PENDING/RUNNING: what each unfinished step waits for
  logs    what an attempt of a task (<step>#<partition>, or <step> when it has one task) wrote;
          the last attempt unless --attempt
  cancel  ask the planner to stop the run (202: it will be FAILED with the reason)
  retry   run a FAILED run's failed tasks again as its next attempt
  approve answer a run's WAITING approval step: the run goes on
  reject  answer it no: the step fails, and so does the run

${PLATFORM_FLAGS_USAGE}

Exit codes: 0 done; 2 bad input (unknown run or task, a run in the wrong state, a refused token);
1 other failures (the platform unreachable, a watched run FAILED).`;

/** Each subcommand: its own flags, its operands, and what it does. */
const SUBCOMMANDS: Record<string, PlatformSubcommand> = {
  list: {
    flags: {
      status: { type: 'string' }, pipeline: { type: 'string' }, date: { type: 'string' }, from: { type: 'string' }, to: { type: 'string' },
      dataset: { type: 'string' }, 'correlation-id': { type: 'string' }, tenant: { type: 'string' }, ...PAGING,
    },
    operands: { min: 0, max: 0, names: '' },
    run: listRuns,
  },
  show: { flags: {}, operands: { min: 1, max: 1, names: '<run-id>' }, run: showRun },
  watch: { flags: { interval: { type: 'string' } }, operands: { min: 1, max: 1, names: '<run-id>' }, run: watch },
  why: { flags: { tasks: { type: 'string' }, lines: { type: 'string' } }, operands: { min: 1, max: 1, names: '<run-id>' }, run: why },
  logs: { flags: { attempt: { type: 'string' } }, operands: { min: 2, max: 2, names: '<run-id> <task>' }, run: logs },
  cancel: { flags: { reason: { type: 'string' } }, operands: { min: 1, max: 1, names: '<run-id>' }, run: (ctx, [id], v) => runAction(ctx, 'cancel', id!, v) },
  retry: { flags: { reason: { type: 'string' } }, operands: { min: 1, max: 1, names: '<run-id>' }, run: (ctx, [id], v) => runAction(ctx, 'retry', id!, v) },
  approve: { flags: { comment: { type: 'string' } }, operands: { min: 2, max: 2, names: '<run-id> <step>' }, run: (ctx, [id, step], v) => answerApproval(ctx, 'approve', id!, step!, v) },
  reject: { flags: { comment: { type: 'string' } }, operands: { min: 2, max: 2, names: '<run-id> <step>' }, run: (ctx, [id, step], v) => answerApproval(ctx, 'reject', id!, step!, v) },
};

/** `nightshift runs ...`: the platform's runs through its REST API. */
export const runsCommand: Command = {
  name: 'runs',
  summary: 'list, show, watch, explain, cancel, retry runs and answer their approvals on the platform; print task logs',
  usage: USAGE,
  run: runPlatformSubcommand('runs', SUBCOMMANDS),
};

async function listRuns(ctx: PlatformContext, _args: string[], flags: FlagValues): Promise<void> {
  const status = choiceList(flags, 'status', runStatusSchema.options);
  const date = optional(flags, 'date');
  if (date !== undefined && (optional(flags, 'from') !== undefined || optional(flags, 'to') !== undefined)) throw new CliUsageError('give --date or a range (--from/--to), not both');
  const filters = {
    status: status?.join(','),
    pipeline: optional(flags, 'pipeline'),
    businessDate: date,
    businessDateFrom: optional(flags, 'from'),
    businessDateTo: optional(flags, 'to'),
    datasetId: optional(flags, 'dataset'),
    correlationId: optional(flags, 'correlation-id'),
    tenant: optional(flags, 'tenant'),
    limit: intFlag(flags, 'limit', 1),
  };
  const listing = await pages(ctx, (cursor) => `/runs${queryString({ ...filters, cursor })}`, runsPageSchema, 'page of runs', flags);
  printListing(ctx, listing, runTable(listing.items), 'no runs match');
}

async function showRun(ctx: PlatformContext, [runId]: string[]): Promise<void> {
  const { run, json, tasks } = await getRunWithTasks(ctx.api, runId!);
  if (ctx.json) {
    ctx.print(JSON.stringify(json, null, 2));
    return;
  }
  for (const line of describeRun(run, tasks.filter((t) => t.status === 'FAILED'), await pipelineSteps(ctx.api, run.pipeline))) ctx.print(line);
}

async function watch(ctx: PlatformContext, [runId]: string[], values: FlagValues): Promise<void> {
  const seconds = numberFlag(values, 'interval') ?? 2;
  if (seconds <= 0) throw new CliUsageError(`--interval must be a positive number of seconds, got ${seconds}`);
  await watchRun(ctx, runId!, seconds * 1_000);
}

async function why(ctx: PlatformContext, [runId]: string[], flags: FlagValues): Promise<void> {
  const explanation = await explainRun(ctx.api, runId!, { tasks: intFlag(flags, 'tasks', 1) ?? 5, lines: intFlag(flags, 'lines', 0) ?? 20 });
  if (ctx.json) ctx.print(JSON.stringify(explanation, null, 2));
  else for (const line of explanationLines(explanation)) ctx.print(line);
}

async function logs(ctx: PlatformContext, [runId, name]: string[], values: FlagValues): Promise<void> {
  let attempt = intFlag(values, 'attempt', 1);
  let taskId = name!;
  if (attempt === undefined || !taskId.includes('#')) {
    const { tasks } = await getRunWithTasks(ctx.api, runId!);
    const task = findTask(runId!, tasks, taskId);
    taskId = task.taskId;
    attempt ??= task.attempts.length;
    if (attempt === 0) throw new CliUsageError(`task ${taskId} of run ${runId} has made no attempt yet`);
  }
  const text = await ctx.api.text(logPath(runId!, taskId, attempt));
  ctx.io.stdout.write(text === '' || text.endsWith('\n') ? text : `${text}\n`);
}

async function runAction(ctx: PlatformContext, action: 'cancel' | 'retry', runId: string, values: FlagValues): Promise<void> {
  const reason = optional(values, 'reason');
  const { data, json } = await ctx.api.post(`/runs/${segment(runId)}/${action}`, reason !== undefined ? { reason } : {}, runActionAcceptedSchema, `${action} acceptance`);
  if (ctx.json) {
    ctx.print(JSON.stringify(json, null, 2));
    return;
  }
  const effect = action === 'cancel' ? 'the planner will stop it (FAILED with the reason)' : 'its failed tasks will run again as its next attempt';
  ctx.print(`${action} of run ${data.runId} accepted: ${effect}`);
  ctx.print(`follow it: nightshift runs watch ${data.runId}   (${ctx.api.apiUrl}${data.location})`);
}

async function answerApproval(ctx: PlatformContext, action: 'approve' | 'reject', runId: string, step: string, values: FlagValues): Promise<void> {
  const comment = optional(values, 'comment');
  const path = `/runs/${segment(runId)}/steps/${segment(step)}/${action}`;
  const { data, json } = await ctx.api.post(path, comment !== undefined ? { comment } : {}, runActionAcceptedSchema, `${action} acceptance`);
  if (ctx.json) {
    ctx.print(JSON.stringify(json, null, 2));
    return;
  }
  ctx.print(`${action === 'approve' ? 'approval' : 'rejection'} of step ${step} of run ${data.runId} accepted: ${action === 'approve' ? 'the run goes on' : 'the step fails, and so does the run'}`);
  ctx.print(`follow it: nightshift runs watch ${data.runId}   (${ctx.api.apiUrl}${data.location})`);
}
