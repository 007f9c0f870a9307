import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { LoopbackHttpServer } from '@nightshift/aws-wire';
import { InvalidObjectKeyError } from '@nightshift/storage-domain';
import { listPage, listResultXml, parseListQuery } from './s3/list-objects.js';
import { MultipartOperations } from './s3/multipart-operations.js';
import { MultipartUploads } from './s3/multipart-uploads.js';
import { GET_OBJECT_PARAMS, ObjectOperations } from './s3/object-operations.js';
import { S3ObjectFiles } from './s3/object-files.js';
import { receiveSmallBody } from './s3/request-body.js';
import { S3ProtocolError, s3Errors, sendError, sendXml, xmlDocument, xmlFields } from './s3/s3-protocol.js';

export interface S3HttpEndpointOptions {
  /** The DirectoryObjectStore root the endpoint serves: its objects are this bucket's objects. */
  rootDir: string;
  /** The one bucket served; any other is NoSuchBucket. Default `nightshift`. */
  bucket?: string;
  /** Port for `listen()`; default 0 (any free port). */
  port?: number;
}

/** The permission an S3 operation needs on an object, as IAM names it. */
export type ObjectAction = 's3:GetObject' | 's3:PutObject' | 's3:DeleteObject' | 's3:ListBucket';

/** One thing a request does to the bucket's objects. */
export interface ObjectAccess {
  /**
   * `s3:GetObject`: GetObject, HeadObject, the source of a copy. `s3:PutObject`: PutObject, the
   * multipart calls (abort included), the target of a copy. `s3:DeleteObject`: DeleteObject and each
   * key of DeleteObjects. `s3:ListBucket`: ListObjectsV2, with `key` its prefix (IAM's `s3:prefix`).
   */
  action: ObjectAction;
  bucket: string;
  /** The object key; for `s3:ListBucket` the listing's prefix (empty: the whole bucket). */
  key: string;
}

/**
 * Decides one access before the endpoint performs it: undefined allows it, a message refuses it
 * with S3's AccessDenied (403; for DeleteObjects, that key's `<Error>` in the result).
 */
export type ObjectAuthorizer = (access: ObjectAccess) => string | undefined;

/** Query parameters no operation minds: the SDK's operation tag and a presigned URL's signature. */
const IGNORED_PARAM = /^(x-id|X-Amz-[A-Za-z-]+)$/;
const LIST_V2_PARAMS = ['list-type', 'prefix', 'delimiter', 'max-keys', 'continuation-token', 'start-after', 'encoding-type', 'fetch-owner'];

/**
 * Amazon S3's REST-XML API over a DirectoryObjectStore root, so that the AWS-mode adapters, the SDK
 * and the AWS CLI (`--endpoint-url`) work against the embedded mode's files. Path-style only
 * (`/<bucket>/<key>`, the SDK's `forcePathStyle: true`), one bucket, no authentication (signatures
 * are not checked: a gateway in front does that, and passes `handle` an ObjectAuthorizer that every
 * object access is put to), no versioning, ACLs, tagging or copy: those answer NotImplemented.
 *
 * Operations: PutObject, GetObject (Range, conditional headers), HeadObject, DeleteObject,
 * DeleteObjects, ListObjectsV2, the four multipart calls, HeadBucket, ListBuckets, GetBucketLocation.
 * Bodies stream to and from disk (memory does not grow with their size); `aws-chunked` bodies are
 * decoded and every checksum a client sends (Content-MD5, x-amz-content-sha256, x-amz-checksum-* as
 * header or trailer) is verified before the object is renamed into place. Keys follow the directory
 * store's rules: a key it refuses is InvalidArgument here.
 *
 * `handle` is public so that a host serving several AWS APIs on one port can route requests to it.
 */
export class S3HttpEndpoint extends LoopbackHttpServer {
  readonly bucket: string;
  private readonly files: S3ObjectFiles;
  private readonly objects: ObjectOperations;
  private readonly multipart: MultipartOperations;
  private readonly createdAt = new Date();

  constructor(private readonly options: S3HttpEndpointOptions) {
    // close() drops open connections: SDK clients keep theirs alive.
    super({ port: options.port, notListening: () => new Error('S3HttpEndpoint is not listening'), closeConnections: 'all' });
    this.bucket = options.bucket ?? 'nightshift';
    this.files = new S3ObjectFiles(options.rootDir);
    this.objects = new ObjectOperations(this.files);
    this.multipart = new MultipartOperations(this.bucket, new MultipartUploads(this.files));
  }

