import { DynamoDBClient, type DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { traceDynamoDbClient } from './traced-client.js';

/**
 * The DocumentClient of the `aws` mode: the SDK's standard configuration (region, the default
 * credential chain, `AWS_ENDPOINT_URL_DYNAMODB` / `AWS_ENDPOINT_URL`, SigV4) plus what the store
 * needs (`removeUndefinedValues`: optional domain fields are simply absent). `config` is for tests
 * that point it somewhere explicitly; production passes nothing.
 */
export function createAwsDocumentClient(config: DynamoDBClientConfig = {}): DynamoDBDocumentClient {
  const client = new DynamoDBClient(config);
  traceDynamoDbClient(client);
  return DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
}
