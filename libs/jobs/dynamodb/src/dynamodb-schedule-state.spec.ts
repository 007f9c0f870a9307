import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { SCHEDULE_FIRE_RETENTION_SECONDS, StoreUnavailableError } from '@nightshift/jobs-domain';
import { describe, expect, it } from 'vitest';
// The conformance suite is test-only and deliberately not in jobs-domain's public index.
// eslint-disable-next-line @nx/enforce-module-boundaries
import { aFire, describeScheduleStateContract } from '../../domain/src/testing/schedule-state.contract.js';
import { createAwsDocumentClient } from './aws-document-client.js';
import { DynamoDbScheduleState } from './dynamodb-schedule-state.js';
import { InvalidJobStoreInputError } from './errors.js';
import { scheduleFireKey, TTL_ATTRIBUTE } from './keys.js';
import { createDocumentClient } from './local-document-client.js';
import { TtlSweeper } from './ttl-sweeper.js';
import { embeddedTables } from './testing/embedded-tables.js';

const db = embeddedTables('schedules');

describeScheduleStateContract('DynamoDbScheduleState on embedded dynalite', async () => ({
  state: new DynamoDbScheduleState(db.client, { tableName: await db.freshTable() }),
  close: async () => undefined,
}));

// Two processes, each with its own client (the aws mode's, SigV4), against one table: the claim is the table's, not a process's.
describeScheduleStateContract('DynamoDbScheduleState, two writers with clients of their own', async () => {
  const tableName = await db.freshTable();
  const aws = createAwsDocumentClient({ endpoint: db.server.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
  const one = new DynamoDbScheduleState(db.client, { tableName });
  const other = new DynamoDbScheduleState(aws, { tableName });
  // Reads from one, writes alternating between the two: every conditional write races across processes.
  let n = 0;
  const state = {
    getCursor: one.getCursor.bind(one),
    listFires: one.listFires.bind(one),
    createCursor: (...args: Parameters<DynamoDbScheduleState['createCursor']>) => (n++ % 2 === 0 ? one : other).createCursor(...args),
    moveCursor: (...args: Parameters<DynamoDbScheduleState['moveCursor']>) => (n++ % 2 === 0 ? one : other).moveCursor(...args),
    recordFire: (...args: Parameters<DynamoDbScheduleState['recordFire']>) => (n++ % 2 === 0 ? one : other).recordFire(...args),
  };
  return { state, close: async () => aws.destroy() };
});

describe('DynamoDbScheduleState', () => {
  it('stamps a fire record with the TTL attribute 90 days after it was recorded, and a sweep past it deletes it', async () => {
    const tableName = await db.freshTable();
    const state = new DynamoDbScheduleState(db.client, { tableName });
    const fire = aFire(0);
    await state.recordFire(fire);
    const { Item } = await db.client.send(new GetCommand({ TableName: tableName, Key: scheduleFireKey(fire.pipeline, fire.schedule, fire.scheduledTime), ConsistentRead: true }));
    expect(Item?.[TTL_ATTRIBUTE]).toBe(Date.parse(fire.at) / 1000 + SCHEDULE_FIRE_RETENTION_SECONDS);
    expect(SCHEDULE_FIRE_RETENTION_SECONDS).toBe(90 * 24 * 60 * 60);
    // The record read back carries no bookkeeping.
    expect(await state.listFires(fire.pipeline, fire.schedule, 1)).toEqual([fire]);

    const cursor = await state.createCursor(fire.pipeline, fire.schedule, new Date(fire.at));
    const justBefore = new Date(Date.parse(fire.at) + (SCHEDULE_FIRE_RETENTION_SECONDS - 60) * 1000);
    expect((await new TtlSweeper(db.client, { tableName, clock: { now: () => justBefore } }).sweepOnce()).deleted).toBe(0);
    const after = new Date(Date.parse(fire.at) + (SCHEDULE_FIRE_RETENTION_SECONDS + 60) * 1000);
    expect((await new TtlSweeper(db.client, { tableName, clock: { now: () => after } }).sweepOnce()).deleted).toBe(1);
    expect(await state.listFires(fire.pipeline, fire.schedule, 10)).toEqual([]);
    // The cursor has no expiry: it is the schedule's position for good.
    expect(await state.getCursor(fire.pipeline, fire.schedule)).toEqual(cursor);
  });

  it('refuses a listing limit outside 1-100', async () => {
    const state = new DynamoDbScheduleState(db.client, { tableName: await db.freshTable() });
    await expect(state.listFires('nightly-tca', 'nightly', 0)).rejects.toBeInstanceOf(InvalidJobStoreInputError);
    await expect(state.listFires('nightly-tca', 'nightly', 101)).rejects.toBeInstanceOf(InvalidJobStoreInputError);
  });

  it('turns an unreachable store into a retryable StoreUnavailableError', async () => {
    const unreachable = createDocumentClient({ endpoint: 'http://127.0.0.1:9', maxAttempts: 1 });
    try {
      const state = new DynamoDbScheduleState(unreachable, { tableName: 'jobs' });
      const error = await state.getCursor('nightly-tca', 'nightly').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(StoreUnavailableError);
      expect((error as StoreUnavailableError).retryable).toBe(true);
    } finally {
      unreachable.destroy();
    }
  });
});
