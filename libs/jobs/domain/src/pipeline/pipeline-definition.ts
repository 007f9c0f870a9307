import { datasetTableSchema, pipelineNameSchema } from '@nightshift/contracts';
import { z } from 'zod';
import { parseAnalyticOptions } from './analytic-options.js';
import { InvalidPipelineError, InvalidScheduleExpressionError, type PipelineIssue } from '../errors.js';
import { parseScheduleExpression } from '../schedule/schedule-expression.js';
import { isKnownTimeZone } from '../schedule/time-zone.js';

/** Pipeline and step names share the contracts' rule: they are parts of run ids, task ids and object keys. */
const name = pipelineNameSchema;

/** AWS Batch's largest array job: a `parameters` step may not fan out to more children than this. */
export const MAX_PARAMETER_SETS = 10_000;

/** One value of a sweep parameter. */
export type ParameterValue = number | boolean;
/** The parameter set one child of a `parameters` step runs, by parameter name. */
export type ParameterSet = Record<string, ParameterValue>;

/**
 * A sweep grid: every parameter's candidate values. The step runs the cartesian product, one
 * array child per combination, so the grid must be small enough for one array job.
 */
export const parameterGridSchema = z
  .record(
    z.string().regex(/^[A-Za-z][A-Za-z0-9_]{0,62}$/, 'parameter names must be identifiers'),
    z
      .array(z.union([z.number(), z.boolean()]))
      .min(1, 'every parameter needs at least one value')
      .refine((values) => new Set(values).size === values.length, 'values must be distinct'),
  )
  .refine((grid) => Object.keys(grid).length > 0, 'needs at least one parameter');
export type ParameterGrid = z.infer<typeof parameterGridSchema>;

/** AWS Batch's job queue (and compute environment) name rule: 1-128 letters, digits, "-" and "_", starting with a letter or digit. */
export const jobQueueNameSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/, 'must be 1-128 letters, digits, "-" or "_", starting with a letter or digit (AWS Batch job queue names)');

/** AWS Batch's EvaluateOnExit patterns: exact, or a prefix ending in `*`. */
const exitCodePattern = z.string().max(512).regex(/^[0-9]*\*?$/, 'must be digits, optionally ending in "*"').min(1);
const reasonPattern = z.string().max(512).regex(/^[A-Za-z0-9.:\s]*\*?$/, 'must be letters, digits, ".", ":" and white space, optionally ending in "*"').min(1);

/** One rule of a step's retry strategy (AWS Batch's EvaluateOnExit). */
export const evaluateOnExitSchema = z
  .object({
    onExitCode: exitCodePattern.optional(),
    onStatusReason: reasonPattern.optional(),
    onReason: reasonPattern.optional(),
    action: z.enum(['RETRY', 'EXIT', 'retry', 'exit']),
  })
  .strict()
  .refine((r) => r.onExitCode !== undefined || r.onStatusReason !== undefined || r.onReason !== undefined, 'needs onExitCode, onStatusReason or onReason');

/**
 * What every step that runs nightshift's worker exits on: exit code 2 means bad input or usage, and
 * retrying cannot help (services/worker), so the job fails at once instead of using its attempts.
 */
export const WORKER_EXIT_RULES = [{ onExitCode: '2', action: 'EXIT' }] as const;

/**
 * How a step waits for another (AWS Batch's dependency types): `ALL`, after every task of it
 * succeeded (the engine's own bookkeeping, so a step may wait for any number of steps); `N_TO_N`,
 * child i after child i of a step of the same size (AWS Batch's array dependency: the two steps run
 * side by side, each child as soon as its twin succeeded).
 */
export const DEPENDENCY_TYPES = ['ALL', 'N_TO_N'] as const;
export type DependencyType = (typeof DEPENDENCY_TYPES)[number];

/** AWS Batch takes at most 20 job dependencies per job: the bound on a step's N_TO_N dependencies. */
export const MAX_N_TO_N_DEPENDENCIES = 20;

const dependencySchema = z.union([
  z.string().min(1),
  z.object({ step: z.string().min(1), type: z.enum(DEPENDENCY_TYPES).default('ALL') }).strict(),
]);

