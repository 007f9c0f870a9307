import { randomUUID } from 'node:crypto';
import { request, type IncomingMessage, type ServerResponse } from 'node:http';
import {
  header,
  LoopbackHttpServer,
  mayAccessObject,
  readBody,
  replayRequest,
  RequestBodyTooLargeError,
  sendAwsJson,
  setCaller,
  sha256Hex,
  verifySigV4,
  parseSigV4Authorization,
  type AccessKey,
  type AccessKeys,
  type SigV4Failure,
} from '@nightshift/aws-wire';
import type { ObjectAccess, ObjectAuthorizer } from '@nightshift/storage-local';

/** One AWS API served by the embedded platform: answers a request, never rejects. */
export interface AwsApiHandler {
  handle(req: IncomingMessage, res: ServerResponse): Promise<void>;
}

/** The AWS APIs behind the gateway. */
export interface AwsApis {
  /** EventBridge PutEvents (`X-Amz-Target: AWSEvents.*`). */
  events: AwsApiHandler;
  /** SQS, AWS JSON 1.0 (`X-Amz-Target: AmazonSQS.*`). */
  sqs: AwsApiHandler;
  /** CloudWatch Logs (`X-Amz-Target: Logs_20140328.*`). */
  logs: AwsApiHandler;
  /** AWS Batch, REST-JSON (`POST /v1/...`). */
  batch: AwsApiHandler;
  /** S3, path-style REST-XML: every other request. Asks `authorize` about every object access it makes. */
  s3: { handle(req: IncomingMessage, res: ServerResponse, authorize: ObjectAuthorizer): Promise<void> };
  /** The embedded DynamoDB-compatible server (`X-Amz-Target: DynamoDB_20120810.*` is forwarded to it). */
  dynamoEndpoint: string;
}

/** The name of each API behind the gateway, as {@link AccessGrant.apis} names them. */
export type AwsApiName = 'events' | 'sqs' | 'logs' | 'dynamodb' | 'batch' | 's3';
export const AWS_API_NAMES: readonly AwsApiName[] = ['events', 'sqs', 'logs', 'dynamodb', 'batch', 's3'];

/** Where the gateway listens and whom it lets in. */
export interface AwsGatewayOptions {
  /** TCP port on 127.0.0.1; 0 picks a free one. */
  port: number;
  /** The keys whose SigV4 signatures are accepted, and the APIs each may call. */
  keys: AccessKeys;
  /** Largest body buffered to hash it (every protocol but S3's, which streams): DynamoDB's 16 MiB. */
  maxBufferedBodyBytes?: number;
  /** The server's clock (tests move it). */
  now?: () => Date;
}

/**
 * Every AWS API nightshift uses, on one loopback port, so that `AWS_ENDPOINT_URL=<url>` alone
 * points an unmodified AWS SDK (or the AWS CLI with `--endpoint-url`) at the embedded platform.
 * Routing follows the wire protocols: JSON protocols name their operation in `X-Amz-Target`,
 * Batch's REST-JSON paths start with `/v1/`, and S3 (path-style) takes the rest, so a bucket
 * named `v1` is the one name S3 cannot use here.
 *
 * Every request is authenticated as AWS does: a SigV4 `Authorization` header from one of
 * {@link AwsGatewayOptions.keys}, dated within 15 minutes, for an API the key's grant names. S3
 * bodies stream (S3 clients always send `x-amz-content-sha256`, the hash the signature covers, which
 * the S3 endpoint checks against the body); every other protocol's (small) body is read, hashed,
 * and handed to its endpoint again. Refusals come in the protocol's own error shape. The endpoint
 * then knows the caller ({@link callerOf}) for its own authorization (PutEvents' sources); the S3
 * endpoint is handed the key's object policy ({@link objectRefusal}) and applies it to every object
 * a request touches, as only it knows which (DeleteObjects' keys are in the body).
 */
export class AwsGateway extends LoopbackHttpServer {
  private apis: AwsApis | undefined;
  private readonly maxBufferedBodyBytes: number;
  private readonly now: () => Date;

