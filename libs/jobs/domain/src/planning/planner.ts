import type { DatasetTable } from '@nightshift/contracts';
import { DatasetLacksTablesError } from '../errors.js';
import type { DatasetVersion, Run, Task } from '../model/types.js';
import { parameterSets, type ParameterSet, type PipelineDefinition, type StepDefinition } from '../pipeline/pipeline-definition.js';

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
  tenant?: string;
  now: Date;
}

/** A run and all its tasks, every task PENDING (not yet submitted). */
export interface PlannedRun {
  run: Run;
  tasks: Task[];
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
  }
}

/**
 * Plans a run: one task per (step, partition), all PENDING. Checks that the dataset carries the
 * tables the pipeline needs in every partition (DatasetLacksTablesError otherwise).
 */
export function planRun(req: PlanRequest): PlannedRun {
  const { pipeline, dataset, now } = req;
  const problems = missingTables(pipeline, dataset);
  if (problems.length > 0) throw new DatasetLacksTablesError(pipeline.name, dataset.datasetId, problems);
  const runId = runIdFor(pipeline.name, dataset.businessDate, req.triggerEventId);
  const at = now.toISOString();
  const tasks: Task[] = [];
  for (const step of pipeline.steps) {
    partitionsOf(step, dataset).forEach((partition, arrayIndex) => {
      tasks.push({
        runId,
        taskId: taskIdFor(step.name, partition),
        step: step.name,
        partition,
        arrayIndex,
        status: 'PENDING',
        maxAttempts: step.attempts,
        attempts: [],
        outputKey: outputKeyFor(runId, step.name, partition),
        createdAt: at,
        updatedAt: at,
      });
    });
  }
  const run: Run = {
    runId,
    pipeline: pipeline.name,
    businessDate: dataset.businessDate,
    datasetId: dataset.datasetId,
    status: 'PENDING',
    correlationId: req.correlationId,
    ...(req.traceparent ? { traceparent: req.traceparent } : {}),
    ...(req.tenant ? { tenant: req.tenant } : {}),
    tasksTotal: tasks.length,
    createdAt: at,
    updatedAt: at,
  };
  return { run, tasks };
}

/** What the dataset lacks for the pipeline, one line per table: shared tables once, desk tables with their desks. */
function missingTables(pipeline: PipelineDefinition, dataset: DatasetVersion): string[] {
  const has = (table: string, desk?: string) => dataset.files.some((f) => f.table === table && (desk === undefined ? true : !f.desk || f.desk === desk));
  // A pipeline that never fans out by desk reads the dataset whole: it needs its tables, not desks.
  if (dataset.partitions.length === 0 && !pipeline.steps.some((s) => s.fanOut === 'partitions')) {
    return pipeline.requiredTables.filter((t) => !has(t)).map((t) => `no ${t} file`);
  }
  if (dataset.partitions.length === 0) return ['no partitions (no file names a desk)'];
  const problems: string[] = [];
  for (const table of pipeline.requiredTables) {
    const lacking = dataset.partitions.filter((desk) => !has(table, desk));
    if (lacking.length === dataset.partitions.length) problems.push(`no ${table} file (shared or per desk)`);
    else if (lacking.length > 0) problems.push(`no ${table} file for desk ${lacking.join(', ')}`);
  }
  return problems;
}

/**
 * Steps whose tasks can be submitted now: not submitted yet (all PENDING with no attempts) and
 * every dependency step fully SUCCEEDED.
 */
export function readySteps(pipeline: PipelineDefinition, tasks: readonly Task[]): StepDefinition[] {
  const byStep = groupByStep(tasks);
  const succeeded = (step: string) => (byStep.get(step) ?? []).every((t) => t.status === 'SUCCEEDED');
  return pipeline.steps.filter((step) => {
    const own = byStep.get(step.name) ?? [];
    const unsubmitted = own.length > 0 && own.every((t) => t.status === 'PENDING' && t.attempts.length === 0 && !t.jobId);
    return unsubmitted && step.dependsOn.every(succeeded);
  });
}

function groupByStep(tasks: readonly Task[]): Map<string, Task[]> {
  const m = new Map<string, Task[]>();
  for (const t of tasks) m.set(t.step, [...(m.get(t.step) ?? []), t]);
  for (const list of m.values()) list.sort((a, b) => a.arrayIndex - b.arrayIndex);
  return m;
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
  outputKey: string;
  /** The parameter set this child runs (steps with fanOut `parameters` only). */
  parameters?: ParameterSet;
}

/** What the worker of a step reads: the entry at its AWS_BATCH_JOB_ARRAY_INDEX. */
export interface StepManifest {
  runId: string;
  step: string;
  analytic: string;
  datasetId: string;
  businessDate: string;
  entries: ManifestEntry[];
}

/** Builds the manifest of a step from its tasks and the dataset's files. */
export function stepManifest(run: Run, step: StepDefinition, dataset: DatasetVersion, tasks: readonly Task[]): StepManifest {
  const own = tasks.filter((t) => t.step === step.name).sort((a, b) => a.arrayIndex - b.arrayIndex);
  const sets = new Map(parameterSets(step).map((set, i) => [parameterPartitionName(i), set]));
  return {
    runId: run.runId,
    step: step.name,
    analytic: step.analytic,
    datasetId: dataset.datasetId,
    businessDate: dataset.businessDate,
    entries: own.map((t) => {
      // Only a desk's child is narrowed to its desk: a whole-dataset task and every sweep child read it all.
      const files = dataset.files.filter((f) => step.fanOut !== 'partitions' || !f.desk || f.desk === t.partition);
      const inputs: Partial<Record<DatasetTable, string[]>> = {};
      const sharedInputs: Partial<Record<DatasetTable, string[]>> = {};
      for (const f of files) {
        (inputs[f.table] ??= []).push(f.key);
        if (!f.desk) (sharedInputs[f.table] ??= []).push(f.key);
      }
      const parameters = sets.get(t.partition);
      return { arrayIndex: t.arrayIndex, taskId: t.taskId, partition: t.partition, inputs, sharedInputs, outputKey: t.outputKey, ...(parameters ? { parameters } : {}) };
    }),
  };
}
