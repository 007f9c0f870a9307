import { GetCommand, PutCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { IDEMPOTENCY_KEY_RETENTION_SECONDS, PROCESSED_EVENT_RETENTION_SECONDS, type Clock } from '@nightshift/jobs-domain';
import { beforeEach, describe, expect, it } from 'vitest';
// Builders of the conformance suite, test-only and deliberately not in jobs-domain's public index.
// eslint-disable-next-line @nx/enforce-module-boundaries
import { aDatasetInput, aReport, aRunWithSteps } from '../../domain/src/testing/job-store.contract.js';
import { DynamoDbIdempotencyKeys } from './dynamodb-idempotency-keys.js';
import { DynamoDbJobStore } from './dynamodb-job-store.js';
import { TTL_ATTRIBUTE } from './keys.js';
import { TtlSweeper } from './ttl-sweeper.js';
import { embeddedTables } from './testing/embedded-tables.js';

const db = embeddedTables('ttl');

const T0 = new Date('2024-05-02T21:00:00.000Z');
const DAY_MS = 24 * 60 * 60 * 1000;
const HASH_A = 'a'.repeat(64);
const HASH_B = 'b'.repeat(64);

/** A clock the test moves. */
class TestClock implements Clock {
  constructor(private current: Date) {}
  now(): Date {
    return this.current;
  }
  set(to: Date): void {
    this.current = to;
  }
}

/** Waits until `probe` holds, polling; the deadline is generous because test machines are busy. */
async function until(what: string, probe: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('TTL of idempotency records, and the sweeper that stands in for DynamoDB TTL', () => {
  let tableName: string;
  let clock: TestClock;
  let store: DynamoDbJobStore;
  let keys: DynamoDbIdempotencyKeys;
  let sweeper: TtlSweeper;

  beforeEach(async () => {
    tableName = await db.freshTable();
    clock = new TestClock(T0);
    store = new DynamoDbJobStore(db.client, { tableName, clock });
    keys = new DynamoDbIdempotencyKeys(db.client, { tableName });
    // A small page, so a sweep goes through several Scan pages and several delete batches.
    sweeper = new TtlSweeper(db.client, { tableName, clock, pageSize: 7 });
  });

  const itemCount = async () => (await db.client.send(new ScanCommand({ TableName: tableName, Select: 'COUNT' }))).Count ?? 0;

  it('keeps processed-event records 15 days (past SQS’s 14-day maximum retention), stamped in epoch seconds', async () => {
    expect(PROCESSED_EVENT_RETENTION_SECONDS).toBeGreaterThan(14 * 24 * 60 * 60);
    await store.markProcessed('planner', 'evt-1');
    const { Item } = await db.client.send(new GetCommand({ TableName: tableName, Key: { PK: 'PROCESSED#planner', SK: 'EVENT#evt-1' }, ConsistentRead: true }));
    expect(Item).toMatchObject({ processedAt: T0.toISOString(), [TTL_ATTRIBUTE]: T0.getTime() / 1000 + 15 * 24 * 60 * 60 });
  });

  it('deletes what expired and nothing else, through several Scan pages and delete batches', async () => {
    const { run, steps } = aRunWithSteps('run-1', { alpha: 2 });
    await store.createRun(run, steps);
    await store.putReport(aReport());
    await store.registerDatasetVersion(aDatasetInput());
    for (let i = 0; i < 30; i++) await store.markProcessed('planner', `early-${i}`);
    await keys.claim('acme', 'k-early', HASH_A, T0);
    clock.set(new Date(T0.getTime() + 10 * DAY_MS));
    for (let i = 0; i < 5; i++) await store.markProcessed('reporting', `late-${i}`);
    const everything = await itemCount();

    // 24 h and a second on: the binding has expired, the processed records have not.
    clock.set(new Date(T0.getTime() + IDEMPOTENCY_KEY_RETENTION_SECONDS * 1000 + 1000));
    expect(await sweeper.sweepOnce()).toEqual({ deleted: 1 });
    expect(await keys.claim('acme', 'k-early', HASH_B, clock.now())).toBe(true);

    // 15 days and a second on: the early records go (and the key bound anew a day in); the late
    // ones, a binding made now, and everything that is not an idempotency record stay.
    clock.set(new Date(T0.getTime() + PROCESSED_EVENT_RETENTION_SECONDS * 1000 + 1000));
    await keys.claim('acme', 'k-now', HASH_A, clock.now());
    expect(await sweeper.sweepOnce()).toEqual({ deleted: 31 });
    expect(await itemCount()).toBe(everything - 30);
    expect(await store.isProcessed('planner', 'early-0')).toBe(false);
    expect(await store.isProcessed('reporting', 'late-0')).toBe(true);
    expect(await store.getRun('run-1')).toEqual(run);
    expect(await store.listSteps('run-1')).toHaveLength(1);
    expect(await store.getReport('report-1')).toBeDefined();
    expect(await store.getDatasetVersion('executions@2024-05-02#v1')).toBeDefined();
    expect(await keys.claim('acme', 'k-now', HASH_B, clock.now())).toBe(false);

    expect(await sweeper.sweepOnce()).toEqual({ deleted: 0 });
  });

  it('counts an expired record that is not yet deleted: a redelivery is still recognised, a key still bound (safer for dedupe)', async () => {
    await store.markProcessed('ingestion', 'landed-1');
    await keys.claim('acme', 'k-1', HASH_A, T0);
    clock.set(new Date(T0.getTime() + 30 * DAY_MS));

    expect(await store.isProcessed('ingestion', 'landed-1')).toBe(true);
    expect(await store.markProcessed('ingestion', 'landed-1')).toBe(false);
    expect(await keys.claim('acme', 'k-1', HASH_B, clock.now())).toBe(false);

    await sweeper.sweepOnce();
    expect(await store.isProcessed('ingestion', 'landed-1')).toBe(false);
    // Deleted, it is new again: recorded afresh, with a retention counted from now.
    expect(await store.markProcessed('ingestion', 'landed-1')).toBe(true);
    expect(await keys.claim('acme', 'k-1', HASH_B, clock.now())).toBe(true);
    expect(await sweeper.sweepOnce()).toEqual({ deleted: 0 });
  });

  it('sweeps periodically once started, and stop() waits for the sweep under way', async () => {
    const periodic = new TtlSweeper(db.client, { tableName, clock, intervalMs: 20 });
    try {
      await store.markProcessed('planner', 'evt-1');
      periodic.start();
      clock.set(new Date(T0.getTime() + 16 * DAY_MS));
      await until('the periodic sweep to delete the expired record', async () => !(await store.isProcessed('planner', 'evt-1')));
    } finally {
      await periodic.stop();
    }

    clock.set(T0);
    await store.markProcessed('planner', 'evt-2');
    clock.set(new Date(T0.getTime() + 16 * DAY_MS));
    const once = new TtlSweeper(db.client, { tableName, clock });
    const sweep = once.sweepOnce();
    await once.stop();
    // The sweep that was under way when stop() was called had finished by the time it resolved.
    expect(await store.isProcessed('planner', 'evt-2')).toBe(false);
    expect(await sweep).toEqual({ deleted: 1 });
  });

  it('reports a failed periodic sweep to onError and keeps going; sweepOnce rejects', async () => {
    const errors: unknown[] = [];
    const failing = new TtlSweeper(db.client, { tableName: 'no-such-table', intervalMs: 10, onError: (e) => errors.push(e) });
    try {
      failing.start();
      await until('two failed sweeps to be reported', async () => errors.length >= 2);
      expect(errors[0]).toMatchObject({ name: 'ResourceNotFoundException' });
      await expect(failing.sweepOnce()).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
    } finally {
      await failing.stop();
    }
  });

  it('ignores a TTL attribute that is not a number, as DynamoDB TTL does', async () => {
    await db.client.send(new PutCommand({ TableName: tableName, Item: { PK: 'ODD#1', SK: 'ODD', [TTL_ATTRIBUTE]: '1' } }));
    clock.set(new Date(T0.getTime() + 365 * DAY_MS));
    expect(await sweeper.sweepOnce()).toEqual({ deleted: 0 });
    expect(await itemCount()).toBe(1);
  });
});
