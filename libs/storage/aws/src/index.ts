export { S3ObjectStore, type S3ObjectStoreOptions } from './s3-object-store.js';
export { ObjectIntegrityError, S3AccessDeniedError, S3BucketNotFoundError } from './errors.js';