/**
 * A Choice: the step runs only when a value in an earlier step's output satisfies one comparison
 * (Step Functions' Choice rules, one per step); otherwise it is SKIPPED, and so is every step that
 * depends on it. `path` is a dotted path in the output document (`headline.orders`, `rows.0.desk`;
 * a leading `$.` is allowed).
 */
export const stepConditionSchema = z
  .object({
    /** The step whose output is read: it must be one this step (transitively) depends on. */
    step: z.string().min(1),
    /** Which of its partitions' outputs (its only one when absent; required for a step of several). */
    partition: z.string().min(1).optional(),
    path: z.string().regex(/^(\$\.)?[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/, 'must be a dotted path such as headline.orders'),
    equals: z.union([z.string(), z.number(), z.boolean()]).optional(),
    notEquals: z.union([z.string(), z.number(), z.boolean()]).optional(),
    greaterThan: z.number().optional(),
    greaterThanOrEquals: z.number().optional(),
    lessThan: z.number().optional(),
    lessThanOrEquals: z.number().optional(),
    /** true: the value is present (not null); false: it is absent. */
    exists: z.boolean().optional(),
  })
  .strict()
  .refine((c) => CONDITION_OPERATORS.filter((op) => c[op] !== undefined).length === 1, {
    message: `needs exactly one of ${['equals', 'notEquals', 'greaterThan', 'greaterThanOrEquals', 'lessThan', 'lessThanOrEquals', 'exists'].join(', ')}`,
  });
export type StepCondition = z.infer<typeof stepConditionSchema>;
/** The comparison operators of a condition. */
export const CONDITION_OPERATORS = ['equals', 'notEquals', 'greaterThan', 'greaterThanOrEquals', 'lessThan', 'lessThanOrEquals', 'exists'] as const;

/** A Wait: the step holds the run until a number of seconds after it became ready, or until a time of day. */
export const waitSchema = z.union([
  z.object({ seconds: z.number().int().min(1).max(7 * 24 * 3600) }).strict(),
  z
    .object({
      /** `HH:MM` (24 h) wall-clock time: the first such time at or after the step became ready. */
      until: z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'must be HH:MM (24-hour)'),
      /** IANA zone of `until`; UTC when absent. */
      timezone: z
        .string()
        .min(1)
        .refine((zone) => isKnownTimeZone(zone), { message: 'is not a known IANA time zone' })
        .default('UTC'),
    })
    .strict(),
]);
export type WaitDefinition = z.infer<typeof waitSchema>;

/**
 * An approval: the step holds the run until someone approves (the run goes on) or rejects it (the
 * run fails) through the API; with no answer within `timeoutSeconds`, the run fails with that reason.
 */
export const approvalSchema = z
  .object({
    timeoutSeconds: z.number().int().min(1).max(30 * 24 * 3600),
    /** What the approver is asked, for people. */
    description: z.string().max(1_000).optional(),
  })
  .strict();
export type ApprovalDefinition = z.infer<typeof approvalSchema>;

/** What a step does: one of nightshift's analytics, a program, a wait, or a human approval. */
export type StepKind = 'analytic' | 'command' | 'wait' | 'approval';