  /** Starts serving on 127.0.0.1 (creating the root directory); resolves to the endpoint URL (`http://127.0.0.1:<port>`). */
  override async listen(): Promise<string> {
    if (this.listening) throw new Error('S3HttpEndpoint is already listening');
    await mkdir(this.options.rootDir, { recursive: true });
    return super.listen();
  }

  /**
   * Answers one S3 request. Never rejects: a refusal is S3's error document, an unexpected failure
   * an InternalError (or a dropped connection once the response has begun). `authorize`, when given,
   * is asked about every object access the request makes, before it is made.
   */
  async handle(req: IncomingMessage, res: ServerResponse, authorize?: ObjectAuthorizer): Promise<void> {
    const requestId = randomBytes(8).toString('hex').toUpperCase();
    try {
      res.setHeader('x-amz-request-id', requestId);
      await this.route(req, res, authorize ?? (() => undefined));
    } catch (e) {
      this.fail(req, res, e, requestId);
    }
  }

  private async route(req: IncomingMessage, res: ServerResponse, authorize: ObjectAuthorizer): Promise<void> {
    const method = req.method ?? 'GET';
    const { bucket, key, query } = parseTarget(req.url ?? '/');
    if (bucket === undefined) {
      if (method !== 'GET') throw s3Errors.methodNotAllowed(method, 'SERVICE');
      return this.listBuckets(res);
    }
    if (bucket !== this.bucket) throw s3Errors.noSuchBucket(bucket);
    const has = (name: string): boolean => query.has(name);
    const allow = (action: ObjectAction, objectKey: string, inBucket = bucket): void => {
      const refusal = authorize({ action, bucket: inBucket, key: objectKey });
      if (refusal !== undefined) throw s3Errors.accessDenied(refusal);
    };
    if (key === undefined) {
      switch (method) {
        case 'HEAD':
          res.writeHead(200, { 'x-amz-bucket-region': 'us-east-1' });
          res.end();
          return;
        case 'GET':
          if (has('location')) return only(query, ['location'], () => sendXml(res, 200, xmlDocument('LocationConstraint', '')));
          if (query.get('list-type') === '2') {
            return only(query, LIST_V2_PARAMS, () => {
              allow('s3:ListBucket', query.get('prefix') ?? '');
              return this.listObjectsV2(res, query);
            });
          }
          throw s3Errors.notImplemented(query.size === 0 || has('prefix') || has('marker') ? 'ListObjects (version 1)' : `GET ?${[...query.keys()][0]} on a bucket`);
        case 'PUT':
          // CreateBucket of the bucket that always exists: us-east-1 answers 200 to its owner.
          return only(query, [], async () => {
            await receiveSmallBody(req, 64 * 1024);
            res.writeHead(200, { location: `/${this.bucket}` });
            res.end();
          });
        case 'POST':
          if (has('delete')) return only(query, ['delete'], () => this.objects.deleteObjects(req, res, (k) => authorize({ action: 's3:DeleteObject', bucket, key: k })));
          throw s3Errors.notImplemented(`POST ?${[...query.keys()][0] ?? ''} on a bucket`);
        case 'DELETE':
          throw s3Errors.notImplemented('DeleteBucket');
        default:
          throw s3Errors.methodNotAllowed(method, 'BUCKET');
      }
    }
    for (const [action, objectKey, inBucket] of objectAccesses(method, key, query, req.headers['x-amz-copy-source'])) allow(action, objectKey, inBucket);
    this.files.pathOf(key);
    switch (method) {
      case 'PUT':
        if (has('uploadId') || has('partNumber')) return only(query, ['uploadId', 'partNumber'], () => this.multipart.uploadPart(req, res, key, query));
        return only(query, [], () => this.objects.putObject(req, res, key));
      case 'GET':
      case 'HEAD':
        if (has('uploadId')) throw s3Errors.notImplemented('ListParts');
        return only(query, GET_OBJECT_PARAMS, () => this.objects.getObject(req, res, key, query, method === 'HEAD'));
      case 'DELETE':
        if (has('uploadId')) return only(query, ['uploadId'], () => this.multipart.abort(res, key, query));
        return only(query, [], () => this.objects.deleteObject(res, key));
      case 'POST':
        if (has('uploads')) return only(query, ['uploads'], () => this.multipart.create(req, res, key));
        if (has('uploadId')) return only(query, ['uploadId'], () => this.multipart.complete(req, res, key, query));
        throw s3Errors.notImplemented(`POST ?${[...query.keys()][0] ?? ''} on an object`);
      default:
        throw s3Errors.methodNotAllowed(method, 'OBJECT');
    }
  }

