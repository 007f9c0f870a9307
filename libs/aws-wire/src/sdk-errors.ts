/*
 * What a failed AWS SDK call means for its caller, read from the shape of what the SDK (v3) throws,
 * without importing it: a service error's `name` (AWS's error code), `$fault`, `$retryable` and
 * `$metadata.httpStatusCode`; for a request that never got an answer, Node's socket error (`code`)
 * or the AggregateError of a connect that tried several addresses. Each adapter maps the errors of
 * its own service first (NoSuchKey, QueueDoesNotExist, ...) and asks this for the rest.
 */

/**
 * `transient`: trying the same call again later may work (throttling, a fault on AWS's side, no
 * answer at all). `client`: AWS refused the request as such (`$fault: 'client'`, HTTP 4xx), so the
 * same call fails again. `unknown`: neither can be told; the caller rethrows it unchanged.
 */
export type AwsErrorKind = 'client' | 'transient' | 'unknown';

/** Error codes AWS services answer when they are throttling, failing on their side, or out of time. */
const TRANSIENT_NAMES = new Set([
  'ThrottlingException',
  'Throttling',
  'TooManyRequestsException',
  'TooManyRequests',
  'RequestLimitExceeded',
  'ProvisionedThroughputExceededException',
  'SlowDown',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'InternalFailure',
  'InternalError',
  'InternalServerError',
  'InternalServerException',
  'ServerException',
  'RequestTimeout',
  'RequestTimeoutException',
  // The SDK's own: its request timeout, and a request aborted before an answer.
  'TimeoutError',
  'AbortError',
]);

/** The same conditions under the prefixes and suffixes of other services (RequestThrottled, KmsThrottled, ...). */
const TRANSIENT_NAME_PARTS = /Throttl|TooManyRequests|RequestLimitExceeded|ServiceUnavailable|InternalFailure|InternalError/i;

/** Node socket and stream errors: the endpoint could not be reached or dropped the connection. */
const NETWORK_CODES = new Set([
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
  'ERR_STREAM_PREMATURE_CLOSE',
]);

// An AggregateError nested in itself (or deeper than any connect makes it) is not looked into further.
const MAX_DEPTH = 4;

interface SdkLikeError {
  name?: unknown;
  code?: unknown;
  message?: unknown;
  $fault?: unknown;
  $retryable?: unknown;
  $metadata?: { httpStatusCode?: unknown };
  errors?: unknown;
}

/**
 * Classifies a failure of an AWS SDK call (after the SDK's own retries). Transient: `$retryable`
 * set, `$fault: 'server'`, a throttling or server-fault error code, HTTP 429 or 5xx, a Node
 * network error, or an AggregateError with one of those inside. Client: `$fault: 'client'` or any
 * other HTTP 4xx. Anything else (not an SDK error, no status) is unknown.
 */
export function classifyAwsError(error: unknown): AwsErrorKind {
  if (isTransient(error, 0)) return 'transient';
  if (typeof error !== 'object' || error === null) return 'unknown';
  const { $fault, $metadata } = error as SdkLikeError;
  const status = $metadata?.httpStatusCode;
  if ($fault === 'client' || (typeof status === 'number' && status >= 400 && status < 500)) return 'client';
  return 'unknown';
}

function isTransient(error: unknown, depth: number): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const e = error as SdkLikeError;
  if (e.$retryable || e.$fault === 'server') return true;
  if (isTransientCode(e.name) || (typeof e.name === 'string' && TRANSIENT_NAME_PARTS.test(e.name)) || isTransientCode(e.code)) return true;
  const status = e.$metadata?.httpStatusCode;
  if (typeof status === 'number' && (status === 429 || status >= 500)) return true;
  // Happy-eyeballs connects (a host name with several addresses) fail with an AggregateError.
  return depth < MAX_DEPTH && Array.isArray(e.errors) && e.errors.some((inner) => isTransient(inner, depth + 1));
}

function isTransientCode(value: unknown): boolean {
  return typeof value === 'string' && (TRANSIENT_NAMES.has(value) || NETWORK_CODES.has(value));
}

/**
 * `Name: message` of an SDK error (AWS's code and words), or of whatever else was thrown: the name
 * alone when there is no other message, and an AggregateError's inner messages when it has none.
 */
export function awsErrorMessage(error: unknown): string {
  if (typeof error !== 'object' || error === null) return String(error);
  const { name, errors } = error as SdkLikeError;
  let text = messageText(error);
  if (text === '' && Array.isArray(errors)) text = errors.map(messageText).filter((m) => m !== '').join('; ');
  if (typeof name !== 'string' || name === '') return text === '' ? String(error) : text;
  return text === '' || text === name ? name : `${name}: ${text}`;
}

function messageText(error: unknown): string {
  const message = typeof error === 'object' && error !== null ? (error as SdkLikeError).message : undefined;
  return typeof message === 'string' ? message : '';
}
