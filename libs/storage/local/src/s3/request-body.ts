import type { IncomingMessage } from 'node:http';
import { Writable, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { AwsChunkedDecoder } from './aws-chunked.js';
import { algorithmOfHeader, checksumHeader, DigestingStream, type ChecksumAlgorithm } from './checksums.js';
import { S3ProtocolError, s3Errors } from './s3-protocol.js';

/** A request body received whole and checked against everything the client said about it. */
export interface ReceivedBody {
  /** Payload bytes (after aws-chunked decoding). */
  size: number;
  /** The digests computed: MD5, SHA256, every declared algorithm and the extra ones asked for. */
  digest(algorithm: ChecksumAlgorithm): Buffer;
  /** Checksums the client sent (header or trailer), all verified: algorithm -> base64. */
  declared: Map<ChecksumAlgorithm, string>;
}

/**
 * Streams the request's payload into `sink`, decoding `aws-chunked` framing when the request uses
 * it, and verifies, once all of it has arrived: `x-amz-decoded-content-length`, `Content-MD5`
 * (BadDigest), a hex `x-amz-content-sha256` (XAmzContentSHA256Mismatch) and every
 * `x-amz-checksum-*` header or trailer (BadDigest). `extra` algorithms are computed too (a part's
 * digest for a multipart upload's checksum); `checksumHeaders` false leaves `x-amz-checksum-*` request
 * headers unread, for a request whose headers describe something else. The caller discards what
 * `sink` wrote on a throw. Memory stays bounded: nothing is held beyond the streams' buffers.
 */
export async function receiveBody(req: IncomingMessage, sink: Writable, extra: Iterable<ChecksumAlgorithm> = [], checksumHeaders = true): Promise<ReceivedBody> {
  const expected = expectationsOf(req, checksumHeaders);
  const digesting = new DigestingStream([...expected.headerChecksums.keys(), ...expected.trailerChecksums, ...extra]);
  const decoder = expected.awsChunked ? new AwsChunkedDecoder() : undefined;
  if (decoder) await pipeline(req as Readable, decoder, digesting, sink);
  else await pipeline(req as Readable, digesting, sink);

  if (decoder && expected.decodedLength !== undefined && decoder.decodedBytes !== expected.decodedLength) {
    throw s3Errors.incompleteBody(`x-amz-decoded-content-length says ${expected.decodedLength} bytes, the body had ${decoder.decodedBytes}.`);
  }
  if (expected.contentMd5 && !expected.contentMd5.equals(digesting.digest('MD5'))) throw s3Errors.badDigest('Content-MD5');
  const sha256Hex = digesting.digest('SHA256').toString('hex');
  if (expected.contentSha256 !== undefined && expected.contentSha256 !== sha256Hex) throw s3Errors.contentSha256Mismatch(expected.contentSha256, sha256Hex);

  const declared = new Map(expected.headerChecksums);
  for (const algorithm of expected.trailerChecksums) {
    const value = decoder?.trailers.get(checksumHeader(algorithm));
    if (value === undefined) throw s3Errors.invalidRequest(`The ${checksumHeader(algorithm)} trailer announced in x-amz-trailer was not sent.`);
    declared.set(algorithm, value);
  }
  for (const [algorithm, value] of declared) {
    if (digesting.digest(algorithm).toString('base64') !== value) throw s3Errors.badDigest(algorithm);
  }
  return { size: digesting.bytes, digest: (a) => digesting.digest(a), declared };
}

/**
 * Receives a small body (an XML document) into memory, verified as `receiveBody` does; with
 * `checksumHeaders` false, `x-amz-checksum-*` headers are left alone (CompleteMultipartUpload's
 * describe the object, not the body).
 */
export async function receiveSmallBody(req: IncomingMessage, limit: number, checksumHeaders = true): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      size += chunk.byteLength;
      if (size > limit) done(new S3ProtocolError('EntityTooLarge', 400, 'Your proposed upload exceeds the maximum allowed size'));
      else {
        chunks.push(chunk);
        done();
      }
    },
  });
  await receiveBody(req, sink, [], checksumHeaders);
  return Buffer.concat(chunks);
}

interface Expectations {
  awsChunked: boolean;
  decodedLength?: number;
  contentMd5?: Buffer;
  /** A payload hash the client signed (not UNSIGNED-PAYLOAD or a STREAMING-* mode). */
  contentSha256?: string;
  headerChecksums: Map<ChecksumAlgorithm, string>;
  trailerChecksums: ChecksumAlgorithm[];
}

/** Checksum headers that are not checksums. */
const NOT_CHECKSUMS = new Set(['x-amz-checksum-algorithm', 'x-amz-checksum-type', 'x-amz-checksum-mode']);

function expectationsOf(req: IncomingMessage, checksumHeaders: boolean): Expectations {
  const h = req.headers;
  const contentSha256 = header(h['x-amz-content-sha256']);
  const encodings = (header(h['content-encoding']) ?? '').split(',').map((e) => e.trim().toLowerCase());
  // SigV4 streaming modes are aws-chunked even when a client leaves Content-Encoding out.
  const awsChunked = encodings.includes('aws-chunked') || (contentSha256?.startsWith('STREAMING-') ?? false);

  const headerChecksums = new Map<ChecksumAlgorithm, string>();
  for (const [name, value] of Object.entries(h)) {
    if (!checksumHeaders || !name.startsWith('x-amz-checksum-') || NOT_CHECKSUMS.has(name)) continue;
    const algorithm = algorithmOfHeader(name);
    if (!algorithm) throw s3Errors.notImplemented(`The checksum ${name}`);
    headerChecksums.set(algorithm, header(value) ?? '');
  }
  const trailerChecksums: ChecksumAlgorithm[] = [];
  for (const name of (header(h['x-amz-trailer']) ?? '').split(',').map((t) => t.trim().toLowerCase())) {
    if (name === '' || name === 'x-amz-trailer-signature') continue;
    const algorithm = algorithmOfHeader(name);
    if (!algorithm) throw s3Errors.notImplemented(`The trailer ${name}`);
    trailerChecksums.push(algorithm);
  }

  let contentMd5: Buffer | undefined;
  const md5 = header(h['content-md5']);
  if (md5 !== undefined) {
    contentMd5 = Buffer.from(md5, 'base64');
    if (contentMd5.length !== 16 || contentMd5.toString('base64') !== md5) throw s3Errors.invalidDigest('Content-MD5');
  }
  const decoded = header(h['x-amz-decoded-content-length']);
  let decodedLength: number | undefined;
  if (decoded !== undefined) {
    decodedLength = Number(decoded);
    if (!/^\d+$/.test(decoded) || !Number.isSafeInteger(decodedLength)) throw s3Errors.invalidArgument('x-amz-decoded-content-length is not a length', 'x-amz-decoded-content-length', decoded);
  }
  return {
    awsChunked,
    ...(decodedLength !== undefined ? { decodedLength } : {}),
    ...(contentMd5 ? { contentMd5 } : {}),
    ...(contentSha256 && /^[0-9a-f]{64}$/.test(contentSha256) ? { contentSha256 } : {}),
    headerChecksums,
    trailerChecksums,
  };
}

function header(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(',') : value;
}
