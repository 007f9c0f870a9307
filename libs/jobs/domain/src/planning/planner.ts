import { partitionNameProblem, type DatasetTable } from '@nightshift/contracts';
import { DatasetLacksTablesError, DatasetOfAnotherTenantError } from '../errors.js';
import { tenantOf, type DatasetVersion, type Run, type StepExecution, type Task } from '../model/types.js';
import { failureHandlers, parameterSets, runsJobs, writesOutput, type ParameterSet, type PipelineDefinition, type StepDefinition } from '../pipeline/pipeline-definition.js';

/** The partition name of a step that does not fan out. */
export const WHOLE_DATASET_PARTITION = 'all';

/** What a planned run starts from. */
export interface PlanRequest {
  pipeline: PipelineDefinition;
  dataset: DatasetVersion;
  /** Id of the event that asked for the run; the run id derives from it, so a replay plans the same run. */
  triggerEventId: string;
  correlationId: string;
  traceparent?: string;
  /** Whose run it is: the dataset's tenant (`tenantOf`), else planning refuses the run (DatasetOfAnotherTenantError). */
  tenant?: string;
  /** A chained run: the first stage's run whose success starts this one. */
  upstream?: { pipeline: string; runId: string };
  /** The backfill the run is part of: recorded on the run (`Run.backfillId`). */
  backfillId?: string;
  now: Date;
}

/**
 * A planned run: the run, one PENDING execution per step (a few items whatever the fan-out), and
 * the plan, which lists every step's partitions and so grows with the run: it is kept in the
 * object store (`planKeyFor`), not in the job store or in events.
 */
export interface PlannedRun {
  run: Run;
  steps: StepExecution[];
  plan: RunPlan;
}

/** Every step's partitions in array-index order: the one list a task's identity derives from. */
export interface RunPlan {
  runId: string;
  pipeline: string;
  steps: Array<{ step: string; partitions: string[]; writesOutput: boolean }>;
}

/** Where a run's plan is kept. */
export function planKeyFor(runId: string): string {
  return `runs/${runId}/plan.json`;
}

/** Where a succeeded run's outputs listing (`RunOutputsListing`) is written. */
export function outputsKeyFor(runId: string): string {
  return `runs/${runId}/outputs.json`;
}

/** AWS Batch job names: at most 128 of [A-Za-z0-9_-]. Longer names keep their start and a hash of the whole. */
export function jobNameFor(...parts: string[]): string {
  const name = parts.join('-').replace(/[^A-Za-z0-9_-]/g, '_');
  return name.length <= 128 ? name : `${name.slice(0, 119)}-${stableHash(name)}`;
}

/**
 * A task as planned, before its job reported: the record its first state change is applied to.
 * Derives from the plan alone, so any process can build it.
 */
export function plannedTask(runId: string, step: StepDefinition, partition: string, arrayIndex: number, now: Date): Task {
  return {
    runId,
    taskId: taskIdFor(step.name, partition),
    step: step.name,
    partition,
    arrayIndex,
    status: 'PENDING',
    maxAttempts: step.attempts,
    attempts: [],
    ...(writesOutput(step) ? { outputKey: outputKeyFor(runId, step.name, partition) } : {}),
    createdAt: now.toISOString(),
    updatedAt: now.toISOString(),
  };
}

/** Short stable hash (FNV-1a, 32 bit, base 36) for readable deterministic ids. */
export function stableHash(input: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < input.length; i++) {
    h ^= input.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(36).padStart(7, '0');
}

/** `run-<yyyymmdd>-<pipeline>-<hash of trigger>`: readable, and the same for a redelivered trigger. */
export function runIdFor(pipeline: string, businessDate: string, triggerEventId: string): string {
  return `run-${businessDate.replaceAll('-', '')}-${pipeline}-${stableHash(`${pipeline}|${triggerEventId}`)}`;
}

export function taskIdFor(step: string, partition: string): string {
  return `${step}#${partition}`;
}

/** Where a task's worker writes its result. */
export function outputKeyFor(runId: string, step: string, partition: string): string {
  return `runs/${runId}/${step}/partition=${partition}/result.json`;
}

