export {
  DEFAULT_HEADERS_TIMEOUT_MS,
  DEFAULT_REQUEST_TIMEOUT_MS,
  LoopbackHttpServer,
  type LoopbackHttpServerOptions,
} from './loopback-http-server.js';
export { DEFAULT_BODY_IDLE_TIMEOUT_MS, header, readBody, type ReadBodyOptions } from './request.js';
export { sendAwsJson, type AwsJsonResponseOptions } from './response.js';
export { AwsWireError, RequestAbortedError, RequestBodyTooLargeError, RequestTimeoutError } from './errors.js';
export { awsErrorMessage, classifyAwsError, type AwsErrorKind } from './sdk-errors.js';
export {
  parseSigV4Authorization,
  sha256Hex,
  signSigV4,
  SIGV4_MAX_SKEW_MS,
  verifySigV4,
  type AwsCredentials,
  type SigV4Authorization,
  type SigV4Failure,
  type SigV4Request,
  type SigV4SigningRequest,
  type SigV4Verification,
} from './sigv4.js';
export {
  AccessKeys,
  AccessKeysFileError,
  generateCredentials,
  loadOrCreateAccessKeys,
  mayAccessObject,
  mayPublishSource,
  PLATFORM_SOURCE_PREFIX,
  RESERVED_SOURCE_PREFIX,
  type AccessGrant,
  type AccessKey,
  type ObjectAction,
  type ObjectGrant,
} from './access-keys.js';
export { callerOf, replayRequest, setCaller } from './authenticated-request.js';