/** One step of a pipeline: a batch job definition plus how it fans out and what it waits for. */
export const stepDefinitionSchema = z
  .strictObject({
    name,
    /** The analytic nightshift's worker runs (`nightshift-worker run-task`); or give `command`. */
    analytic: z.string().min(1).optional(),
    /**
     * Settings of the step's analytic, checked against that analytic's own schema (`ANALYTIC_OPTIONS`:
     * `performance` takes `periods`); an analytic without options, and a step of another kind, takes none.
     */
    options: z.record(z.string(), z.unknown()).optional(),
    /**
     * A program to run instead of the worker (argv, no shell), with the same AWS_BATCH_* and
     * NIGHTSHIFT_MANIFEST_KEY environment; it writes no output the report reads. `["true"]` is the
     * no-op job that measures the control plane alone.
     */
    command: z.array(z.string().min(1)).min(1).optional(),
    /**
     * A command run bare: the program alone, without the worker around it (no staged inputs, no
     * entry file, no output document), as the control-plane benchmark's no-op `true` is. A command
     * step otherwise runs under the worker (`run-command`), which stages its manifest entry and inputs
     * and publishes what it writes (see services/worker).
     */
    bare: z.boolean().optional(),
    /** The container image a `command` step runs in AWS Batch (its job definition's); the worker's image when absent. Unused locally. */
    image: z.string().min(1).max(255).optional(),
    /** Hold the run for a time (a Wait state); no job runs. */
    wait: waitSchema.optional(),
    /** Hold the run for a person's decision through the API (approve or reject), with a timeout; no job runs. */
    approval: approvalSchema.optional(),
    /** Run only when this holds on an earlier step's output (a Choice); SKIPPED otherwise. */
    when: stepConditionSchema.optional(),
    /**
     * A step that runs when this one fails (Step Functions' Catch: cleanup, notification). The run
     * still fails, with this step's reason, once the handler has finished. A handler runs only on
     * failure: it is SKIPPED when nothing it handles failed, and takes no dependsOn or when of its own.
     */
    onFailure: z.string().min(1).optional(),
    /** Extra environment for the step's jobs. */
    environment: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name'), z.string()).default({}),
    /**
     * `partitions`: one array child per dataset partition (desk); `single`: one task over all
     * partitions; `parameters`: one array child per parameter set of `parameters` (a sweep);
     * `count`: `count` identical children (partitions `n00000`, `n00001`, …).
     */
    fanOut: z.enum(['partitions', 'single', 'parameters', 'count']).default('single'),
    /** The sweep grid of a `parameters` step (required for it, refused for the other kinds). */
    parameters: parameterGridSchema.optional(),
    /** Children of a `count` step, 1..10,000 (AWS Batch's array limit). */
    count: z.number().int().min(1).max(10_000).optional(),
    /**
     * Steps this one waits for: a name (`ALL`: after that step succeeded) or `{ step, type }` with
     * type `ALL` or `N_TO_N`. Parsed into `dependsOn` (every name) and `nToN` (the N_TO_N ones).
     */
    dependsOn: z.array(dependencySchema).default([]),
    /** The parsed form's N_TO_N names (`{ step, type: 'N_TO_N' }` in dependsOn is the written form), so a parsed step parses again. */
    nToN: z.array(z.string().min(1)).optional(),
    vcpus: z.number().positive().max(256).default(1),
    memoryMiB: z.number().int().positive().max(1_048_576).default(512),
    /** Total attempts per task, as AWS Batch's retryStrategy.attempts (1..10). */
    attempts: z.number().int().min(1).max(10).default(1),
    /** Rules that decide, per failed attempt, RETRY or EXIT (AWS Batch's evaluateOnExit; the worker's own come first). */
    evaluateOnExit: z.array(evaluateOnExitSchema).max(4, 'at most 4 rules: AWS allows 5 and the worker\'s exit-code-2 rule takes one').default([]),
    /** Per-attempt timeout; AWS Batch's minimum is 60 s, the local environment accepts less for tests. */
    timeoutSeconds: z.number().int().positive().max(14 * 24 * 3600).default(3600),
    /** Job queue (AWS Batch's name rule); `default` is the planner's configured queue. */
    queue: jobQueueNameSchema.default('default'),
    /** Fair-share identifier for queues with a fair-share policy; default the run's tenant, else the pipeline's name. */
    shareIdentifier: z.string().regex(/^[A-Za-z0-9]{1,255}$/, 'must be 1-255 letters or digits (AWS Batch share identifiers)').optional(),
    /** Priority among the jobs of one share (0..9999, higher first). */
    schedulingPriority: z.number().int().min(0).max(9999).optional(),
  })
  .refine((s) => [s.analytic, s.command, s.wait, s.approval].filter((x) => x !== undefined).length === 1, {
    message: 'give exactly one of analytic, command, wait or approval',
    path: ['analytic'],
  })
  .transform(({ dependsOn, nToN = [], options, ...step }, ctx) => {
    const deps = dependsOn.map((d) => (typeof d === 'string' ? { step: d, type: 'ALL' as const } : d));
    const nToNSteps = [...new Set([...nToN, ...deps.filter((d) => d.type === 'N_TO_N').map((d) => d.step)])];
    let parsedOptions: Record<string, unknown> | undefined;
    if (options !== undefined) {
      // Each problem names the step and its analytic: the path alone gives only the step's index.
      const where = `(step "${step.name}"${step.analytic === undefined ? '' : `, analytic "${step.analytic}"`})`;
      if (step.analytic === undefined) {
        ctx.addIssue({ code: 'custom', path: ['options'], message: `only an analytic step takes options ${where}` });
        return z.NEVER;
      }
      const parsed = parseAnalyticOptions(step.analytic, options);
      if (!parsed.ok) {
        for (const p of parsed.problems) ctx.addIssue({ code: 'custom', path: ['options', ...p.path], message: `${p.message} ${where}` });
        return z.NEVER;
      }
      parsedOptions = parsed.options;
    }
    return { ...step, ...(parsedOptions ? { options: parsedOptions } : {}), dependsOn: [...new Set(deps.map((d) => d.step))], nToN: nToNSteps };
  });
