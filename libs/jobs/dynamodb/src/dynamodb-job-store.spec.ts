import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CreateTableCommand } from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { NotFoundError, StaleStateError, StoreUnavailableError } from '@nightshift/jobs-domain';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
// The conformance suite is test-only and deliberately not in jobs-domain's public index.
// eslint-disable-next-line @nx/enforce-module-boundaries
import { aDatasetInput, aReport, aRun, aRunWithTasks, aTask, at, describeJobStoreContract } from '../../domain/src/testing/job-store.contract.js';
import { createTable } from './create-table.js';
import { DynamoDbJobStore } from './dynamodb-job-store.js';
import { startEmbeddedDynamoDb, type EmbeddedDynamoDb } from './embedded-dynamodb.js';
import { InvalidJobStoreInputError, TableSchemaMismatchError } from './errors.js';
import { createDocumentClient } from './local-document-client.js';

let server: EmbeddedDynamoDb;
let client: DynamoDBDocumentClient;
let tables = 0;

beforeAll(async () => {
  server = await startEmbeddedDynamoDb();
  client = createDocumentClient({ endpoint: server.endpoint });
});

afterAll(async () => {
  client?.destroy();
  await server?.close();
});

/** A fresh table per test keeps the fixed RUNS / REPORTS partitions empty. */
async function freshTable(): Promise<string> {
  const tableName = `jobs-${process.pid}-${++tables}`;
  await createTable(client, tableName);
  return tableName;
}

describeJobStoreContract('DynamoDbJobStore on embedded dynalite', async () => {
  const store = new DynamoDbJobStore(client, { tableName: await freshTable() });
  return { store, close: async () => undefined };
});

/** Thrown by the fault injector in place of the write a crashed process never sent. */
class SimulatedCrashError extends Error {}

/**
 * A second client to the same server that lets `writes` PutItem/UpdateItem requests through and
 * then fails every later one before it is sent, as if the process had died there.
 */
function clientCrashingAfter(writes: number): DynamoDBDocumentClient {
  const crashing = createDocumentClient({ endpoint: server.endpoint, maxAttempts: 1 });
  let seen = 0;
  crashing.middlewareStack.add(
    (next, context) => async (args) => {
      const isWrite = context.commandName === 'PutItemCommand' || context.commandName === 'UpdateItemCommand';
      if (isWrite && ++seen > writes) throw new SimulatedCrashError(`crashed before write ${seen}`);
      return next(args);
    },
    { step: 'initialize', name: 'simulatedCrash' },
  );
  return crashing;
}

