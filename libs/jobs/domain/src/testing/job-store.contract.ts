import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { IllegalTransitionError, JobsError, NotFoundError, StaleStateError } from '../errors.js';
import { DEFAULT_TENANT, type DatasetVersion, type OutboxEntry, type Page, type Report, type Run, type RunStatus, type StepExecution, type Task, type TaskAttempt } from '../model/types.js';
import type { JobStore, RunQuery, TaskWriteResult } from '../ports/job-store.port.js';

/*
 * Conformance suite for the JobStore port. Every adapter's spec calls `describeJobStoreContract`
 * with a factory that returns an empty store, so all adapters are held to the same semantics.
 * Test-only: not exported from the package index (the lib build excludes `src/testing/`);
 * adapter specs import it by relative path.
 *
 * What is adapter-specific stays in the adapter's spec: crashes part-way through a multi-write
 * operation, how often a step is written, the adapter's own input errors.
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
    files: [{ table: 'fills', key: 'landing/2024-05-02/fills-eq.csv', desk: 'EQ', rows: 120, checksum: 'a'.repeat(64), bytes: 4096 }],
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

/** Builder for a planned step execution of `runId` with `size` array children. */
export function aPlannedStep(runId: string, step: string, size: number, overrides: Partial<StepExecution> = {}): StepExecution {
  return {
    runId,
    step,
    status: 'PENDING',
    size,
    jobName: `${runId}-${step}`,
    manifestKey: `runs/${runId}/${step}/manifest.json`,
    succeeded: 0,
    failed: 0,
    version: 0,
    updatedAt: at(0),
    ...overrides,
  };
}

/** A run and its steps, by step name and size. */
export function aRunWithSteps(runId: string, sizes: Record<string, number>, overrides: Partial<Run> = {}): { run: Run; steps: StepExecution[] } {
  const steps = Object.entries(sizes).map(([step, size]) => aPlannedStep(runId, step, size));
  const run = aRun({ runId, tasksTotal: steps.reduce((n, s) => n + s.size, 0), ...overrides });
  return { run, steps };
}

/** Builder for array child `arrayIndex` of a step as its job first reports it: PENDING under `job-<step>:<i>`. */
export function aTask(runId: string, step: string, arrayIndex: number, overrides: Partial<Task> = {}): Task {
  return {
    runId,
    taskId: `${step}#p${arrayIndex}`,
    step,
    partition: `p${arrayIndex}`,
    arrayIndex,
    status: 'PENDING',
    jobId: `job-${step}:${arrayIndex}`,
    maxAttempts: 3,
    attempts: [],
    outputKey: `runs/${runId}/${step}/p${arrayIndex}.json`,
    createdAt: at(0),
    updatedAt: at(0),
    ...overrides,
  };
}

/** A finished attempt. */
export function anAttempt(attempt: number, exitCode = 0): TaskAttempt {
  return { attempt, startedAt: at(attempt), stoppedAt: at(attempt + 1), exitCode };
}

/** The task finished: SUCCEEDED (or FAILED with exit code 1) after one attempt. */
export function finished(task: Task, status: 'SUCCEEDED' | 'FAILED' = 'SUCCEEDED'): Task {
  const exitCode = status === 'SUCCEEDED' ? 0 : 1;
  return { ...task, status, attempts: [anAttempt(1, exitCode)], exitCode, stoppedAt: at(2), updatedAt: at(2) };
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

/** An event outbox entry with a deterministic id. */
export function anEventEntry(id: string): OutboxEntry {
  return { id, kind: 'event', source: 'nightshift.planner', detailType: 'Run Finished', detail: { metadata: { eventId: id }, data: { n: [1, 2] } } };
}

/** Settles every promise and sorts the outcomes, so a race can be judged without caring who won. */
async function race<T>(attempts: Array<Promise<T>>): Promise<{ won: T[]; lost: unknown[] }> {
  const settled = await Promise.allSettled(attempts);
  return {
    won: settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : [])),
    lost: settled.flatMap((s) => (s.status === 'rejected' ? [s.reason as unknown] : [])),
  };
}

