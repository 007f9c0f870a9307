import { ClientException, ServerException } from '@aws-sdk/client-batch';

/*
 * What an SDK failure means for a caller. Only conditions the adapter understands are classified;
 * anything else is rethrown unchanged, so its type, message and metadata reach the caller intact.
 */

/** Service errors that mean "too much load right now" or "transient fault on AWS's side". */
const TRANSIENT_NAMES = new Set([
  'ServerException',
  'ThrottlingException',
  'Throttling',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'InternalFailure',
  'RequestTimeout',
  'RequestTimeoutException',
  'TimeoutError',
]);

/** Node socket errors: the endpoint could not be reached or dropped the connection. */
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ECONNABORTED', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ENETDOWN']);

interface SdkLikeError {
  name?: unknown;
  code?: unknown;
  $metadata?: { httpStatusCode?: number };
  errors?: unknown;
}

/**
 * `client`: AWS refused the request as such (ClientException, HTTP 400); `transient`: trying again
 * later may work (ServerException, throttling, 5xx, a network fault); `unknown`: anything else.
 */
export function classifySdkError(error: unknown): 'client' | 'transient' | 'unknown' {
  if (typeof error !== 'object' || error === null) return 'unknown';
  const e = error as SdkLikeError;
  const status = e.$metadata?.httpStatusCode;
  if (error instanceof ServerException || (typeof e.name === 'string' && TRANSIENT_NAMES.has(e.name))) return 'transient';
  if (status === 429 || (typeof status === 'number' && status >= 500)) return 'transient';
  if (error instanceof ClientException || e.name === 'ClientException') return 'client';
  if (typeof e.code === 'string' && NETWORK_CODES.has(e.code)) return 'transient';
  // Happy-eyeballs connects (a host name with several addresses) fail with an AggregateError.
  if (Array.isArray(e.errors) && e.errors.some((inner) => classifySdkError(inner) === 'transient')) return 'transient';
  return 'unknown';
}

/** The SDK error's own message (AWS's words), with its name when that says more. */
export function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message && error.message !== error.name ? error.message : error.name;
  return String(error);
}
