export { LoopbackHttpServer, type LoopbackHttpServerOptions } from './loopback-http-server.js';
export { header, readBody } from './request.js';
export { sendAwsJson, type AwsJsonResponseOptions } from './response.js';
export { AwsWireError, RequestAbortedError, RequestBodyTooLargeError } from './errors.js';
export { awsErrorMessage, classifyAwsError, type AwsErrorKind } from './sdk-errors.js';
