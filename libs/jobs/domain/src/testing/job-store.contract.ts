import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { NotFoundError, StaleStateError } from '../errors.js';
import type { DatasetVersion, Report, Run, Task } from '../model/types.js';
import type { JobStore } from '../ports/job-store.port.js';

/*
 * Conformance suite for the JobStore port. Every adapter's spec calls `describeJobStoreContract`
 * with a factory that returns an empty store, so all adapters are held to the same semantics.
 * Test-only: not exported from the package index (the lib build excludes `src/testing/`);
 * adapter specs import it by relative path.
 */

/** What a contract run needs from an adapter: an empty store and a way to release it. */
export interface JobStoreUnderTest {
  store: JobStore;
  close(): Promise<void>;
}

const T0 = Date.parse('2024-05-02T21:00:00.000Z');
/** ISO-8601 timestamp `minutes` after a fixed evening, so ordering by time is deterministic. */
export function at(minutes: number): string {
  return new Date(T0 + minutes * 60_000).toISOString();
}

/** Builder for a dataset registration input (everything but the store-assigned version and id). */
export function aDatasetInput(overrides: Partial<Omit<DatasetVersion, 'version' | 'datasetId'>> = {}): Omit<DatasetVersion, 'version' | 'datasetId'> {
  return {
    dataset: 'executions',
    businessDate: '2024-05-02',
    files: [
      { table: 'fills', key: 'landing/2024-05-02/fills-eq.csv', desk: 'EQ', rows: 120, checksum: 'a'.repeat(64), bytes: 4096 },
    ],
    rowCount: 120,
    partitions: ['EQ'],
    manifestKey: 'datasets/executions/2024-05-02/manifest.json',
    landedEventId: 'landed-1',
    registeredAt: at(0),
    ...overrides,
  };
}

/** Builder for a PENDING run. */
export function aRun(overrides: Partial<Run> = {}): Run {
  return {
    runId: 'run-1',
    pipeline: 'tca',
    businessDate: '2024-05-02',
    datasetId: 'executions@2024-05-02#v1',
    status: 'PENDING',
    correlationId: 'corr-1',
    tasksTotal: 2,
    createdAt: at(0),
    updatedAt: at(0),
    ...overrides,
  };
}

/** Builder for a freshly planned task of `runId`. */
export function aTask(runId: string, step: string, partition: string, arrayIndex: number, overrides: Partial<Task> = {}): Task {
  return {
    runId,
    taskId: `${step}#${partition}`,
    step,
    partition,
    arrayIndex,
    status: 'SUBMITTED',
    maxAttempts: 3,
    attempts: [],
    outputKey: `runs/${runId}/${step}/${partition}.json`,
    createdAt: at(0),
    updatedAt: at(0),
    ...overrides,
  };
}

/** A run with `n` tasks of one step over partitions p0..p(n-1). */
export function aRunWithTasks(runId: string, n: number, overrides: Partial<Run> = {}): { run: Run; tasks: Task[] } {
  const run = aRun({ runId, tasksTotal: n, ...overrides });
  const tasks = Array.from({ length: n }, (_, i) => aTask(runId, 'fills', `p${i}`, i));
  return { run, tasks };
}

/** Builder for a report. */
export function aReport(overrides: Partial<Report> = {}): Report {
  return {
    reportId: 'report-1',
    runId: 'run-1',
    pipeline: 'tca',
    businessDate: '2024-05-02',
    key: 'reports/tca/2024-05-02/report-1.json',
    headline: { orders: 120, slippageBps: 1.75, worstDesk: 'EQ', benchmark: null },
    publishedAt: at(30),
    ...overrides,
  };
}

const byTaskId = (a: Task, b: Task): number => (a.taskId < b.taskId ? -1 : a.taskId > b.taskId ? 1 : 0);

