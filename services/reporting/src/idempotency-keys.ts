import { createHash } from 'node:crypto';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

/**
 * What a client's `Idempotency-Key` was first used with: one item per (tenant, key) in the job
 * store's table (its own `IDEMPOTENCY#` partitions, which no job-store query reads), holding the
 * sha256 of the first request's canonical body.
 */
export interface IdempotencyKeys {
  /**
   * Binds `key` (of `tenant`) to `bodyHash` if it is unbound, in one conditional write. True when
   * the key is (now or already) bound to that hash; false when it is bound to another body's.
   */
  claim(tenant: string, key: string, bodyHash: string, now: Date): Promise<boolean>;
}

/** The DynamoDB implementation: one UpdateItem conditioned on the key being new or bound to the same hash. */
export class DynamoDbIdempotencyKeys implements IdempotencyKeys {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async claim(tenant: string, key: string, bodyHash: string, now: Date): Promise<boolean> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { PK: `IDEMPOTENCY#${tenant}#${key}`, SK: 'IDEMPOTENCY' },
          UpdateExpression: 'SET #h = :h, #e = :e, #t = :t, #k = :k, #c = if_not_exists(#c, :now)',
          ConditionExpression: 'attribute_not_exists(PK) OR #h = :h',
          ExpressionAttributeNames: { '#h': 'bodyHash', '#e': '_entity', '#t': 'tenant', '#k': 'idempotencyKey', '#c': 'createdAt' },
          ExpressionAttributeValues: { ':h': bodyHash, ':e': 'idempotencyKey', ':t': tenant, ':k': key, ':now': now.toISOString() },
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException || (error as { name?: unknown } | null)?.name === 'ConditionalCheckFailedException') return false;
      throw error;
    }
  }
}

/** sha256 (hex) of a JSON value with object keys sorted at every level: equal for bodies that mean the same. */
export function canonicalHash(value: unknown): string {
  return createHash('sha256').update(canonicalJson(value)).digest('hex');
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}