  constructor(private readonly options: AwsGatewayOptions) {
    super({ port: options.port, notListening: () => new Error('the AWS gateway is not listening') });
    this.maxBufferedBodyBytes = options.maxBufferedBodyBytes ?? 16 * 1024 * 1024;
    this.now = options.now ?? (() => new Date());
  }

  /**
   * Starts answering with these APIs. Separate from {@link listen} because some APIs need the
   * gateway's own URL (jobs started through Batch reach S3 through it); until then requests get 503.
   */
  serve(apis: AwsApis): void {
    this.apis = apis;
  }

  /** Authenticates one request and routes it to the API whose protocol it speaks. */
  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const apis = this.apis;
    if (!apis) {
      req.resume();
      res.writeHead(503, { 'content-type': 'text/plain' });
      res.end('the embedded platform is starting');
      return;
    }
    const api = routeOf(req);
    const authenticated = await this.authenticate(api, req, res);
    if (!authenticated) return;
    const { key, request: forward } = authenticated;
    if (!key.grant.apis.includes(api)) {
      forward.resume();
      refuse(api, res, { code: 'access-denied', message: `${key.principal}'s key is not allowed to call ${api}` });
      return;
    }
    setCaller(forward, key);
    switch (api) {
      case 'events':
        return apis.events.handle(forward, res);
      case 'sqs':
        return apis.sqs.handle(forward, res);
      case 'logs':
        return apis.logs.handle(forward, res);
      case 'dynamodb':
        return forwardTo(apis.dynamoEndpoint, forward, res);
      case 'batch':
        return apis.batch.handle(forward, res);
      case 's3':
        return apis.s3.handle(forward, res, (access) => objectRefusal(key, access));
    }
  }

  /**
   * Verifies the signature; answers the refusal and returns undefined when it does not hold. The
   * key is looked up before any body is read, so only a key holder can make the gateway buffer one.
   */
  private async authenticate(api: AwsApiName, req: IncomingMessage, res: ServerResponse): Promise<{ key: AccessKey; request: IncomingMessage } | undefined> {
    const fail = (code: Refusal['code'], message: string) => {
      req.resume();
      refuse(api, res, { code, message });
      return undefined;
    };
    const parsed = parseSigV4Authorization(req);
    if (!parsed.ok) return fail(parsed.failure, parsed.message);
    const key = this.options.keys.find(parsed.authorization.accessKeyId);
    if (!key) return fail('unknown-key', 'The security token included in the request is invalid.');

    let payloadHash: string;
    let forward = req;
    if (api === 's3') {
      const declared = header(req, 'x-amz-content-sha256');
      if (declared === undefined) return fail('malformed', 'Missing required header for this request: x-amz-content-sha256');
      payloadHash = declared;
    } else {
      let body: Buffer;
      try {
        body = await readBody(req, this.maxBufferedBodyBytes);
      } catch (e) {
        if (e instanceof RequestBodyTooLargeError) {
          refuse(api, res, { code: 'too-large', message: e.message });
          return undefined;
        }
        // The client went away mid-body: there is no one to answer.
        res.destroy();
        return undefined;
      }
      payloadHash = sha256Hex(body);
      forward = replayRequest(req, body);
    }
    const verified = verifySigV4({ method: req.method ?? 'GET', url: req.url ?? '/', rawHeaders: req.rawHeaders }, payloadHash, (id) => this.options.keys.find(id)?.secretAccessKey, this.now());
    if (!verified.ok) return fail(verified.failure, verified.message);
    return { key, request: forward };
  }
}

/**
 * Undefined when `key` may make this access; else S3's AccessDenied message, worded as AWS words
 * it, naming the access key id and the object (or, for a listing, the prefix).
 */
export function objectRefusal(key: AccessKey, access: ObjectAccess): string | undefined {
  if (mayAccessObject(key.grant, access.action, access.key)) return undefined;
  const resource = access.action === 's3:ListBucket' ? `"arn:aws:s3:::${access.bucket}" with prefix ${JSON.stringify(access.key)}` : `"arn:aws:s3:::${access.bucket}/${access.key}"`;
  return `User: ${key.accessKeyId} (${key.principal}) is not authorized to perform: ${access.action} on resource: ${resource} because no identity-based policy allows the ${access.action} action`;
}


