export * from './directory-object-store.js';
export { S3HttpEndpoint, type ObjectAccess, type ObjectAction, type ObjectAuthorizer, type S3HttpEndpointOptions } from './s3-endpoint.js';
export { RESERVED_DIR } from './object-paths.js';
