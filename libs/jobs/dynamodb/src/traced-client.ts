import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { traceAwsSdkClient, type AwsSdkClientLike } from '@nightshift/observability';
import { isConditionalCheckFailed } from './sdk-errors.js';

/**
 * A client span per DynamoDB call made inside a trace (`DynamoDB.UpdateItem`, db.system dynamodb):
 * the store's every read and write under the handler or task that made it. The periodic sweeps
 * and polls, outside any span, make none. A failed condition is the store's answer to a race, not
 * an error.
 */
export function traceDynamoDbClient(client: DynamoDBClient): void {
  traceAwsSdkClient(client as unknown as AwsSdkClientLike, { service: 'DynamoDB', dbSystem: 'dynamodb', isError: (e) => !isConditionalCheckFailed(e) });
}