/** Settles every promise and sorts the outcomes, so a race can be judged without caring who won. */
async function race<T>(attempts: Array<Promise<T>>): Promise<{ won: T[]; lost: unknown[] }> {
  const settled = await Promise.allSettled(attempts);
  return {
    won: settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : [])),
    lost: settled.flatMap((s) => (s.status === 'rejected' ? [s.reason as unknown] : [])),
  };
}

/**
 * Registers the JobStore conformance tests under `describe(name)`. `makeStore` must return an
 * empty store each time; it is called before every test and `close` after it.
 */
export function describeJobStoreContract(name: string, makeStore: () => Promise<JobStoreUnderTest>): void {
  describe(`JobStore contract: ${name}`, () => {
    let subject: JobStoreUnderTest;
    let store: JobStore;
    beforeEach(async () => {
      subject = await makeStore();
      store = subject.store;
    });
    afterEach(async () => {
      await subject.close();
    });

    describe('dataset versions', () => {
      it('allocates version 1, then 2, per dataset and business date, and finds them', async () => {
        const v1 = await store.registerDatasetVersion(aDatasetInput({ landedEventId: 'landed-1' }));
        const v2 = await store.registerDatasetVersion(aDatasetInput({ landedEventId: 'landed-2', registeredAt: at(5), rowCount: 130 }));
        const otherDate = await store.registerDatasetVersion(aDatasetInput({ landedEventId: 'landed-3', businessDate: '2024-05-03' }));
        const otherDataset = await store.registerDatasetVersion(aDatasetInput({ landedEventId: 'landed-4', dataset: 'quotes' }));

        expect(v1).toEqual({ ...aDatasetInput({ landedEventId: 'landed-1' }), version: 1, datasetId: 'executions@2024-05-02#v1' });
        expect(v2).toMatchObject({ version: 2, datasetId: 'executions@2024-05-02#v2', rowCount: 130 });
        expect(otherDate).toMatchObject({ version: 1, datasetId: 'executions@2024-05-03#v1' });
        expect(otherDataset).toMatchObject({ version: 1, datasetId: 'quotes@2024-05-02#v1' });

        expect(await store.getDatasetVersion('executions@2024-05-02#v1')).toEqual(v1);
        expect(await store.getDatasetVersion('executions@2024-05-02#v2')).toEqual(v2);
        expect(await store.latestDatasetVersion('executions', '2024-05-02')).toEqual(v2);
        expect(await store.latestDatasetVersion('executions', '2024-05-03')).toEqual(otherDate);
      });

      it('returns the first registered version when the same landed event is replayed', async () => {
        const first = await store.registerDatasetVersion(aDatasetInput({ landedEventId: 'landed-1', registeredAt: at(0) }));
        const replay = await store.registerDatasetVersion(aDatasetInput({ landedEventId: 'landed-1', registeredAt: at(9) }));

        expect(replay).toEqual(first);
        expect(await store.latestDatasetVersion('executions', '2024-05-02')).toEqual(first);
        expect(await store.getDatasetVersion('executions@2024-05-02#v2')).toBeUndefined();
      });

      it('gives concurrent landings distinct consecutive versions and concurrent replays one version', async () => {
        const distinct = await Promise.all(
          [1, 2, 3, 4, 5].map((i) => store.registerDatasetVersion(aDatasetInput({ landedEventId: `landed-${i}`, rowCount: i }))),
        );
        expect(distinct.map((d) => d.version).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5]);
        for (const d of distinct) expect(d.rowCount).toBe(Number(d.landedEventId.slice('landed-'.length)));

        const replays = await Promise.all([1, 2, 3].map(() => store.registerDatasetVersion(aDatasetInput({ landedEventId: 'landed-6' }))));
        expect(new Set(replays.map((r) => r.version))).toEqual(new Set([6]));
        expect((await store.latestDatasetVersion('executions', '2024-05-02'))?.version).toBe(6);
      });

      it('returns undefined for unknown datasets and ids', async () => {
        expect(await store.getDatasetVersion('executions@2024-05-02#v1')).toBeUndefined();
        expect(await store.getDatasetVersion('not-a-dataset-id')).toBeUndefined();
        expect(await store.latestDatasetVersion('executions', '2024-05-02')).toBeUndefined();
      });
    });

    describe('runs', () => {
      it('creates a run with its tasks and reads them back', async () => {
        const run = aRun({ runId: 'run-1', traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01', tenant: 'acme' });
        const tasks = [aTask('run-1', 'fills', 'EQ', 0), aTask('run-1', 'fills', 'FX', 1), aTask('run-1', 'report', 'ALL', 0)];

        expect(await store.createRun(run, tasks)).toBe(true);

        expect(await store.getRun('run-1')).toEqual(run);
        expect((await store.listTasks('run-1')).sort(byTaskId)).toEqual([...tasks].sort(byTaskId));
        expect(await store.getTask('run-1', 'fills#FX')).toEqual(tasks[1]);
      });

      it('returns false for an existing run id and keeps what is stored', async () => {
        const { run, tasks } = aRunWithTasks('run-1', 2);
        await store.createRun(run, tasks);
        const running = await store.transitionRun('run-1', 'PENDING', { status: 'RUNNING', startedAt: at(1), updatedAt: at(1) });
        const submitted = { ...tasks[0], status: 'RUNNABLE' as const, jobId: 'job-1:0', updatedAt: at(1) };
        await store.updateTask({ runId: 'run-1', taskId: tasks[0].taskId, status: 'SUBMITTED', attempts: 0 }, submitted);

        expect(await store.createRun(aRun({ runId: 'run-1', pipeline: 'other' }), tasks)).toBe(false);

        expect(await store.getRun('run-1')).toEqual(running);
        expect(await store.getTask('run-1', tasks[0].taskId)).toEqual(submitted);
        expect(await store.listTasks('run-1')).toHaveLength(2);
        expect(await store.listRuns()).toHaveLength(1);
      });

      it('lets exactly one of two concurrent creations of a run report true', async () => {
        const { run, tasks } = aRunWithTasks('run-1', 4);
        const results = await Promise.all([store.createRun(run, tasks), store.createRun(run, tasks)]);

        expect(results.filter(Boolean)).toHaveLength(1);
        expect(await store.listTasks('run-1')).toHaveLength(4);
      });

      it('creates a run without tasks', async () => {
        expect(await store.createRun(aRun({ runId: 'empty', tasksTotal: 0 }), [])).toBe(true);
        expect(await store.listTasks('empty')).toEqual([]);
        expect((await store.getRun('empty'))?.tasksTotal).toBe(0);
      });

      it('lists runs newest first and honours the limit', async () => {
        for (const [i, runId] of ['r-a', 'r-b', 'r-c'].entries()) {
          await store.createRun(aRun({ runId, createdAt: at(i), updatedAt: at(i) }), []);
        }
        await store.transitionRun('r-a', 'PENDING', { status: 'RUNNING', updatedAt: at(5) });

        const all = await store.listRuns();
        expect(all.map((r) => r.runId)).toEqual(['r-c', 'r-b', 'r-a']);
        expect(all[2].status).toBe('RUNNING');
        expect((await store.listRuns({ limit: 2 })).map((r) => r.runId)).toEqual(['r-c', 'r-b']);
      });

      it('transitions a run from the expected status, merging the given fields', async () => {
        const run = aRun({ runId: 'run-1' });
        await store.createRun(run, []);

        const running = await store.transitionRun('run-1', 'PENDING', { status: 'RUNNING', startedAt: at(1), updatedAt: at(1) });
        expect(running).toEqual({ ...run, status: 'RUNNING', startedAt: at(1), updatedAt: at(1) });

        const failed = await store.transitionRun('run-1', 'RUNNING', { status: 'FAILED', reason: 'task fills#p0 failed', finishedAt: at(2), updatedAt: at(2) });
        expect(failed).toEqual({ ...running, status: 'FAILED', reason: 'task fills#p0 failed', finishedAt: at(2), updatedAt: at(2) });
        expect(await store.getRun('run-1')).toEqual(failed);
      });

      it('rejects a transition from a status the run is no longer in, changing nothing', async () => {
        await store.createRun(aRun({ runId: 'run-1' }), []);
        const running = await store.transitionRun('run-1', 'PENDING', { status: 'RUNNING', updatedAt: at(1) });

        const stale = store.transitionRun('run-1', 'PENDING', { status: 'FAILED', reason: 'late', updatedAt: at(2) });
        await expect(stale).rejects.toBeInstanceOf(StaleStateError);
        await expect(stale).rejects.toMatchObject({ retryable: false });
        expect(await store.getRun('run-1')).toEqual(running);
      });

      it('lets exactly one of two racing transitions from the same status win', async () => {
        await store.createRun(aRun({ runId: 'run-1' }), []);

        const { won, lost } = await race([
          store.transitionRun('run-1', 'PENDING', { status: 'RUNNING', updatedAt: at(1) }),
          store.transitionRun('run-1', 'PENDING', { status: 'FAILED', reason: 'cancelled', updatedAt: at(1) }),
        ]);

        expect(won).toHaveLength(1);
        expect(lost).toHaveLength(1);
        expect(lost[0]).toBeInstanceOf(StaleStateError);
        expect(await store.getRun('run-1')).toEqual(won[0]);
      });

      it('rejects a transition of an unknown run with a non-retryable error', async () => {
        const missing = store.transitionRun('nope', 'PENDING', { status: 'RUNNING', updatedAt: at(1) });
        // The port only names StaleStateError; NotFoundError is the more precise answer an adapter may give.
        await expect(missing).rejects.toSatisfy((e: unknown) => e instanceof StaleStateError || e instanceof NotFoundError);
        await expect(missing).rejects.toMatchObject({ retryable: false });
        expect(await store.getRun('nope')).toBeUndefined();
      });

      it('returns undefined and empty lists for unknown runs', async () => {
        expect(await store.getRun('nope')).toBeUndefined();
        expect(await store.listTasks('nope')).toEqual([]);
        expect(await store.getTask('nope', 'fills#p0')).toBeUndefined();
        expect(await store.listRuns()).toEqual([]);
      });
    });

    describe('tasks', () => {
      it('replaces a task when status and attempt count match', async () => {
        const { run, tasks } = aRunWithTasks('run-1', 2);
        await store.createRun(run, tasks);
        const started: Task = {
          ...tasks[0],
          status: 'RUNNING',
          jobId: 'job-9:0',
          attempts: [{ attempt: 1, startedAt: at(3) }],
          startedAt: at(3),
          updatedAt: at(3),
        };

        expect(await store.updateTask({ runId: 'run-1', taskId: tasks[0].taskId, status: 'SUBMITTED', attempts: 0 }, started)).toEqual(started);
        const done: Task = { ...started, status: 'SUCCEEDED', attempts: [{ attempt: 1, startedAt: at(3), stoppedAt: at(4), exitCode: 0 }], exitCode: 0, stoppedAt: at(4), updatedAt: at(4) };
        await store.updateTask({ runId: 'run-1', taskId: tasks[0].taskId, status: 'RUNNING', attempts: 1 }, done);

        expect(await store.getTask('run-1', tasks[0].taskId)).toEqual(done);
        expect(await store.getTask('run-1', tasks[1].taskId)).toEqual(tasks[1]);
      });

      it('rejects an update whose expected status or attempt count is stale, changing nothing', async () => {
        const { run, tasks } = aRunWithTasks('run-1', 1);
        await store.createRun(run, tasks);
        const key = { runId: 'run-1', taskId: tasks[0].taskId };
        const next: Task = { ...tasks[0], status: 'RUNNABLE', updatedAt: at(1) };

        await expect(store.updateTask({ ...key, status: 'RUNNING', attempts: 0 }, next)).rejects.toBeInstanceOf(StaleStateError);
        await expect(store.updateTask({ ...key, status: 'SUBMITTED', attempts: 1 }, next)).rejects.toBeInstanceOf(StaleStateError);
        expect(await store.getTask('run-1', tasks[0].taskId)).toEqual(tasks[0]);
      });

      it('lets exactly one of two racing updates from the same expected state win', async () => {
        const { run, tasks } = aRunWithTasks('run-1', 1);
        await store.createRun(run, tasks);
        const expected = { runId: 'run-1', taskId: tasks[0].taskId, status: 'SUBMITTED' as const, attempts: 0 };

        const { won, lost } = await race([
          store.updateTask(expected, { ...tasks[0], status: 'RUNNABLE', updatedAt: at(1) }),
          store.updateTask(expected, { ...tasks[0], status: 'FAILED', statusReason: 'cancelled', updatedAt: at(1) }),
        ]);

        expect(won).toHaveLength(1);
        expect(lost).toHaveLength(1);
        expect(lost[0]).toBeInstanceOf(StaleStateError);
        expect(await store.getTask('run-1', tasks[0].taskId)).toEqual(won[0]);
      });

      it('rejects an update of an unknown task with a non-retryable error', async () => {
        const task = aTask('nope', 'fills', 'p0', 0);
        const missing = store.updateTask({ runId: 'nope', taskId: task.taskId, status: 'SUBMITTED', attempts: 0 }, { ...task, status: 'RUNNABLE' });
        await expect(missing).rejects.toSatisfy((e: unknown) => e instanceof StaleStateError || e instanceof NotFoundError);
        expect(await store.getTask('nope', task.taskId)).toBeUndefined();
      });
    });

    describe('reports', () => {
      it('stores a report once and reads it back', async () => {
        const report = aReport();
        await store.putReport(report);
        await store.putReport(report);

        expect(await store.getReport('report-1')).toEqual(report);
        expect(await store.listReports()).toEqual([report]);
        expect(await store.getReport('nope')).toBeUndefined();
      });

      it('lists reports by run and honours the limit', async () => {
        const reports = [
          aReport({ reportId: 'rep-a', runId: 'run-1', publishedAt: at(1) }),
          aReport({ reportId: 'rep-b', runId: 'run-2', publishedAt: at(2) }),
          aReport({ reportId: 'rep-c', runId: 'run-1', publishedAt: at(3) }),
        ];
        for (const r of reports) await store.putReport(r);

        expect((await store.listReports()).map((r) => r.reportId).sort()).toEqual(['rep-a', 'rep-b', 'rep-c']);
        expect((await store.listReports({ runId: 'run-1' })).map((r) => r.reportId).sort()).toEqual(['rep-a', 'rep-c']);
        expect(await store.listReports({ runId: 'run-3' })).toEqual([]);
        expect(await store.listReports({ limit: 2 })).toHaveLength(2);
        expect(await store.listReports({ runId: 'run-1', limit: 1 })).toHaveLength(1);
      });
    });

    describe('processed events', () => {
      it('records an event once per consumer', async () => {
        expect(await store.isProcessed('planner', 'evt-1')).toBe(false);
        expect(await store.markProcessed('planner', 'evt-1')).toBe(true);
        expect(await store.markProcessed('planner', 'evt-1')).toBe(false);

        expect(await store.isProcessed('planner', 'evt-1')).toBe(true);
        expect(await store.isProcessed('reporting', 'evt-1')).toBe(false);
        expect(await store.markProcessed('reporting', 'evt-1')).toBe(true);
      });

      it('lets exactly one of concurrent markProcessed calls for one event report true', async () => {
        const results = await Promise.all([1, 2, 3, 4].map(() => store.markProcessed('planner', 'evt-1')));
        expect(results.filter(Boolean)).toHaveLength(1);
      });
    });
  });
}
