import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { traceDynamoDbClient } from './traced-client.js';

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
  const region = options.region ?? 'us-east-1';
  const client = new DynamoDBClient({
    endpoint: options.endpoint,
    region,
    credentials: { accessKeyId: 'nightshift-local', secretAccessKey: 'nightshift-local' },
    maxAttempts: options.maxAttempts ?? 3,
    requestHandler: { connectionTimeout: 2_000, requestTimeout: 30_000 },
    // The embedded server checks that a request is signed, not the signature: SigV4 (hashing every
    // body) was a fifth of the client's CPU per write on the event path, for nothing.
    signer: { sign: async (request) => stampUnsigned(request, region) },
  });
  // The logger middleware inspects every response even with no logger; a third of what is left.
  client.middlewareStack.remove('loggerMiddleware');
  traceDynamoDbClient(client);
  return DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
}

/** The headers a SigV4 request carries, without computing a signature (loopback to the embedded server only). */
function stampUnsigned<T extends { headers: Record<string, string> }>(request: T, region: string): T {
  request.headers['x-amz-date'] = '20000101T000000Z';
  request.headers['authorization'] = `AWS4-HMAC-SHA256 Credential=nightshift-local/20000101/${region}/dynamodb/aws4_request, SignedHeaders=host;x-amz-date, Signature=${'0'.repeat(64)}`;
  return request;
}