export type StepDefinition = z.infer<typeof stepDefinitionSchema>;

/** What a step does (exactly one of its analytic, command, wait and approval is set). */
export function stepKind(step: Pick<StepDefinition, 'analytic' | 'command' | 'wait' | 'approval'>): StepKind {
  if (step.analytic !== undefined) return 'analytic';
  if (step.command !== undefined) return 'command';
  if (step.wait !== undefined) return 'wait';
  return 'approval';
}

/** A step whose every task writes an output document (at `outputKey`): analytics, and commands run under the worker. */
export function writesOutput(step: Pick<StepDefinition, 'analytic' | 'command' | 'bare'>): boolean {
  return step.analytic !== undefined || (step.command !== undefined && step.bare !== true);
}

/** AWS Batch's longest job definition name. */
export const MAX_JOB_DEFINITION_NAME_LENGTH = 128;

/**
 * The AWS Batch job definition a `command` step's jobs are submitted to: `nightshift-<pipeline>-<step>`,
 * cut to Batch's 128 characters. The one name both sides use: the CDK app creates a definition of
 * that name per command step of the deployed pipelines (in the step's `image`), the planner submits
 * the step's jobs to it. Not per deployment: two deployments in one account share these names.
 */
export function commandJobDefinitionName(pipeline: string, step: string): string {
  return `nightshift-${pipeline}-${step}`.slice(0, MAX_JOB_DEFINITION_NAME_LENGTH);
}

/** A step that submits jobs to the compute environment (an analytic or a command), as opposed to a wait or an approval. */
export function runsJobs(step: Pick<StepDefinition, 'analytic' | 'command' | 'wait' | 'approval'>): boolean {
  const kind = stepKind(step);
  return kind === 'analytic' || kind === 'command';
}

/** What a schedule does about fire times missed while nothing was running to fire them. */
export const CATCH_UP_POLICIES = ['none', 'latest', 'all'] as const;
export type CatchUpPolicy = (typeof CATCH_UP_POLICIES)[number];

/**
 * A schedule that starts runs of the pipeline: an EventBridge Scheduler expression in a time zone.
 * Each fire time asks for one run (idempotent by schedule and fire time). The run covers the
 * business date the fire's local date gives: the previous business day of the pipeline's calendar
 * (`businessDate: previous`, the nightly default) or that date itself (`same`).
 */
export const scheduleDefinitionSchema = z
  .object({
    /** Unique in the pipeline; with the pipeline's name, the schedule's name in EventBridge Scheduler. */
    name,
    /** `cron(...)` (AWS's six fields), `rate(...)` or `at(...)`. */
    expression: z.string().min(1),
    /** IANA time zone of the expression's wall-clock fields (Scheduler's ScheduleExpressionTimezone). */
    timezone: z.string().min(1).default('UTC'),
    /** Scheduler's flexible time window: the run may start up to this many minutes after the fire time. */
    flexibleTimeWindowMinutes: z.number().int().min(1).max(1440).optional(),
    /** Fire only on business days of the pipeline's calendar: a fire on another day is skipped, with the reason recorded. */
    businessDaysOnly: z.boolean().default(false),
    /** The business date a fire's run covers: the business day before the fire's local date, or that date. */
    businessDate: z.enum(['previous', 'same']).default('previous'),
    /**
     * Fire times missed while the platform was down (embedded scheduler): `none` drops them,
     * `latest` runs the most recent one, `all` runs each; only those within `windowMinutes` of now.
     */
    catchUp: z
      .object({ policy: z.enum(CATCH_UP_POLICIES).default('latest'), windowMinutes: z.number().int().min(1).max(31 * 1440).default(1440) })
      .strict()
      .default({ policy: 'latest', windowMinutes: 1440 }),
    /** A disabled schedule does not fire (Scheduler's state DISABLED). */
    enabled: z.boolean().default(true),
  })
  .strict();