/** Where the planner writes a step's manifest (what each array child reads). */
export function manifestKeyFor(runId: string, step: string): string {
  return `runs/${runId}/${step}/manifest.json`;
}

/** The partition name of child `index` of a `count` step: `n00000`, `n00001`, … */
export function countPartitionName(index: number): string {
  return `n${String(index).padStart(5, '0')}`;
}

/** The partition name of parameter set `index` of a sweep: `p0000`, `p0001`, … (sorts in grid order). */
export function parameterPartitionName(index: number): string {
  return `p${String(index).padStart(4, '0')}`;
}

/** The partitions a step runs over: desks, the whole dataset, or one per parameter set. */
export function partitionsOf(step: StepDefinition, dataset: DatasetVersion): string[] {
  switch (step.fanOut) {
    case 'single':
      return [WHOLE_DATASET_PARTITION];
    case 'parameters':
      return parameterSets(step).map((_, i) => parameterPartitionName(i));
    case 'partitions':
      return [...dataset.partitions].sort();
    case 'count':
      return Array.from({ length: step.count ?? 1 }, (_, i) => countPartitionName(i));
  }
}

/**
 * Plans a run: one PENDING step execution per step, and the plan (every step's partitions). Checks
 * that the run's tenant is the dataset's (DatasetOfAnotherTenantError otherwise) and that the
 * dataset carries the tables the pipeline needs in every partition (DatasetLacksTablesError
 * otherwise). Linear in the number of partitions, and no task records: those are written when jobs report.
 */
export function planRun(req: PlanRequest): PlannedRun {
  const { pipeline, dataset, now } = req;
  const tenant = tenantOf(req);
  if (tenantOf(dataset) !== tenant) throw new DatasetOfAnotherTenantError(dataset.datasetId, tenant);
  const problems = missingTables(pipeline, dataset);
  if (problems.length > 0) throw new DatasetLacksTablesError(pipeline.name, dataset.datasetId, problems);
  const runId = runIdFor(pipeline.name, dataset.businessDate, req.triggerEventId);
  const at = now.toISOString();
  const plan: RunPlan = {
    runId,
    pipeline: pipeline.name,
    // A wait or an approval runs no task: it has no partitions, and counts for nothing in the run's tasks.
    steps: pipeline.steps.map((step) => ({ step: step.name, partitions: runsJobs(step) ? partitionsOf(step, dataset) : [], writesOutput: writesOutput(step) })),
  };
  const steps: StepExecution[] = plan.steps.map(({ step, partitions }) => ({
    runId,
    step,
    status: 'PENDING',
    size: partitions.length,
    jobName: jobNameFor(runId, step),
    manifestKey: manifestKeyFor(runId, step),
    succeeded: 0,
    failed: 0,
    version: 0,
    updatedAt: at,
  }));
  const run: Run = {
    runId,
    pipeline: pipeline.name,
    businessDate: dataset.businessDate,
    datasetId: dataset.datasetId,
    status: 'PENDING',
    correlationId: req.correlationId,
    ...(req.traceparent ? { traceparent: req.traceparent } : {}),
    ...(req.tenant ? { tenant: req.tenant } : {}),
    ...(req.upstream ? { upstream: req.upstream } : {}),
    ...(req.backfillId ? { backfillId: req.backfillId } : {}),
    tasksTotal: steps.reduce((n, s) => n + s.size, 0),
    createdAt: at,
    updatedAt: at,
    ...deadlineOf(pipeline, now),
  };
  return { run, steps, plan };
}

/**
 * The deadline of a run (or of a retry's attempt) started at `now`: the pipeline's `timeoutSeconds`
 * later, as `{ deadline }`; `{}` for a pipeline without a timeout.
 */
export function deadlineOf(pipeline: Pick<PipelineDefinition, 'timeoutSeconds'>, now: Date): { deadline?: string } {
  return pipeline.timeoutSeconds === undefined ? {} : { deadline: new Date(now.getTime() + pipeline.timeoutSeconds * 1000).toISOString() };
}

