import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { IDEMPOTENCY_KEY_RETENTION_SECONDS, expiresAtEpochSeconds, type IdempotencyKeys } from '@nightshift/jobs-domain';
import { DynamoTable } from './dynamo-table.js';
import { TTL_ATTRIBUTE, idempotencyKeyKey } from './keys.js';

/** How a DynamoDbIdempotencyKeys is wired. */
export interface DynamoDbIdempotencyKeysConfig {
  /** The job store's table (`createTable`): bindings live in their own `IDEMPOTENCY#` partitions, which no job-store query reads. */
  tableName: string;
}

/**
 * The IdempotencyKeys port on the job store's table: one item per (tenant, key) holding the body
 * hash, bound by one UpdateItem conditioned on the key being new or bound to the same hash. The
 * first use sets `createdAt` and the TTL attribute (24 h on); a retry keeps both (`if_not_exists`),
 * so a key is never kept alive by being retried. A binding past its TTL that is not deleted yet
 * still binds, as the port says.
 */
export class DynamoDbIdempotencyKeys implements IdempotencyKeys {
  private readonly table: DynamoTable;

  /** @param client the process's one DocumentClient; never destroyed here. */
  constructor(client: DynamoDBDocumentClient, config: DynamoDbIdempotencyKeysConfig) {
    this.table = new DynamoTable(client, config.tableName);
  }

  async claim(tenant: string, key: string, bodyHash: string, now: Date): Promise<boolean> {
    const outcome = await this.table.update(
      {
        Key: idempotencyKeyKey(tenant, key),
        UpdateExpression: 'SET #h = :h, #e = :e, #t = :t, #k = :k, #c = if_not_exists(#c, :now), #x = if_not_exists(#x, :expiresAt)',
        ConditionExpression: 'attribute_not_exists(PK) OR #h = :h',
        ExpressionAttributeNames: { '#h': 'bodyHash', '#e': '_entity', '#t': 'tenant', '#k': 'idempotencyKey', '#c': 'createdAt', '#x': TTL_ATTRIBUTE },
        ExpressionAttributeValues: {
          ':h': bodyHash,
          ':e': 'idempotencyKey',
          ':t': tenant,
          ':k': key,
          ':now': now.toISOString(),
          ':expiresAt': expiresAtEpochSeconds(now, IDEMPOTENCY_KEY_RETENTION_SECONDS),
        },
        ReturnValues: 'NONE',
      },
      'claimIdempotencyKey',
    );
    return outcome.applied;
  }
}
