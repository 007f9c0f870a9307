import { CreateTableCommand, DescribeTableCommand, type TableDescription } from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { TableNotActiveError, TableSchemaMismatchError } from './errors.js';
import { TTL_ATTRIBUTE } from './keys.js';
import { translateSdkError } from './sdk-errors.js';

/**
 * The job store's table design, the one source of truth for `createTable` here and for the
 * deployment's table (infra/): two string keys, on-demand billing, TTL on {@link TTL_ATTRIBUTE}.
 */
export const JOB_STORE_TABLE_DESIGN = {
  partitionKey: 'PK',
  sortKey: 'SK',
  billingMode: 'PAY_PER_REQUEST',
  ttlAttribute: TTL_ATTRIBUTE,
} as const;
const { partitionKey: PK, sortKey: SK } = JOB_STORE_TABLE_DESIGN;

/** How long `createTable` waits for the table, and how often it looks. */
export interface CreateTableOptions {
  /** Give up with TableNotActiveError after this long. Default 60 000 ms (AWS can take tens of seconds). */
  timeoutMs?: number;
  /**
   * Longest pause between DescribeTable calls. Pauses start at 10 ms (the embedded server is ACTIVE
   * almost at once) and double up to this. Default 2 000 ms.
   */
  maxPollIntervalMs?: number;
}

/**
 * Creates the job store's table (`PK` HASH + `SK` RANGE, both strings, on-demand billing) unless it
 * exists, then waits until it is ACTIVE. Idempotent: an existing table with the same key schema is
 * accepted as is; one with another key schema is a TableSchemaMismatchError. For local mode and
 * tests; in AWS the table belongs to the stateful infrastructure stack.
 *
 * Takes the DocumentClient the store uses, so a process needs only one client.
 */
export async function createTable(client: DynamoDBDocumentClient, tableName: string, options: CreateTableOptions = {}): Promise<void> {
  const timeoutMs = options.timeoutMs ?? 60_000;
  const maxPollIntervalMs = options.maxPollIntervalMs ?? 2_000;
  let pause = 10;
  const deadline = Date.now() + timeoutMs;
  let lastStatus: string | undefined;
  for (;;) {
    const table = await describeTable(client, tableName);
    if (table === undefined) {
      await requestCreation(client, tableName);
    } else {
      assertJobStoreKeySchema(tableName, table);
      lastStatus = table.TableStatus;
      if (lastStatus === 'ACTIVE') return;
    }
    if (Date.now() >= deadline) throw new TableNotActiveError(tableName, lastStatus);
    await new Promise((resolve) => setTimeout(resolve, pause));
    pause = Math.min(pause * 2, maxPollIntervalMs);
  }
}

async function describeTable(client: DynamoDBDocumentClient, tableName: string): Promise<TableDescription | undefined> {
  try {
    return (await client.send(new DescribeTableCommand({ TableName: tableName }))).Table;
  } catch (error) {
    if ((error as { name?: unknown }).name === 'ResourceNotFoundException') return undefined;
    throw translateSdkError(error, 'createTable');
  }
}

async function requestCreation(client: DynamoDBDocumentClient, tableName: string): Promise<void> {
  try {
    await client.send(
      new CreateTableCommand({
        TableName: tableName,
        BillingMode: JOB_STORE_TABLE_DESIGN.billingMode,
        AttributeDefinitions: [
          { AttributeName: PK, AttributeType: 'S' },
          { AttributeName: SK, AttributeType: 'S' },
        ],
        KeySchema: [
          { AttributeName: PK, KeyType: 'HASH' },
          { AttributeName: SK, KeyType: 'RANGE' },
        ],
      }),
    );
  } catch (error) {
    // Someone else created it between our DescribeTable and CreateTable: the next look checks it.
    if ((error as { name?: unknown }).name === 'ResourceInUseException') return;
    throw translateSdkError(error, 'createTable');
  }
}

function assertJobStoreKeySchema(tableName: string, table: TableDescription): void {
  const keys = (table.KeySchema ?? []).map((k) => `${k.AttributeName}:${k.KeyType}`).sort();
  const types = new Map((table.AttributeDefinitions ?? []).map((d) => [d.AttributeName, d.AttributeType]));
  const ok = keys.length === 2 && keys[0] === `${PK}:HASH` && keys[1] === `${SK}:RANGE` && types.get(PK) === 'S' && types.get(SK) === 'S';
  if (!ok) {
    const found = (table.KeySchema ?? []).map((k) => `${k.AttributeName} (${k.KeyType}, ${types.get(k.AttributeName) ?? '?'})`).join(' + ');
    throw new TableSchemaMismatchError(tableName, found || 'none');
  }
}