/** What the dataset lacks for the pipeline, one line per table: shared tables once, desk tables with their desks. */
function missingTables(pipeline: PipelineDefinition, dataset: DatasetVersion): string[] {
  // One pass over the files: which tables are shared, and which each desk has (linear in files + desks).
  const shared = new Set<string>();
  const anywhere = new Set<string>();
  const byDesk = new Map<string, Set<string>>();
  for (const f of dataset.files) {
    anywhere.add(f.table);
    if (!f.desk) shared.add(f.table);
    else {
      const tables = byDesk.get(f.desk) ?? new Set<string>();
      tables.add(f.table);
      byDesk.set(f.desk, tables);
    }
  }
  const has = (table: string, desk?: string) => (desk === undefined ? anywhere.has(table) : shared.has(table) || byDesk.get(desk)?.has(table) === true);
  // A pipeline that never fans out by desk reads the dataset whole: it needs its tables, not desks.
  if (dataset.partitions.length === 0 && !pipeline.steps.some((s) => s.fanOut === 'partitions')) {
    return pipeline.requiredTables.filter((t) => !has(t)).map((t) => `no ${t} file`);
  }
  if (dataset.partitions.length === 0) return ['no partitions (no file names a desk)'];
  // The contract refuses such names; a version registered before it did must not become paths.
  const problems: string[] = dataset.partitions.flatMap((desk) => {
    const problem = partitionNameProblem(desk);
    return problem ? [`partition ${JSON.stringify(desk)} ${problem}`] : [];
  });
  if (problems.length > 0) return problems;
  for (const table of pipeline.requiredTables) {
    const lacking = dataset.partitions.filter((desk) => !has(table, desk));
    if (lacking.length === dataset.partitions.length) problems.push(`no ${table} file (shared or per desk)`);
    else if (lacking.length > 0) problems.push(`no ${table} file for desk ${lacking.join(', ')}`);
  }
  return problems;
}

/** What may happen next to a run's PENDING steps (see `nextSteps`). */
export interface NextSteps {
  /** Steps free to start now: jobs to submit, waits to begin, approvals to ask for, conditions to check. */
  ready: StepDefinition[];
  /** Steps that will never run, with why: a step they depend on was skipped. */
  skip: Array<{ step: StepDefinition; reason: string }>;
}

/**
 * The PENDING steps that may start, and those that can no longer run. A step is ready when each
 * `ALL` dependency SUCCEEDED, each `N_TO_N` one has its job (SUBMITTED: its children and this
 * step's pair up in the compute environment) or SUCCEEDED, and the step its condition reads has
 * SUCCEEDED; a step with a SKIPPED dependency is skipped too. Once a step has FAILED, only the
 * failure handlers of failed steps are ready: nothing else starts in a run that is failing.
 */
export function nextSteps(pipeline: PipelineDefinition, steps: readonly StepExecution[]): NextSteps {
  const byName = new Map(steps.map((s) => [s.step, s]));
  const handlers = failureHandlers(pipeline);
  const pending = pipeline.steps.filter((step) => byName.get(step.name)?.status === 'PENDING');
  if (steps.some((s) => s.status === 'FAILED')) {
    const called = new Set(pipeline.steps.flatMap((s) => (s.onFailure !== undefined && byName.get(s.name)?.status === 'FAILED' ? [s.onFailure] : [])));
    return { ready: pending.filter((step) => called.has(step.name)), skip: [] };
  }
  const next: NextSteps = { ready: [], skip: [] };
  for (const step of pending) {
    if (handlers.has(step.name)) continue;
    const skipped = step.dependsOn.find((dep) => byName.get(dep)?.status === 'SKIPPED');
    if (skipped !== undefined) {
      next.skip.push({ step, reason: `skipped: step ${skipped} was skipped` });
      continue;
    }
    const met = step.dependsOn.every((dep) => {
      const status = byName.get(dep)?.status;
      return status === 'SUCCEEDED' || (step.nToN.includes(dep) && status === 'SUBMITTED' && byName.get(dep)?.jobId !== undefined);
    });
    if (met && (step.when === undefined || byName.get(step.when.step)?.status === 'SUCCEEDED')) next.ready.push(step);
  }
  return next;
}

