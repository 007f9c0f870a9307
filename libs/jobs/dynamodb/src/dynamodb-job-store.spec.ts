import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CreateTableCommand } from '@aws-sdk/client-dynamodb';
import { GetCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DEFAULT_TENANT, InvalidPageTokenError, LANDING_REJECTION_RETENTION_SECONDS, NotFoundError, RUN_STATUSES, StaleStateError, StoreUnavailableError, canTransitionRun } from '@nightshift/jobs-domain';
import { beforeEach, describe, expect, it } from 'vitest';
// The conformance suite is test-only and deliberately not in jobs-domain's public index.
// eslint-disable-next-line @nx/enforce-module-boundaries
import {
  aDatasetInput,
  aPlannedStep,
  aReport,
  aRun,
  aRunWithSteps,
  aTask,
  at,
  describeJobStoreContract,
  finished,
  inParallel,
  shuffled,
} from '../../domain/src/testing/job-store.contract.js';
import { createTable } from './create-table.js';
import { DynamoDbJobStore } from './dynamodb-job-store.js';
import { InvalidJobStoreInputError, TableSchemaMismatchError } from './errors.js';
import { MIN_POINTERS_PER_PAGE } from './index-listing.js';
import { TASK_CHUNK_SIZE, TTL_ATTRIBUTE } from './keys.js';
import { MAX_STORED_REASON_BYTES } from './landings.js';
import { createAwsDocumentClient } from './aws-document-client.js';
import { createDocumentClient } from './local-document-client.js';
import { embeddedTables } from './testing/embedded-tables.js';

const db = embeddedTables('jobs');

describeJobStoreContract('DynamoDbJobStore on embedded dynalite', async () => {
  const store = new DynamoDbJobStore(db.client, { tableName: await db.freshTable() });
  return { store, close: async () => undefined };
});