export type ScheduleDefinition = z.infer<typeof scheduleDefinitionSchema>;

/** The calendars a pipeline's business days may follow (see `businessCalendar`). */
export const PIPELINE_CALENDARS = ['WEEKDAYS', 'XNYS', 'XLON'] as const;

/** A pipeline: a DAG of steps, triggered by datasets being registered. */
export const pipelineDefinitionSchema = z.strictObject({
  name,
  description: z.string(),
  /**
   * What starts a run: a registered dataset of one of `datasets` (by name), or a run of one of
   * `pipelines` succeeding (chaining: the second stage runs over the same dataset version, and its
   * steps' manifests list the first stage's outputs).
   */
  trigger: z
    .object({
      datasets: z.array(z.string().min(1)).default([]),
      pipelines: z.array(z.string().min(1)).default([]),
      /**
       * Whether a registered version of one of `datasets` starts a run by itself (default). false:
       * the datasets are the pipeline's input only, and its runs start from its schedules, backfills
       * and requests (a pipeline that runs at 06:00 over whatever landed, not at each landing).
       */
      onLanding: z.boolean().default(true),
    })
    .strict(),
  /** Whose business days the pipeline follows: its default business date, and schedules with businessDaysOnly. */
  calendar: z.enum(PIPELINE_CALENDARS).default('WEEKDAYS'),
  /** Schedules that start runs (EventBridge Scheduler's expressions and semantics). */
  schedules: z.array(scheduleDefinitionSchema).default([]),
  /** Tables every partition needs; a dataset lacking one is not runnable by this pipeline. The contracts' list, so a new table cannot be forgotten here. */
  requiredTables: z.array(datasetTableSchema).default([]),
  steps: z.array(stepDefinitionSchema).min(1),
  /** A run still open this long after it was created fails with a timeout reason (Step Functions' TimeoutSeconds). */
  timeoutSeconds: z.number().int().positive().max(30 * 24 * 3600).optional(),
  /**
   * ISO 4217 code of the money in the pipeline's data (notional, exposure, VaR): the landed files
   * carry prices, not a currency. Its reports name it beside every money figure; USD when absent.
   */
  currency: z.string().regex(/^[A-Z]{3}$/, 'must be an ISO 4217 currency code such as USD').optional(),
});
export type PipelineDefinition = z.infer<typeof pipelineDefinitionSchema>;
export type PipelineDefinitionInput = z.input<typeof pipelineDefinitionSchema>;

/**
 * Parses and checks a pipeline: schema, unique step names, known dependencies, no cycles.
 * Throws InvalidPipelineError listing every problem found.
 */