/** The steps `nextSteps` finds ready. */
export function readySteps(pipeline: PipelineDefinition, steps: readonly StepExecution[]): StepDefinition[] {
  return nextSteps(pipeline, steps).ready;
}

/** One array child's instructions: which partition, which input objects, where to write. */
export interface ManifestEntry {
  arrayIndex: number;
  taskId: string;
  partition: string;
  inputs: Partial<Record<DatasetTable, string[]>>;
  /**
   * The keys of `inputs` landed without a desk, by table: files every partition shares (the day's
   * quotes, the price history, a benchmark's returns), as opposed to this partition's own.
   */
  sharedInputs: Partial<Record<DatasetTable, string[]>>;
  /** Where the child writes its result; absent for a step that runs a plain command. */
  outputKey?: string;
  /** The parameter set this child runs (steps with fanOut `parameters` only). */
  parameters?: ParameterSet;
}

/** What the worker of a step reads: the entry at its AWS_BATCH_JOB_ARRAY_INDEX. */
export interface StepManifest {
  runId: string;
  step: string;
  analytic: string;
  /** The step's analytic options as its definition parsed them (absent when it gave none: the worker then uses the analytic's defaults). */
  options?: Record<string, unknown>;
  datasetId: string;
  businessDate: string;
  entries: ManifestEntry[];
  /**
   * A chained run's first stage (its pipeline's `trigger.pipelines`): the run whose success started
   * this one and where its outputs listing (`RunOutputsListing`) is; every child may read them.
   */
  upstream?: { pipeline: string; runId: string; outputsKey: string };
}

/** Builds the manifest of a step from its partitions (in array-index order) and the dataset's files. */
export function stepManifest(run: Run, step: StepDefinition, dataset: DatasetVersion, partitions: readonly string[]): StepManifest {
  const sets = new Map(parameterSets(step).map((set, i) => [parameterPartitionName(i), set]));
  // Only a desk's child is narrowed to its desk: a whole-dataset task and every other child read it all.
  const common = step.fanOut === 'partitions' ? undefined : filesByTable(dataset.files);
  // Files grouped by desk once, so a step of many desks stays linear.
  const sharedFiles = dataset.files.filter((f) => !f.desk);
  const deskFiles = new Map<string, DatasetVersion['files']>();
  const order = new Map(dataset.files.map((f, i) => [f, i]));
  for (const f of dataset.files) {
    if (!f.desk) continue;
    const list = deskFiles.get(f.desk);
    if (list) list.push(f);
    else deskFiles.set(f.desk, [f]);
  }
  return {
    runId: run.runId,
    step: step.name,
    analytic: step.analytic ?? 'command',
    ...(step.options ? { options: step.options } : {}),
    datasetId: dataset.datasetId,
    businessDate: dataset.businessDate,
    ...(run.upstream ? { upstream: { ...run.upstream, outputsKey: outputsKeyFor(run.upstream.runId) } } : {}),
    entries: partitions.map((partition, arrayIndex) => {
      const { inputs, sharedInputs } = common ?? filesByTable([...(deskFiles.get(partition) ?? []), ...sharedFiles].sort((a, b) => order.get(a)! - order.get(b)!));
      const parameters = sets.get(partition);
      return {
        arrayIndex,
        taskId: taskIdFor(step.name, partition),
        partition,
        inputs,
        sharedInputs,
        ...(writesOutput(step) ? { outputKey: outputKeyFor(run.runId, step.name, partition) } : {}),
        ...(parameters ? { parameters } : {}),
      };
    }),
  };
}

/** Input keys by table, and those landed without a desk (shared by every partition). */
function filesByTable(files: DatasetVersion['files']): Pick<ManifestEntry, 'inputs' | 'sharedInputs'> {
  const inputs: Partial<Record<DatasetTable, string[]>> = {};
  const sharedInputs: Partial<Record<DatasetTable, string[]>> = {};
  for (const f of files) {
    (inputs[f.table] ??= []).push(f.key);
    if (!f.desk) (sharedInputs[f.table] ??= []).push(f.key);
  }
  return { inputs, sharedInputs };
}