  private async listObjectsV2(res: ServerResponse, query: URLSearchParams): Promise<void> {
    const q = parseListQuery(query);
    const page = listPage(await this.files.list(q.prefix), q);
    sendXml(res, 200, listResultXml(this.bucket, q, page));
  }

  private listBuckets(res: ServerResponse): void {
    const owner = `<Owner>${xmlFields({ ID: 'nightshift', DisplayName: 'nightshift' })}</Owner>`;
    const buckets = `<Buckets><Bucket>${xmlFields({ Name: this.bucket, CreationDate: this.createdAt.toISOString(), BucketRegion: 'us-east-1' })}</Bucket></Buckets>`;
    sendXml(res, 200, xmlDocument('ListAllMyBucketsResult', owner + buckets));
  }

  private fail(req: IncomingMessage, res: ServerResponse, e: unknown, requestId: string): void {
    try {
      if (res.headersSent || res.destroyed) {
        res.destroy();
        return;
      }
      const error =
        e instanceof S3ProtocolError
          ? e
          : e instanceof InvalidObjectKeyError
            ? s3Errors.invalidArgument(e.message, 'key', e.key)
            : new S3ProtocolError('InternalError', 500, `We encountered an internal error: ${e instanceof Error ? e.message : String(e)}`);
      // Read what is left of the body, so the client gets the answer rather than a reset connection.
      if (!req.complete) req.resume();
      sendError(req, res, error, requestId);
    } catch {
      res.destroy();
    }
  }
}

/**
 * The object accesses an object-level request makes: its own key's (by method, as S3's operations
 * need them) and a copy's source (CopyObject and UploadPartCopy, not served: refused or not, they
 * are checked like S3 does). None for a method no operation has (MethodNotAllowed).
 */
function objectAccesses(method: string, key: string, query: URLSearchParams, copySource: string | string[] | undefined): Array<[ObjectAction, string, string?]> {
  const own: ObjectAction | undefined =
    method === 'GET' || method === 'HEAD' ? 's3:GetObject' : method === 'DELETE' ? (query.has('uploadId') ? 's3:PutObject' : 's3:DeleteObject') : method === 'PUT' || method === 'POST' ? 's3:PutObject' : undefined;
  if (!own) return [];
  const accesses: Array<[ObjectAction, string, string?]> = [[own, key]];
  if (method === 'PUT' && copySource !== undefined) {
    // `[/]<bucket>/<key>[?versionId=…]`, URL-encoded.
    const source = String(copySource).replace(/^\//, '').split('?', 1)[0]!;
    const slash = source.indexOf('/');
    if (slash <= 0 || slash === source.length - 1) throw s3Errors.invalidArgument('Invalid copy source object key', 'x-amz-copy-source', String(copySource));
    accesses.push(['s3:GetObject', decode(source.slice(slash + 1)), decode(source.slice(0, slash))]);
  }
  return accesses;
}

/** Runs `then` when every query parameter is one the operation takes; NotImplemented names the first other. */
function only(query: URLSearchParams, allowed: readonly string[], then: () => void | Promise<void>): void | Promise<void> {
  for (const name of query.keys()) {
    if (!allowed.includes(name) && !IGNORED_PARAM.test(name)) throw s3Errors.notImplemented(`The ?${name} parameter`);
  }
  return then();
}

/**
 * Bucket, key and query of a path-style request target. Parsed by hand: `new URL` would resolve
 * `..` and `.` segments, turning a key the store must refuse into another key, and would read `+`
 * in the query as a space.
 */
function parseTarget(target: string): { bucket?: string; key?: string; query: URLSearchParams } {
  const pathAndQuery = target.startsWith('/') ? target : target.replace(/^[a-z]+:\/\/[^/]*/i, '') || '/';
  const q = pathAndQuery.indexOf('?');
  const path = q >= 0 ? pathAndQuery.slice(0, q) : pathAndQuery;
  const query = new URLSearchParams();
  for (const pair of q >= 0 ? pathAndQuery.slice(q + 1).split('&') : []) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    query.append(decode(eq >= 0 ? pair.slice(0, eq) : pair), eq >= 0 ? decode(pair.slice(eq + 1)) : '');
  }
  const slash = path.indexOf('/', 1);
  const bucket = decode(slash >= 0 ? path.slice(1, slash) : path.slice(1));
  const key = slash >= 0 ? decode(path.slice(slash + 1)) : '';
  return { ...(bucket !== '' ? { bucket } : {}), ...(key !== '' ? { key } : {}), query };
}

function decode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw s3Errors.invalidUri();
  }
}
