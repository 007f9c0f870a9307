export { S3ObjectStore, type S3ObjectStoreOptions } from './s3-object-store.js';
export { S3_BUCKET_PREFIXES, s3ObjectStoreForBuckets, type S3Buckets } from './s3-buckets.js';
export { ObjectIntegrityError, S3AccessDeniedError, S3BucketNotFoundError } from './errors.js';
