import { ObjectNotFoundError, StorageError, StorageUnavailableError } from '@nightshift/storage-domain';

/** The configured bucket does not exist (NoSuchBucket). Not retryable: the deployment is wrong. */
export class S3BucketNotFoundError extends StorageError {
  readonly retryable = false;
  constructor(
    readonly bucket: string,
    options?: { cause?: unknown },
  ) {
    super(`S3 bucket ${bucket} does not exist`, options);
  }
}

/**
 * S3 refused the credentials or the permission (AccessDenied, a bad key or signature). Not retryable:
 * the role or its policy is wrong. A role without s3:ListBucket sees a missing key as this too.
 */
export class S3AccessDeniedError extends StorageError {
  readonly retryable = false;
  constructor(
    readonly bucket: string,
    readonly key: string | undefined,
    readonly code: string,
    options?: { cause?: unknown },
  ) {
    super(`S3 refused access to s3://${bucket}/${key ?? ''} (${code})`, options);
  }
}

/**
 * Bytes read or written do not hash to the sha256 recorded for them: a download corrupted in
 * transit, or a local file that changed while it was being uploaded. Retryable: a fresh read or a
 * re-upload of a settled file can succeed.
 */
export class ObjectIntegrityError extends StorageError {
  readonly retryable = true;
  constructor(
    readonly key: string,
    readonly expectedSha256: string,
    readonly actualSha256: string,
    what: string,
  ) {
    super(`${what} of ${key}: sha256 ${actualSha256}, expected ${expectedSha256}`);
  }
}

const ACCESS_DENIED = new Set(['AccessDenied', 'Forbidden', 'InvalidAccessKeyId', 'SignatureDoesNotMatch', 'AllAccessDisabled', 'AccountProblem']);
const THROTTLING = new Set(['SlowDown', 'Throttling', 'ThrottlingException', 'TooManyRequests', 'RequestTimeout', 'ServiceUnavailable', 'InternalError']);
const NETWORK = new Set(['TimeoutError', 'AbortError', 'ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ENOTFOUND', 'EAI_AGAIN', 'ERR_STREAM_PREMATURE_CLOSE']);

/**
 * The port's error for a known S3 failure of `operation` on `key`, `cause` kept: NoSuchKey/NotFound
 * -> ObjectNotFoundError, NoSuchBucket -> S3BucketNotFoundError, access refusals ->
 * S3AccessDeniedError, throttling, a 5xx or a network failure (after the SDK's own retries) ->
 * StorageUnavailableError. Anything else is returned as it came, for the caller to rethrow.
 */
export function fromS3Error(e: unknown, bucket: string, key: string | undefined, operation: string): unknown {
  if (typeof e !== 'object' || e === null) return e;
  const err = e as { name?: string; code?: string; message?: string; $fault?: string; $retryable?: unknown; $metadata?: { httpStatusCode?: number } };
  const name = err.name ?? '';
  const status = err.$metadata?.httpStatusCode;
  if ((name === 'NoSuchKey' || name === 'NotFound') && key !== undefined) return new ObjectNotFoundError(key, { cause: e });
  if (name === 'NoSuchBucket') return new S3BucketNotFoundError(bucket, { cause: e });
  if (ACCESS_DENIED.has(name)) return new S3AccessDeniedError(bucket, key, name, { cause: e });
  const networkFailure = status === undefined && (NETWORK.has(name) || NETWORK.has(err.code ?? ''));
  if (err.$retryable || THROTTLING.has(name) || (status !== undefined && (status >= 500 || status === 429)) || networkFailure) {
    return new StorageUnavailableError(`S3 ${operation} s3://${bucket}/${key ?? ''} failed: ${name}: ${err.message ?? ''}`, { cause: e });
  }
  return e;
}
