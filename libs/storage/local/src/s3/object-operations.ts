import type { IncomingHttpHeaders, IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import { InvalidObjectKeyError } from '@nightshift/storage-domain';
import { checksumHeader, type ChecksumAlgorithm } from './checksums.js';
import type { OpenedObject, S3ObjectFiles, StoredChecksum } from './object-files.js';
import { receiveBody, receiveSmallBody } from './request-body.js';
import { s3Errors, sendXml, xmlDocument, xmlElements, xmlFields, xmlText } from './s3-protocol.js';

/** Query parameters GetObject honours: overrides of the response's headers. */
const RESPONSE_OVERRIDES: Readonly<Record<string, string>> = {
  'response-content-type': 'content-type',
  'response-content-disposition': 'content-disposition',
  'response-content-encoding': 'content-encoding',
  'response-content-language': 'content-language',
  'response-cache-control': 'cache-control',
  'response-expires': 'expires',
};
export const GET_OBJECT_PARAMS = Object.keys(RESPONSE_OVERRIDES);

/**
 * PutObject, GetObject/HeadObject, DeleteObject and DeleteObjects over the directory store's files.
 * Bodies stream both ways: an upload goes to a temp file and is renamed into place once all of it
 * arrived and every checksum the client sent matched; a download streams from an open handle, so a
 * concurrent overwrite cannot mix two versions into one response.
 */
export class ObjectOperations {
  constructor(private readonly files: S3ObjectFiles) {}

  async putObject(req: IncomingMessage, res: ServerResponse, key: string): Promise<void> {
    if (req.headers['x-amz-copy-source'] !== undefined) throw s3Errors.notImplemented('CopyObject');
    if (req.headers['if-match'] !== undefined || req.headers['if-none-match'] !== undefined) throw s3Errors.notImplemented('A conditional PutObject');
    this.files.pathOf(key);
    const staged = await this.files.stage();
    try {
      const body = await receiveBody(req, staged.stream());
      const [algorithm, value] = [...body.declared][0] ?? [];
      const checksum: StoredChecksum | undefined = algorithm ? { algorithm, value: value!, type: 'FULL_OBJECT' } : undefined;
      const meta = await this.files.commit(key, staged, {
        etag: `"${body.digest('MD5').toString('hex')}"`,
        sha256: body.digest('SHA256').toString('hex'),
        ...(req.headers['content-type'] ? { contentType: req.headers['content-type'] } : {}),
        metadata: userMetadata(req.headers),
        ...(checksum ? { checksum } : {}),
      });
      res.writeHead(200, { etag: meta.etag, ...checksumHeaders(checksum) });
      res.end();
    } catch (e) {
      await staged.discard();
      throw e;
    }
  }

  /** GetObject, or HeadObject with `headOnly`: the same headers, no body. */
  async getObject(req: IncomingMessage, res: ServerResponse, key: string, query: URLSearchParams, headOnly: boolean): Promise<void> {
    const object = await this.files.open(key);
    if (!object) throw s3Errors.noSuchKey(key);
    try {
      checkConditions(req.headers, object);
      const range = parseRange(req.headers.range, object.size);
      const meta = object.meta;
      const headers: OutgoingHttpHeaders = {
        'content-type': meta.contentType ?? 'binary/octet-stream',
        'content-length': range ? range.end - range.start + 1 : object.size,
        etag: meta.etag,
        'last-modified': object.lastModified.toUTCString(),
        'accept-ranges': 'bytes',
        ...Object.fromEntries(Object.entries(meta.metadata).map(([k, v]) => [`x-amz-meta-${k}`, v])),
      };
      if (range) headers['content-range'] = `bytes ${range.start}-${range.end}/${object.size}`;
      // S3 sends the stored checksum on request, and only for the whole object.
      if (req.headers['x-amz-checksum-mode']?.toString().toUpperCase() === 'ENABLED' && !range) {
        const checksum = meta.checksum ?? { algorithm: 'SHA256', type: 'FULL_OBJECT', value: Buffer.from(await this.files.sha256Of(object), 'hex').toString('base64') };
        Object.assign(headers, checksumHeaders(checksum));
      }
      for (const [param, header] of Object.entries(RESPONSE_OVERRIDES)) {
        const value = query.get(param);
        if (value !== null) headers[header] = value;
      }
      res.writeHead(range ? 206 : 200, headers);
      if (headOnly || object.size === 0) {
        res.end();
        return;
      }
      await pipeline(object.handle.createReadStream({ start: range?.start ?? 0, ...(range ? { end: range.end } : {}), autoClose: false }), res);
    } finally {
      await object.handle.close();
    }
  }

  async deleteObject(res: ServerResponse, key: string): Promise<void> {
    await this.files.remove(key);
    res.writeHead(204);
    res.end();
  }

  /**
   * DeleteObjects: up to 1,000 keys, each deleted or answered with its own error; `authorize` is
   * asked about each key first (a message refuses that key with AccessDenied, as S3 does).
   */
  async deleteObjects(req: IncomingMessage, res: ServerResponse, authorize: (key: string) => string | undefined): Promise<void> {
    const h = req.headers;
    if (h['content-md5'] === undefined && !Object.keys(h).some((n) => n.startsWith('x-amz-checksum-') && n !== 'x-amz-checksum-algorithm') && h['x-amz-trailer'] === undefined) {
      throw s3Errors.invalidRequest('Missing required header for this request: Content-MD5 or x-amz-checksum-*');
    }
    const xml = (await receiveSmallBody(req, 2 * 1024 * 1024)).toString('utf8');
    const keys = xmlElements(xml, 'Object').map((o) => xmlText(o, 'Key'));
    if (keys.length === 0 || keys.length > 1000 || keys.some((k) => k === undefined)) throw s3Errors.malformedXml();
    const quiet = xmlText(xml, 'Quiet') === 'true';
    const results: string[] = [];
    for (const key of keys as string[]) {
      const refusal = authorize(key);
      if (refusal !== undefined) {
        results.push(`<Error>${xmlFields({ Key: key, Code: 'AccessDenied', Message: refusal })}</Error>`);
        continue;
      }
      try {
        await this.files.remove(key);
        if (!quiet) results.push(`<Deleted>${xmlFields({ Key: key })}</Deleted>`);
      } catch (e) {
        if (!(e instanceof InvalidObjectKeyError)) throw e;
        results.push(`<Error>${xmlFields({ Key: key, Code: 'InvalidArgument', Message: e.message })}</Error>`);
      }
    }
    sendXml(res, 200, xmlDocument('DeleteResult', results.join('')));
  }
}

/** The `x-amz-checksum-<alg>` and `x-amz-checksum-type` headers of a stored checksum. */
export function checksumHeaders(checksum: StoredChecksum | undefined): OutgoingHttpHeaders {
  return checksum ? { [checksumHeader(checksum.algorithm)]: checksum.value, 'x-amz-checksum-type': checksum.type } : {};
}

/** `x-amz-meta-*` request headers, by name without the prefix. */
export function userMetadata(headers: IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (name.startsWith('x-amz-meta-') && value !== undefined) out[name.slice('x-amz-meta-'.length)] = Array.isArray(value) ? value.join(',') : value;
  }
  return out;
}

