import { datasetTableSchema, pipelineNameSchema } from '@nightshift/contracts';
import { z } from 'zod';
import { InvalidPipelineError } from '../errors.js';

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

/** One step of a pipeline: a batch job definition plus how it fans out and what it waits for. */
export const stepDefinitionSchema = z
  .object({
    name,
    /** The analytic nightshift's worker runs (`nightshift-worker run-task`); or give `command`. */
    analytic: z.string().min(1).optional(),
    /**
     * A program to run instead of the worker (argv, no shell), with the same AWS_BATCH_* and
     * NIGHTSHIFT_MANIFEST_KEY environment; it writes no output the report reads. `["true"]` is the
     * no-op job that measures the control plane alone.
     */
    command: z.array(z.string().min(1)).min(1).optional(),
    /** Extra environment for the step's jobs. */
    environment: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name'), z.string()).default({}),
    /**
     * `partitions`: one array child per dataset partition (desk); `single`: one task over all
     * partitions; `parameters`: one array child per parameter set of `parameters` (a sweep);
     * `count`: `count` identical children (partitions `n00000`, `n00001`, …).
     */
    fanOut: z.enum(['partitions', 'single', 'parameters', 'count']),
    /** The sweep grid of a `parameters` step (required for it, refused for the other kinds). */
    parameters: parameterGridSchema.optional(),
    /** Children of a `count` step, 1..10,000 (AWS Batch's array limit). */
    count: z.number().int().min(1).max(10_000).optional(),
    dependsOn: z.array(z.string()).default([]),
    vcpus: z.number().positive().max(256),
    memoryMiB: z.number().int().positive().max(1_048_576),
    /** Total attempts per task, as AWS Batch's retryStrategy.attempts (1..10). */
    attempts: z.number().int().min(1).max(10),
    /** Rules that decide, per failed attempt, RETRY or EXIT (AWS Batch's evaluateOnExit; the worker's own come first). */
    evaluateOnExit: z.array(evaluateOnExitSchema).max(4, 'at most 4 rules: AWS allows 5 and the worker\'s exit-code-2 rule takes one').default([]),
    /** Per-attempt timeout; AWS Batch's minimum is 60 s, the local environment accepts less for tests. */
    timeoutSeconds: z.number().int().positive().max(14 * 24 * 3600),
    /** Job queue (AWS Batch's name rule); `default` is the planner's configured queue. */
    queue: jobQueueNameSchema.default('default'),
    /** Fair-share identifier for queues with a fair-share policy; default the run's tenant, else the pipeline's name. */
    shareIdentifier: z.string().regex(/^[A-Za-z0-9]{1,255}$/, 'must be 1-255 letters or digits (AWS Batch share identifiers)').optional(),
    /** Priority among the jobs of one share (0..9999, higher first). */
    schedulingPriority: z.number().int().min(0).max(9999).optional(),
  })
  .refine((s) => (s.analytic === undefined) !== (s.command === undefined), { message: 'give exactly one of analytic or command', path: ['analytic'] });
export type StepDefinition = z.infer<typeof stepDefinitionSchema>;

/** A pipeline: a DAG of steps, triggered by datasets being registered. */
export const pipelineDefinitionSchema = z.object({
  name,
  description: z.string(),
  /** Registered datasets (by name) that start a run of this pipeline. */
  trigger: z.object({ datasets: z.array(z.string().min(1)) }),
  /** Tables every partition needs; a dataset lacking one is not runnable by this pipeline. The contracts' list, so a new table cannot be forgotten here. */
  requiredTables: z.array(datasetTableSchema).default([]),
  steps: z.array(stepDefinitionSchema).min(1),
  /** A run still open this long after it was created fails with a timeout reason (Step Functions' TimeoutSeconds). */
  timeoutSeconds: z.number().int().positive().max(30 * 24 * 3600).optional(),
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
      parsed.error.issues.map((i) => `${i.path.join('.') || '<root>'}: ${i.message}`),
    );
  }
  const pipeline = parsed.data;
  const problems: string[] = [];
  const names = new Set<string>();
  for (const step of pipeline.steps) {
    if (names.has(step.name)) problems.push(`steps: duplicate step name "${step.name}"`);
    names.add(step.name);
  }
  pipeline.steps.forEach((step, i) => problems.push(...parameterProblems(step, `steps.${i}.parameters`)));
  for (const step of pipeline.steps) {
    for (const dep of step.dependsOn) {
      if (!names.has(dep)) problems.push(`steps.${step.name}.dependsOn: unknown step "${dep}"`);
      if (dep === step.name) problems.push(`steps.${step.name}.dependsOn: a step cannot depend on itself`);
    }
  }
  if (problems.length === 0) {
    const cycle = findCycle(pipeline.steps);
    if (cycle) problems.push(`steps: dependency cycle ${cycle.join(' -> ')}`);
  }
  if (problems.length > 0) throw new InvalidPipelineError(pipeline.name, problems);
  return pipeline;
}

/** The grid must come with, and only with, the `parameters` fan-out, and fit in one array job. */
function parameterProblems(step: StepDefinition, path: string): string[] {
  const countPath = path.replace(/parameters$/, 'count');
  const countProblems =
    step.fanOut === 'count' && step.count === undefined
      ? [`${countPath}: required for fanOut "count"`]
      : step.fanOut !== 'count' && step.count !== undefined
        ? [`${countPath}: only a step with fanOut "count" takes a count`]
        : [];
  return [...countProblems, ...gridProblems(step, path)];
}

function gridProblems(step: StepDefinition, path: string): string[] {
  if (step.fanOut !== 'parameters') return step.parameters ? [`${path}: only a step with fanOut "parameters" takes a parameter grid`] : [];
  if (!step.parameters) return [`${path}: required for fanOut "parameters"`];
  const combinations = Object.values(step.parameters).reduce((n, values) => n * values.length, 1);
  return combinations > MAX_PARAMETER_SETS ? [`${path}: ${combinations} parameter sets, at most ${MAX_PARAMETER_SETS} (one array job)`] : [];
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
    if (out.length === before) throw new InvalidPipelineError(pipeline.name, ['steps: cannot be ordered (dependency cycle, unknown or duplicate step)']);
  }
  return out;
}