export function definePipeline(input: unknown): PipelineDefinition {
  const parsed = pipelineDefinitionSchema.safeParse(input);
  const pipelineName = typeof input === 'object' && input && 'name' in input ? String((input as { name: unknown }).name) : '<unnamed>';
  if (!parsed.success) {
    throw new InvalidPipelineError(
      pipelineName,
      parsed.error.issues.flatMap((i) => {
        const path = i.path.map((k) => (typeof k === 'number' ? k : String(k)));
        // One issue per unknown key, at the key: a typo (`dependson`) is then found where it is written.
        if (i.code === 'unrecognized_keys') return i.keys.map((key) => issue([...path, key], `unknown key "${key}"`));
        return [issue(path, i.message)];
      }),
    );
  }
  const pipeline = parsed.data;
  const problems: PipelineIssue[] = [];
  const names = new Set<string>();
  pipeline.steps.forEach((step, i) => {
    if (names.has(step.name)) problems.push(issue(['steps', i, 'name'], `duplicate step name "${step.name}"`));
    names.add(step.name);
  });
  pipeline.steps.forEach((step, i) => problems.push(...parameterProblems(step, ['steps', i])));
  pipeline.steps.forEach((step, i) => {
    for (const dep of step.dependsOn) {
      const at = ['steps', i, 'dependsOn', ...writtenDependencyIndex(input, i, dep)];
      if (!names.has(dep)) problems.push(issue(at, `unknown step "${dep}"`));
      if (dep === step.name) problems.push(issue(at, 'a step cannot depend on itself'));
    }
  });
  if (problems.length === 0) {
    const cycle = findCycle(pipeline.steps);
    if (cycle) problems.push(issue(['steps'], `dependency cycle ${cycle.join(' -> ')}`));
  }
  // Orchestration rules need a sound DAG; the trigger and the schedules do not, so they are always checked.
  if (problems.length === 0) problems.push(...orchestrationProblems(pipeline));
  problems.push(...triggerProblems(pipeline), ...scheduleProblems(pipeline));
  if (problems.length > 0) throw new InvalidPipelineError(pipeline.name, problems);
  return pipeline;
}

function issue(path: Array<string | number>, message: string): PipelineIssue {
  return { path, message };
}

/**
 * Where a dependency is written in step `i`'s dependsOn (a name or `{ step }`): the parsed list is
 * deduplicated, so its index may not be the written one. `[]` when it cannot be found (a parsed
 * definition's `nToN` only).
 */
function writtenDependencyIndex(input: unknown, i: number, dep: string): number[] {
  const steps = (input as { steps?: unknown } | null)?.steps;
  const written = Array.isArray(steps) ? (steps[i] as { dependsOn?: unknown } | undefined)?.dependsOn : undefined;
  if (!Array.isArray(written)) return [];
  const j = written.findIndex((d: unknown) => d === dep || (typeof d === 'object' && d !== null && (d as { step?: unknown }).step === dep));
  return j < 0 ? [] : [j];
}

/** What a run's trigger and chaining need: something to start it, never itself. */
function triggerProblems(pipeline: PipelineDefinition): PipelineIssue[] {
  const problems: PipelineIssue[] = [];
  if (pipeline.trigger.datasets.length === 0 && pipeline.trigger.pipelines.length === 0) problems.push(issue(['trigger'], 'needs datasets or pipelines (what starts a run)'));
  pipeline.trigger.pipelines.forEach((p, i) => {
    if (p === pipeline.name) problems.push(issue(['trigger', 'pipelines', i], 'a pipeline cannot trigger itself'));
  });
  if (pipeline.schedules.length > 0 && pipeline.trigger.datasets.length === 0) {
    problems.push(issue(['schedules'], 'a scheduled run runs over the latest dataset of trigger.datasets for its business date: give trigger.datasets'));
  }
  return problems;
}

/** Schedule names are unique, and every expression parses in its time zone. */
function scheduleProblems(pipeline: PipelineDefinition): PipelineIssue[] {
  const problems: PipelineIssue[] = [];
  const seen = new Set<string>();
  pipeline.schedules.forEach((schedule, i) => {
    if (seen.has(schedule.name)) problems.push(issue(['schedules', i, 'name'], `duplicate schedule name "${schedule.name}"`));
    seen.add(schedule.name);
    try {
      parseScheduleExpression(schedule.expression, { timezone: schedule.timezone });
    } catch (e) {
      if (!(e instanceof InvalidScheduleExpressionError)) throw e;
      problems.push(issue(['schedules', i, e.field === 'timezone' ? 'timezone' : 'expression'], e.message));
    }
  });
  return problems;
}