describe('DynamoDbJobStore', () => {
  let tableName: string;
  let store: DynamoDbJobStore;
  beforeEach(async () => {
    tableName = await freshTable();
    store = new DynamoDbJobStore(client, { tableName });
  });

  describe('createRun after a crash part-way', () => {
    it('completes the missing tasks on replay without touching tasks that moved on', async () => {
      const { run, tasks } = aRunWithTasks('run-1', 6);
      const crashing = clientCrashingAfter(3); // the run item and two tasks
      try {
        const crashed = new DynamoDbJobStore(crashing, { tableName, writeConcurrency: 1 });
        await expect(crashed.createRun(run, tasks)).rejects.toBeInstanceOf(SimulatedCrashError);
      } finally {
        crashing.destroy();
      }

      expect(await store.getRun('run-1')).toEqual(run);
      const partial = await store.listTasks('run-1');
      expect(partial).toHaveLength(2);
      expect(await store.listRuns()).toEqual([]);
      // Between crash and replay, a task that exists makes progress.
      const progressed = { ...partial[0], status: 'RUNNABLE' as const, jobId: 'job-1:0', updatedAt: at(1) };
      await store.updateTask({ runId: 'run-1', taskId: progressed.taskId, status: 'SUBMITTED', attempts: 0 }, progressed);

      expect(await store.createRun(run, tasks)).toBe(false);

      const all = await store.listTasks('run-1');
      expect(all).toHaveLength(6);
      expect(all.find((t) => t.taskId === progressed.taskId)).toEqual(progressed);
      expect(await store.listRuns()).toEqual([run]);
      expect(await store.createRun(run, tasks)).toBe(false);
      expect(await store.listTasks('run-1')).toHaveLength(6);
    });

    it('rejects tasks that belong to another run before writing anything', async () => {
      const run = aRun({ runId: 'run-1' });
      await expect(store.createRun(run, [aTask('run-2', 'fills', 'EQ', 0)])).rejects.toBeInstanceOf(InvalidJobStoreInputError);
      await expect(store.createRun(run, [aTask('run-1', 'fills', 'EQ', 0), aTask('run-1', 'fills', 'EQ', 1)])).rejects.toBeInstanceOf(InvalidJobStoreInputError);
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
    });
  });

  it('answers a transition or update of a missing item with NotFoundError and a stale one with StaleStateError', async () => {
    await expect(store.transitionRun('nope', 'PENDING', { status: 'RUNNING' })).rejects.toBeInstanceOf(NotFoundError);
    const task = aTask('nope', 'fills', 'EQ', 0);
    await expect(store.updateTask({ runId: 'nope', taskId: task.taskId, status: 'SUBMITTED', attempts: 0 }, task)).rejects.toBeInstanceOf(NotFoundError);

    await store.createRun(aRun({ runId: 'run-1' }), []);
    const stale = await store.transitionRun('run-1', 'RUNNING', { status: 'SUCCEEDED' }).catch((e: unknown) => e);
    expect(stale).toBeInstanceOf(StaleStateError);
    expect(stale).toMatchObject({ entity: 'run', key: 'run-1', expected: 'RUNNING', retryable: false });
    expect((stale as Error).cause).toMatchObject({ name: 'ConditionalCheckFailedException' });
  });

  it('refuses an update whose next task is another task', async () => {
    const { run, tasks } = aRunWithTasks('run-1', 2);
    await store.createRun(run, tasks);
    const other = { ...tasks[1], status: 'RUNNABLE' as const };
    await expect(store.updateTask({ runId: 'run-1', taskId: tasks[0].taskId, status: 'SUBMITTED', attempts: 0 }, other)).rejects.toBeInstanceOf(
      InvalidJobStoreInputError,
    );
    expect(await store.listTasks('run-1')).toEqual(expect.arrayContaining(tasks));
  });

  it('lists reports newest first, overall and per run', async () => {
    for (const [i, runId] of ['run-1', 'run-2', 'run-1'].entries()) {
      await store.putReport(aReport({ reportId: `rep-${i}`, runId, publishedAt: at(i) }));
    }
    expect((await store.listReports()).map((r) => r.reportId)).toEqual(['rep-2', 'rep-1', 'rep-0']);
    expect((await store.listReports({ runId: 'run-1' })).map((r) => r.reportId)).toEqual(['rep-2', 'rep-0']);
  });

  it('keeps the first content when a report id is put again with other content', async () => {
    const first = aReport({ publishedAt: at(1) });
    await store.putReport(first);
    await store.putReport({ ...first, publishedAt: at(2), headline: { orders: 1 } });
    expect(await store.getReport(first.reportId)).toEqual(first);
    expect(await store.listReports()).toEqual([first]);
    expect(await store.listReports({ runId: first.runId })).toEqual([first]);
  });

  it('pages through a partition larger than one query response', async () => {
    // ~40 KB per task pushes the run partition past DynamoDB's 1 MB page, so listTasks must follow LastEvaluatedKey.
    const padding = 'x'.repeat(40_000);
    const { run, tasks } = aRunWithTasks('big', 30);
    const heavy = tasks.map((t) => ({ ...t, statusReason: padding }));
    await store.createRun(run, heavy);
    expect(await store.listTasks('big')).toHaveLength(30);
  });
});

describe('createTable', () => {
  it('is idempotent and leaves existing data alone', async () => {
    const tableName = await freshTable();
    const store = new DynamoDbJobStore(client, { tableName });
    await store.markProcessed('planner', 'evt-1');
    await createTable(client, tableName);
    expect(await store.isProcessed('planner', 'evt-1')).toBe(true);
  });

  it('refuses a same-named table with another key schema', async () => {
    const tableName = `other-${process.pid}`;
    await client.send(
      new CreateTableCommand({
        TableName: tableName,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
      }),
    );
    await expect(createTable(client, tableName)).rejects.toBeInstanceOf(TableSchemaMismatchError);
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
    const error = await new DynamoDbJobStore(client, { tableName: 'no-such-table' }).getRun('run-1').catch((e: unknown) => e);
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
