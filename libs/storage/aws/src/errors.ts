import { awsErrorMessage, classifyAwsError } from '@nightshift/aws-wire';
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

/**
 * The port's error for a known S3 failure of `operation` on `key`, `cause` kept: NoSuchKey/NotFound
 * -> ObjectNotFoundError, NoSuchBucket -> S3BucketNotFoundError, access refusals ->
 * S3AccessDeniedError, throttling, a 5xx or a network failure (after the SDK's own retries; what
 * `classifyAwsError` calls transient) -> StorageUnavailableError. Anything else is returned as it came, for the caller to rethrow.
 */
export function fromS3Error(e: unknown, bucket: string, key: string | undefined, operation: string): unknown {
  if (typeof e !== 'object' || e === null) return e;
  const name = (e as { name?: unknown }).name;
  if ((name === 'NoSuchKey' || name === 'NotFound') && key !== undefined) return new ObjectNotFoundError(key, { cause: e });
  if (name === 'NoSuchBucket') return new S3BucketNotFoundError(bucket, { cause: e });
  if (typeof name === 'string' && ACCESS_DENIED.has(name)) return new S3AccessDeniedError(bucket, key, name, { cause: e });
  if (classifyAwsError(e) === 'transient') {
    return new StorageUnavailableError(`S3 ${operation} s3://${bucket}/${key ?? ''} failed: ${awsErrorMessage(e)}`, { cause: e });
  }
  return e;
}