// The aws mode's client (SigV4, the SDK's standard configuration) against the embedded endpoint:
// the same adapter, configured as a service process of its own configures it.
describeJobStoreContract('DynamoDbJobStore with the aws-mode client against the embedded endpoint', async () => {
  const aws = createAwsDocumentClient({ endpoint: db.server.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
  const store = new DynamoDbJobStore(aws, { tableName: await db.freshTable() });
  return { store, close: async () => aws.destroy() };
});

/** Thrown by the fault injector in place of the write a crashed process never sent. */
class SimulatedCrashError extends Error {}

const WRITE_COMMANDS = new Set(['PutItemCommand', 'UpdateItemCommand', 'DeleteItemCommand']);

/**
 * A second client to the same server that lets `writes` PutItem/UpdateItem/DeleteItem requests
 * through and then fails every later one before it is sent, as if the process had died there.
 */
function clientCrashingAfter(writes: number): DynamoDBDocumentClient {
  const crashing = createDocumentClient({ endpoint: db.server.endpoint, maxAttempts: 1 });
  let seen = 0;
  crashing.middlewareStack.add(
    (next, context) => async (args) => {
      if (WRITE_COMMANDS.has(context.commandName ?? '') && ++seen > writes) throw new SimulatedCrashError(`crashed before write ${seen}`);
      return next(args);
    },
    { step: 'initialize', name: 'simulatedCrash' },
  );
  return crashing;
}

/** A second client that counts the writes it sends, by the kind of item (the sort key up to its first `#`). */
function countingClient(): { client: DynamoDBDocumentClient; writes: Map<string, number> } {
  const counting = createDocumentClient({ endpoint: db.server.endpoint });
  const writes = new Map<string, number>();
  counting.middlewareStack.add(
    (next, context) => async (args) => {
      if (WRITE_COMMANDS.has(context.commandName ?? '')) {
        const input = args.input as { Key?: { SK?: string }; Item?: { SK?: string } };
        const kind = String(input.Key?.SK ?? input.Item?.SK ?? '?').split('#')[0];
        writes.set(kind, (writes.get(kind) ?? 0) + 1);
      }
      return next(args);
    },
    { step: 'initialize', name: 'writeCounter' },
  );
  return { client: counting, writes };
}

describe('DynamoDbJobStore', () => {
  let tableName: string;
  let store: DynamoDbJobStore;
  beforeEach(async () => {
    tableName = await db.freshTable();
    store = new DynamoDbJobStore(db.client, { tableName });
  });

  describe('createRun after a crash part-way', () => {
    it('completes the missing steps and indexes on replay without touching a step that moved on', async () => {
      const { run, steps } = aRunWithSteps('run-1', { alpha: 3, beta: 40, gamma: 1 });
      const crashing = clientCrashingAfter(2); // the run item and one step
      try {
        const crashed = new DynamoDbJobStore(crashing, { tableName, writeConcurrency: 1 });
        await expect(crashed.createRun(run, steps)).rejects.toBeInstanceOf(SimulatedCrashError);
      } finally {
        crashing.destroy();
      }

      expect(await store.getRun('run-1')).toEqual(run);
      const partial = await store.listSteps('run-1');
      expect(partial).toEqual([steps[0]]);
      expect(await store.listRuns()).toEqual({ items: [] });
      expect(await store.listOpenRuns()).toEqual({ items: [] });
      // Between crash and replay, the step that exists makes progress.
      const claimed = await store.updateStep(0, { ...steps[0], status: 'SUBMITTING', claimToken: 'c-1', claimedAt: at(1) });

      expect(await store.createRun(run, steps)).toBe(false);

      expect(await store.listSteps('run-1')).toEqual([claimed, steps[1], steps[2]]);
      expect((await store.listRuns()).items).toEqual([run]);
      expect((await store.listRuns({ datasetId: run.datasetId, tenant: DEFAULT_TENANT, pipeline: run.pipeline })).items).toEqual([run]);
      expect((await store.listOpenRuns()).items).toEqual([run]);
      expect(await store.createRun(run, steps)).toBe(false);
      expect(await store.listSteps('run-1')).toHaveLength(3);
    });

    it('rejects steps that belong to another run, twice-named steps and unusable names before writing anything', async () => {
      const run = aRun({ runId: 'run-1' });
      for (const steps of [
        [aPlannedStep('run-2', 'fills', 1)],
        [aPlannedStep('run-1', 'fills', 1), aPlannedStep('run-1', 'fills', 2)],
        [aPlannedStep('run-1', 'fills#eq', 1)],
        [aPlannedStep('run-1', 'fills', -1)],
      ]) {
        await expect(store.createRun(run, steps)).rejects.toBeInstanceOf(InvalidJobStoreInputError);
      }
      expect(await store.getRun('run-1')).toBeUndefined();
    });
  });

  describe('registerDatasetVersion after a crash part-way', () => {
    it('gives a landing that crashed after its claim the next free version on replay', async () => {
      const crashing = clientCrashingAfter(1); // the claim, not the version item
      try {
        const crashed = new DynamoDbJobStore(crashing, { tableName });
        await expect(crashed.registerDatasetVersion(aDatasetInput({ landedEventId: 'landed-a' }))).rejects.toBeInstanceOf(SimulatedCrashError);
      } finally {
        crashing.destroy();
      }
      expect(await store.latestDatasetVersion('executions', '2024-05-02')).toBeUndefined();

      const b = await store.registerDatasetVersion(aDatasetInput({ landedEventId: 'landed-b' }));
      const a = await store.registerDatasetVersion(aDatasetInput({ landedEventId: 'landed-a' }));
      const aAgain = await store.registerDatasetVersion(aDatasetInput({ landedEventId: 'landed-a', registeredAt: at(10) }));

      expect(b.version).toBe(1);
      expect(a).toMatchObject({ version: 2, datasetId: 'executions@2024-05-02#v2', landedEventId: 'landed-a' });
      expect(aAgain).toEqual(a);
      expect(await store.latestDatasetVersion('executions', '2024-05-02')).toEqual(a);
      expect(await store.getLanding('landed-a')).toMatchObject({ status: 'ACCEPTED', datasetId: a.datasetId });
    });

    it('answers nothing for a landing whose claim has no version yet', async () => {
      const crashing = clientCrashingAfter(1); // the claim, not the version item
      try {
        await expect(new DynamoDbJobStore(crashing, { tableName }).registerDatasetVersion(aDatasetInput({ landedEventId: 'landed-a' }))).rejects.toBeInstanceOf(SimulatedCrashError);
      } finally {
        crashing.destroy();
      }
      expect(await store.getLanding('landed-a')).toBeUndefined();
      // Another landing takes the slot the claim named: still not this landing's version.
      await store.registerDatasetVersion(aDatasetInput({ landedEventId: 'landed-b' }));
      expect(await store.getLanding('landed-a')).toBeUndefined();
    });

    it('lists a version whose registration crashed before its index pointers once it is replayed, once', async () => {
      const crashing = clientCrashingAfter(2); // the claim and the version item, not the pointers
      try {
        await expect(new DynamoDbJobStore(crashing, { tableName }).registerDatasetVersion(aDatasetInput({ landedEventId: 'landed-a', tenant: 'acme' }))).rejects.toBeInstanceOf(
          SimulatedCrashError,
        );
      } finally {
        crashing.destroy();
      }
      expect(await store.listDatasetVersions()).toEqual({ items: [] });
      const a = await store.registerDatasetVersion(aDatasetInput({ landedEventId: 'landed-a', tenant: 'acme', registeredAt: at(5) }));
      expect(a.registeredAt).toBe(at(0));
      expect(await store.listDatasetVersions()).toEqual({ items: [a] });
      expect(await store.listDatasetVersions({ tenant: 'acme' })).toEqual({ items: [a] });
      await store.registerDatasetVersion(aDatasetInput({ landedEventId: 'landed-a', tenant: 'acme' }));
      expect(await store.listDatasetVersions()).toEqual({ items: [a] });
    });
  });

  describe('task counts after a crash between the task write and the fold', () => {
    /** Records all but the last task of a 3-child step, then the last one through a client that dies after the task write. */
    async function crashBeforeTheFold(): Promise<void> {
      const { run, steps } = aRunWithSteps('run-1', { fills: 3 });
      await store.createRun(run, steps);
      for (const i of [0, 1]) await store.recordTask({ task: finished(aTask('run-1', 'fills', i)), stepSize: 3, currentJobIds: [] });
      const crashing = clientCrashingAfter(1);
      try {
        const crashed = new DynamoDbJobStore(crashing, { tableName });
        await expect(crashed.recordTask({ task: finished(aTask('run-1', 'fills', 2), 'FAILED'), stepSize: 3, currentJobIds: [] })).rejects.toBeInstanceOf(
          SimulatedCrashError,
        );
      } finally {
        crashing.destroy();
      }
      expect(await store.getTask('run-1', 'fills', 2)).toMatchObject({ status: 'FAILED' });
      expect(await store.getStep('run-1', 'fills')).toMatchObject({ succeeded: 0, failed: 0 });
    }

    it('folds on the redelivery, once', async () => {
      await crashBeforeTheFold();
      const last = finished(aTask('run-1', 'fills', 2), 'FAILED');

      const redelivered = await store.recordTask({ task: last, stepSize: 3, currentJobIds: [] });
      expect(redelivered).toMatchObject({ applied: false, task: last, step: { succeeded: 2, failed: 1, version: 1 } });
      const again = await store.recordTask({ task: last, stepSize: 3, currentJobIds: [] });
      expect(again).toEqual({ applied: false, task: last });
      expect(await store.getStep('run-1', 'fills')).toMatchObject({ succeeded: 2, failed: 1, version: 1 });
    });

    it('folds on reconciliation, once', async () => {
      await crashBeforeTheFold();
      expect(await store.foldStepCounts('run-1', 'fills')).toMatchObject({ succeeded: 2, failed: 1, version: 1 });
      expect(await store.foldStepCounts('run-1', 'fills')).toMatchObject({ succeeded: 2, failed: 1, version: 1 });
      expect((await store.recordTask({ task: finished(aTask('run-1', 'fills', 2), 'FAILED'), stepSize: 3, currentJobIds: [] })).step).toBeUndefined();
    });
  });

  it(
    'folds a 10 000-child step with one write per child and one step write per chunk',
    async () => {
      const size = 10_000;
      const { run, steps } = aRunWithSteps('big', { fills: size });
      await store.createRun(run, steps);
      const { client: counting, writes } = countingClient();
      try {
        const counted = new DynamoDbJobStore(counting, { tableName });
        const tasks = shuffled(Array.from({ length: size }, (_, i) => finished(aTask('big', 'fills', i))));
        const results = await inParallel(tasks, 16, (task) => counted.recordTask({ task, stepSize: size, currentJobIds: [task.jobId!] }));

        expect(results.every((r) => r.applied)).toBe(true);
        expect(await store.getStep('big', 'fills')).toMatchObject({ succeeded: size, failed: 0, version: size / TASK_CHUNK_SIZE });
        expect(writes.get('TASKS')).toBe(size);
        expect(writes.get('STEP')).toBe(size / TASK_CHUNK_SIZE);
        expect([...writes.keys()].sort()).toEqual(['STEP', 'TASKS']);
        expect(Math.max(...results.flatMap((r) => (r.step ? [r.step.succeeded] : [])))).toBe(size);
      } finally {
        counting.destroy();
      }
    },
    // About 20 s on an idle machine (dynalite: ~1.4 ms of CPU per write); far more when the cores are shared.
    600_000,
  );

  it('answers a write to a missing item with NotFoundError and a stale one with StaleStateError, keeping the cause', async () => {
    await expect(store.transitionRun('nope', 'PENDING', { status: 'RUNNING' })).rejects.toBeInstanceOf(NotFoundError);
    await expect(store.settleOutbox('nope', ['a'])).rejects.toBeInstanceOf(NotFoundError);
    await expect(store.settleOutbox('nope', [])).rejects.toBeInstanceOf(NotFoundError);
    await expect(store.updateStep(0, aPlannedStep('nope', 'fills', 1))).rejects.toBeInstanceOf(NotFoundError);
    await expect(store.foldStepCounts('nope', 'fills')).rejects.toBeInstanceOf(NotFoundError);

    const { run, steps } = aRunWithSteps('run-1', { fills: 1 });
    await store.createRun(run, steps);
    const stale = await store.transitionRun('run-1', 'RUNNING', { status: 'SUCCEEDED' }).catch((e: unknown) => e);
    expect(stale).toBeInstanceOf(StaleStateError);
    expect(stale).toMatchObject({ entity: 'run', key: 'run-1', expected: 'RUNNING', retryable: false });
    expect((stale as Error).cause).toMatchObject({ name: 'ConditionalCheckFailedException' });
    const staleStep = await store.updateStep(3, steps[0]).catch((e: unknown) => e);
    expect(staleStep).toMatchObject({ entity: 'step', key: 'run-1/fills', expected: 'at version 3' });
    const staleClaim = await store.claimTask(aTask('run-1', 'fills', 0), aTask('run-1', 'fills', 0, { status: 'SUBMITTED' }), 1).catch((e: unknown) => e);
    expect(staleClaim).toBeInstanceOf(StaleStateError);
    expect((staleClaim as Error).cause).toMatchObject({ name: 'ConditionalCheckFailedException' });
  });

  it('refuses a task finished in a step that does not exist, after writing the task', async () => {
    await expect(store.recordTask({ task: finished(aTask('nope', 'fills', 0)), stepSize: 1, currentJobIds: [] })).rejects.toBeInstanceOf(NotFoundError);
    expect(await store.getStep('nope', 'fills')).toBeUndefined();
  });

  it('refuses task writes that contradict their step, and listings with bad limits or tokens', async () => {
    const write = (task = aTask('run-1', 'fills', 3), stepSize = 3, currentJobIds: string[] = []) => store.recordTask({ task, stepSize, currentJobIds });
    await expect(write()).rejects.toBeInstanceOf(InvalidJobStoreInputError);
    await expect(write(aTask('run-1', 'fills', -1))).rejects.toBeInstanceOf(InvalidJobStoreInputError);
    await expect(write(aTask('run-1', 'fills', 0), 0)).rejects.toBeInstanceOf(InvalidJobStoreInputError);
    await expect(write(aTask('run-1', 'a#b', 0))).rejects.toBeInstanceOf(InvalidJobStoreInputError);
    await expect(write(aTask('run-1', 'fills', 0), 3, Array.from({ length: 100 }, (_, i) => `job-${i}`))).rejects.toBeInstanceOf(InvalidJobStoreInputError);
    await expect(store.claimTask(aTask('run-1', 'fills', 0), aTask('run-1', 'fills', 1), 3)).rejects.toBeInstanceOf(InvalidJobStoreInputError);
    await expect(store.listRuns({ limit: 0 })).rejects.toBeInstanceOf(InvalidJobStoreInputError);
    await expect(store.listTasks('run-1', { nextToken: 'garbage!' })).rejects.toThrow(/nextToken "garbage!"/);
    await expect(store.listOpenRuns({ nextToken: 'e30' })).rejects.toBeInstanceOf(InvalidPageTokenError);
    expect(await store.getTask('run-1', 'fills', 0)).toBeUndefined();
  });

  describe('filtered listings', () => {
    /** A second client that counts the keys it asks BatchGetItem for and the Query requests it sends. */
    function readCountingClient(): { client: DynamoDBDocumentClient; reads: { batchGetKeys: number; queries: number } } {
      const counting = createDocumentClient({ endpoint: db.server.endpoint });
      const reads = { batchGetKeys: 0, queries: 0 };
      counting.middlewareStack.add(
        (next, context) => async (args) => {
          if (context.commandName === 'BatchGetItemCommand') {
            const input = args.input as { RequestItems?: Record<string, { Keys?: unknown[] }> };
            for (const request of Object.values(input.RequestItems ?? {})) reads.batchGetKeys += request.Keys?.length ?? 0;
          }
          if (context.commandName === 'QueryCommand') reads.queries++;
          return next(args);
        },
        { step: 'initialize', name: 'readCounter' },
      );
      return { client: counting, reads };
    }

    it('reads only the runs whose pointers match, and ends a page short, with a token, after its pointer budget', async () => {
      const runs = Array.from({ length: MIN_POINTERS_PER_PAGE + 20 }, (_, i) =>
        aRun({ runId: `r-${String(i).padStart(3, '0')}`, pipeline: i === 3 || i === 5 ? 'rare' : 'tca', correlationId: `corr-${i}`, createdAt: at(i), updatedAt: at(i) }),
      );
      await inParallel(runs, 8, (run) => store.createRun(run, []));
      const { client: counting, reads } = readCountingClient();
      try {
        const counted = new DynamoDbJobStore(counting, { tableName });
        const first = await counted.listRuns({ pipeline: 'rare', limit: 1 });
        expect(first.items).toEqual([]);
        expect(first.nextToken).toBeDefined();
        expect(reads.batchGetKeys).toBe(0);

        const second = await counted.listRuns({ pipeline: 'rare', limit: 1, nextToken: first.nextToken });
        expect(second.items).toEqual([runs[5]]);
        const last = await counted.listRuns({ pipeline: 'rare', limit: 1, nextToken: second.nextToken });
        expect(last).toEqual({ items: [runs[3]] });
        // r-003 is read twice: as the match after a full page (which says another page follows), and on its own page.
        expect(reads.batchGetKeys).toBe(3);

        // A correlation id names one run: its pointer is the only one read whole.
        reads.batchGetKeys = 0;
        const { items } = await counted.listRuns({ correlationId: 'corr-7', limit: 500 });
        expect(items).toEqual([runs[7]]);
        expect(reads.batchGetKeys).toBe(1);

        // The runs of a version come from its own index: no other run's pointer is read.
        await store.createRun(aRun({ runId: 'own', datasetId: 'quotes@2024-05-02#v1', createdAt: at(1_000) }), []);
        reads.queries = 0;
        reads.batchGetKeys = 0;
        expect(await counted.listRuns({ datasetId: 'quotes@2024-05-02#v1' })).toEqual({ items: [await store.getRun('own')] });
        expect(reads).toEqual({ queries: 1, batchGetKeys: 1 });
      } finally {
        counting.destroy();
      }
    });

    it('refuses a transition that changes what the run pointers carry', async () => {
      await store.createRun(aRun({ runId: 'run-1' }), []);
      for (const next of [{ pipeline: 'other' }, { businessDate: '2024-05-03' }, { datasetId: 'x@2024-05-02#v2' }, { correlationId: 'c' }, { tenant: 'acme' }, { createdAt: at(5) }]) {
        await expect(store.transitionRun('run-1', 'PENDING', { status: 'RUNNING', ...next })).rejects.toBeInstanceOf(InvalidJobStoreInputError);
      }
      expect(await store.getRun('run-1')).toEqual(aRun({ runId: 'run-1' }));
    });
  });

  describe('landing records', () => {
    const get = (key: { PK: string; SK: string }) => db.client.send(new GetCommand({ TableName: tableName, Key: key, ConsistentRead: true }));

    it('gives a rejected landing the TTL attribute, counted from its rejection, and an accepted one none', async () => {
      await store.recordLandingRejected({ landedEventId: 'landed-1', reasons: [{ message: 'bad' }], rejectedAt: '2024-05-02T21:00:00.000Z' });
      await store.recordLandingAccepted({ landedEventId: 'landed-2', datasetId: 'executions@2024-05-02#v1', at: at(1), alreadyRegistered: true });

      const rejected = (await get({ PK: 'LANDED#landed-1', SK: 'OUTCOME' })).Item;
      expect(rejected?.[TTL_ATTRIBUTE]).toBe(Date.parse('2024-05-02T21:00:00.000Z') / 1000 + LANDING_REJECTION_RETENTION_SECONDS);
      expect(LANDING_REJECTION_RETENTION_SECONDS).toBe(30 * 24 * 3600);
      expect((await get({ PK: 'LANDED#landed-2', SK: 'OUTCOME' })).Item).not.toHaveProperty(TTL_ATTRIBUTE);
      expect(await store.getLanding('landed-1')).not.toHaveProperty(TTL_ATTRIBUTE);
    });

    it('keeps the first reasons that fit an item and counts the rest', async () => {
      const reasons = Array.from({ length: 10_000 }, (_, i) => ({ file: 'landing/cash/returns.csv', line: i + 2, column: 'return', message: 'not a valid DOUBLE' }));
      expect(await store.recordLandingRejected({ landedEventId: 'landed-1', tenant: 'acme', reasons, rejectedAt: at(1) })).toBe(true);

      const stored = await store.getLanding('landed-1');
      if (stored?.status !== 'REJECTED') return expect.unreachable('not rejected');
      expect(stored.reasons.length).toBeGreaterThan(1_000);
      expect(stored.reasons).toEqual(reasons.slice(0, stored.reasons.length));
      expect(stored.omittedReasons).toBe(reasons.length - stored.reasons.length);
      expect(Buffer.byteLength(JSON.stringify(stored.reasons))).toBeLessThanOrEqual(MAX_STORED_REASON_BYTES);
    });
  });

  it('refuses a transition that carries outbox entries in next, or one entry twice', async () => {
    await store.createRun(aRun({ runId: 'run-1' }), []);
    const entry = { id: 'e1', kind: 'stop-jobs' as const, reason: 'r' };
    await expect(store.transitionRun('run-1', 'PENDING', { status: 'RUNNING', outbox: [entry] })).rejects.toBeInstanceOf(InvalidJobStoreInputError);
    await expect(store.transitionRun('run-1', 'PENDING', { status: 'RUNNING' }, [entry, entry])).rejects.toBeInstanceOf(InvalidJobStoreInputError);
    expect((await store.getRun('run-1'))?.status).toBe('PENDING');
  });

  it('relies on run transitions only moving forward through RUN_STATUSES to order the outbox, and on only a retry going back (to a new attempt)', () => {
    for (const from of RUN_STATUSES) {
      for (const to of RUN_STATUSES) {
        if (canTransitionRun(from, to)) expect(RUN_STATUSES.indexOf(to)).toBeGreaterThan(RUN_STATUSES.indexOf(from));
        expect(canTransitionRun(from, to, 'retry')).toBe(from === 'FAILED' && to === 'RUNNING');
      }
    }
  });

  describe('the open-run index when a retry reopens a closed run', () => {
    /** A run that failed and whose Run Failed entry is still to be settled. */
    async function failedWithOutbox(runId: string): Promise<void> {
      await store.createRun(aRun({ runId }), []);
      await store.transitionRun(runId, 'PENDING', { status: 'FAILED', reason: 'x' }, [{ id: 'failed', kind: 'stop-jobs', reason: 'x' }]);
    }
    const retry = { retryEventId: 'retry-1', retriedAt: at(5), updatedAt: at(5) };

    /** A client to the same server that runs `before` once, just before the first DeleteItem of an OPEN_RUNS pointer is sent. */
    function clientRetryingBeforeUnlisting(before: () => Promise<unknown>): DynamoDBDocumentClient {
      const client = createDocumentClient({ endpoint: db.server.endpoint });
      let done = false;
      client.middlewareStack.add(
        (next, context) => async (args) => {
          const input = args.input as { Key?: { PK?: string } };
          if (!done && context.commandName === 'DeleteItemCommand' && input.Key?.PK === 'OPEN_RUNS') {
            done = true;
            await before();
          }
          return next(args);
        },
        { step: 'initialize', name: 'retryBeforeUnlisting' },
      );
      return client;
    }

    it('keeps the pointer of the next attempt when a listing that read the run closed deletes after the retry', async () => {
      await failedWithOutbox('run-1');
      // A settle that crashed after its write, before its delete: the run is closed, its pointer left.
      const crashing = clientCrashingAfter(1);
      try {
        await expect(new DynamoDbJobStore(crashing, { tableName }).settleOutbox('run-1', ['failed'])).rejects.toBeInstanceOf(SimulatedCrashError);
      } finally {
        crashing.destroy();
      }
      const hooked = clientRetryingBeforeUnlisting(() => store.retryRun('run-1', 1, retry));
      try {
        expect((await new DynamoDbJobStore(hooked, { tableName }).listOpenRuns()).items).toEqual([]);
      } finally {
        hooked.destroy();
      }
      expect(await store.getRun('run-1')).toMatchObject({ status: 'RUNNING', attempt: 2 });
      expect((await store.listOpenRuns()).items.map((r) => [r.runId, r.attempt])).toEqual([['run-1', 2]]);
    });

    it('keeps the pointer of the next attempt when the settle that closed the run deletes after the retry', async () => {
      await failedWithOutbox('run-1');
      const hooked = clientRetryingBeforeUnlisting(() => store.retryRun('run-1', 1, retry));
      try {
        expect(await new DynamoDbJobStore(hooked, { tableName }).settleOutbox('run-1', ['failed'])).toMatchObject({ status: 'FAILED' });
      } finally {
        hooked.destroy();
      }
      expect((await store.listOpenRuns()).items.map((r) => [r.runId, r.status, r.attempt])).toEqual([['run-1', 'RUNNING', 2]]);
    });

    it('lists a reopened run on the replay of a retry that crashed between its write and its pointer', async () => {
      await failedWithOutbox('run-1');
      await store.settleOutbox('run-1', ['failed']);
      const crashing = clientCrashingAfter(1);
      try {
        await expect(new DynamoDbJobStore(crashing, { tableName }).retryRun('run-1', 1, retry)).rejects.toBeInstanceOf(SimulatedCrashError);
      } finally {
        crashing.destroy();
      }
      const reopened = await store.getRun('run-1');
      expect(reopened).toMatchObject({ status: 'RUNNING', attempt: 2, retryEventId: 'retry-1' });
      expect((await store.listOpenRuns()).items).toEqual([]);

      expect(await store.retryRun('run-1', 1, { ...retry, updatedAt: at(9) })).toEqual(reopened);
      expect((await store.listOpenRuns()).items).toEqual([reopened]);
    });
  });

  it('lists reports newest first, overall and per run', async () => {
    for (const [i, runId] of ['run-1', 'run-2', 'run-1'].entries()) {
      await store.putReport(aReport({ reportId: `rep-${i}`, runId, publishedAt: at(i) }));
    }
    expect((await store.listReports()).items.map((r) => r.reportId)).toEqual(['rep-2', 'rep-1', 'rep-0']);
    expect((await store.listReports({ runId: 'run-1' })).items.map((r) => r.reportId)).toEqual(['rep-2', 'rep-0']);
  });

  it('keeps the first content when a report id is put again with other content', async () => {
    const first = aReport({ publishedAt: at(1) });
    await store.putReport(first);
    await store.putReport({ ...first, publishedAt: at(2), headline: { orders: 1 } });
    expect(await store.getReport(first.reportId)).toEqual(first);
    expect((await store.listReports()).items).toEqual([first]);
    expect((await store.listReports({ runId: first.runId })).items).toEqual([first]);
  });

  it('pages through task chunks larger than one query response', async () => {
    // ~12 KB per task makes a chunk ~300 KB, so 100 tasks pass DynamoDB's 1 MB page and listTasks must follow LastEvaluatedKey.
    const padding = 'x'.repeat(12_000);
    const { run, steps } = aRunWithSteps('big', { fills: 100 });
    await store.createRun(run, steps);
    const tasks = Array.from({ length: 100 }, (_, i) => aTask('big', 'fills', i, { statusReason: padding }));
    await inParallel(tasks, 8, (task) => store.recordTask({ task, stepSize: 100, currentJobIds: [] }));
    expect((await store.listTasks('big', { limit: 100 })).items).toEqual(tasks);
  });
});

describe('createTable', () => {
  it('is idempotent and leaves existing data alone', async () => {
    const tableName = await db.freshTable();
    const store = new DynamoDbJobStore(db.client, { tableName });
    await store.markProcessed('planner', 'evt-1');
    await createTable(db.client, tableName);
    expect(await store.isProcessed('planner', 'evt-1')).toBe(true);
  });

  it('refuses a same-named table with another key schema', async () => {
    const tableName = `other-${process.pid}`;
    await db.client.send(
      new CreateTableCommand({
        TableName: tableName,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
      }),
    );
    await expect(createTable(db.client, tableName)).rejects.toBeInstanceOf(TableSchemaMismatchError);
  });
});

describe('SDK error translation', () => {
  it('turns a refused connection into a retryable StoreUnavailableError that keeps the cause', async () => {
    const closedPort = await freePort();
    const unreachable = createDocumentClient({ endpoint: `http://127.0.0.1:${closedPort}`, maxAttempts: 1 });
    try {
      const error = await new DynamoDbJobStore(unreachable, { tableName: 'jobs' }).getRun('run-1').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(StoreUnavailableError);
      expect(error).toMatchObject({ retryable: true, cause: { code: 'ECONNREFUSED' } });
    } finally {
      unreachable.destroy();
    }
  });

  it('turns DynamoDB throttling into a retryable StoreUnavailableError', async () => {
    // dynalite never throttles, so a local HTTP endpoint answers every request the way DynamoDB
    // does when throttling; the real SDK parses it.
    const throttling = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        res.writeHead(400, { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-requestid': 'throttled' });
        res.end(
          JSON.stringify({
            __type: 'com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException',
            message: 'The level of configured provisioned throughput for the table was exceeded.',
          }),
        );
      });
    });
    const port = await listenOn(throttling);
    const throttled = createDocumentClient({ endpoint: `http://127.0.0.1:${port}`, maxAttempts: 1 });
    try {
      const error = await new DynamoDbJobStore(throttled, { tableName: 'jobs' }).markProcessed('planner', 'evt-1').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(StoreUnavailableError);
      expect(error).toMatchObject({ retryable: true, cause: { name: 'ProvisionedThroughputExceededException' } });
    } finally {
      throttled.destroy();
      await new Promise((resolve) => throttling.close(resolve));
    }
  });

  it('rethrows errors it does not know unchanged', async () => {
    const error = await new DynamoDbJobStore(db.client, { tableName: 'no-such-table' }).getRun('run-1').catch((e: unknown) => e);
    expect(error).not.toBeInstanceOf(StoreUnavailableError);
    expect(error).toMatchObject({ name: 'ResourceNotFoundException' });
  });
});

async function listenOn(http: Server): Promise<number> {
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  return (http.address() as AddressInfo).port;
}

async function freePort(): Promise<number> {
  const probe = createServer();
  const port = await listenOn(probe);
  await new Promise((resolve) => probe.close(resolve));
  return port;
}
