import { createHash } from 'node:crypto';
import type { RegisteredFile } from '@nightshift/contracts';
import type { DatasetVersion, Run, StepExecution, Task, TaskAttempt } from '../model/types.js';
import { definePipeline, type PipelineDefinition, type PipelineDefinitionInput } from '../pipeline/pipeline-definition.js';
import type { JobObservation } from '../state/task-state-machine.js';

/*
 * Test-data builders for the jobs domain. Test-only: excluded from the lib build and not exported
 * from the package index; specs import this file by relative path. Defaults describe one realistic
 * night of the TCA pipeline so a spec only spells out what it is about.
 */

/** The business date every default refers to. */
export const BUSINESS_DATE = '2024-05-02';

/** A fixed evening after the close, so times in specs are deterministic. */
export const T0 = new Date('2024-05-02T21:00:00.000Z');

/** `minutes` after T0. */
export function minutesAfter(minutes: number): Date {
  return new Date(T0.getTime() + minutes * 60_000);
}

/** The desks of the default dataset, sorted as ingestion registers them. */
export const DESKS = ['apac-cash', 'emea-cash', 'us-program'] as const;

type StepInput = PipelineDefinitionInput['steps'][number];

/** A registered file; checksum and size derive from the key so every file is distinct. */
export function aFile(overrides: Partial<RegisteredFile> & Pick<RegisteredFile, 'table'>): RegisteredFile {
  const key =
    overrides.key ??
    `datasets/executions/${BUSINESS_DATE}/v1/${overrides.table}${overrides.desk ? `-${overrides.desk}` : ''}.csv`;
  return {
    key,
    rows: 250,
    checksum: createHash('sha256').update(key).digest('hex'),
    bytes: 16_384,
    ...overrides,
  };
}

/** Per-desk orders and fills plus market-wide (shared) quotes and trades, as the TCA pipeline needs. */
function executionFiles(dataset: string, businessDate: string, version: number, partitions: readonly string[]): RegisteredFile[] {
  const prefix = `datasets/${dataset}/${businessDate}/v${version}`;
  return [
    ...partitions.flatMap((desk) => [
      aFile({ table: 'orders', desk, key: `${prefix}/orders-${desk}.csv`, rows: 120 }),
      aFile({ table: 'fills', desk, key: `${prefix}/fills-${desk}.csv`, rows: 340 }),
    ]),
    aFile({ table: 'quotes', key: `${prefix}/quotes.csv`, rows: 50_000 }),
    aFile({ table: 'trades', key: `${prefix}/trades.csv`, rows: 12_000 }),
  ];
}

/**
 * A registered executions dataset version. `datasetId`, files and row count follow the other
 * fields unless given, so `aDatasetVersion({ partitions: ['x'] })` is still consistent.
 */
export function aDatasetVersion(overrides: Partial<DatasetVersion> = {}): DatasetVersion {
  const dataset = overrides.dataset ?? 'executions';
  const businessDate = overrides.businessDate ?? BUSINESS_DATE;
  const version = overrides.version ?? 1;
  const partitions = overrides.partitions ?? [...DESKS];
  const files = overrides.files ?? executionFiles(dataset, businessDate, version, partitions);
  return {
    datasetId: `${dataset}@${businessDate}#v${version}`,
    dataset,
    businessDate,
    version,
    files,
    rowCount: files.reduce((n, f) => n + f.rows, 0),
    partitions,
    manifestKey: `datasets/${dataset}/${businessDate}/v${version}/manifest.json`,
    landedEventId: '5f1c2a9e-8d6b-4c1e-9a57-3b2f0e6d4c81',
    registeredAt: minutesAfter(-30).toISOString(),
    ...overrides,
  };
}

/** A step definition input: the TCA analytic fanned out over desks. */
export function aStep(overrides: Partial<StepInput> = {}): StepInput {
  return {
    name: 'tca',
    analytic: 'tca',
    fanOut: 'partitions',
    vcpus: 1,
    memoryMiB: 1024,
    attempts: 3,
    timeoutSeconds: 900,
    ...overrides,
  };
}