/** The stored checksum algorithm a request names in `x-amz-checksum-algorithm`, checked. */
export function requestedAlgorithm(headers: IncomingHttpHeaders): ChecksumAlgorithm | undefined {
  const value = headers['x-amz-checksum-algorithm'];
  if (value === undefined) return undefined;
  const upper = String(value).toUpperCase();
  const known: readonly ChecksumAlgorithm[] = ['CRC32', 'CRC32C', 'CRC64NVME', 'SHA1', 'SHA256'];
  if (!known.includes(upper as ChecksumAlgorithm)) throw s3Errors.invalidArgument('Checksum algorithm provided is unsupported.', 'x-amz-checksum-algorithm', String(value));
  return upper as ChecksumAlgorithm;
}

/**
 * HTTP preconditions in S3's precedence: If-Match before If-Unmodified-Since (412), If-None-Match
 * before If-Modified-Since (304). Dates compare at the second, as HTTP dates carry.
 */
function checkConditions(h: IncomingHttpHeaders, object: OpenedObject): void {
  const etag = object.meta.etag;
  const modified = Math.floor(object.lastModified.getTime() / 1000);
  const matches = (list: string): boolean => list.split(',').some((t) => t.trim() === '*' || t.trim().replace(/^W\//, '') === etag);
  const since = (date: string | undefined): number | undefined => {
    const t = date ? Date.parse(date) : NaN;
    return Number.isNaN(t) ? undefined : Math.floor(t / 1000);
  };
  if (h['if-match'] !== undefined) {
    if (!matches(h['if-match'])) throw s3Errors.preconditionFailed('If-Match');
  } else {
    const t = since(h['if-unmodified-since']);
    if (t !== undefined && modified > t) throw s3Errors.preconditionFailed('If-Unmodified-Since');
  }
  if (h['if-none-match'] !== undefined) {
    if (matches(h['if-none-match'])) throw s3Errors.notModified();
  } else {
    const t = since(h['if-modified-since']);
    if (t !== undefined && modified <= t) throw s3Errors.notModified();
  }
}

/**
 * One `bytes=` range (first-last, first-, or -suffix), clamped to the object. A header that does not
 * parse, or asks for several ranges, is ignored as S3 ignores it (the whole object is sent); a range
 * starting past the end is InvalidRange.
 */
function parseRange(header: string | undefined, size: number): { start: number; end: number } | undefined {
  const m = header ? /^bytes=(\d*)-(\d*)$/.exec(header.trim()) : null;
  if (!m || (m[1] === '' && m[2] === '')) return undefined;
  if (size === 0) throw s3Errors.invalidRange(header!, size);
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0) throw s3Errors.invalidRange(header!, size);
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (start >= size) throw s3Errors.invalidRange(header!, size);
  if (end < start) return undefined;
  return { start, end };
}
