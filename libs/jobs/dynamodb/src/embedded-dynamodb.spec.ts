import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
// The conformance suite is test-only and deliberately not in jobs-domain's public index.
// eslint-disable-next-line @nx/enforce-module-boundaries
import { aRunWithSteps, aTask } from '../../domain/src/testing/job-store.contract.js';
import { createTable } from './create-table.js';
import { DynamoDbJobStore } from './dynamodb-job-store.js';
import { startEmbeddedDynamoDb, type EmbeddedDynamoDb } from './embedded-dynamodb.js';
import { EmbeddedDynamoDbStartError } from './errors.js';
import { createDocumentClient } from './local-document-client.js';

/** Opens a store on a running server; `done` destroys the client (the caller closes the server). */
async function openStore(server: EmbeddedDynamoDb): Promise<{ store: DynamoDbJobStore; done(): void }> {
  const client = createDocumentClient({ endpoint: server.endpoint });
  await createTable(client, 'jobs');
  return { store: new DynamoDbJobStore(client, { tableName: 'jobs' }), done: () => client.destroy() };
}

describe('startEmbeddedDynamoDb', () => {
  let dataDir: string;
  const running: EmbeddedDynamoDb[] = [];
  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'ns-dynalite-'));
  });
  afterEach(async () => {
    await Promise.all(running.splice(0).map((s) => s.close()));
    await rm(dataDir, { recursive: true, force: true });
  });

  it('keeps job state on disk across a restart', async () => {
    const { run, steps } = aRunWithSteps('run-1', { fills: 3 });
    const tasks = [0, 1, 2].map((i) => aTask('run-1', 'fills', i));
    const first = await startEmbeddedDynamoDb({ dataDir });
    const writer = await openStore(first);
    await writer.store.createRun(run, steps);
    for (const task of tasks) await writer.store.recordTask({ task, stepSize: 3, currentJobIds: [] });
    const running_ = await writer.store.transitionRun('run-1', 'PENDING', { status: 'RUNNING' });
    await writer.store.markProcessed('planner', 'evt-1');
    writer.done();
    await first.close();

    const second = await startEmbeddedDynamoDb({ dataDir });
    running.push(second);
    const reader = await openStore(second);
    try {
      expect(await reader.store.getRun('run-1')).toEqual(running_);
      expect(await reader.store.listTasks('run-1')).toEqual({ items: tasks });
      expect(await reader.store.listSteps('run-1')).toEqual(steps);
      expect(await reader.store.listRuns()).toEqual({ items: [running_] });
      expect(await reader.store.listOpenRuns()).toEqual({ items: [running_] });
      expect(await reader.store.markProcessed('planner', 'evt-1')).toBe(false);
    } finally {
      reader.done();
    }
  });

  it('forgets everything on restart without a data directory', async () => {
    const first = await startEmbeddedDynamoDb();
    const writer = await openStore(first);
    await writer.store.markProcessed('planner', 'evt-1');
    writer.done();
    await first.close();

    const second = await startEmbeddedDynamoDb();
    running.push(second);
    const reader = await openStore(second);
    try {
      expect(await reader.store.isProcessed('planner', 'evt-1')).toBe(false);
    } finally {
      reader.done();
    }
  });

  it('listens on 127.0.0.1 only, on the port asked for', async () => {
    const any = await startEmbeddedDynamoDb();
    running.push(any);
    const url = new URL(any.endpoint);
    expect(url.hostname).toBe('127.0.0.1');
    expect(Number(url.port)).toBeGreaterThan(0);

    const busy = startEmbeddedDynamoDb({ port: Number(url.port), dataDir });
    await expect(busy).rejects.toBeInstanceOf(EmbeddedDynamoDbStartError);
    // The failed start released the directory.
    const onDir = await startEmbeddedDynamoDb({ dataDir });
    running.push(onDir);
  });

  it('refuses a data directory that is already open, and takes it once it is free', async () => {
    const owner = await startEmbeddedDynamoDb({ dataDir });
    const second = startEmbeddedDynamoDb({ dataDir });
    await expect(second).rejects.toBeInstanceOf(EmbeddedDynamoDbStartError);
    await owner.close();
    await owner.close();

    const next = await startEmbeddedDynamoDb({ dataDir });
    running.push(next);
    const { store, done } = await openStore(next);
    try {
      expect(await store.markProcessed('planner', 'evt-1')).toBe(true);
    } finally {
      done();
    }
  });
});