/** A pipeline definition input (unvalidated), for specs about validation itself. */
export function aPipelineInput(overrides: Partial<PipelineDefinitionInput> = {}): PipelineDefinitionInput {
  return {
    name: 'nightly-tca',
    description: 'Transaction cost analysis per desk.',
    trigger: { datasets: ['executions'] },
    requiredTables: ['orders', 'fills', 'quotes', 'trades'],
    steps: [aStep()],
    ...overrides,
  };
}

/** A validated pipeline (through `definePipeline`, so defaults are applied as in production). */
export function aPipeline(overrides: Partial<PipelineDefinitionInput> = {}): PipelineDefinition {
  return definePipeline(aPipelineInput(overrides));
}

/** A planned run of the default pipeline over the default dataset. */
export function aRun(overrides: Partial<Run> = {}): Run {
  return {
    runId: 'run-20240502-nightly-tca-0k3f9xq',
    pipeline: 'nightly-tca',
    businessDate: BUSINESS_DATE,
    datasetId: `executions@${BUSINESS_DATE}#v1`,
    status: 'PENDING',
    correlationId: 'c0a8012e-7f3d-4b9a-8e21-6d5c4b3a2f10',
    tasksTotal: DESKS.length,
    createdAt: T0.toISOString(),
    updatedAt: T0.toISOString(),
    ...overrides,
  };
}

/**
 * A freshly planned task (PENDING, no attempts). `taskId` and `outputKey` follow `runId`, `step`
 * and `partition` unless given.
 */
export function aTask(overrides: Partial<Task> = {}): Task {
  const runId = overrides.runId ?? aRun().runId;
  const step = overrides.step ?? 'tca';
  const partition = overrides.partition ?? 'emea-cash';
  return {
    runId,
    taskId: `${step}#${partition}`,
    step,
    partition,
    arrayIndex: 0,
    status: 'PENDING',
    maxAttempts: 3,
    attempts: [],
    outputKey: `runs/${runId}/${step}/partition=${partition}/result.json`,
    createdAt: T0.toISOString(),
    updatedAt: T0.toISOString(),
    ...overrides,
  };
}

/**
 * A planned step execution (PENDING, nothing counted, version 0) of the default run: the TCA step
 * over the default desks. `jobName` and `manifestKey` follow `runId` and `step` unless given.
 * (`aStep` is the pipeline step definition.)
 */
export function aStepExecution(overrides: Partial<StepExecution> = {}): StepExecution {
  const runId = overrides.runId ?? aRun().runId;
  const step = overrides.step ?? 'tca';
  return {
    runId,
    step,
    status: 'PENDING',
    size: DESKS.length,
    jobName: `${runId}-${step}`,
    manifestKey: `runs/${runId}/${step}/manifest.json`,
    succeeded: 0,
    failed: 0,
    version: 0,
    updatedAt: T0.toISOString(),
    ...overrides,
  };
}

/** A finished attempt as the compute environment reports it. */
export function anAttempt(attempt: number, overrides: Partial<TaskAttempt> = {}): TaskAttempt {
  return {
    attempt,
    startedAt: minutesAfter(attempt * 10).toISOString(),
    stoppedAt: minutesAfter(attempt * 10 + 4).toISOString(),
    exitCode: 1,
    statusReason: 'Essential container in task exited',
    ...overrides,
  };
}

/** A "Batch Job State Change", reduced: by default the first attempt RUNNING. */
export function anObservation(overrides: Partial<JobObservation> = {}): JobObservation {
  return {
    jobId: '6b1f4c2e-3a9d-4e7b-b2c1-0f8e7d6c5b4a:1',
    status: 'RUNNING',
    attempts: [],
    ...overrides,
  };
}
