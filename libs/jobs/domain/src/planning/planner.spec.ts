import { describe, expect, it } from 'vitest';
import { DatasetLacksTablesError, DatasetOfAnotherTenantError } from '../errors.js';
import { DEFAULT_TENANT, STEP_STATUSES, type StepExecution, type StepStatus } from '../model/types.js';
import type { PipelineDefinition } from '../pipeline/pipeline-definition.js';
import { aDatasetVersion, aFile, aPipeline, aStep, minutesAfter, T0 } from '../testing/builders.js';
import {
  countPartitionName,
  jobNameFor,
  outputsKeyFor,
  parameterPartitionName,
  plannedTask,
  planKeyFor,
  planRun,
  readySteps,
  stepManifest,
  WHOLE_DATASET_PARTITION,
  type PlannedRun,
  type PlanRequest,
} from './planner.js';

const TRIGGER = '0d9c8b7a-6f5e-4d3c-8b2a-190817263544';

function request(overrides: Partial<PlanRequest> = {}): PlanRequest {
  return {
    pipeline: aPipeline(),
    dataset: aDatasetVersion(),
    triggerEventId: TRIGGER,
    correlationId: 'c0a8012e-7f3d-4b9a-8e21-6d5c4b3a2f10',
    now: T0,
    ...overrides,
  };
}

/** What planning `req` throws (undefined if it plans). */
function planError(req: PlanRequest): unknown {
  try {
    planRun(req);
  } catch (e) {
    return e;
  }
  return undefined;
}

/** tca fans out over desks, then a single-task rollup, then per-desk letters that also need tca. */
const multiStep = () =>
  aPipeline({
    steps: [
      aStep({ name: 'tca' }),
      aStep({ name: 'rollup', analytic: 'tca-rollup', fanOut: 'single', dependsOn: ['tca'] }),
      aStep({ name: 'letters', analytic: 'best-ex-letter', dependsOn: ['tca'], attempts: 1 }),
    ],
  });

/** The plan's partitions of `step`, in array-index order: what a manifest and a task's identity derive from. */
function partitionsInPlan(planned: PlannedRun, step: string): string[] {
  const entry = planned.plan.steps.find((s) => s.step === step);
  if (!entry) return expect.unreachable(`step ${step} is not in the plan`);
  return entry.partitions;
}

function definitionOf(pipeline: PipelineDefinition, step: string) {
  const def = pipeline.steps.find((s) => s.name === step);
  if (!def) return expect.unreachable(`step ${step} is not in the pipeline`);
  return def;
}

