import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { IDEMPOTENCY_KEY_RETENTION_SECONDS, StoreUnavailableError } from '@nightshift/jobs-domain';
import { describe, expect, it } from 'vitest';
// The conformance suite is test-only and deliberately not in jobs-domain's public index.
// eslint-disable-next-line @nx/enforce-module-boundaries
import { describeIdempotencyKeysContract } from '../../domain/src/testing/idempotency-keys.contract.js';
import { DynamoDbIdempotencyKeys } from './dynamodb-idempotency-keys.js';
import { TTL_ATTRIBUTE } from './keys.js';
import { createDocumentClient } from './local-document-client.js';
import { embeddedTables } from './testing/embedded-tables.js';

const db = embeddedTables('keys');

describeIdempotencyKeysContract('DynamoDbIdempotencyKeys on embedded dynalite', async () => ({
  keys: new DynamoDbIdempotencyKeys(db.client, { tableName: await db.freshTable() }),
  close: async () => undefined,
}));

describe('DynamoDbIdempotencyKeys', () => {
  const T0 = new Date('2024-05-02T21:00:00.000Z');
  const epoch = (d: Date) => d.getTime() / 1000;

  it('stamps the TTL attribute 24 h after first use, as epoch seconds, and keeps it (and createdAt) on retries', async () => {
    const tableName = await db.freshTable();
    const keys = new DynamoDbIdempotencyKeys(db.client, { tableName });
    expect(await keys.claim('acme', 'nightly-1', 'a'.repeat(64), T0)).toBe(true);
    expect(await keys.claim('acme', 'nightly-1', 'a'.repeat(64), new Date(T0.getTime() + 3_600_000))).toBe(true);

    const { Item } = await db.client.send(new GetCommand({ TableName: tableName, Key: { PK: 'IDEMPOTENCY#acme#nightly-1', SK: 'IDEMPOTENCY' }, ConsistentRead: true }));
    expect(Item).toMatchObject({ bodyHash: 'a'.repeat(64), tenant: 'acme', idempotencyKey: 'nightly-1', createdAt: T0.toISOString() });
    expect(Item?.[TTL_ATTRIBUTE]).toBe(epoch(T0) + IDEMPOTENCY_KEY_RETENTION_SECONDS);
    expect(IDEMPOTENCY_KEY_RETENTION_SECONDS).toBe(24 * 60 * 60);
  });

  it('honours a binding written before expiry existed (same key layout, no TTL attribute)', async () => {
    const tableName = await db.freshTable();
    await db.client.send(
      new PutCommand({
        TableName: tableName,
        Item: { PK: 'IDEMPOTENCY#acme#old-key', SK: 'IDEMPOTENCY', _entity: 'idempotencyKey', bodyHash: 'a'.repeat(64), tenant: 'acme', idempotencyKey: 'old-key', createdAt: T0.toISOString() },
      }),
    );
    const keys = new DynamoDbIdempotencyKeys(db.client, { tableName });
    expect(await keys.claim('acme', 'old-key', 'b'.repeat(64), T0)).toBe(false);
    expect(await keys.claim('acme', 'old-key', 'a'.repeat(64), T0)).toBe(true);
  });

  it('turns an unreachable store into a retryable StoreUnavailableError', async () => {
    const unreachable = createDocumentClient({ endpoint: 'http://127.0.0.1:9', maxAttempts: 1 });
    try {
      const error = await new DynamoDbIdempotencyKeys(unreachable, { tableName: 'jobs' }).claim('acme', 'k', 'a'.repeat(64), T0).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(StoreUnavailableError);
    } finally {
      unreachable.destroy();
    }
  });
});