/** Runs `fn` over `items` with at most `limit` in flight. */
export async function inParallel<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/** A deterministic shuffle (seeded), so a failure replays the same order. */
export function shuffled<T>(items: readonly T[], seed = 7): T[] {
  const out = [...items];
  let state = seed;
  for (let i = out.length - 1; i > 0; i--) {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    const j = state % (i + 1);
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

/** Every item of a listing, following its tokens; also returns the pages' sizes. */
async function allPages<T>(list: (nextToken?: string) => Promise<Page<T>>): Promise<{ items: T[]; sizes: number[] }> {
  const items: T[] = [];
  const sizes: number[] = [];
  let token: string | undefined;
  do {
    const page = await list(token);
    items.push(...page.items);
    sizes.push(page.items.length);
    token = page.nextToken;
  } while (token !== undefined && sizes.length < 10_000);
  return { items, sizes };
}

/** A refused token: a non-retryable JobsError whose message names the token. */
async function expectTokenRefused(listing: Promise<unknown>, token: string): Promise<void> {
  const error = await listing.then(
    () => expect.unreachable(`token ${token} was accepted`),
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(JobsError);
  expect(error).toMatchObject({ retryable: false });
  expect((error as Error).message).toContain(token.slice(0, 40));
}

const GARBAGE_TOKENS = ['not a token', Buffer.from('{"PK":').toString('base64url'), Buffer.from('[1,2]').toString('base64url')];

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

    /** Records `task` over whatever the store has, naming its own job as current. */
    const record = (task: Task, stepSize: number, currentJobIds: readonly string[] = task.jobId ? [task.jobId] : []): Promise<TaskWriteResult> =>
      store.recordTask({ task, stepSize, currentJobIds });

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

      it("keeps each version's tenant, and finds the latest of one tenant passing over the others'", async () => {
        const acme1 = await store.registerDatasetVersion(aDatasetInput({ landedEventId: 'landed-1', tenant: 'acme' }));
        const untenanted = await store.registerDatasetVersion(aDatasetInput({ landedEventId: 'landed-2' }));
        // More of another tenant's versions than one page of a small read, so the search has to go on.
        for (let i = 3; i <= 30; i++) await store.registerDatasetVersion(aDatasetInput({ landedEventId: `landed-${i}`, tenant: 'globex' }));

        expect(acme1).toMatchObject({ version: 1, tenant: 'acme' });
        expect(await store.getDatasetVersion(acme1.datasetId)).toEqual(acme1);
        expect(untenanted).not.toHaveProperty('tenant');
        expect((await store.latestDatasetVersion('executions', '2024-05-02'))?.version).toBe(30);
        expect(await store.latestDatasetVersion('executions', '2024-05-02', { tenant: 'globex' })).toMatchObject({ version: 30, tenant: 'globex' });
        expect(await store.latestDatasetVersion('executions', '2024-05-02', { tenant: 'acme' })).toEqual(acme1);
        expect(await store.latestDatasetVersion('executions', '2024-05-02', { tenant: DEFAULT_TENANT })).toEqual(untenanted);
        expect(await store.latestDatasetVersion('executions', '2024-05-02', { tenant: 'initech' })).toBeUndefined();
        expect(await store.latestDatasetVersion('executions', '2024-05-03', { tenant: 'acme' })).toBeUndefined();
      });

      it('returns undefined for unknown datasets and ids', async () => {
        expect(await store.getDatasetVersion('executions@2024-05-02#v1')).toBeUndefined();
        expect(await store.getDatasetVersion('not-a-dataset-id')).toBeUndefined();
        expect(await store.latestDatasetVersion('executions', '2024-05-02')).toBeUndefined();
      });
    });

    describe('runs', () => {
      it('creates a run with its steps and no task records, and reads them back', async () => {
        const run = aRun({ runId: 'run-1', traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01', tenant: 'acme', deadline: at(120) });
        const steps = [aPlannedStep('run-1', 'fills', 10_000), aPlannedStep('run-1', 'report', 1)];

        expect(await store.createRun(run, steps)).toBe(true);

        expect(await store.getRun('run-1')).toEqual(run);
        expect(await store.listSteps('run-1')).toEqual(steps);
        expect(await store.getStep('run-1', 'report')).toEqual(steps[1]);
        expect(await store.listTasks('run-1')).toEqual({ items: [] });
        expect(await store.getTask('run-1', 'fills', 9_999)).toBeUndefined();
      });

      it('returns false for an existing run id and keeps what is stored', async () => {
        const { run, steps } = aRunWithSteps('run-1', { fills: 2 });
        await store.createRun(run, steps);
        const running = await store.transitionRun('run-1', 'PENDING', { status: 'RUNNING', startedAt: at(1), updatedAt: at(1) });
        const submitted = await store.updateStep(0, { ...steps[0], status: 'SUBMITTED', jobId: 'job-fills', submittedAt: at(1), updatedAt: at(1) });

        expect(await store.createRun(aRun({ runId: 'run-1', pipeline: 'other' }), [aPlannedStep('run-1', 'fills', 9), aPlannedStep('run-1', 'extra', 1)])).toBe(false);

        expect(await store.getRun('run-1')).toEqual(running);
        expect(await store.listSteps('run-1')).toEqual([submitted]);
        expect((await store.listRuns()).items).toHaveLength(1);
      });

      it('lets exactly one of two concurrent creations of a run report true', async () => {
        const { run, steps } = aRunWithSteps('run-1', { fills: 4, report: 1 });
        const results = await Promise.all([store.createRun(run, steps), store.createRun(run, steps)]);

        expect(results.filter(Boolean)).toHaveLength(1);
        expect(await store.listSteps('run-1')).toHaveLength(2);
        expect((await store.listRuns()).items).toEqual([run]);
      });

      it('creates a run without steps', async () => {
        expect(await store.createRun(aRun({ runId: 'empty', tasksTotal: 0 }), [])).toBe(true);
        expect(await store.listSteps('empty')).toEqual([]);
        expect((await store.getRun('empty'))?.tasksTotal).toBe(0);
      });

      it('lists runs newest first in pages whose tokens lead through all of them', async () => {
        const ids = ['r-a', 'r-b', 'r-c', 'r-d', 'r-e'];
        for (const [i, runId] of ids.entries()) await store.createRun(aRun({ runId, createdAt: at(i), updatedAt: at(i) }), []);
        await store.transitionRun('r-a', 'PENDING', { status: 'RUNNING', updatedAt: at(9) });

        const first = await store.listRuns({ limit: 2 });
        expect(first.items.map((r) => r.runId)).toEqual(['r-e', 'r-d']);
        const { items, sizes } = await allPages((nextToken) => store.listRuns({ limit: 2, nextToken }));
        expect(items.map((r) => r.runId)).toEqual(['r-e', 'r-d', 'r-c', 'r-b', 'r-a']);
        expect(sizes).toEqual([2, 2, 1]);
        expect(items[4].status).toBe('RUNNING');

        const everything = await store.listRuns();
        expect(everything.items).toHaveLength(5);
        expect(everything.nextToken).toBeUndefined();
      });

      it('lists the runs of one tenant only, runs without a tenant as the default tenant', async () => {
        await store.createRun(aRun({ runId: 'r-a1', tenant: 'acme', createdAt: at(1) }), []);
        await store.createRun(aRun({ runId: 'r-b1', tenant: 'globex', createdAt: at(2) }), []);
        await store.createRun(aRun({ runId: 'r-a2', tenant: 'acme', createdAt: at(3) }), []);
        await store.createRun(aRun({ runId: 'r-d1', createdAt: at(4) }), []);

        const acme = await allPages((nextToken) => store.listRuns({ tenant: 'acme', limit: 1, nextToken }));
        expect(acme.items.map((r) => r.runId)).toEqual(['r-a2', 'r-a1']);
        expect((await store.listRuns({ tenant: 'globex' })).items.map((r) => r.runId)).toEqual(['r-b1']);
        expect((await store.listRuns({ tenant: DEFAULT_TENANT })).items.map((r) => r.runId)).toEqual(['r-d1']);
        expect(await store.listRuns({ tenant: 'nobody' })).toEqual({ items: [] });
        expect((await store.listRuns()).items).toHaveLength(4);
        const acmeToken = (await store.listRuns({ tenant: 'acme', limit: 1 })).nextToken as string;
        await expectTokenRefused(store.listRuns({ tenant: 'globex', nextToken: acmeToken }), acmeToken);
      });

      it('refuses a nextToken it did not issue, naming it', async () => {
        await store.createRun(aRun({ runId: 'r-a' }), []);
        await store.createRun(aRun({ runId: 'r-b', createdAt: at(1) }), []);
        const openToken = (await store.listOpenRuns({ limit: 1 })).nextToken;
        expect(openToken).toBeDefined();
        for (const token of [...GARBAGE_TOKENS, openToken as string]) await expectTokenRefused(store.listRuns({ nextToken: token }), token);
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

      it('refuses a transition the run state machine refuses, before writing anything', async () => {
        await store.createRun(aRun({ runId: 'run-1' }), []);
        const running = await store.transitionRun('run-1', 'PENDING', { status: 'RUNNING', updatedAt: at(1) });

        for (const [from, to] of [
          ['RUNNING', 'PENDING'],
          ['RUNNING', 'RUNNING'],
          ['PENDING', 'SUCCEEDED'],
          ['SUCCEEDED', 'FAILED'],
        ] as const) {
          const refused = store.transitionRun('run-1', from, { status: to, updatedAt: at(2) }, [anEventEntry(`e-${from}-${to}`)]);
          await expect(refused).rejects.toBeInstanceOf(IllegalTransitionError);
          await expect(refused).rejects.toMatchObject({ from, to, retryable: false });
        }
        await expect(store.transitionRun('nope', 'FAILED', { status: 'RUNNING' })).rejects.toBeInstanceOf(IllegalTransitionError);
        expect(await store.getRun('run-1')).toEqual(running);
      });

      it('rejects a transition from a status the run is no longer in, changing nothing', async () => {
        await store.createRun(aRun({ runId: 'run-1' }), []);
        const running = await store.transitionRun('run-1', 'PENDING', { status: 'RUNNING', updatedAt: at(1) });

        const stale = store.transitionRun('run-1', 'PENDING', { status: 'FAILED', reason: 'late', updatedAt: at(2) }, [anEventEntry('late')]);
        await expect(stale).rejects.toBeInstanceOf(StaleStateError);
        await expect(stale).rejects.toMatchObject({ retryable: false });
        expect(await store.getRun('run-1')).toEqual(running);
      });

      it('lets exactly one of two racing transitions from the same status win', async () => {
        await store.createRun(aRun({ runId: 'run-1' }), []);

        const { won, lost } = await race([
          store.transitionRun('run-1', 'PENDING', { status: 'RUNNING', updatedAt: at(1) }, [anEventEntry('started')]),
          store.transitionRun('run-1', 'PENDING', { status: 'FAILED', reason: 'cancelled', updatedAt: at(1) }, [anEventEntry('failed')]),
        ]);

        expect(won).toHaveLength(1);
        expect(lost).toHaveLength(1);
        expect(lost[0]).toBeInstanceOf(StaleStateError);
        expect(await store.getRun('run-1')).toEqual(won[0]);
        expect(won[0].outbox).toHaveLength(1);
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
        expect(await store.getStep('nope', 'fills')).toBeUndefined();
        expect(await store.listSteps('nope')).toEqual([]);
        expect(await store.listTasks('nope')).toEqual({ items: [] });
        expect(await store.getTask('nope', 'fills', 0)).toBeUndefined();
        expect(await store.listRuns()).toEqual({ items: [] });
        expect(await store.listOpenRuns()).toEqual({ items: [] });
      });
    });

    describe('outbox and open runs', () => {
      it('appends outbox entries with the transition that causes them, in the order written', async () => {
        await store.createRun(aRun({ runId: 'run-1' }), []);
        const [started, progress, finishedEvent] = [anEventEntry('started'), anEventEntry('progress'), anEventEntry('finished')];
        const stopJobs: OutboxEntry = { id: 'stop-jobs', kind: 'stop-jobs', reason: 'run failed' };

        const running = await store.transitionRun('run-1', 'PENDING', { status: 'RUNNING', updatedAt: at(1) }, [started, progress]);
        expect(running.outbox).toEqual([started, progress]);
        await expect(store.transitionRun('run-1', 'PENDING', { status: 'FAILED' }, [anEventEntry('lost')])).rejects.toBeInstanceOf(StaleStateError);

        const failed = await store.transitionRun('run-1', 'RUNNING', { status: 'FAILED', reason: 'x', updatedAt: at(2) }, [stopJobs, finishedEvent]);
        expect(failed.outbox).toEqual([started, progress, stopJobs, finishedEvent]);
        expect(await store.getRun('run-1')).toEqual(failed);
      });

      it('settles outbox entries by id, ignoring ids it does not hold, idempotently', async () => {
        await store.createRun(aRun({ runId: 'run-1' }), []);
        const entries = [anEventEntry('a'), anEventEntry('b'), anEventEntry('c')];
        await store.transitionRun('run-1', 'PENDING', { status: 'RUNNING', updatedAt: at(1) }, entries);

        const once = await store.settleOutbox('run-1', ['b', 'nope', 'b']);
        expect(once.outbox).toEqual([entries[0], entries[2]]);
        expect(await store.settleOutbox('run-1', ['b'])).toEqual(once);
        expect(await store.settleOutbox('run-1', [])).toEqual(once);
        const drained = await store.settleOutbox('run-1', ['a', 'c']);
        expect(drained.outbox ?? []).toEqual([]);
        expect(drained.status).toBe('RUNNING');
        expect(await store.getRun('run-1')).toEqual(drained);
      });

      it('answers a settle of an unknown run with a non-retryable error', async () => {
        const missing = store.settleOutbox('nope', ['a']);
        await expect(missing).rejects.toSatisfy((e: unknown) => e instanceof StaleStateError || e instanceof NotFoundError);
        expect(await store.getRun('nope')).toBeUndefined();
      });

      it('lists a run as open until it is terminal and its outbox is settled', async () => {
        const openIds = async (): Promise<string[]> => (await allPages((nextToken) => store.listOpenRuns({ nextToken }))).items.map((r) => r.runId).sort();
        for (const runId of ['done-with-outbox', 'done-quietly', 'pending', 'running']) await store.createRun(aRun({ runId }), []);
        expect(await openIds()).toEqual(['done-quietly', 'done-with-outbox', 'pending', 'running']);

        await store.transitionRun('running', 'PENDING', { status: 'RUNNING' }, [anEventEntry('running-started')]);
        await store.settleOutbox('running', ['running-started']);
        await store.transitionRun('done-with-outbox', 'PENDING', { status: 'RUNNING' });
        await store.transitionRun('done-with-outbox', 'RUNNING', { status: 'SUCCEEDED', finishedAt: at(3) }, [anEventEntry('e1'), anEventEntry('e2')]);
        await store.transitionRun('done-quietly', 'PENDING', { status: 'FAILED', reason: 'nothing to run' });
        expect(await openIds()).toEqual(['done-with-outbox', 'pending', 'running']);

        await store.settleOutbox('done-with-outbox', ['e1']);
        expect(await openIds()).toEqual(['done-with-outbox', 'pending', 'running']);
        const settled = await store.settleOutbox('done-with-outbox', ['e2']);
        expect(settled.status).toBe('SUCCEEDED');
        expect(await openIds()).toEqual(['pending', 'running']);
        expect(await store.settleOutbox('done-with-outbox', ['e2'])).toEqual(settled);
        expect(await openIds()).toEqual(['pending', 'running']);
        expect((await store.listRuns()).items).toHaveLength(4);
      });

      it('pages through open runs with tokens and refuses one it did not issue', async () => {
        const ids = Array.from({ length: 7 }, (_, i) => `open-${i}`);
        for (const runId of ids) await store.createRun(aRun({ runId }), []);

        const { items, sizes } = await allPages((nextToken) => store.listOpenRuns({ limit: 3, nextToken }));
        expect(items.map((r) => r.runId).sort()).toEqual(ids);
        expect(sizes.every((n) => n <= 3)).toBe(true);
        expect(sizes.length).toBeGreaterThanOrEqual(3);

        const runsToken = (await store.listRuns({ limit: 1 })).nextToken as string;
        for (const token of [...GARBAGE_TOKENS, runsToken]) await expectTokenRefused(store.listOpenRuns({ nextToken: token }), token);
      });
    });

    describe('retries', () => {
      const openIds = async (): Promise<string[]> => (await allPages((nextToken) => store.listOpenRuns({ nextToken }))).items.map((r) => r.runId).sort();
      const retry = (eventId: string, minutes = 5, overrides: Partial<Run> = {}) => ({ retryEventId: eventId, retriedAt: at(minutes), updatedAt: at(minutes), ...overrides });

      /** A run that RAN and FAILED at `at(2)`, its Run Failed entry carried out: closed. */
      async function aClosedFailedRun(runId: string, overrides: Partial<Run> = {}): Promise<Run> {
        await store.createRun(aRun({ runId, deadline: at(60), ...overrides }), []);
        await store.transitionRun(runId, 'PENDING', { status: 'RUNNING', startedAt: at(1), updatedAt: at(1) });
        await store.transitionRun(runId, 'RUNNING', { status: 'FAILED', reason: 'task fills#p1 failed', finishedAt: at(2), updatedAt: at(2) }, [anEventEntry(`failed-${runId}`)]);
        return store.settleOutbox(runId, [`failed-${runId}`]);
      }

      it('reopens a FAILED run as its next attempt: RUNNING, without its finish, with a fresh deadline, listed as open', async () => {
        const failed = await aClosedFailedRun('run-1');
        expect(await openIds()).toEqual([]);

        const reopened = await store.retryRun('run-1', 1, retry('retry-1', 5, { deadline: at(65) }));

        const { reason: _reason, finishedAt: _finishedAt, ...kept } = failed;
        expect(reopened).toEqual({ ...kept, status: 'RUNNING', attempt: 2, retryEventId: 'retry-1', retriedAt: at(5), updatedAt: at(5), deadline: at(65) });
        expect(await store.getRun('run-1')).toEqual(reopened);
        expect(await openIds()).toEqual(['run-1']);
        // Only retryRun goes back from FAILED; a transition names the attempt it was decided on.
        await expect(store.transitionRun('run-1', 'FAILED', { status: 'RUNNING' })).rejects.toBeInstanceOf(IllegalTransitionError);
        await expect(store.transitionRun('run-1', { status: 'RUNNING', attempt: 1 }, { status: 'FAILED', reason: 'late' }, [anEventEntry('late')])).rejects.toBeInstanceOf(
          StaleStateError,
        );
        expect(await store.getRun('run-1')).toEqual(reopened);

        const again = await store.transitionRun('run-1', { status: 'RUNNING', attempt: 2 }, { status: 'FAILED', reason: 'again', finishedAt: at(7) }, [anEventEntry('failed-a2')]);
        expect(again).toMatchObject({ status: 'FAILED', attempt: 2, reason: 'again', outbox: [anEventEntry('failed-a2')] });
        await store.settleOutbox('run-1', ['failed-a2']);
        expect(await openIds()).toEqual([]);
        expect(await store.retryRun('run-1', 2, retry('retry-2', 8))).toMatchObject({ status: 'RUNNING', attempt: 3, retryEventId: 'retry-2' });
        expect((await store.getRun('run-1'))?.deadline).toBeUndefined();
        expect(await openIds()).toEqual(['run-1']);
      });

      it('replays a retry by the same event, and refuses another event, a wrong attempt, an open run or an undrained outbox', async () => {
        await aClosedFailedRun('run-1');
        const reopened = await store.retryRun('run-1', 1, retry('retry-1'));

        expect(await store.retryRun('run-1', 1, retry('retry-1', 9))).toEqual(reopened);
        for (const [attempt, eventId] of [[1, 'retry-other'], [2, 'retry-1'], [2, 'retry-other']] as const) {
          const refused = store.retryRun('run-1', attempt, retry(eventId));
          await expect(refused).rejects.toBeInstanceOf(StaleStateError);
          await expect(refused).rejects.toMatchObject({ retryable: false });
        }
        expect(await store.getRun('run-1')).toEqual(reopened);

        await store.createRun(aRun({ runId: 'run-2' }), []);
        await store.transitionRun('run-2', 'PENDING', { status: 'FAILED', reason: 'x' }, [anEventEntry('undrained')]);
        await expect(store.retryRun('run-2', 1, retry('retry-2'))).rejects.toBeInstanceOf(StaleStateError);
        await store.settleOutbox('run-2', ['undrained']);
        expect(await store.retryRun('run-2', 1, retry('retry-2'))).toMatchObject({ status: 'RUNNING', attempt: 2 });

        await store.createRun(aRun({ runId: 'run-3' }), []);
        await store.transitionRun('run-3', 'PENDING', { status: 'RUNNING' });
        await store.transitionRun('run-3', 'RUNNING', { status: 'SUCCEEDED' });
        await expect(store.retryRun('run-3', 1, retry('retry-3'))).rejects.toBeInstanceOf(StaleStateError);
        expect((await store.getRun('run-3'))?.status).toBe('SUCCEEDED');
        await expect(store.retryRun('nope', 1, retry('retry-4'))).rejects.toSatisfy((e: unknown) => e instanceof StaleStateError || e instanceof NotFoundError);
      });

      it('lets exactly one of two retries by different events reopen the run', async () => {
        await aClosedFailedRun('run-1');
        const { won, lost } = await race([store.retryRun('run-1', 1, retry('retry-a')), store.retryRun('run-1', 1, retry('retry-b'))]);
        expect(won).toHaveLength(1);
        expect(lost).toHaveLength(1);
        expect(lost[0]).toBeInstanceOf(StaleStateError);
        expect(await store.getRun('run-1')).toEqual(won[0]);
        expect(won[0]).toMatchObject({ attempt: 2, status: 'RUNNING' });
      });

      it("keeps a reopened run listed whatever listings and settles decided on its closed attempt, however they interleave", async () => {
        const ids = Array.from({ length: 12 }, (_, i) => `run-${String(i).padStart(2, '0')}`);
        for (const runId of ids) await aClosedFailedRun(runId);
        // Closed runs' pointers: some already cleaned up by a listing, the others still there.
        for (const runId of ids.slice(0, 6)) await store.createRun(aRun({ runId }), []);
        await Promise.all([
          ...ids.map((runId) => store.retryRun(runId, 1, retry(`retry-${runId}`))),
          ...ids.map((runId) => store.settleOutbox(runId, [`failed-${runId}`])),
          store.listOpenRuns({ limit: 5 }),
          store.listOpenRuns(),
          store.listOpenRuns({ limit: 3 }),
        ]);
        expect(await openIds()).toEqual(ids);
        for (const runId of ids) expect(await store.getRun(runId)).toMatchObject({ status: 'RUNNING', attempt: 2 });
      });

      it('reopens a FAILED task once, out of its step failed count; a succeeded task never', async () => {
        const { run, steps } = aRunWithSteps('run-1', { fills: 3 });
        await store.createRun(run, steps);
        const submitted = await store.updateStep(0, { ...steps[0], status: 'SUBMITTED', jobId: 'job-fills' });
        for (const i of [0, 1, 2]) await record(finished(aTask('run-1', 'fills', i), i === 1 ? 'FAILED' : 'SUCCEEDED'), 3);
        const counted = (await store.getStep('run-1', 'fills'))!;
        expect(counted).toMatchObject({ succeeded: 2, failed: 1 });
        const failedStep = await store.updateStep(counted.version, { ...submitted, status: 'FAILED', reason: 'task fills#p1 failed' });

        const failedTask = (await store.getTask('run-1', 'fills', 1))!;
        const reopened: Task = { ...failedTask, status: 'SUBMITTED', jobId: 'resubmission:r2', maxAttempts: 4, statusReason: 'retried', stoppedAt: undefined, exitCode: undefined };
        const { stoppedAt: _s, exitCode: _e, ...stored } = reopened;
        expect(await store.reopenTask(failedTask, reopened, 3)).toMatchObject({ applied: true });
        expect(await store.getTask('run-1', 'fills', 1)).toEqual(stored);
        await expect(store.reopenTask(failedTask, reopened, 3)).rejects.toBeInstanceOf(StaleStateError);
        const succeeded = (await store.getTask('run-1', 'fills', 0))!;
        await expect(store.reopenTask(succeeded, { ...succeeded, status: 'SUBMITTED' }, 3)).rejects.toBeInstanceOf(IllegalTransitionError);
        await expect(store.reopenTask(failedTask, finished(failedTask), 3)).rejects.toBeInstanceOf(IllegalTransitionError);

        // The step reopened for attempt 2: the group with the reopened task leaves its counts.
        await expect(store.retryStep(failedStep.version - 1, { ...failedStep, status: 'SUBMITTED', attempt: 2 })).rejects.toBeInstanceOf(StaleStateError);
        await expect(store.retryStep(failedStep.version, { ...failedStep, status: 'SUCCEEDED' })).rejects.toBeInstanceOf(IllegalTransitionError);
        const { reason: _r, ...rest } = failedStep;
        const retried = await store.retryStep(failedStep.version, { ...rest, status: 'SUBMITTED', attempt: 2, updatedAt: at(5) });
        expect(retried).toEqual({ ...rest, status: 'SUBMITTED', attempt: 2, updatedAt: at(5), succeeded: 0, failed: 0, version: failedStep.version + 1 });
        expect(await store.getStep('run-1', 'fills')).toEqual(retried);

        // Its new job reports: the task finishes, and the group is counted again, whole.
        const done = { ...finished(stored), jobId: 'job-r2', attempts: [...failedTask.attempts, anAttempt(2)] };
        const result = await record(done, 3, ['job-r2', 'resubmission:r2']);
        expect(result).toMatchObject({ applied: true, step: { succeeded: 3, failed: 0, status: 'SUBMITTED', attempt: 2 } });
        expect(await store.foldStepCounts('run-1', 'fills')).toMatchObject({ succeeded: 3, failed: 0 });
      });

      it('recounts only the groups of tasks a retry reopened, and refuses to reopen a step that succeeded', async () => {
        const size = 30;
        const { run, steps } = aRunWithSteps('run-1', { fills: size, report: 1 });
        await store.createRun(run, steps);
        await inParallel(Array.from({ length: size }, (_, i) => i), 8, (i) => record(finished(aTask('run-1', 'fills', i), i === 27 ? 'FAILED' : 'SUCCEEDED'), size));
        const counted = (await store.getStep('run-1', 'fills'))!;
        expect(counted).toMatchObject({ succeeded: 29, failed: 1 });
        const step = await store.updateStep(counted.version, { ...counted, status: 'FAILED', jobId: 'job-fills' });
        const failedTask = (await store.getTask('run-1', 'fills', 27))!;
        await store.reopenTask(failedTask, { ...failedTask, status: 'SUBMITTED', jobId: 'resubmission:x' }, size);

        const retried = await store.retryStep(step.version, { ...step, status: 'SUBMITTED', attempt: 2 });
        // The first group of 25 stays counted; the second (25..29) waits for its reopened task.
        expect(retried).toMatchObject({ succeeded: 25, failed: 0, attempt: 2 });
        const again = await store.retryStep(retried.version, { ...retried, updatedAt: at(9) });
        expect(again).toMatchObject({ succeeded: 25, failed: 0 });

        const report = await store.updateStep(0, { ...(await store.getStep('run-1', 'report'))!, status: 'SUCCEEDED' });
        await expect(store.retryStep(report.version, { ...report, status: 'SUBMITTED' })).rejects.toBeInstanceOf(IllegalTransitionError);
        expect(await store.getStep('run-1', 'report')).toEqual(report);
      });
    });

    describe('steps', () => {
      it('replaces a step at the expected version, bumping the version whatever next says', async () => {
        const { run, steps } = aRunWithSteps('run-1', { fills: 3 });
        await store.createRun(run, steps);

        const claimed = await store.updateStep(0, { ...steps[0], status: 'SUBMITTING', claimToken: 'c-1', claimedAt: at(1), version: 42, updatedAt: at(1) });
        expect(claimed).toEqual({ ...steps[0], status: 'SUBMITTING', claimToken: 'c-1', claimedAt: at(1), version: 1, updatedAt: at(1) });

        // A replace, not a merge: the claim fields the next state lacks are gone.
        const submitted = await store.updateStep(1, { ...steps[0], status: 'SUBMITTED', jobId: 'job-fills', submittedAt: at(2), updatedAt: at(2) });
        expect(submitted).toEqual({ ...steps[0], status: 'SUBMITTED', jobId: 'job-fills', submittedAt: at(2), version: 2, updatedAt: at(2) });
        expect(await store.getStep('run-1', 'fills')).toEqual(submitted);
      });

      it('refuses a stale version, and lets one of two racing updates win', async () => {
        const { run, steps } = aRunWithSteps('run-1', { fills: 3 });
        await store.createRun(run, steps);
        const { won, lost } = await race([
          store.updateStep(0, { ...steps[0], status: 'SUBMITTING', claimToken: 'engine-a' }),
          store.updateStep(0, { ...steps[0], status: 'SUBMITTING', claimToken: 'engine-b' }),
        ]);
        expect(won).toHaveLength(1);
        expect(lost).toHaveLength(1);
        expect(lost[0]).toBeInstanceOf(StaleStateError);
        expect(lost[0]).toMatchObject({ retryable: false });
        expect(await store.getStep('run-1', 'fills')).toEqual(won[0]);

        await expect(store.updateStep(0, { ...steps[0], status: 'FAILED' })).rejects.toBeInstanceOf(StaleStateError);
        expect(await store.getStep('run-1', 'fills')).toEqual(won[0]);
      });

      it('refuses an update of an unknown step without creating it', async () => {
        const missing = store.updateStep(0, aPlannedStep('nope', 'fills', 1));
        await expect(missing).rejects.toSatisfy((e: unknown) => e instanceof StaleStateError || e instanceof NotFoundError);
        expect(await store.getStep('nope', 'fills')).toBeUndefined();
      });

      it('never overwrites the counts, and a count that changes refuses an update taken on the old one', async () => {
        const { run, steps } = aRunWithSteps('run-1', { fills: 2 });
        await store.createRun(run, steps);
        const before = await store.updateStep(0, { ...steps[0], status: 'SUBMITTED', jobId: 'job-fills' });

        for (const i of [0, 1]) await record(finished(aTask('run-1', 'fills', i)), 2);
        const counted = await store.getStep('run-1', 'fills');
        expect(counted).toMatchObject({ succeeded: 2, failed: 0, status: 'SUBMITTED' });
        await expect(store.updateStep(before.version, { ...before, status: 'FAILED' })).rejects.toBeInstanceOf(StaleStateError);

        const done = await store.updateStep(counted!.version, { ...counted!, status: 'SUCCEEDED', succeeded: 0, failed: 7, finishedAt: at(5) });
        expect(done).toMatchObject({ status: 'SUCCEEDED', succeeded: 2, failed: 0, finishedAt: at(5), version: counted!.version + 1 });
        expect(await store.getStep('run-1', 'fills')).toEqual(done);
      });
    });

    describe('tasks', () => {
      it('writes a task when its job first reports, and reads it back by step and index', async () => {
        const { run, steps } = aRunWithSteps('run-1', { fills: 30 });
        await store.createRun(run, steps);
        const task = aTask('run-1', 'fills', 27);

        expect(await record(task, 30, [])).toEqual({ applied: true, task });
        expect(await store.getTask('run-1', 'fills', 27)).toEqual(task);
        expect(await store.getTask('run-1', 'fills', 26)).toBeUndefined();
        expect(await store.getTask('run-1', 'report', 27)).toBeUndefined();
      });

      it('writes only what moves a task forward, and returns what is stored when it does not', async () => {
        const { run, steps } = aRunWithSteps('run-1', { fills: 1 });
        await store.createRun(run, steps);
        const running = aTask('run-1', 'fills', 0, { status: 'RUNNING', startedAt: at(1), updatedAt: at(1) });
        expect((await record(running, 1)).applied).toBe(true);

        expect(await record(aTask('run-1', 'fills', 0, { status: 'RUNNABLE' }), 1)).toEqual({ applied: false, task: running });
        expect(await record(running, 1)).toEqual({ applied: false, task: running });

        // A new attempt moves the task forward even though RUNNABLE ranks below RUNNING.
        const retrying = { ...running, status: 'RUNNABLE' as const, attempts: [anAttempt(1, 137)], updatedAt: at(3) };
        expect(await record(retrying, 1)).toEqual({ applied: true, task: retrying });
        expect(await store.getTask('run-1', 'fills', 0)).toEqual(retrying);
      });

      it('keeps a finished task finished, whatever comes later', async () => {
        const { run, steps } = aRunWithSteps('run-1', { fills: 1 });
        await store.createRun(run, steps);
        const done = finished(aTask('run-1', 'fills', 0));
        await record(done, 1);

        const later = aTask('run-1', 'fills', 0, { status: 'RUNNABLE', attempts: [anAttempt(1), anAttempt(2)] });
        expect(await record(later, 1)).toMatchObject({ applied: false, task: done });
        expect(await record(finished(later, 'FAILED'), 1)).toMatchObject({ applied: false, task: done });
        expect(await store.getStep('run-1', 'fills')).toMatchObject({ succeeded: 1, failed: 0 });
      });

      it('writes over a task only for one of its current jobs', async () => {
        const { run, steps } = aRunWithSteps('run-1', { fills: 2 });
        await store.createRun(run, steps);
        const first = aTask('run-1', 'fills', 0, { jobId: 'job-a:0' });
        await record(first, 2, []);

        const other = aTask('run-1', 'fills', 0, { jobId: 'job-b:0', status: 'RUNNING' });
        expect(await record(other, 2, ['job-b:0'])).toEqual({ applied: false, task: first });
        expect(await record(other, 2, [])).toEqual({ applied: false, task: first });
        expect(await record(other, 2, ['job-b:0', 'job-a:0'])).toEqual({ applied: true, task: other });
        expect(await store.getTask('run-1', 'fills', 0)).toEqual(other);

        // No stored task, or one without a job: any job may write.
        expect((await record(aTask('run-1', 'fills', 1, { jobId: 'job-z:1' }), 2, ['job-q:1'])).applied).toBe(true);
      });

      it('counts every finished task exactly once across redeliveries, and the completing call sees the count', async () => {
        const size = 60;
        const { run, steps } = aRunWithSteps('run-1', { fills: size });
        await store.createRun(run, steps);
        const failing = new Set([7, 41]);
        const finals = Array.from({ length: size }, (_, i) => finished(aTask('run-1', 'fills', i), failing.has(i) ? 'FAILED' : 'SUCCEEDED'));
        // Each final state is delivered twice and some earlier ones late; all in a shuffled order.
        const deliveries = shuffled([...finals, ...finals, ...finals.slice(0, 20).map((t) => aTask('run-1', 'fills', t.arrayIndex, { status: 'RUNNING' }))]);

        const results = await inParallel(deliveries, 8, (task) => record(task, size));

        expect(results.filter((r) => r.applied && (r.task.status === 'SUCCEEDED' || r.task.status === 'FAILED'))).toHaveLength(size);
        const step = await store.getStep('run-1', 'fills');
        expect(step).toMatchObject({ succeeded: size - 2, failed: 2 });
        const seen = results.flatMap((r) => (r.step ? [r.step.succeeded + r.step.failed] : []));
        expect(Math.max(...seen)).toBe(size);
        expect(await store.foldStepCounts('run-1', 'fills')).toEqual(step);
      });

      it('folds counts on demand, idempotently, and refuses an unknown step', async () => {
        const { run, steps } = aRunWithSteps('run-1', { fills: 7, report: 1 });
        await store.createRun(run, steps);
        for (let i = 0; i < 7; i++) await record(finished(aTask('run-1', 'fills', i), i === 3 ? 'FAILED' : 'SUCCEEDED'), 7);
        await record(aTask('run-1', 'report', 0, { status: 'RUNNING' }), 1);

        const folded = await store.foldStepCounts('run-1', 'fills');
        expect(folded).toMatchObject({ succeeded: 6, failed: 1 });
        expect(await store.foldStepCounts('run-1', 'fills')).toEqual(folded);
        expect(await store.foldStepCounts('run-1', 'report')).toMatchObject({ succeeded: 0, failed: 0 });
        await expect(store.foldStepCounts('run-1', 'nope')).rejects.toBeInstanceOf(NotFoundError);
      });

      it('lists task records by step then array index, in pages that add up exactly', async () => {
        const { run, steps } = aRunWithSteps('run-1', { alpha: 60, beta: 5 });
        await store.createRun(run, steps);
        const alpha = Array.from({ length: 60 }, (_, i) => aTask('run-1', 'alpha', i));
        const beta = [0, 2, 4].map((i) => aTask('run-1', 'beta', i));
        await inParallel(shuffled([...alpha, ...beta]), 8, (t) => record(t, t.step === 'alpha' ? 60 : 5));

        expect((await store.listTasks('run-1')).items).toEqual([...alpha, ...beta]);
        for (const limit of [1, 7, 25, 26, 63]) {
          const { items, sizes } = await allPages((nextToken) => store.listTasks('run-1', { limit, nextToken }));
          expect(items).toEqual([...alpha, ...beta]);
          expect(sizes.slice(0, -1).every((n) => n === limit)).toBe(true);
          expect(sizes.length).toBe(Math.ceil(63 / limit));
        }
        expect((await allPages((nextToken) => store.listTasks('run-1', { step: 'beta', limit: 2, nextToken }))).items).toEqual(beta);
        expect((await store.listTasks('run-1', { step: 'alpha', limit: 50 })).items).toEqual(alpha.slice(0, 50));
      });

      it('refuses a task listing token it did not issue', async () => {
        for (const runId of ['run-1', 'run-2']) {
          const { run, steps } = aRunWithSteps(runId, { alpha: 3, beta: 3 });
          await store.createRun(run, steps);
          for (const step of ['alpha', 'beta']) for (let i = 0; i < 3; i++) await record(aTask(runId, step, i), 3);
        }
        const token = (await store.listTasks('run-1', { limit: 4 })).nextToken as string;
        const alphaToken = (await store.listTasks('run-1', { step: 'alpha', limit: 1 })).nextToken as string;
        expect((await store.listTasks('run-1', { limit: 4, nextToken: token })).items).toHaveLength(2);

        for (const bad of GARBAGE_TOKENS) await expectTokenRefused(store.listTasks('run-1', { nextToken: bad }), bad);
        await expectTokenRefused(store.listTasks('run-2', { nextToken: token }), token);
        await expectTokenRefused(store.listTasks('run-1', { step: 'alpha', nextToken: token }), token);
        await expectTokenRefused(store.listTasks('run-1', { step: 'beta', nextToken: alphaToken }), alphaToken);
      });
    });

    describe('task claims', () => {
      it('claims a task as read, once', async () => {
        const { run, steps } = aRunWithSteps('run-1', { fills: 2 });
        await store.createRun(run, steps);
        const fresh = aTask('run-1', 'fills', 0, { status: 'SUBMITTED', jobId: 'resubmission:1' });

        expect(await store.claimTask(undefined, fresh, 2)).toEqual({ applied: true, task: fresh });
        await expect(store.claimTask(undefined, { ...fresh, jobId: 'resubmission:2' }, 2)).rejects.toBeInstanceOf(StaleStateError);
        expect(await store.getTask('run-1', 'fills', 0)).toEqual(fresh);
      });

      it('lets exactly one of two engines claiming the same task win', async () => {
        const { run, steps } = aRunWithSteps('run-1', { fills: 2 });
        await store.createRun(run, steps);
        const lost = aTask('run-1', 'fills', 1, { status: 'RUNNING', jobId: 'job-fills:1', startedAt: at(1) });
        await record(lost, 2);
        const read = (await store.getTask('run-1', 'fills', 1))!;
        // The resubmission keeps the lost attempt, so progress goes up; the job id changes to a claim placeholder.
        const claimBy = (engine: string): Task => ({ ...read, status: 'SUBMITTED', jobId: `resubmission:${engine}`, attempts: [anAttempt(1, 137)], updatedAt: at(2) });

        const { won, lost: losers } = await race([store.claimTask(read, claimBy('a'), 2), store.claimTask(read, claimBy('b'), 2)]);
        expect(won).toHaveLength(1);
        expect(losers).toHaveLength(1);
        expect(losers[0]).toBeInstanceOf(StaleStateError);
        expect(await store.getTask('run-1', 'fills', 1)).toEqual(won[0].task);

        // The lost job's late report no longer applies; the new job's does.
        expect((await record(aTask('run-1', 'fills', 1, { status: 'SUCCEEDED', attempts: [anAttempt(1)], jobId: 'job-fills:1' }), 2, ['job-fills:1'])).applied).toBe(false);
        const next = aTask('run-1', 'fills', 1, { status: 'RUNNING', jobId: 'job-2:1', attempts: [anAttempt(1, 137)] });
        expect((await record(next, 2, ['job-2:1', won[0].task.jobId!])).applied).toBe(true);
      });

      it('claims back to an earlier state, and clears the job id when the claim has none', async () => {
        const { run, steps } = aRunWithSteps('run-1', { fills: 1 });
        await store.createRun(run, steps);
        const runnable = aTask('run-1', 'fills', 0, { status: 'RUNNABLE', jobId: 'job-a:0' });
        await record(runnable, 1);
        const back = { ...runnable, status: 'SUBMITTED' as const, jobId: undefined, statusReason: 'host restarted' };

        expect((await store.claimTask(runnable, back, 1)).applied).toBe(true);
        expect(await store.getTask('run-1', 'fills', 0)).toEqual(back);
        await expect(store.claimTask(runnable, back, 1)).rejects.toBeInstanceOf(StaleStateError);
        // No job id stored: any job may report now.
        expect((await record(aTask('run-1', 'fills', 0, { jobId: 'job-b:0' }), 1, ['job-b:0'])).applied).toBe(true);
      });

      it('counts a claim that finishes a task, and refuses to claim a finished one', async () => {
        const { run, steps } = aRunWithSteps('run-1', { fills: 1 });
        await store.createRun(run, steps);
        const running = aTask('run-1', 'fills', 0, { status: 'RUNNING' });
        await record(running, 1);
        const gaveUp = { ...finished(running, 'FAILED'), statusReason: 'no attempts left' };

        const result = await store.claimTask(running, gaveUp, 1);
        expect(result).toMatchObject({ applied: true, task: gaveUp, step: { succeeded: 0, failed: 1 } });
        await expect(store.claimTask(gaveUp, { ...gaveUp, status: 'SUBMITTED' }, 1)).rejects.toBeInstanceOf(IllegalTransitionError);
        expect(await store.getStep('run-1', 'fills')).toMatchObject({ succeeded: 0, failed: 1 });
      });
    });

    describe('reports', () => {
      it('stores a report once and reads it back', async () => {
        const report = aReport();
        await store.putReport(report);
        await store.putReport(report);

        expect(await store.getReport('report-1')).toEqual(report);
        expect((await store.listReports()).items).toEqual([report]);
        expect(await store.getReport('nope')).toBeUndefined();
      });

      it('lists reports by run and honours the limit', async () => {
        const reports = [
          aReport({ reportId: 'rep-a', runId: 'run-1', publishedAt: at(1) }),
          aReport({ reportId: 'rep-b', runId: 'run-2', publishedAt: at(2) }),
          aReport({ reportId: 'rep-c', runId: 'run-1', publishedAt: at(3) }),
        ];
        for (const r of reports) await store.putReport(r);

        expect((await store.listReports()).items.map((r) => r.reportId).sort()).toEqual(['rep-a', 'rep-b', 'rep-c']);
        expect((await store.listReports({ runId: 'run-1' })).items.map((r) => r.reportId).sort()).toEqual(['rep-a', 'rep-c']);
        expect((await store.listReports({ runId: 'run-3' })).items).toEqual([]);
        const first = await store.listReports({ limit: 2 });
        expect(first.items).toHaveLength(2);
        const rest = await store.listReports({ limit: 2, nextToken: first.nextToken! });
        expect([...first.items, ...rest.items].map((r) => r.reportId).sort()).toEqual(['rep-a', 'rep-b', 'rep-c']);
        expect(rest.nextToken).toBeUndefined();
        expect((await store.listReports({ runId: 'run-1', limit: 1 })).items).toHaveLength(1);
        await expect(store.listReports({ nextToken: 'bm90LWEtdG9rZW4' })).rejects.toThrow(/nextToken/);
      });
    });

    describe('reports of tenants', () => {
      it('lists the reports of one tenant only, by run too', async () => {
        await store.putReport(aReport({ reportId: 'rep-a', runId: 'run-a', tenant: 'acme', publishedAt: at(1) }));
        await store.putReport(aReport({ reportId: 'rep-b', runId: 'run-b', tenant: 'globex', publishedAt: at(2) }));
        await store.putReport(aReport({ reportId: 'rep-d', runId: 'run-d', publishedAt: at(3) }));

        expect((await store.listReports({ tenant: 'acme' })).items.map((r) => r.reportId)).toEqual(['rep-a']);
        expect((await store.listReports({ tenant: 'globex' })).items.map((r) => r.reportId)).toEqual(['rep-b']);
        expect((await store.listReports({ tenant: DEFAULT_TENANT })).items.map((r) => r.reportId)).toEqual(['rep-d']);
        expect((await store.listReports({ tenant: 'acme', runId: 'run-a' })).items.map((r) => r.reportId)).toEqual(['rep-a']);
        expect((await store.listReports({ tenant: 'acme', runId: 'run-b' })).items).toEqual([]);
        expect((await store.listReports()).items).toHaveLength(3);
        expect(await store.getReport('rep-a')).toMatchObject({ tenant: 'acme' });
      });
    });

    describe('run listing filters', () => {
      const STATUSES_BY_THIRD = ['PENDING', 'RUNNING', 'SUCCEEDED', 'FAILED'] as const;

      /**
       * Twelve runs, newest first as read back: three pipelines, four dates, five correlation ids,
       * two versions a date (three runs each), three tenants (the default one among them), and
       * three runs in each status.
       */
      async function aFleet(): Promise<Run[]> {
        const ids: string[] = [];
        for (let i = 0; i < 12; i++) {
          const businessDate = `2024-05-0${1 + (i % 4)}`;
          const tenant = [undefined, 'acme', 'globex'][Math.floor(i / 2) % 3];
          const run = aRun({
            runId: `r-${String(i).padStart(2, '0')}`,
            pipeline: ['tca', 'risk', 'pnl'][i % 3],
            businessDate,
            correlationId: `corr-${i % 5}`,
            datasetId: `executions@${businessDate}#v${1 + (i % 2)}`,
            createdAt: at(i),
            updatedAt: at(i),
            ...(tenant ? { tenant } : {}),
          });
          await store.createRun(run, []);
          const status = STATUSES_BY_THIRD[Math.floor(i / 3)];
          if (status === 'RUNNING' || status === 'SUCCEEDED') await store.transitionRun(run.runId, 'PENDING', { status: 'RUNNING', updatedAt: at(20) });
          if (status === 'SUCCEEDED') await store.transitionRun(run.runId, 'RUNNING', { status: 'SUCCEEDED', updatedAt: at(21) });
          if (status === 'FAILED') await store.transitionRun(run.runId, 'PENDING', { status: 'FAILED', reason: 'cancelled', updatedAt: at(21) });
          ids.unshift(run.runId);
        }
        return Promise.all(ids.map(async (runId) => (await store.getRun(runId))!));
      }

      /** The listing of `query`, followed through its tokens at several page sizes, is exactly the fleet's runs that `keep` keeps. */
      async function expectListed(fleet: readonly Run[], query: RunQuery, keep: (run: Run) => boolean): Promise<void> {
        const expected = fleet.filter(keep);
        for (const limit of [1, 2, 50]) {
          const { items, sizes } = await allPages((nextToken) => store.listRuns({ ...query, limit, nextToken }));
          expect(items, `${JSON.stringify(query)}, limit ${limit}`).toEqual(expected);
          expect(sizes.every((n) => n <= limit)).toBe(true);
        }
      }

      it('filters by each field alone', async () => {
        const fleet = await aFleet();
        expect(fleet.map((r) => r.status).filter((s) => s === 'RUNNING')).toHaveLength(3);

        await expectListed(fleet, { status: 'RUNNING' }, (r) => r.status === 'RUNNING');
        await expectListed(fleet, { status: ['SUCCEEDED', 'FAILED'] }, (r) => r.status === 'SUCCEEDED' || r.status === 'FAILED');
        await expectListed(fleet, { status: ['PENDING'] }, (r) => r.status === 'PENDING');
        await expectListed(fleet, { pipeline: 'risk' }, (r) => r.pipeline === 'risk');
        await expectListed(fleet, { businessDateFrom: '2024-05-03' }, (r) => r.businessDate >= '2024-05-03');
        await expectListed(fleet, { businessDateTo: '2024-05-02' }, (r) => r.businessDate <= '2024-05-02');
        await expectListed(fleet, { businessDateFrom: '2024-05-02', businessDateTo: '2024-05-02' }, (r) => r.businessDate === '2024-05-02');
        await expectListed(fleet, { correlationId: 'corr-2' }, (r) => r.correlationId === 'corr-2');
        await expectListed(fleet, { datasetId: 'executions@2024-05-02#v2' }, (r) => r.datasetId === 'executions@2024-05-02#v2');
        await expectListed(fleet, { tenant: 'acme' }, (r) => r.tenant === 'acme');
        await expectListed(fleet, { tenant: DEFAULT_TENANT }, (r) => r.tenant === undefined);
        await expectListed(fleet, { pipeline: 'nope' }, () => false);
        await expectListed(fleet, { datasetId: 'executions@2024-06-01#v1' }, () => false);
        await expectListed(fleet, {}, () => true);
      });

      it('combines filters: a run is listed when it matches every one', async () => {
        const fleet = await aFleet();
        const inDates = (from: string, to: string) => (r: Run) => r.businessDate >= from && r.businessDate <= to;

        await expectListed(fleet, { tenant: 'acme', status: ['RUNNING', 'SUCCEEDED'] }, (r) => r.tenant === 'acme' && (r.status === 'RUNNING' || r.status === 'SUCCEEDED'));
        await expectListed(fleet, { pipeline: 'tca', businessDateFrom: '2024-05-02', businessDateTo: '2024-05-04' }, (r) => r.pipeline === 'tca' && inDates('2024-05-02', '2024-05-04')(r));
        await expectListed(fleet, { datasetId: 'executions@2024-05-01#v1', tenant: DEFAULT_TENANT }, (r) => r.datasetId === 'executions@2024-05-01#v1' && r.tenant === undefined);
        await expectListed(fleet, { datasetId: 'executions@2024-05-01#v1', tenant: 'globex' }, (r) => r.datasetId === 'executions@2024-05-01#v1' && r.tenant === 'globex');
        await expectListed(fleet, { datasetId: 'executions@2024-05-03#v1', status: 'SUCCEEDED', pipeline: 'pnl' }, (r) => r.datasetId === 'executions@2024-05-03#v1' && r.status === 'SUCCEEDED' && r.pipeline === 'pnl');
        await expectListed(
          fleet,
          { tenant: 'globex', status: ['PENDING', 'RUNNING', 'FAILED'], pipeline: 'risk', correlationId: 'corr-4', businessDateFrom: '2024-05-01', businessDateTo: '2024-05-03' },
          (r) => r.tenant === 'globex' && r.status !== 'SUCCEEDED' && r.pipeline === 'risk' && r.correlationId === 'corr-4' && inDates('2024-05-01', '2024-05-03')(r),
        );
        await expectListed(fleet, { businessDateFrom: '2024-05-03', businessDateTo: '2024-05-02' }, () => false);
        await expectListed(fleet, { tenant: 'acme', pipeline: 'tca', status: 'FAILED' }, (r) => r.tenant === 'acme' && r.pipeline === 'tca' && r.status === 'FAILED');
        // The fleet has runs for every combination above to find, but not for every one to miss.
        expect(fleet.filter((r) => r.tenant === 'globex' && r.pipeline === 'risk' && r.correlationId === 'corr-4')).toHaveLength(1);
      });

      it('pages through a selective filter over many runs with no duplicates or gaps, newest first', async () => {
        const runs = Array.from({ length: 230 }, (_, i) =>
          aRun({ runId: `r-${String(i).padStart(3, '0')}`, pipeline: i % 45 === 7 ? 'rare' : 'tca', createdAt: at(i), updatedAt: at(i) }),
        );
        await inParallel(runs, 8, (run) => store.createRun(run, []));
        const rare = runs.filter((r) => r.pipeline === 'rare').reverse();
        expect(rare).toHaveLength(5);

        for (const limit of [1, 2, 10]) {
          const { items, sizes } = await allPages((nextToken) => store.listRuns({ pipeline: 'rare', limit, nextToken }));
          expect(items).toEqual(rare);
          expect(sizes.every((n) => n <= limit)).toBe(true);
        }
        await store.transitionRun('r-052', 'PENDING', { status: 'RUNNING', updatedAt: at(300) });
        await store.transitionRun('r-200', 'PENDING', { status: 'RUNNING', updatedAt: at(300) });
        for (const limit of [1, 5]) {
          const running = await allPages((nextToken) => store.listRuns({ status: 'RUNNING', limit, nextToken }));
          expect(running.items.map((r) => r.runId)).toEqual(['r-200', 'r-052']);
          const rareRunning = await allPages((nextToken) => store.listRuns({ status: 'RUNNING', pipeline: 'rare', limit, nextToken }));
          expect(rareRunning.items.map((r) => r.runId)).toEqual(['r-052']);
        }
        const all = await allPages((nextToken) => store.listRuns({ limit: 100, nextToken }));
        expect(all.items.map((r) => r.runId)).toEqual(runs.map((r) => r.runId).reverse());
      });

      it('keeps runs created at the same instant in one order, at every page size and filter', async () => {
        const ids = shuffled(['t-a', 't-b', 't-c', 't-d', 't-e', 't-f', 't-g']);
        for (const runId of ids) await store.createRun(aRun({ runId, createdAt: at(1), updatedAt: at(1) }), []);
        await store.createRun(aRun({ runId: 'later', createdAt: at(2), updatedAt: at(2) }), []);
        await store.createRun(aRun({ runId: 'earlier', createdAt: at(0), updatedAt: at(0) }), []);

        const whole = (await store.listRuns()).items.map((r) => r.runId);
        expect(whole[0]).toBe('later');
        expect(whole.at(-1)).toBe('earlier');
        expect([...whole].sort()).toEqual([...ids, 'later', 'earlier'].sort());
        for (const limit of [1, 2, 4]) {
          expect((await allPages((nextToken) => store.listRuns({ limit, nextToken }))).items.map((r) => r.runId)).toEqual(whole);
          expect((await allPages((nextToken) => store.listRuns({ pipeline: 'tca', status: 'PENDING', limit, nextToken }))).items.map((r) => r.runId)).toEqual(whole);
          expect((await allPages((nextToken) => store.listRuns({ datasetId: 'executions@2024-05-02#v1', limit, nextToken }))).items.map((r) => r.runId)).toEqual(whole);
        }
      });

      it("refuses a token of one tenant's listing of a version's runs in another's", async () => {
        const datasetId = 'executions@2024-05-02#v1';
        for (const [i, tenant] of ['acme', 'acme', 'globex', 'globex', undefined, undefined].entries()) {
          await store.createRun(aRun({ runId: `r-${i}`, datasetId, createdAt: at(i), ...(tenant ? { tenant } : {}) }), []);
        }
        const acme = await store.listRuns({ datasetId, tenant: 'acme', limit: 1 });
        expect(acme.items.map((r) => r.runId)).toEqual(['r-1']);
        const acmeToken = acme.nextToken as string;
        expect((await store.listRuns({ datasetId, tenant: 'acme', limit: 1, nextToken: acmeToken })).items.map((r) => r.runId)).toEqual(['r-0']);
        const anyToken = (await store.listRuns({ datasetId, limit: 1 })).nextToken as string;

        await expectTokenRefused(store.listRuns({ datasetId, tenant: 'globex', nextToken: acmeToken }), acmeToken);
        await expectTokenRefused(store.listRuns({ datasetId, nextToken: acmeToken }), acmeToken);
        await expectTokenRefused(store.listRuns({ datasetId, tenant: 'globex', nextToken: anyToken }), anyToken);
        await expectTokenRefused(store.listRuns({ tenant: 'acme', nextToken: acmeToken }), acmeToken);
        await expectTokenRefused(store.listRuns({ datasetId: 'executions@2024-05-02#v2', nextToken: anyToken }), anyToken);
        for (const bad of GARBAGE_TOKENS) await expectTokenRefused(store.listRuns({ datasetId, nextToken: bad }), bad);
      });

      it('refuses invalid filters with a non-retryable error', async () => {
        await store.createRun(aRun(), []);
        const invalid: RunQuery[] = [
          { status: 'DONE' as RunStatus },
          { status: ['RUNNING', 'done' as RunStatus] },
          { status: [] },
          { businessDateFrom: '2024-5-1' },
          { businessDateTo: '20240501' },
        ];
        for (const query of invalid) {
          const error = await store.listRuns(query).then(
            () => expect.unreachable(`${JSON.stringify(query)} was accepted`),
            (e: unknown) => e,
          );
          expect(error).toBeInstanceOf(JobsError);
          expect(error).toMatchObject({ retryable: false });
        }
      });
    });

    describe('dataset version listing', () => {
      it('lists versions newest registration first, of one dataset when asked, in pages', async () => {
        const registered: DatasetVersion[] = [];
        for (let i = 0; i < 7; i++) {
          const input = aDatasetInput({ landedEventId: `landed-${i}`, dataset: i % 3 === 0 ? 'quotes' : 'executions', businessDate: `2024-05-0${1 + (i % 2)}`, registeredAt: at(i) });
          registered.push(await store.registerDatasetVersion(input));
        }
        // A replay lists nothing twice.
        await store.registerDatasetVersion(aDatasetInput({ landedEventId: 'landed-3', dataset: 'quotes', businessDate: '2024-05-02', registeredAt: at(9) }));
        const newestFirst = [...registered].reverse();

        expect(await store.listDatasetVersions()).toEqual({ items: newestFirst });
        for (const limit of [1, 3]) {
          const { items, sizes } = await allPages((nextToken) => store.listDatasetVersions({ limit, nextToken }));
          expect(items).toEqual(newestFirst);
          expect(sizes.every((n) => n <= limit)).toBe(true);
          const quotes = await allPages((nextToken) => store.listDatasetVersions({ dataset: 'quotes', limit, nextToken }));
          expect(quotes.items).toEqual(newestFirst.filter((v) => v.dataset === 'quotes'));
        }
        expect((await allPages((nextToken) => store.listDatasetVersions({ dataset: 'nope', nextToken }))).items).toEqual([]);
      });

      it("lists one tenant's versions only, and refuses another tenant's token", async () => {
        const acme1 = await store.registerDatasetVersion(aDatasetInput({ landedEventId: 'landed-1', tenant: 'acme', registeredAt: at(1) }));
        const globex1 = await store.registerDatasetVersion(aDatasetInput({ landedEventId: 'landed-2', tenant: 'globex', registeredAt: at(2) }));
        const acme2 = await store.registerDatasetVersion(aDatasetInput({ landedEventId: 'landed-3', tenant: 'acme', dataset: 'quotes', registeredAt: at(3) }));
        const untenanted = await store.registerDatasetVersion(aDatasetInput({ landedEventId: 'landed-4', registeredAt: at(4) }));
        const globex2 = await store.registerDatasetVersion(aDatasetInput({ landedEventId: 'landed-5', tenant: 'globex', registeredAt: at(5) }));

        expect((await allPages((nextToken) => store.listDatasetVersions({ tenant: 'acme', limit: 1, nextToken }))).items).toEqual([acme2, acme1]);
        expect((await store.listDatasetVersions({ tenant: 'globex' })).items).toEqual([globex2, globex1]);
        expect((await store.listDatasetVersions({ tenant: DEFAULT_TENANT })).items).toEqual([untenanted]);
        expect((await store.listDatasetVersions({ tenant: 'acme', dataset: 'executions' })).items).toEqual([acme1]);
        expect(await store.listDatasetVersions({ tenant: 'nobody' })).toEqual({ items: [] });
        expect((await store.listDatasetVersions()).items).toHaveLength(5);

        const acmeToken = (await store.listDatasetVersions({ tenant: 'acme', limit: 1 })).nextToken as string;
        const allToken = (await store.listDatasetVersions({ limit: 1 })).nextToken as string;
        const runsToken = await (async () => {
          await store.createRun(aRun({ runId: 'r-1', createdAt: at(1) }), []);
          await store.createRun(aRun({ runId: 'r-2', createdAt: at(2) }), []);
          return (await store.listRuns({ limit: 1 })).nextToken as string;
        })();
        await expectTokenRefused(store.listDatasetVersions({ tenant: 'globex', nextToken: acmeToken }), acmeToken);
        await expectTokenRefused(store.listDatasetVersions({ nextToken: acmeToken }), acmeToken);
        await expectTokenRefused(store.listDatasetVersions({ tenant: 'acme', nextToken: allToken }), allToken);
        await expectTokenRefused(store.listDatasetVersions({ nextToken: runsToken }), runsToken);
        await expectTokenRefused(store.listRuns({ nextToken: allToken }), allToken);
        for (const bad of GARBAGE_TOKENS) await expectTokenRefused(store.listDatasetVersions({ nextToken: bad }), bad);
      });

      it('lists nothing in an empty store, and refuses a bad limit', async () => {
        expect(await store.listDatasetVersions()).toEqual({ items: [] });
        await expect(store.listDatasetVersions({ limit: 0 })).rejects.toMatchObject({ retryable: false });
      });
    });

    describe('landings', () => {
      const reasons = [
        { path: 'detail.files.0.key', file: 'landing/x.csv', message: 'file not found in the object store' },
        { file: 'landing/y.csv', line: 3, column: 'date', message: 'not a valid DATE' },
      ];

      it('answers a rejected landing with its reasons and tenant, keeping the first record on a replay', async () => {
        const rejection = { landedEventId: 'landed-1', tenant: 'acme', dataset: 'executions', businessDate: '2024-05-02', reasons, rejectedAt: at(1) };
        expect(await store.recordLandingRejected(rejection)).toBe(true);
        expect(await store.recordLandingRejected({ ...rejection, reasons: [{ message: 'something else' }], rejectedAt: at(2) })).toBe(false);

        expect(await store.getLanding('landed-1')).toEqual({
          landedEventId: 'landed-1',
          tenant: 'acme',
          status: 'REJECTED',
          reasons,
          dataset: 'executions',
          businessDate: '2024-05-02',
          at: at(1),
        });
        // What could not be read is absent.
        await store.recordLandingRejected({ landedEventId: 'landed-2', reasons: [{ path: 'detail', message: 'Required' }], rejectedAt: at(3) });
        expect(await store.getLanding('landed-2')).toEqual({ landedEventId: 'landed-2', status: 'REJECTED', reasons: [{ path: 'detail', message: 'Required' }], at: at(3) });
        expect(await store.getLanding('nope')).toBeUndefined();
      });

      it('lets exactly one of concurrent records of one rejection report true', async () => {
        const results = await Promise.all([1, 2, 3].map((i) => store.recordLandingRejected({ landedEventId: 'landed-1', reasons, rejectedAt: at(i) })));
        expect(results.filter(Boolean)).toHaveLength(1);
        expect(await store.getLanding('landed-1')).toMatchObject({ status: 'REJECTED', reasons });
      });

      it('answers a landing that registered a version with that version', async () => {
        const acme = await store.registerDatasetVersion(aDatasetInput({ landedEventId: 'landed-1', tenant: 'acme', registeredAt: at(4) }));
        const untenanted = await store.registerDatasetVersion(aDatasetInput({ landedEventId: 'landed-2', registeredAt: at(5) }));

        expect(await store.getLanding('landed-1')).toEqual({ landedEventId: 'landed-1', tenant: 'acme', status: 'ACCEPTED', datasetId: acme.datasetId, at: at(4) });
        expect(await store.getLanding('landed-2')).toEqual({ landedEventId: 'landed-2', status: 'ACCEPTED', datasetId: untenanted.datasetId, at: at(5) });
      });

      it('answers a landing answered as already registered with that version, keeping the first record', async () => {
        const v1 = await store.registerDatasetVersion(aDatasetInput({ landedEventId: 'landed-1', tenant: 'acme' }));
        const acceptance = { landedEventId: 'landed-2', tenant: 'acme', datasetId: v1.datasetId, at: at(6), alreadyRegistered: true as const };
        expect(await store.recordLandingAccepted(acceptance)).toBe(true);
        expect(await store.recordLandingAccepted({ ...acceptance, datasetId: 'executions@2024-05-02#v9', at: at(7) })).toBe(false);

        expect(await store.getLanding('landed-2')).toEqual({ landedEventId: 'landed-2', tenant: 'acme', status: 'ACCEPTED', datasetId: v1.datasetId, at: at(6), alreadyRegistered: true });
        // Answering a landing registers nothing.
        expect((await store.listDatasetVersions()).items).toEqual([v1]);
        expect(await store.getLanding('landed-1')).toMatchObject({ status: 'ACCEPTED', datasetId: v1.datasetId });
      });

      it('answers with the version a landing registered over any other record of it', async () => {
        await store.recordLandingRejected({ landedEventId: 'landed-1', reasons, rejectedAt: at(1) });
        const v1 = await store.registerDatasetVersion(aDatasetInput({ landedEventId: 'landed-1', registeredAt: at(2) }));
        expect(await store.getLanding('landed-1')).toEqual({ landedEventId: 'landed-1', status: 'ACCEPTED', datasetId: v1.datasetId, at: at(2) });
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

    describe('batch reads of many runs', () => {
      it('reads the named steps of several runs in the order named, once each, leaving out unknown ones', async () => {
        const a = aRunWithSteps('run-a', { fills: 2, report: 1 });
        const b = aRunWithSteps('run-b', { fills: 3 });
        await store.createRun(a.run, a.steps);
        await store.createRun(b.run, b.steps);
        const fillsA = (await store.getStep('run-a', 'fills'))!;
        const moved = await store.updateStep(fillsA.version, { ...fillsA, status: 'SUBMITTED', jobId: 'job-a', updatedAt: at(1) });

        const refs = [
          { runId: 'run-b', step: 'fills' },
          { runId: 'run-a', step: 'fills' },
          { runId: 'run-a', step: 'nope' },
          { runId: 'run-c', step: 'fills' },
          { runId: 'run-a', step: 'report' },
          { runId: 'run-b', step: 'fills' },
        ];
        expect(await store.getSteps(refs)).toEqual([await store.getStep('run-b', 'fills'), moved, await store.getStep('run-a', 'report')]);
        expect(await store.getSteps([])).toEqual([]);
      });

      it('reads the tasks of many steps by step then array index, of the first children when asked', async () => {
        const a = aRunWithSteps('run-a', { fills: 60, report: 1 });
        const b = aRunWithSteps('run-b', { fills: 2 });
        await store.createRun(a.run, a.steps);
        await store.createRun(b.run, b.steps);
        const written = [aTask('run-a', 'fills', 59), aTask('run-a', 'fills', 0), aTask('run-a', 'fills', 26), aTask('run-b', 'fills', 1), finished(aTask('run-a', 'report', 0))];
        for (const task of written) await record(task, task.step === 'fills' ? (task.runId === 'run-a' ? 60 : 2) : 1);
        const [fillsA, reportA, fillsB] = [a.steps[0]!, a.steps[1]!, b.steps[0]!];

        const all = await store.listTasksOfSteps([fillsB, fillsA, reportA, aPlannedStep('run-c', 'fills', 5), fillsB]);
        expect(all.map((t) => `${t.runId}/${t.taskId}`)).toEqual(['run-b/fills#p1', 'run-a/fills#p0', 'run-a/fills#p26', 'run-a/fills#p59', 'run-a/report#p0']);
        expect(all.find((t) => t.step === 'report')).toEqual(written[4]);

        const first = await store.listTasksOfSteps([fillsA, fillsB, reportA], { indexLimit: 27 });
        expect(first.map((t) => `${t.runId}/${t.taskId}`)).toEqual(['run-a/fills#p0', 'run-a/fills#p26', 'run-b/fills#p1', 'run-a/report#p0']);
        expect((await store.listTasksOfSteps([fillsA], { indexLimit: 1 })).map((t) => t.arrayIndex)).toEqual([0]);
        expect(await store.listTasksOfSteps([])).toEqual([]);
        expect(await store.listTasksOfSteps([aPlannedStep('run-a', 'fills', 0)])).toEqual([]);
      });

      it('refuses a task read of a size or child limit that is no count, as not retryable', async () => {
        const step = aPlannedStep('run-a', 'fills', 2);
        for (const bad of [store.listTasksOfSteps([step], { indexLimit: 0 }), store.listTasksOfSteps([step], { indexLimit: 1.5 }), store.listTasksOfSteps([{ ...step, size: -1 }])]) {
          await expect(bad).rejects.toBeInstanceOf(JobsError);
          await expect(bad).rejects.toMatchObject({ retryable: false });
        }
      });
    });
  });
}
