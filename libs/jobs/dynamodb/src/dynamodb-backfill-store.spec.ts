import { GetCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { BackfillOverlapError } from '@nightshift/jobs-domain';
import { describe, expect, it } from 'vitest';
// The conformance suite is test-only and deliberately not in jobs-domain's public index.
// eslint-disable-next-line @nx/enforce-module-boundaries
import { aBackfill, describeBackfillStoreContract } from '../../domain/src/testing/backfill-store.contract.js';
import { ABANDONED_CREATE_MS, DynamoDbBackfillStore } from './dynamodb-backfill-store.js';
import { backfillKey } from './keys.js';
import { createDocumentClient } from './local-document-client.js';
import { embeddedTables } from './testing/embedded-tables.js';

const db = embeddedTables('backfills');

describeBackfillStoreContract('DynamoDbBackfillStore on embedded dynalite', async () => ({
  store: new DynamoDbBackfillStore(db.client, { tableName: await db.freshTable() }),
  close: async () => undefined,
}));

/** Thrown by the fault injector in place of the write a crashed process never sent. */
class SimulatedCrashError extends Error {}

/** A second client to the same server that lets `writes` writes through and fails every later one, as if the process had died there. */
function clientCrashingAfter(writes: number): DynamoDBDocumentClient {
  const crashing = createDocumentClient({ endpoint: db.server.endpoint, maxAttempts: 1 });
  let seen = 0;
  crashing.middlewareStack.add(
    (next, context) => async (args) => {
      if (['PutItemCommand', 'UpdateItemCommand', 'DeleteItemCommand'].includes(context.commandName ?? '') && ++seen > writes) throw new SimulatedCrashError(`crashed before write ${seen}`);
      return next(args);
    },
    { step: 'initialize', name: 'simulatedCrash' },
  );
  return crashing;
}

describe('DynamoDbBackfillStore', () => {
  it('keeps a date in one short string: ten years of dates with run ids take one item well under 400 KB', async () => {
    const tableName = await db.freshTable();
    const store = new DynamoDbBackfillStore(db.client, { tableName });
    const b = aBackfill({ from: '2016-01-04', to: '2025-12-31' });
    await store.create(b);
    const { Item } = await db.client.send(new GetCommand({ TableName: tableName, Key: backfillKey(b.backfillId), ConsistentRead: true }));
    expect((Item?.dates as string[])[0]).toBe('2016-01-04|P');
    expect(Buffer.byteLength(JSON.stringify(Item), 'utf8')).toBeLessThan(100_000);
    expect(Item?.counts).toMatchObject({ PENDING: b.dates.length, RUNNING: 0 });
  });

  it('completes a creation a crash interrupted when it is replayed, and no longer counts one abandoned before its record', async () => {
    const tableName = await db.freshTable();
    const store = new DynamoDbBackfillStore(db.client, { tableName });
    // The lane write went through, then the process died: no record.
    const crashing = clientCrashingAfter(1);
    const first = aBackfill({ backfillId: 'bf-crashed' });
    await expect(new DynamoDbBackfillStore(crashing, { tableName }).create(first)).rejects.toBeInstanceOf(SimulatedCrashError);
    crashing.destroy();
    expect(await store.get('bf-crashed')).toBeUndefined();

    // Within the minute the creation may still be under way: an overlapping backfill waits its turn.
    const soon = aBackfill({ backfillId: 'bf-soon', minutes: 0.5 });
    await expect(store.create(soon)).rejects.toBeInstanceOf(BackfillOverlapError);
    // A replay of the same id completes it.
    await expect(store.create(first)).resolves.toEqual({ created: true, backfill: first });
    expect((await store.list({ tenant: 'acme' })).items.map((b) => b.backfillId)).toEqual(['bf-crashed']);
    expect((await store.listOpen()).items.map((b) => b.backfillId)).toEqual(['bf-crashed']);

    // An abandoned creation (never replayed) stops counting a minute on, and is never listed.
    const crashing2 = clientCrashingAfter(1);
    await expect(new DynamoDbBackfillStore(crashing2, { tableName }).create(aBackfill({ backfillId: 'bf-gone', pipeline: 'desk-risk' }))).rejects.toBeInstanceOf(SimulatedCrashError);
    crashing2.destroy();
    await expect(store.create(aBackfill({ backfillId: 'bf-early', pipeline: 'desk-risk', minutes: 0.5 }))).rejects.toMatchObject({ existing: { backfillId: 'bf-gone' } });
    const later = aBackfill({ backfillId: 'bf-later', pipeline: 'desk-risk', minutes: ABANDONED_CREATE_MS / 60_000 + 1 });
    await expect(store.create(later)).resolves.toMatchObject({ created: true });
    expect((await store.list({ tenant: 'acme', pipeline: 'desk-risk' })).items.map((b) => b.backfillId)).toEqual(['bf-later']);
  });
});