describe('planRun', () => {
  it('plans one PENDING step execution per step and lists its partitions in the plan, in sorted desk order', () => {
    const dataset = aDatasetVersion({ partitions: ['us-program', 'apac-cash', 'emea-cash'] });
    const { run, steps, plan } = planRun(request({ dataset }));
    expect(plan).toEqual({
      runId: run.runId,
      pipeline: 'nightly-tca',
      steps: [{ step: 'tca', partitions: ['apac-cash', 'emea-cash', 'us-program'], writesOutput: true }],
    });
    expect(steps).toEqual([
      {
        runId: run.runId,
        step: 'tca',
        status: 'PENDING',
        size: 3,
        jobName: `${run.runId}-tca`,
        manifestKey: `runs/${run.runId}/tca/manifest.json`,
        succeeded: 0,
        failed: 0,
        version: 0,
        updatedAt: T0.toISOString(),
      },
    ]);
  });

  it('writes no task records at planning: a run is its steps and its plan', () => {
    expect(Object.keys(planRun(request())).sort()).toEqual(['plan', 'run', 'steps']);
  });

  it('plans a PENDING run over the dataset, carrying the trigger context', () => {
    const dataset = aDatasetVersion({ tenant: 'apac' });
    const { run } = planRun(request({ dataset, traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', tenant: 'apac' }));
    expect(run).toEqual({
      runId: run.runId,
      pipeline: 'nightly-tca',
      businessDate: '2024-05-02',
      datasetId: 'executions@2024-05-02#v1',
      status: 'PENDING',
      correlationId: 'c0a8012e-7f3d-4b9a-8e21-6d5c4b3a2f10',
      traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
      tenant: 'apac',
      tasksTotal: 3,
      createdAt: T0.toISOString(),
      updatedAt: T0.toISOString(),
    });
  });

  it("refuses a run of one tenant over another tenant's dataset, naming neither the owner nor that it exists", () => {
    const refusals = [
      () => planRun(request({ dataset: aDatasetVersion({ tenant: 'acme' }), tenant: 'globex' })),
      () => planRun(request({ dataset: aDatasetVersion({ tenant: 'acme' }) })),
      () => planRun(request({ dataset: aDatasetVersion(), tenant: 'globex' })),
    ];
    for (const plan of refusals) expect(plan).toThrow(DatasetOfAnotherTenantError);
    expect(refusals[0]).toThrow(/^no registered dataset executions@2024-05-02#v1 for tenant globex$/);
    expect(planRun(request({ dataset: aDatasetVersion({ tenant: DEFAULT_TENANT }) })).run).not.toHaveProperty('tenant');
    expect(planRun(request({ dataset: aDatasetVersion(), tenant: DEFAULT_TENANT })).run.tenant).toBe(DEFAULT_TENANT);
  });

  it('leaves out trace, tenant and deadline when the trigger and pipeline have none', () => {
    const { run } = planRun(request());
    expect(run).not.toHaveProperty('traceparent');
    expect(run).not.toHaveProperty('tenant');
    expect(run).not.toHaveProperty('deadline');
  });

  it("sets the run's deadline from the pipeline's timeoutSeconds", () => {
    const { run } = planRun(request({ pipeline: aPipeline({ timeoutSeconds: 90 * 60 }) }));
    expect(run.deadline).toBe(minutesAfter(90).toISOString());
  });

  it(`plans one "${WHOLE_DATASET_PARTITION}" partition for a step that does not fan out`, () => {
    const pipeline = aPipeline({ steps: [aStep({ name: 'var', analytic: 'var', fanOut: 'single', attempts: 2 })] });
    const { run, steps, plan } = planRun(request({ pipeline }));
    expect(plan.steps).toEqual([{ step: 'var', partitions: ['all'], writesOutput: true }]);
    expect(steps).toHaveLength(1);
    expect(steps[0]).toMatchObject({ step: 'var', size: 1 });
    expect(run.tasksTotal).toBe(1);
  });

  it('plans every step of a multi-step pipeline up front, in declaration order', () => {
    const planned = planRun(request({ pipeline: multiStep() }));
    const { run, steps, plan } = planned;
    expect(plan.steps.map((s) => [s.step, s.partitions])).toEqual([
      ['tca', ['apac-cash', 'emea-cash', 'us-program']],
      ['rollup', ['all']],
      ['letters', ['apac-cash', 'emea-cash', 'us-program']],
    ]);
    expect(steps.map((s) => [s.step, s.status, s.size])).toEqual([
      ['tca', 'PENDING', 3],
      ['rollup', 'PENDING', 1],
      ['letters', 'PENDING', 3],
    ]);
    expect(run.tasksTotal).toBe(7);
    expect(new Set(steps.map((s) => s.jobName)).size).toBe(3);
    expect(new Set(steps.map((s) => s.manifestKey)).size).toBe(3);
  });

  describe('fanOut "count"', () => {
    const countStep = (count: number) => aPipeline({ steps: [aStep({ name: 'noop', analytic: undefined, command: ['true'], bare: true, fanOut: 'count', count })] });

    it('plans `count` identical children named n00000, n00001, …', () => {
      const { run, steps, plan } = planRun(request({ pipeline: countStep(4) }));
      expect(plan.steps).toEqual([{ step: 'noop', partitions: ['n00000', 'n00001', 'n00002', 'n00003'], writesOutput: false }]);
      expect(steps[0].size).toBe(4);
      expect(run.tasksTotal).toBe(4);
    });

    it('plans a 10,000-child step as one step execution of size 10000, its partitions in the plan', () => {
      const { run, steps, plan } = planRun(request({ pipeline: countStep(10_000) }));
      expect(steps).toHaveLength(1);
      expect(steps[0]).toMatchObject({ step: 'noop', status: 'PENDING', size: 10_000, succeeded: 0, failed: 0, version: 0 });
      expect(run.tasksTotal).toBe(10_000);
      const [{ partitions }] = plan.steps;
      expect(partitions).toHaveLength(10_000);
      expect(partitions[0]).toBe('n00000');
      expect(partitions[9_999]).toBe('n09999');
      expect(new Set(partitions).size).toBe(10_000);
    });
  });

  it('marks a step that runs a command as writing no output', () => {
    const pipeline = aPipeline({
      steps: [aStep({ name: 'tca' }), aStep({ name: 'notify', analytic: undefined, command: ['notify', '--all'], bare: true, fanOut: 'single', dependsOn: ['tca'] })],
    });
    expect(planRun(request({ pipeline })).plan.steps.map((s) => [s.step, s.writesOutput])).toEqual([
      ['tca', true],
      ['notify', false],
    ]);
  });

  describe('run ids', () => {
    it('plans the same run, steps and plan for a redelivered trigger', () => {
      const first = planRun(request());
      const replay = planRun(request());
      expect(replay).toEqual(first);
      expect(first.run.runId).toMatch(/^run-20240502-nightly-tca-[0-9a-z]{7}$/);
    });

    it('plans a different run for a different trigger of the same pipeline and date', () => {
      const ids = new Set(['evt-1', 'evt-2', 'evt-3', TRIGGER].map((triggerEventId) => planRun(request({ triggerEventId })).run.runId));
      expect(ids.size).toBe(4);
    });

    it('plans a different run for another pipeline triggered by the same event', () => {
      const other = aPipeline({ name: 'nightly-exec-report', steps: [aStep({ name: 'report', analytic: 'exec-report' })] });
      expect(planRun(request({ pipeline: other })).run.runId).not.toBe(planRun(request()).run.runId);
    });
  });

  describe('required tables', () => {
    it('accepts shared market files as satisfying every partition', () => {
      expect(() => planRun(request())).not.toThrow();
    });

    it('refuses partition names the contract rule refuses (registered before it), so none becomes a path', () => {
      const base = aDatasetVersion();
      const dataset = aDatasetVersion({
        partitions: ['../../x', 'a/b', ...base.partitions],
        files: [...base.files, ...base.files.filter((f) => f.desk).map((f) => ({ ...f, desk: f.desk === 'us-program' ? '../../x' : 'a/b' }))],
      });
      const error = planError(request({ dataset }));
      expect(error).toBeInstanceOf(DatasetLacksTablesError);
      expect((error as DatasetLacksTablesError).problems).toEqual([expect.stringMatching(/^partition "\.\.\/\.\.\/x" must be/), expect.stringMatching(/^partition "a\/b" must be/)]);
    });

    it('rejects a dataset whose partition lacks a table, naming the partition and the tables', () => {
      const dataset = aDatasetVersion({
        files: aDatasetVersion().files.filter((f) => !(f.desk === 'us-program' && (f.table === 'fills' || f.table === 'orders'))),
      });
      const error = planError(request({ dataset }));
      expect(error).toBeInstanceOf(DatasetLacksTablesError);
      expect((error as DatasetLacksTablesError).problems).toEqual(['no orders file for desk us-program', 'no fills file for desk us-program']);
      expect((error as Error).message).toBe(
        'dataset executions@2024-05-02#v1 cannot feed pipeline nightly-tca: no orders file for desk us-program; no fills file for desk us-program',
      );
    });

    it("does not let one desk's file stand in for another desk", () => {
      const files = aDatasetVersion().files.map((f) => (f.table === 'quotes' ? { ...f, desk: 'apac-cash' } : f));
      expect(() => planRun(request({ dataset: aDatasetVersion({ files }) }))).toThrow(/: no quotes file for desk emea-cash, us-program$/);
    });

    it('rejects a dataset with no partitions', () => {
      expect(() => planRun(request({ dataset: aDatasetVersion({ partitions: [] }) }))).toThrow(
        /cannot feed pipeline nightly-tca: no partitions \(no file names a desk\)$/,
      );
    });
  });
});

describe('plannedTask', () => {
  it("derives a PENDING task with no job and no attempts from the plan's partition and index", () => {
    const pipeline = multiStep();
    const planned = planRun(request({ pipeline }));
    const { runId } = planned.run;
    const tasks = partitionsInPlan(planned, 'letters').map((partition, i) => plannedTask(runId, definitionOf(pipeline, 'letters'), partition, i, minutesAfter(5)));
    expect(tasks[1]).toEqual({
      runId,
      taskId: 'letters#emea-cash',
      step: 'letters',
      partition: 'emea-cash',
      arrayIndex: 1,
      status: 'PENDING',
      maxAttempts: 1,
      attempts: [],
      outputKey: `runs/${runId}/letters/partition=emea-cash/result.json`,
      createdAt: minutesAfter(5).toISOString(),
      updatedAt: minutesAfter(5).toISOString(),
    });
    expect(tasks.map((t) => [t.taskId, t.arrayIndex])).toEqual([
      ['letters#apac-cash', 0],
      ['letters#emea-cash', 1],
      ['letters#us-program', 2],
    ]);
  });

  it('gives every task of a run its own output key', () => {
    const pipeline = multiStep();
    const planned = planRun(request({ pipeline }));
    const keys = planned.plan.steps.flatMap(({ step, partitions }) =>
      partitions.map((partition, i) => plannedTask(planned.run.runId, definitionOf(pipeline, step), partition, i, T0).outputKey),
    );
    expect(keys).toHaveLength(planned.run.tasksTotal);
    expect(new Set(keys).size).toBe(keys.length);
  });

  it('gives a task of a command step no output key', () => {
    const [step] = aPipeline({ steps: [aStep({ name: 'noop', analytic: undefined, command: ['true'], bare: true, fanOut: 'count', count: 2 })] }).steps;
    const task = plannedTask('run-1', step, countPartitionName(1), 1, T0);
    expect(task).toMatchObject({ taskId: 'noop#n00001', partition: 'n00001', arrayIndex: 1, status: 'PENDING' });
    expect(task).not.toHaveProperty('outputKey');
  });
});

describe('jobNameFor', () => {
  const AWS_JOB_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/;

  it("joins its parts with '-' and names each step's job by run and step", () => {
    expect(jobNameFor('run-20240502-nightly-tca-0k3f9xq', 'tca')).toBe('run-20240502-nightly-tca-0k3f9xq-tca');
    const { run, steps } = planRun(request({ pipeline: multiStep() }));
    expect(steps.map((s) => s.jobName)).toEqual(['tca', 'rollup', 'letters'].map((step) => jobNameFor(run.runId, step)));
  });

  it('replaces characters AWS Batch refuses in a job name', () => {
    expect(jobNameFor('run#1', 'step.a b:c/d')).toBe('run_1-step_a_b_c_d');
  });

  it('keeps a name of 128 characters as it is, and fits a longer one in 128 keeping its start', () => {
    const exact = 'a'.repeat(128);
    expect(jobNameFor(exact)).toBe(exact);
    const long = `run-20240502-${'p'.repeat(63)}-0k3f9xq-${'s'.repeat(63)}`;
    const name = jobNameFor(long);
    expect(name.length).toBeLessThanOrEqual(128);
    expect(name).toMatch(AWS_JOB_NAME);
    expect(name.startsWith(long.slice(0, 100))).toBe(true);
  });

  it('is deterministic, and tells apart long names that differ only at the end', () => {
    const runId = `run-20240502-${'p'.repeat(63)}-0k3f9xq`;
    const a = jobNameFor(runId, `${'s'.repeat(62)}a`);
    const b = jobNameFor(runId, `${'s'.repeat(62)}b`);
    expect(jobNameFor(runId, `${'s'.repeat(62)}a`)).toBe(a);
    expect(a).not.toBe(b);
    expect(a.length).toBeLessThanOrEqual(128);
    expect(b.length).toBeLessThanOrEqual(128);
  });

  it("stays a valid AWS Batch job name whatever the length of a run's step name", () => {
    const runId = `run-20240502-${'p'.repeat(63)}-0k3f9xq`;
    for (let n = 1; n <= 63; n++) expect(jobNameFor(runId, 's'.repeat(n))).toMatch(AWS_JOB_NAME);
    for (let n = 1; n <= 400; n += 7) expect(jobNameFor('r'.repeat(n))).toMatch(AWS_JOB_NAME);
  });
});

describe('object-store keys', () => {
  it("keeps a run's plan, outputs listing and manifests under the run's prefix", () => {
    const { run, steps } = planRun(request());
    expect(planKeyFor(run.runId)).toBe(`runs/${run.runId}/plan.json`);
    expect(outputsKeyFor(run.runId)).toBe(`runs/${run.runId}/outputs.json`);
    for (const s of steps) expect(s.manifestKey.startsWith(`runs/${run.runId}/`)).toBe(true);
  });
});

describe('countPartitionName', () => {
  it('names the children of a count step n00000 … n09999, sorting in index order', () => {
    expect([0, 42, 9_999].map(countPartitionName)).toEqual(['n00000', 'n00042', 'n09999']);
    const names = Array.from({ length: 10_000 }, (_, i) => countPartitionName(i));
    expect([...names].sort()).toEqual(names);
  });
});

describe('readySteps', () => {
  // a; b and c each depend on a.
  const dag = aPipeline({
    steps: [aStep({ name: 'a' }), aStep({ name: 'b', dependsOn: ['a'] }), aStep({ name: 'c', fanOut: 'single', dependsOn: ['a'] })],
  });
  const ready = (pipeline: PipelineDefinition, steps: readonly StepExecution[]) => readySteps(pipeline, steps).map((s) => s.name);
  const set = (steps: StepExecution[], step: string, status: StepStatus): StepExecution[] => steps.map((s) => (s.step === step ? { ...s, status } : s));

  it('follows the run as its steps are claimed, submitted and finish', () => {
    let steps = planRun(request({ pipeline: dag })).steps;
    expect(ready(dag, steps)).toEqual(['a']);

    steps = set(steps, 'a', 'SUBMITTING');
    expect(ready(dag, steps)).toEqual([]);

    steps = set(steps, 'a', 'SUBMITTED');
    expect(ready(dag, steps)).toEqual([]); // a's tasks still run: a is not done

    steps = set(steps, 'a', 'SUCCEEDED');
    expect(ready(dag, steps)).toEqual(['b', 'c']);

    steps = set(steps, 'b', 'SUBMITTING');
    expect(ready(dag, steps)).toEqual(['c']);

    steps = set(steps, 'c', 'SUBMITTED');
    expect(ready(dag, steps)).toEqual([]);

    steps = set(set(steps, 'b', 'SUCCEEDED'), 'c', 'SUCCEEDED');
    expect(ready(dag, steps)).toEqual([]);
  });

  it('never readies the dependants of a step that failed', () => {
    const steps = set(planRun(request({ pipeline: dag })).steps, 'a', 'FAILED');
    expect(ready(dag, steps)).toEqual([]);
  });

  it('offers a step only while it is PENDING, so a claimed or submitted step is not submitted twice', () => {
    const planned = set(planRun(request({ pipeline: dag })).steps, 'a', 'SUCCEEDED');
    for (const status of STEP_STATUSES) {
      expect(ready(dag, set(planned, 'b', status)).includes('b')).toBe(status === 'PENDING');
    }
  });

  it('waits for every dependency to succeed', () => {
    const join = aPipeline({ steps: [...dag.steps, aStep({ name: 'd', fanOut: 'single', dependsOn: ['b', 'c'] })] });
    let steps = set(set(planRun(request({ pipeline: join })).steps, 'a', 'SUCCEEDED'), 'b', 'SUCCEEDED');
    steps = set(steps, 'c', 'SUBMITTED');
    expect(ready(join, steps)).toEqual([]);
    expect(ready(join, set(steps, 'c', 'SUCCEEDED'))).toEqual(['d']);
  });

  it('offers nothing for a step without an execution, nor for its dependants', () => {
    const steps = planRun(request({ pipeline: dag })).steps.filter((s) => s.step !== 'a');
    expect(ready(dag, steps)).toEqual([]);
  });
});

describe('stepManifest', () => {
  const dataset = aDatasetVersion();

  it('gives each desk its own files plus the shared market files', () => {
    const pipeline = aPipeline();
    const planned = planRun(request({ pipeline, dataset }));
    const { run } = planned;
    const manifest = stepManifest(run, pipeline.steps[0], dataset, partitionsInPlan(planned, 'tca'));
    expect(manifest).toMatchObject({ runId: run.runId, step: 'tca', analytic: 'tca', datasetId: dataset.datasetId, businessDate: '2024-05-02' });
    expect(manifest.entries.map((e) => [e.arrayIndex, e.taskId])).toEqual([
      [0, 'tca#apac-cash'],
      [1, 'tca#emea-cash'],
      [2, 'tca#us-program'],
    ]);
    const prefix = 'datasets/executions/2024-05-02/v1';
    expect(manifest.entries[1].inputs).toEqual({
      orders: [`${prefix}/orders-emea-cash.csv`],
      fills: [`${prefix}/fills-emea-cash.csv`],
      quotes: [`${prefix}/quotes.csv`],
      trades: [`${prefix}/trades.csv`],
    });
    // Files landed without a desk are marked as shared; the desk's own are not.
    expect(manifest.entries[1].sharedInputs).toEqual({ quotes: [`${prefix}/quotes.csv`], trades: [`${prefix}/trades.csv`] });
    expect(manifest.entries[1].outputKey).toBe(`runs/${run.runId}/tca/partition=emea-cash/result.json`);
    for (const entry of manifest.entries) {
      const deskFiles = [...(entry.inputs.orders ?? []), ...(entry.inputs.fills ?? [])];
      expect(deskFiles.every((k) => k.includes(entry.partition))).toBe(true);
    }
  });

  it("numbers the entries in the order of the partitions given, so child i reads the plan's partition i", () => {
    const pipeline = aPipeline();
    const planned = planRun(request({ pipeline, dataset }));
    const reversed = [...partitionsInPlan(planned, 'tca')].reverse();
    const manifest = stepManifest(planned.run, pipeline.steps[0], dataset, reversed);
    expect(manifest.entries.map((e) => [e.arrayIndex, e.partition])).toEqual([
      [0, 'us-program'],
      [1, 'emea-cash'],
      [2, 'apac-cash'],
    ]);
  });

  it('agrees with plannedTask on every child: same task id, partition, index and output key', () => {
    const pipeline = multiStep();
    const planned = planRun(request({ pipeline, dataset }));
    for (const { step, partitions } of planned.plan.steps) {
      const def = definitionOf(pipeline, step);
      for (const entry of stepManifest(planned.run, def, dataset, partitions).entries) {
        const task = plannedTask(planned.run.runId, def, entry.partition, entry.arrayIndex, T0);
        expect({ taskId: entry.taskId, partition: entry.partition, arrayIndex: entry.arrayIndex, outputKey: entry.outputKey }).toEqual({
          taskId: task.taskId,
          partition: task.partition,
          arrayIndex: task.arrayIndex,
          outputKey: task.outputKey,
        });
      }
    }
  });

  it('gives a single-task step every file of the dataset', () => {
    const pipeline = multiStep();
    const planned = planRun(request({ pipeline, dataset }));
    const manifest = stepManifest(planned.run, definitionOf(pipeline, 'rollup'), dataset, partitionsInPlan(planned, 'rollup'));
    expect(manifest.entries).toHaveLength(1);
    expect(manifest.entries[0]).toMatchObject({ arrayIndex: 0, taskId: 'rollup#all', partition: 'all' });
    const all = Object.values(manifest.entries[0].inputs).flat().sort();
    expect(all).toEqual(dataset.files.map((f) => f.key).sort());
    expect(manifest.entries[0].inputs.orders).toHaveLength(3);
  });

  it('only lists the partitions of the step asked for', () => {
    const pipeline = multiStep();
    const planned = planRun(request({ pipeline, dataset }));
    const letters = stepManifest(planned.run, definitionOf(pipeline, 'letters'), dataset, partitionsInPlan(planned, 'letters'));
    expect(letters.analytic).toBe('best-ex-letter');
    expect(letters.entries.map((e) => e.taskId)).toEqual(['letters#apac-cash', 'letters#emea-cash', 'letters#us-program']);
  });

  it(`keeps a desk that happens to be named "${WHOLE_DATASET_PARTITION}" to its own files`, () => {
    const deskAll = aDatasetVersion({
      partitions: ['all', 'emea-cash'],
      files: [
        aFile({ table: 'orders', desk: 'all', key: 'd/orders-all.csv' }),
        aFile({ table: 'orders', desk: 'emea-cash', key: 'd/orders-emea-cash.csv' }),
        aFile({ table: 'fills', desk: 'all', key: 'd/fills-all.csv' }),
        aFile({ table: 'fills', desk: 'emea-cash', key: 'd/fills-emea-cash.csv' }),
        aFile({ table: 'quotes', key: 'd/quotes.csv' }),
        aFile({ table: 'trades', key: 'd/trades.csv' }),
      ],
    });
    const pipeline = aPipeline();
    const planned = planRun(request({ pipeline, dataset: deskAll }));
    const [entry] = stepManifest(planned.run, pipeline.steps[0], deskAll, partitionsInPlan(planned, 'tca')).entries;
    expect(entry.partition).toBe('all');
    expect(entry.inputs).toEqual({ orders: ['d/orders-all.csv'], fills: ['d/fills-all.csv'], quotes: ['d/quotes.csv'], trades: ['d/trades.csv'] });
    expect(entry.sharedInputs).toEqual({ quotes: ['d/quotes.csv'], trades: ['d/trades.csv'] });
  });

  it('gives every child of a count step the whole dataset and its own output key', () => {
    const pipeline = aPipeline({ steps: [aStep({ name: 'load', analytic: 'load-test', fanOut: 'count', count: 3 })] });
    const planned = planRun(request({ pipeline, dataset }));
    const manifest = stepManifest(planned.run, pipeline.steps[0], dataset, partitionsInPlan(planned, 'load'));
    expect(manifest.entries.map((e) => [e.arrayIndex, e.taskId, e.outputKey])).toEqual(
      ['n00000', 'n00001', 'n00002'].map((p, i) => [i, `load#${p}`, `runs/${planned.run.runId}/load/partition=${p}/result.json`]),
    );
    for (const entry of manifest.entries) {
      expect(Object.values(entry.inputs).flat().sort()).toEqual(dataset.files.map((f) => f.key).sort());
      expect(entry).not.toHaveProperty('parameters');
    }
  });

  it('gives the entries of a command step no output key, and still their inputs', () => {
    const pipeline = aPipeline({ steps: [aStep({ name: 'export', analytic: undefined, command: ['export-desk'], bare: true })] });
    const planned = planRun(request({ pipeline, dataset }));
    const manifest = stepManifest(planned.run, pipeline.steps[0], dataset, partitionsInPlan(planned, 'export'));
    expect(manifest.analytic).toBe('command');
    expect(manifest.entries.map((e) => e.taskId)).toEqual(['export#apac-cash', 'export#emea-cash', 'export#us-program']);
    for (const entry of manifest.entries) {
      expect(entry).not.toHaveProperty('outputKey');
      expect(entry.inputs.orders).toEqual([`datasets/executions/2024-05-02/v1/orders-${entry.partition}.csv`]);
    }
  });

  it('gives the entries of a 10,000-child command step no output key', () => {
    const pipeline = aPipeline({ steps: [aStep({ name: 'noop', analytic: undefined, command: ['true'], bare: true, fanOut: 'count', count: 10_000 })] });
    const planned = planRun(request({ pipeline, dataset }));
    const { entries } = stepManifest(planned.run, pipeline.steps[0], dataset, partitionsInPlan(planned, 'noop'));
    expect(entries).toHaveLength(10_000);
    expect(entries[9_999]).toMatchObject({ arrayIndex: 9_999, taskId: 'noop#n09999', partition: 'n09999' });
    expect(entries.some((e) => 'outputKey' in e)).toBe(false);
  });
});

describe('parameter sweeps', () => {
  const grid = { fast: [5, 10, 20], slow: [50, 100], costBps: [1, 5] };
  const sweep = aPipeline({
    name: 'backtest-sweep',
    trigger: { datasets: ['market-history'] },
    requiredTables: ['prices'],
    steps: [aStep({ name: 'sweep', analytic: 'backtest', fanOut: 'parameters', parameters: grid })],
  });
  /** Market history: one shared prices file, no desks (so no partitions). */
  const history = aDatasetVersion({
    dataset: 'market-history',
    partitions: [],
    files: [aFile({ table: 'prices', key: 'datasets/market-history/2024-05-02/v1/prices.csv', rows: 2_080 })],
  });

  it('plans one child per parameter set: the product of the grid sizes', () => {
    const { run, steps } = planRun(request({ pipeline: sweep, dataset: history }));
    expect(steps).toHaveLength(1);
    expect(steps[0].size).toBe(3 * 2 * 2);
    expect(run.tasksTotal).toBe(12);
  });

  it('names the partitions p0000, p0001, … in grid order, the same on every plan', () => {
    const first = planRun(request({ pipeline: sweep, dataset: history }));
    const partitions = partitionsInPlan(first, 'sweep');
    expect(partitions).toEqual(Array.from({ length: 12 }, (_, i) => `p${String(i).padStart(4, '0')}`));
    expect(plannedTask(first.run.runId, sweep.steps[0], partitions[11], 11, T0).taskId).toBe('sweep#p0011');
    expect(plannedTask(first.run.runId, sweep.steps[0], partitions[3], 3, T0).outputKey).toMatch(/\/sweep\/partition=p0003\/result\.json$/);
    expect(planRun(request({ pipeline: sweep, dataset: history })).plan).toEqual(first.plan);
    expect(parameterPartitionName(9_999)).toBe('p9999');
  });

  it('gives every child its parameter set and all the dataset files', () => {
    const planned = planRun(request({ pipeline: sweep, dataset: history }));
    const manifest = stepManifest(planned.run, sweep.steps[0], history, partitionsInPlan(planned, 'sweep'));
    expect(manifest.analytic).toBe('backtest');
    expect(manifest.entries.map((e) => e.parameters)).toEqual(
      grid.fast.flatMap((fast) => grid.slow.flatMap((slow) => grid.costBps.map((costBps) => ({ fast, slow, costBps })))),
    );
    expect(manifest.entries[5]).toMatchObject({ arrayIndex: 5, partition: 'p0005', parameters: { fast: 10, slow: 50, costBps: 5 } });
    for (const entry of manifest.entries) expect(entry.inputs).toEqual({ prices: ['datasets/market-history/2024-05-02/v1/prices.csv'] });
  });

  it('gives a desk-partitioned dataset to every sweep child whole', () => {
    const dataset = aDatasetVersion();
    const pipeline = aPipeline({ requiredTables: [], steps: [aStep({ fanOut: 'parameters', parameters: { k: [1, 2] } })] });
    const planned = planRun(request({ pipeline, dataset }));
    const entries = stepManifest(planned.run, pipeline.steps[0], dataset, partitionsInPlan(planned, 'tca')).entries;
    expect(entries.map((e) => e.partition)).toEqual(['p0000', 'p0001']);
    expect(entries.map((e) => e.parameters)).toEqual([{ k: 1 }, { k: 2 }]);
    expect(entries[1].inputs.orders).toHaveLength(3);
  });

  it('leaves parameters out of the entries of other fan-out kinds', () => {
    const pipeline = aPipeline();
    const planned = planRun(request({ pipeline }));
    for (const entry of stepManifest(planned.run, pipeline.steps[0], aDatasetVersion(), partitionsInPlan(planned, 'tca')).entries) {
      expect(entry).not.toHaveProperty('parameters');
    }
  });

  it('plans over a dataset without desks when no step fans out by desk, but still checks its tables', () => {
    expect(() => planRun(request({ pipeline: sweep, dataset: history }))).not.toThrow();
    const noPrices = aDatasetVersion({ dataset: 'market-history', partitions: [], files: [aFile({ table: 'quotes', key: 'q.csv' })] });
    expect(() => planRun(request({ pipeline: sweep, dataset: noPrices }))).toThrow(
      /market-history@2024-05-02#v1 cannot feed pipeline backtest-sweep: no prices file$/,
    );
  });
});
