import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { awsErrorMessage, classifyAwsError } from '@nightshift/aws-wire';
import { StoreUnavailableError } from '@nightshift/jobs-domain';

/*
 * Translation of DynamoDB SDK failures. Only conditions the store understands are translated;
 * anything else is rethrown unchanged so its type, message and metadata reach the caller intact.
 */

/** True for the SDK's answer to a failed `ConditionExpression`. */
export function isConditionalCheckFailed(error: unknown): boolean {
  return error instanceof ConditionalCheckFailedException || (error as { name?: unknown } | null | undefined)?.name === 'ConditionalCheckFailedException';
}

/**
 * Returns the error to throw for an SDK failure during `operation`: a retryable
 * StoreUnavailableError for transient faults (throttling such as ProvisionedThroughputExceeded, a
 * 5xx, a network fault: `classifyAwsError`), the original error otherwise.
 */
export function translateSdkError(error: unknown, operation: string): unknown {
  if (classifyAwsError(error) === 'transient') {
    return new StoreUnavailableError(`job store unavailable during ${operation} (${awsErrorMessage(error)})`, { cause: error });
  }
  return error;
}
