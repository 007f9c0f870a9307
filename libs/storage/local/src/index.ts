export * from './directory-object-store.js';
export { S3HttpEndpoint, type S3HttpEndpointOptions } from './s3-endpoint.js';
export { RESERVED_DIR } from './object-paths.js';