function routeOf(req: IncomingMessage): AwsApiName {
  const op = header(req, 'x-amz-target');
  if (op?.startsWith('AWSEvents.')) return 'events';
  if (op?.startsWith('AmazonSQS.')) return 'sqs';
  if (op?.startsWith('Logs_20140328.')) return 'logs';
  if (op?.startsWith('DynamoDB_20120810.')) return 'dynamodb';
  if ((req.url ?? '').startsWith('/v1/')) return 'batch';
  return 's3';
}

/** Why the gateway refuses a request before any endpoint sees it. */
interface Refusal {
  code: SigV4Failure | 'access-denied' | 'too-large';
  message: string;
}

/**
 * AWS's error code for each refusal: the common errors of AWS's JSON protocols (and Batch's
 * REST-JSON), and S3's own. Every auth failure is a 403 but a malformed header (400).
 */
const ERROR_CODES: Record<Refusal['code'], { json: string; s3: string; status: number }> = {
  missing: { json: 'MissingAuthenticationToken', s3: 'AccessDenied', status: 403 },
  malformed: { json: 'IncompleteSignature', s3: 'AuthorizationHeaderMalformed', status: 400 },
  'unknown-key': { json: 'InvalidClientTokenId', s3: 'InvalidAccessKeyId', status: 403 },
  skewed: { json: 'RequestTimeTooSkewed', s3: 'RequestTimeTooSkewed', status: 403 },
  'bad-signature': { json: 'SignatureDoesNotMatch', s3: 'SignatureDoesNotMatch', status: 403 },
  'access-denied': { json: 'AccessDeniedException', s3: 'AccessDenied', status: 403 },
  'too-large': { json: 'RequestEntityTooLargeException', s3: 'EntityTooLarge', status: 413 },
};

const JSON_CONTENT_TYPES: Record<Exclude<AwsApiName, 's3'>, string> = {
  events: 'application/x-amz-json-1.1',
  logs: 'application/x-amz-json-1.1',
  sqs: 'application/x-amz-json-1.0',
  dynamodb: 'application/x-amz-json-1.0',
  batch: 'application/json',
};

/** Answers a refusal in the API's own error shape: JSON `__type` (and `x-amzn-errortype`), or S3's XML. */
function refuse(api: AwsApiName, res: ServerResponse, refusal: Refusal): void {
  const codes = ERROR_CODES[refusal.code];
  if (res.headersSent || res.destroyed) return;
  if (api === 's3') {
    const requestId = randomUUID();
    const body =
      '<?xml version="1.0" encoding="UTF-8"?>\n' +
      `<Error><Code>${codes.s3}</Code><Message>${escapeXml(refusal.message)}</Message><RequestId>${requestId}</RequestId></Error>`;
    res.writeHead(codes.status, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body), 'x-amz-request-id': requestId });
    res.end(body);
    return;
  }
  sendAwsJson(res, codes.status, { __type: codes.json, message: refusal.message }, {
    contentType: JSON_CONTENT_TYPES[api],
    errorType: codes.json,
    // SQS's JSON protocol is query-compatible: the SDK takes the code from this header.
    ...(api === 'sqs' ? { headers: { 'x-amzn-query-error': `${codes.json};Sender` } } : {}),
  });
}

function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Streams the request to another HTTP server (the embedded DynamoDB) and its answer back, as is. */
function forwardTo(endpoint: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const upstream = new URL(endpoint);
  return new Promise((resolve) => {
    const out = request(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: { ...req.headers, host: upstream.host } },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
        answer.on('end', () => resolve());
        answer.on('error', () => resolve());
      },
    );
    out.on('error', (e) => {
      if (!res.headersSent) {
        const body = JSON.stringify({ __type: 'com.amazonaws.dynamodb.v20120810#InternalServerError', message: `embedded DynamoDB unreachable: ${e.message}` });
        res.writeHead(500, { 'content-type': 'application/x-amz-json-1.0', 'content-length': Buffer.byteLength(body) });
        res.end(body);
      } else res.destroy(e);
      resolve();
    });
    req.pipe(out);
  });
}
