import { compareObjectKeys } from '@nightshift/storage-domain';
import { escapeXml, s3Errors, xmlDocument, xmlFields } from './s3-protocol.js';

/** A listed object: what ListObjectsV2 says about each key. */
export interface ListEntry {
  key: string;
  size: number;
  mtime: Date;
  etag: string;
}

/** ListObjectsV2's query, parsed. */
export interface ListQuery {
  prefix: string;
  delimiter?: string;
  maxKeys: number;
  startAfter?: string;
  continuationToken?: string;
  encodingType?: 'url';
}

/**
 * The query parameters of ListObjectsV2 as S3 reads them: `max-keys` clamped to 1,000, a token only
 * this endpoint made, `encoding-type` only `url`.
 */
export function parseListQuery(query: URLSearchParams): ListQuery {
  const maxKeysText = query.get('max-keys');
  let maxKeys = 1000;
  if (maxKeysText !== null) {
    if (!/^\d+$/.test(maxKeysText)) throw s3Errors.invalidArgument('Provided max-keys not an integer or within integer range', 'max-keys', maxKeysText);
    maxKeys = Math.min(1000, Number(maxKeysText));
  }
  const encodingType = query.get('encoding-type');
  if (encodingType !== null && encodingType !== 'url') throw s3Errors.invalidArgument('Invalid Encoding Method specified in Request', 'encoding-type', encodingType);
  const delimiter = query.get('delimiter');
  const startAfter = query.get('start-after');
  const token = query.get('continuation-token');
  return {
    prefix: query.get('prefix') ?? '',
    maxKeys,
    ...(delimiter ? { delimiter } : {}),
    ...(startAfter ? { startAfter } : {}),
    ...(token !== null ? { continuationToken: token } : {}),
    ...(encodingType === 'url' ? { encodingType: 'url' as const } : {}),
  };
}

/** One page of a listing: objects and common prefixes (together at most max-keys), and where the next starts. */
export interface ListPage {
  contents: ListEntry[];
  commonPrefixes: string[];
  nextContinuationToken?: string;
}

/** Where a page ended: after this key, or after every key under this common prefix. */
interface Marker {
  after: string;
  prefix: boolean;
}

/**
 * Pages `entries` (every key under the prefix, in key order) as S3 does: keys after the continuation
 * token (or `start-after` on the first page); with a delimiter, keys sharing the part up to the
 * first delimiter after the prefix roll up into one common prefix, and a rolled-up prefix counts as
 * one entry of the page. The token names the last entry given, so a page resumes past a whole
 * common prefix rather than inside it.
 */
export function listPage(entries: readonly ListEntry[], q: ListQuery): ListPage {
  const marker = q.continuationToken !== undefined ? decodeToken(q.continuationToken) : q.startAfter ? { after: q.startAfter, prefix: false } : undefined;
  const contents: ListEntry[] = [];
  const commonPrefixes: string[] = [];
  let last: Marker | undefined;
  for (const entry of entries) {
    if (!entry.key.startsWith(q.prefix)) continue;
    if (marker && (compareObjectKeys(entry.key, marker.after) <= 0 || (marker.prefix && entry.key.startsWith(marker.after)))) continue;
    let rolledUp: string | undefined;
    if (q.delimiter) {
      const at = entry.key.indexOf(q.delimiter, q.prefix.length);
      if (at >= 0) rolledUp = entry.key.slice(0, at + q.delimiter.length);
    }
    if (rolledUp !== undefined && last?.prefix && last.after === rolledUp) continue;
    if (contents.length + commonPrefixes.length >= q.maxKeys) {
      return { contents, commonPrefixes, ...(last ? { nextContinuationToken: encodeToken(last) } : {}) };
    }
    if (rolledUp !== undefined) {
      commonPrefixes.push(rolledUp);
      last = { after: rolledUp, prefix: true };
    } else {
      contents.push(entry);
      last = { after: entry.key, prefix: false };
    }
  }
  return { contents, commonPrefixes };
}

/** The ListBucketResult document of a page. */
export function listResultXml(bucket: string, q: ListQuery, page: ListPage): string {
  const enc = (s: string): string => (q.encodingType === 'url' ? encodeURIComponent(s).replace(/%2F/g, '/') : s);
  const head = xmlFields({
    Name: bucket,
    Prefix: enc(q.prefix),
    Delimiter: q.delimiter !== undefined ? enc(q.delimiter) : undefined,
    MaxKeys: q.maxKeys,
    KeyCount: page.contents.length + page.commonPrefixes.length,
    IsTruncated: page.nextContinuationToken !== undefined,
    ContinuationToken: q.continuationToken,
    NextContinuationToken: page.nextContinuationToken,
    StartAfter: q.startAfter !== undefined ? enc(q.startAfter) : undefined,
    EncodingType: q.encodingType,
  });
  const contents = page.contents
    .map((e) => `<Contents>${xmlFields({ Key: enc(e.key), LastModified: e.mtime.toISOString(), ETag: e.etag, Size: e.size, StorageClass: 'STANDARD' })}</Contents>`)
    .join('');
  const prefixes = page.commonPrefixes.map((p) => `<CommonPrefixes><Prefix>${escapeXml(enc(p))}</Prefix></CommonPrefixes>`).join('');
  return xmlDocument('ListBucketResult', head + contents + prefixes);
}

function encodeToken(m: Marker): string {
  return Buffer.from(JSON.stringify(m), 'utf8').toString('base64url');
}

function decodeToken(token: string): Marker {
  try {
    const m = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as Partial<Marker>;
    if (typeof m.after === 'string' && typeof m.prefix === 'boolean') return { after: m.after, prefix: m.prefix };
  } catch {
    // Not one of ours: refused below.
  }
  throw s3Errors.invalidArgument('The continuation token provided is incorrect', 'continuation-token', token);
}
