import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll } from 'vitest';
import { createTable } from '../create-table.js';
import { startEmbeddedDynamoDb, type EmbeddedDynamoDb } from '../embedded-dynamodb.js';
import { createDocumentClient } from '../local-document-client.js';

/** One embedded DynamoDB server for a spec file, and a fresh table per test. */
export interface EmbeddedTables {
  readonly server: EmbeddedDynamoDb;
  readonly client: DynamoDBDocumentClient;
  /** A new, empty job-store table named `<prefix>-<pid>-<n>`. */
  freshTable(): Promise<string>;
}

/** Starts the server before the file's tests and stops it after (vitest hooks of the calling spec). */
export function embeddedTables(prefix: string): EmbeddedTables {
  let server: EmbeddedDynamoDb | undefined;
  let client: DynamoDBDocumentClient | undefined;
  let tables = 0;
  beforeAll(async () => {
    server = await startEmbeddedDynamoDb();
    client = createDocumentClient({ endpoint: server.endpoint });
  });
  afterAll(async () => {
    client?.destroy();
    await server?.close();
  });
  return {
    get server() {
      if (!server) throw new Error('embeddedTables: the server starts in beforeAll');
      return server;
    },
    get client() {
      if (!client) throw new Error('embeddedTables: the client is made in beforeAll');
      return client;
    },
    async freshTable() {
      const tableName = `${prefix}-${process.pid}-${++tables}`;
      await createTable(this.client, tableName);
      return tableName;
    },
  };
}