/** The rules of N_TO_N dependencies, conditions, failure handlers, waits and approvals. */
function orchestrationProblems(pipeline: PipelineDefinition): PipelineIssue[] {
  const problems: PipelineIssue[] = [];
  const byName = new Map(pipeline.steps.map((s) => [s.name, s]));
  const handlers = new Set(pipeline.steps.flatMap((s) => (s.onFailure ? [s.onFailure] : [])));
  pipeline.steps.forEach((step, i) => {
    const at = (...path: Array<string | number>) => ['steps', i, ...path];
    const jobs = runsJobs(step);
    if (!jobs && step.fanOut !== 'single') problems.push(issue(at('fanOut'), `a ${stepKind(step)} step is single`));
    if (step.image !== undefined && step.command === undefined) problems.push(issue(at('image'), 'only a command step runs in an image of its own'));
    if (step.bare !== undefined && step.command === undefined) problems.push(issue(at('bare'), 'only a command step runs bare'));
    if (!jobs) {
      // Fields of a job mean nothing to a wait or an approval: refused rather than silently ignored.
      for (const field of ['analytic', 'environment', 'parameters', 'count', 'evaluateOnExit', 'shareIdentifier', 'schedulingPriority'] as const) {
        const value = step[field];
        if (value !== undefined && !(Array.isArray(value) && value.length === 0) && !(typeof value === 'object' && !Array.isArray(value) && Object.keys(value).length === 0)) {
          problems.push(issue(at(field), `a ${stepKind(step)} step runs no job: it takes no ${field}`));
        }
      }
    }
    if (step.nToN.length > MAX_N_TO_N_DEPENDENCIES) problems.push(issue(at('dependsOn'), `${step.nToN.length} N_TO_N dependencies, at most ${MAX_N_TO_N_DEPENDENCIES} (AWS Batch's limit per job)`));
    for (const dep of step.nToN) {
      const other = byName.get(dep);
      if (!other || !step.dependsOn.includes(dep)) {
        problems.push(issue(at('nToN'), `"${dep}" is not one of the step's dependencies`));
        continue;
      }
      if (!jobs || !runsJobs(other)) problems.push(issue(at('dependsOn'), `N_TO_N on "${dep}" needs two steps that run jobs`));
      else if (!sameFanOut(step, other)) problems.push(issue(at('dependsOn'), `N_TO_N on "${dep}" needs the same fan-out (child i after child i), not ${step.fanOut} after ${other.fanOut}`));
    }
    if (step.when) {
      const source = byName.get(step.when.step);
      if (!source) problems.push(issue(at('when', 'step'), `unknown step "${step.when.step}"`));
      else if (!ancestorsOf(pipeline, step.name).has(source.name)) problems.push(issue(at('when', 'step'), `"${source.name}" must be a step this one depends on (directly or not), so its output exists`));
      else if (!writesOutput(source)) problems.push(issue(at('when', 'step'), `"${source.name}" writes no output (a ${source.bare === true ? 'bare command' : `${stepKind(source)} step`})`));
      else if (source.fanOut !== 'single' && step.when.partition === undefined) problems.push(issue(at('when', 'partition'), `"${source.name}" has several partitions: name the one whose output is read`));
    }
    if (step.onFailure !== undefined) {
      const handler = byName.get(step.onFailure);
      if (!handler) problems.push(issue(at('onFailure'), `unknown step "${step.onFailure}"`));
      else if (handler.name === step.name) problems.push(issue(at('onFailure'), 'a step cannot handle its own failure'));
    }
    if (handlers.has(step.name)) {
      if (step.dependsOn.length > 0) problems.push(issue(at('dependsOn'), `"${step.name}" is an onFailure step: it runs when a step it handles fails, and depends on nothing else`));
      if (step.when) problems.push(issue(at('when'), `"${step.name}" is an onFailure step and takes no condition`));
    }
    for (const dep of step.dependsOn) {
      if (handlers.has(dep)) problems.push(issue(at('dependsOn'), `"${dep}" is an onFailure step (it runs only on failure): nothing may depend on it`));
    }
  });
  return problems;
}

/** N_TO_N pairs children by index: both steps must fan out alike (and as wide). */
function sameFanOut(a: StepDefinition, b: StepDefinition): boolean {
  if (a.fanOut !== b.fanOut) return false;
  if (a.fanOut === 'count') return a.count === b.count;
  if (a.fanOut === 'parameters') return parameterSets(a).length === parameterSets(b).length;
  return true;
}

