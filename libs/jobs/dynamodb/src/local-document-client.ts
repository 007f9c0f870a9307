import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

/** Where the local DocumentClient connects. */
export interface LocalDocumentClientOptions {
  /** The embedded server's endpoint, e.g. `http://127.0.0.1:8000`. */
  endpoint: string;
  /** Signing region; any value works against the embedded server. Default `us-east-1`. */
  region?: string;
  /**
   * Attempts per request, first one included. Default 3: enough to ride out a dropped keep-alive
   * socket, few enough that a dead server surfaces as StoreUnavailableError within a second or two.
   */
  maxAttempts?: number;
}

/**
 * A DocumentClient for the embedded server: static dummy credentials (so the SDK never goes looking
 * for real ones), `removeUndefinedValues` (optional domain fields are simply absent), bounded
 * attempts and timeouts. Destroy it (`client.destroy()`) before closing the server.
 */
export function createDocumentClient(options: LocalDocumentClientOptions): DynamoDBDocumentClient {
  const client = new DynamoDBClient({
    endpoint: options.endpoint,
    region: options.region ?? 'us-east-1',
    credentials: { accessKeyId: 'nightshift-local', secretAccessKey: 'nightshift-local' },
    maxAttempts: options.maxAttempts ?? 3,
    requestHandler: { connectionTimeout: 2_000, requestTimeout: 30_000 },
  });
  return DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
}
