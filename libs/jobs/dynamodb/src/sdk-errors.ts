import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { StoreUnavailableError } from '@nightshift/jobs-domain';

/*
 * Translation of DynamoDB SDK failures. Only conditions the store understands are translated;
 * anything else is rethrown unchanged so its type, message and metadata reach the caller intact.
 */

/** Service-side names that mean "too much load right now" or "transient fault on AWS's side". */
const RETRYABLE_SERVICE_ERRORS = new Set([
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'Throttling',
  'RequestLimitExceeded',
  'TooManyRequestsException',
  'InternalServerError',
  'InternalFailure',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'RequestTimeout',
  'RequestTimeoutException',
  'TimeoutError',
]);

/** Node socket errors that mean the endpoint could not be reached or dropped the connection. */
const NETWORK_ERROR_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
]);

interface SdkLikeError {
  name?: unknown;
  code?: unknown;
  $metadata?: { httpStatusCode?: number };
  $retryable?: unknown;
  errors?: unknown;
}

/** True for the SDK's answer to a failed `ConditionExpression`. */
export function isConditionalCheckFailed(error: unknown): boolean {
  return error instanceof ConditionalCheckFailedException || (error as SdkLikeError | undefined)?.name === 'ConditionalCheckFailedException';
}

/** True when retrying the same request later can succeed: throttling, 5xx, or a network fault. */
export function isTransientSdkError(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const e = error as SdkLikeError;
  if (typeof e.name === 'string' && RETRYABLE_SERVICE_ERRORS.has(e.name)) return true;
  if (typeof e.code === 'string' && NETWORK_ERROR_CODES.has(e.code)) return true;
  if (e.$retryable !== undefined && e.$retryable !== null) return true;
  const status = e.$metadata?.httpStatusCode;
  if (typeof status === 'number' && status >= 500) return true;
  // Happy-eyeballs connects (a host name with several addresses) fail with an AggregateError.
  if (Array.isArray(e.errors)) return e.errors.some((inner) => isTransientSdkError(inner));
  return false;
}

/**
 * Returns the error to throw for an SDK failure during `operation`: a retryable
 * StoreUnavailableError for transient faults, the original error otherwise.
 */
export function translateSdkError(error: unknown, operation: string): unknown {
  if (isTransientSdkError(error)) {
    const detail = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    return new StoreUnavailableError(`job store unavailable during ${operation} (${detail})`, { cause: error });
  }
  return error;
}