/** Every step `name` depends on, directly or through others. */
export function ancestorsOf(pipeline: Pick<PipelineDefinition, 'steps'>, name: string): Set<string> {
  const byName = new Map(pipeline.steps.map((s) => [s.name, s]));
  const seen = new Set<string>();
  const stack = [...(byName.get(name)?.dependsOn ?? [])];
  while (stack.length > 0) {
    const next = stack.pop()!;
    if (seen.has(next)) continue;
    seen.add(next);
    stack.push(...(byName.get(next)?.dependsOn ?? []));
  }
  return seen;
}

/** The steps that handle another's failure (named by some step's onFailure). */
export function failureHandlers(pipeline: Pick<PipelineDefinition, 'steps'>): Set<string> {
  return new Set(pipeline.steps.flatMap((s) => (s.onFailure ? [s.onFailure] : [])));
}

/** The grid must come with, and only with, the `parameters` fan-out, and fit in one array job. */
function parameterProblems(step: StepDefinition, stepPath: Array<string | number>): PipelineIssue[] {
  const countPath = [...stepPath, 'count'];
  const countProblems =
    step.fanOut === 'count' && step.count === undefined
      ? [issue(countPath, 'required for fanOut "count"')]
      : step.fanOut !== 'count' && step.count !== undefined
        ? [issue(countPath, 'only a step with fanOut "count" takes a count')]
        : [];
  return [...countProblems, ...gridProblems(step, [...stepPath, 'parameters'])];
}

function gridProblems(step: StepDefinition, path: Array<string | number>): PipelineIssue[] {
  if (step.fanOut !== 'parameters') return step.parameters ? [issue(path, 'only a step with fanOut "parameters" takes a parameter grid')] : [];
  if (!step.parameters) return [issue(path, 'required for fanOut "parameters"')];
  const combinations = Object.values(step.parameters).reduce((n, values) => n * values.length, 1);
  return combinations > MAX_PARAMETER_SETS ? [issue(path, `${combinations} parameter sets, at most ${MAX_PARAMETER_SETS} (one array job)`)] : [];
}

/**
 * The parameter sets of a `parameters` step in grid order: the cartesian product of the grid's
 * values, the first parameter varying slowest (as nested loops in the grid's key order). Child i
 * of the sweep runs element i. Empty for other fan-out kinds.
 */
export function parameterSets(step: StepDefinition): ParameterSet[] {
  if (step.fanOut !== 'parameters' || !step.parameters) return [];
  let sets: ParameterSet[] = [{}];
  for (const [param, values] of Object.entries(step.parameters)) {
    sets = sets.flatMap((set) => values.map((value) => ({ ...set, [param]: value })));
  }
  return sets;
}

function findCycle(steps: readonly StepDefinition[]): string[] | undefined {
  const deps = new Map(steps.map((s) => [s.name, s.dependsOn]));
  const state = new Map<string, 'visiting' | 'done'>();
  const stack: string[] = [];
  const visit = (n: string): string[] | undefined => {
    if (state.get(n) === 'done') return undefined;
    if (state.get(n) === 'visiting') return [...stack.slice(stack.indexOf(n)), n];
    state.set(n, 'visiting');
    stack.push(n);
    for (const d of deps.get(n) ?? []) {
      const c = visit(d);
      if (c) return c;
    }
    stack.pop();
    state.set(n, 'done');
    return undefined;
  };
  for (const s of steps) {
    const c = visit(s.name);
    if (c) return c;
  }
  return undefined;
}

/** Steps in an order where every step comes after its dependencies. */
export function topologicalSteps(pipeline: PipelineDefinition): StepDefinition[] {
  const done = new Set<string>();
  const out: StepDefinition[] = [];
  while (out.length < pipeline.steps.length) {
    const before = out.length;
    for (const s of pipeline.steps) {
      if (!done.has(s.name) && s.dependsOn.every((d) => done.has(d))) {
        done.add(s.name);
        out.push(s);
      }
    }
    // A definition that skipped definePipeline (e.g. parsed with the bare schema) may not be a DAG.
    if (out.length === before) throw new InvalidPipelineError(pipeline.name, [issue(['steps'], 'cannot be ordered (dependency cycle, unknown or duplicate step)')]);
  }
  return out;
}
