import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { createServer, request, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetBucketLocationCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListBucketsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
  type ChecksumAlgorithm,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DirectoryObjectStore } from './directory-object-store.js';
import { RESERVED_DIR } from './object-paths.js';
import { S3HttpEndpoint } from './s3-endpoint.js';

const MiB = 1024 * 1024;
const BUCKET = 'nightshift';

let root: string;
let endpoint: S3HttpEndpoint;
let url: string;
let s3: S3Client;
let local: DirectoryObjectStore;
let prefixes = 0;
/** A key prefix of its own per test: tests share the endpoint, not their objects. */
const fresh = (): string => `t${++prefixes}/`;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'ns-s3-endpoint-'));
  endpoint = new S3HttpEndpoint({ rootDir: root });
  url = await endpoint.listen();
  s3 = clientFor(url);
  local = new DirectoryObjectStore(root);
});
afterAll(async () => {
  s3?.destroy();
  await endpoint?.close();
  await rm(root, { recursive: true, force: true });
});

function clientFor(endpointUrl: string): S3Client {
  return new S3Client({ endpoint: endpointUrl, forcePathStyle: true, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, maxAttempts: 1 });
}

interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** One HTTP request as written, `body` sent in the given pieces (each its own write). */
async function raw(method: string, path: string, headers: Record<string, string | number> = {}, pieces: Buffer[] = [], target = url): Promise<RawResponse> {
  const { hostname, port } = new URL(target);
  return new Promise((resolve, reject) => {
    const req = request({ host: hostname, port, method, path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    void (async () => {
      for (const piece of pieces) {
        req.write(piece);
        await new Promise((r) => setImmediate(r));
      }
      req.end();
    })();
  });
}

const sha256 = (b: Buffer | string): Buffer => createHash('sha256').update(b).digest();
const md5 = (b: Buffer | string): Buffer => createHash('md5').update(b).digest();
const errorOf = (p: Promise<unknown>): Promise<{ name: string; $metadata: { httpStatusCode?: number } }> =>
  p.then(
    () => {
      throw new Error('expected the request to fail');
    },
    (e: { name: string; $metadata: { httpStatusCode?: number } }) => e,
  );

/** Polls `check` until it holds (the server finishes its cleanup after the client has its answer). */
async function eventually(check: () => Promise<boolean>, deadlineMs = 30_000): Promise<void> {
  const until = Date.now() + deadlineMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error('condition not met before the deadline');
    await new Promise((r) => setTimeout(r, 50));
  }
}
const noTempFiles = async (): Promise<boolean> => (await readdir(join(root, RESERVED_DIR, 'tmp')).catch(() => [])).length === 0;

describe('S3HttpEndpoint objects', () => {
  it("serves PutObject, GetObject and HeadObject over the directory store's files", async () => {
    const p = fresh();
    const put = await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: `${p}a/b.json`, Body: '{"x":1}', ContentType: 'application/json', Metadata: { owner: 'ops' } }));
    expect(put.ETag).toBe(`"${md5('{"x":1}').toString('hex')}"`);
    expect(Buffer.from(await local.get(`${p}a/b.json`)).toString()).toBe('{"x":1}');
    const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: `${p}a/b.json` }));
    expect(await got.Body!.transformToString()).toBe('{"x":1}');
    expect(got).toMatchObject({ ContentType: 'application/json', ContentLength: 7, ETag: put.ETag, Metadata: { owner: 'ops' } });
    const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: `${p}a/b.json` }));
    expect(head).toMatchObject({ ContentLength: 7, ETag: put.ETag, Metadata: { owner: 'ops' } });
  });

  it.each<ChecksumAlgorithm | undefined>([undefined, 'SHA256', 'CRC32C', 'CRC64NVME', 'SHA1'])(
    'decodes the aws-chunked body the SDK sends for a stream, with its trailing %s checksum',
    async (algorithm) => {
      const p = fresh();
      const chunks = [randomBytes(100_000), randomBytes(7), randomBytes(70_001)];
      const all = Buffer.concat(chunks);
      await s3.send(
        new PutObjectCommand({ Bucket: BUCKET, Key: `${p}stream.bin`, Body: Readable.from(chunks), ContentLength: all.length, ...(algorithm ? { ChecksumAlgorithm: algorithm } : {}) }),
      );
      expect(Buffer.from(await local.get(`${p}stream.bin`)).equals(all)).toBe(true);
      // The checksum was verified on arrival and is answered on request (the SDK's default is CRC32).
      const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: `${p}stream.bin`, ChecksumMode: 'ENABLED' }));
      const field = `Checksum${algorithm ?? 'CRC32'}` as 'ChecksumSHA256';
      expect(head[field]).toMatch(/^[A-Za-z0-9+/]+=*$/);
      if (algorithm === 'SHA256') expect(head.ChecksumSHA256).toBe(sha256(all).toString('base64'));
      // The SDK validates that checksum on download.
      const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: `${p}stream.bin` }));
      expect(Buffer.from(await got.Body!.transformToByteArray()).equals(all)).toBe(true);
    },
  );

  it('verifies what a client says about a body, and keeps nothing it refused', async () => {
    const p = fresh();
    const body = Buffer.from('payload');
    const path = `/${BUCKET}/${p}x`;
    const md5Wrong = await raw('PUT', path, { 'content-md5': md5('other').toString('base64'), 'content-length': body.length }, [body]);
    expect(md5Wrong).toMatchObject({ status: 400, body: expect.stringContaining('<Code>BadDigest</Code>') });
    const shaWrong = await errorOf(s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: `${p}x`, Body: body, ChecksumSHA256: sha256('other').toString('base64') })));
    expect(shaWrong).toMatchObject({ name: 'BadDigest', $metadata: { httpStatusCode: 400 } });
    const signedWrong = await raw('PUT', path, { 'x-amz-content-sha256': sha256('other').toString('hex'), 'content-length': body.length }, [body]);
    expect(signedWrong.status).toBe(400);
    expect(signedWrong.body).toContain('<Code>XAmzContentSHA256Mismatch</Code>');
    expect(signedWrong.body).toContain(`<S3ComputedContentSHA256>${sha256(body).toString('hex')}</S3ComputedContentSHA256>`);

    const chunked = (trailer: string): Buffer[] => [Buffer.from('7\r\npay'), Buffer.from('load\r\n0\r\n'), Buffer.from(`x-amz-checksum-sha256:${trailer}\r\n\r\n`)];
    const streaming = { 'content-encoding': 'aws-chunked', 'x-amz-content-sha256': 'STREAMING-UNSIGNED-PAYLOAD-TRAILER', 'x-amz-trailer': 'x-amz-checksum-sha256', 'transfer-encoding': 'chunked' };
    const trailerWrong = await raw('PUT', path, { ...streaming, 'x-amz-decoded-content-length': 7 }, chunked(sha256('other').toString('base64')));
    expect(trailerWrong).toMatchObject({ status: 400, body: expect.stringContaining('<Code>BadDigest</Code>') });
    const lengthWrong = await raw('PUT', path, { ...streaming, 'x-amz-decoded-content-length': 8 }, chunked(sha256(body).toString('base64')));
    expect(lengthWrong).toMatchObject({ status: 400, body: expect.stringContaining('<Code>IncompleteBody</Code>') });
    expect(await local.head(`${p}x`)).toBeUndefined();

    // The same body framed right is taken.
    expect((await raw('PUT', path, { ...streaming, 'x-amz-decoded-content-length': 7 }, chunked(sha256(body).toString('base64')))).status).toBe(200);
    expect(Buffer.from(await local.get(`${p}x`)).toString()).toBe('payload');
    await eventually(noTempFiles);
  });

  it('answers byte ranges, and refuses one past the end', async () => {
    const p = fresh();
    await local.put(`${p}r`, 'abcdefghij');
    const get = async (range: string) => s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: `${p}r`, Range: range }));
    const mid = await get('bytes=2-5');
    expect(await mid.Body!.transformToString()).toBe('cdef');
    expect(mid).toMatchObject({ ContentRange: 'bytes 2-5/10', ContentLength: 4 });
    expect(await (await get('bytes=-3')).Body!.transformToString()).toBe('hij');
    expect(await (await get('bytes=7-')).Body!.transformToString()).toBe('hij');
    expect(await errorOf(get('bytes=10-'))).toMatchObject({ name: 'InvalidRange', $metadata: { httpStatusCode: 416 } });
  });

  it('honours If-Match and If-None-Match', async () => {
    const p = fresh();
    const { ETag } = await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: `${p}c`, Body: 'v1' }));
    expect((await raw('GET', `/${BUCKET}/${p}c`, { 'if-none-match': ETag! })).status).toBe(304);
    expect((await raw('GET', `/${BUCKET}/${p}c`, { 'if-match': ETag! })).status).toBe(200);
    expect(await errorOf(s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: `${p}c`, IfMatch: '"other"' })))).toMatchObject({
      name: 'PreconditionFailed',
      $metadata: { httpStatusCode: 412 },
    });
  });

  it('serves files the directory store wrote, and notices when they change under it', async () => {
    const p = fresh();
    await local.put(`${p}f`, 'one');
    const first = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: `${p}f`, ChecksumMode: 'ENABLED' }));
    expect(first.ChecksumSHA256).toBe(sha256('one').toString('base64'));
    const { ETag } = await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: `${p}f`, Body: 'two', ContentType: 'text/plain' }));
    await local.put(`${p}f`, 'three');
    const after = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: `${p}f`, ChecksumMode: 'ENABLED' }));
    // What the endpoint recorded for "two" is not taken for "three".
    expect(after.ETag).not.toBe(ETag);
    expect(after.ContentType).toBe('binary/octet-stream');
    expect(after.ChecksumSHA256).toBe(sha256('three').toString('base64'));
  });

  it("never pairs one concurrent writer's bytes with another's metadata", async () => {
    const key = `${fresh()}race`;
    await Promise.all(Array.from({ length: 12 }, (_, i) => s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: `body-${i}`, Metadata: { n: String(i) } }))));
    const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
    const body = await got.Body!.transformToString();
    // The last rename wins the bytes; its record goes with them, or (a lost race) none does.
    if (got.Metadata?.['n'] !== undefined) {
      expect(body).toBe(`body-${got.Metadata['n']}`);
      expect(got.ETag).toBe(`"${md5(body).toString('hex')}"`);
    }
  });

  it('deletes idempotently, one key or a batch, and leaves no emptied directory in the way of a key', async () => {
    const p = fresh();
    for (const k of ['a/1', 'a/2', 'b']) await local.put(`${p}${k}`, k);
    expect((await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: `${p}b` }))).$metadata.httpStatusCode).toBe(204);
    expect((await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: `${p}b` }))).$metadata.httpStatusCode).toBe(204);
    const batch = await s3.send(new DeleteObjectsCommand({ Bucket: BUCKET, Delete: { Objects: [{ Key: `${p}a/1` }, { Key: `${p}a/2` }, { Key: `${p}a/../x` }] } }));
    expect(batch.Deleted?.map((d) => d.Key)).toEqual([`${p}a/1`, `${p}a/2`]);
    expect(batch.Errors).toEqual([expect.objectContaining({ Key: `${p}a/../x`, Code: 'InvalidArgument' })]);
    expect(await local.list(p)).toEqual([]);
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: `${p}a`, Body: 'now a file' }));
  });
});

describe('S3HttpEndpoint listing', () => {
  it('pages ListObjectsV2 by prefix, delimiter, max-keys and continuation token', async () => {
    const p = fresh();
    for (const k of ['a', 'b/1', 'b/2', 'c', 'd/1', 'e']) await local.put(`${p}${k}`, k);
    const seen: string[][] = [];
    let token: string | undefined;
    do {
      const page = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: p, Delimiter: '/', MaxKeys: 2, ContinuationToken: token }));
      seen.push([...(page.Contents ?? []).map((c) => c.Key!.slice(p.length)), ...(page.CommonPrefixes ?? []).map((c) => c.Prefix!.slice(p.length))]);
      expect(page.KeyCount).toBe(seen.at(-1)!.length);
      token = page.NextContinuationToken;
      expect(page.IsTruncated).toBe(token !== undefined);
    } while (token);
    expect(seen).toEqual([['a', 'b/'], ['c', 'd/'], ['e']]);
    const after = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: p, StartAfter: `${p}b/2` }));
    expect(after.Contents?.map((c) => c.Key!.slice(p.length))).toEqual(['c', 'd/1', 'e']);
    expect(after.Contents?.[0]).toMatchObject({ Size: 1, StorageClass: 'STANDARD', ETag: expect.stringMatching(/^"[0-9a-f]{32}"$/) });
  });

  it('url-encodes keys when asked (as the AWS CLI asks), and never lists its own staging files', async () => {
    const p = fresh();
    await local.put(`${p}with space+plus`, 'x');
    const res = await raw('GET', `/${BUCKET}?list-type=2&encoding-type=url&prefix=${encodeURIComponent(p)}`);
    expect(res.body).toContain(`<Key>${p}with%20space%2Bplus</Key>`);
    expect(res.body).toContain('<EncodingType>url</EncodingType>');
    const all = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET }));
    expect(all.Contents?.some((c) => c.Key!.startsWith(RESERVED_DIR))).toBe(false);
  });
});

describe('S3HttpEndpoint multipart uploads', () => {
  const part1 = randomBytes(5 * MiB);
  const part2 = randomBytes(1234);

  async function upload(key: string): Promise<{ uploadId: string; parts: Array<{ PartNumber: number; ETag: string; ChecksumSHA256: string }> }> {
    const created = await s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: key, ChecksumAlgorithm: 'SHA256', ContentType: 'text/csv', Metadata: { sha256: 'whole' } }));
    const parts = [];
    for (const [i, body] of [part1, part2].entries()) {
      const out = await s3.send(new UploadPartCommand({ Bucket: BUCKET, Key: key, UploadId: created.UploadId, PartNumber: i + 1, Body: body, ChecksumAlgorithm: 'SHA256' }));
      parts.push({ PartNumber: i + 1, ETag: out.ETag!, ChecksumSHA256: out.ChecksumSHA256! });
    }
    return { uploadId: created.UploadId!, parts };
  }

  it('assembles the parts into one object only on completion, with S3 ETag and composite checksum', async () => {
    const key = `${fresh()}mp.csv`;
    const { uploadId, parts } = await upload(key);
    expect(parts[0]!.ChecksumSHA256).toBe(sha256(part1).toString('base64'));
    // Staged out of sight until complete.
    expect(await local.head(key)).toBeUndefined();
    expect((await s3.send(new ListObjectsV2Command({ Bucket: BUCKET }))).Contents?.some((c) => c.Key === key)).toBe(false);
    const done = await s3.send(new CompleteMultipartUploadCommand({ Bucket: BUCKET, Key: key, UploadId: uploadId, MultipartUpload: { Parts: parts } }));
    const composite = sha256(Buffer.concat([sha256(part1), sha256(part2)])).toString('base64');
    const etag = `"${md5(Buffer.concat([md5(part1), md5(part2)])).toString('hex')}-2"`;
    expect(done).toMatchObject({ ETag: etag, ChecksumSHA256: `${composite}-2`, ChecksumType: 'COMPOSITE' });
    const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key, ChecksumMode: 'ENABLED' }));
    expect(head).toMatchObject({ ETag: etag, ChecksumSHA256: `${composite}-2`, ContentType: 'text/csv', Metadata: { sha256: 'whole' }, ContentLength: part1.length + part2.length });
    expect(Buffer.from(await local.get(key)).equals(Buffer.concat([part1, part2]))).toBe(true);
    expect(await readdir(join(root, RESERVED_DIR, 's3', 'uploads'))).not.toContain(uploadId);
  });

  it("refuses S3's way: unknown upload, wrong ETag or checksum, parts out of order, a small part before the last", async () => {
    const key = `${fresh()}bad.csv`;
    const { uploadId, parts } = await upload(key);
    const complete = (list: typeof parts, id = uploadId) => errorOf(s3.send(new CompleteMultipartUploadCommand({ Bucket: BUCKET, Key: key, UploadId: id, MultipartUpload: { Parts: list } })));
    expect(await complete(parts, 'f'.repeat(32))).toMatchObject({ name: 'NoSuchUpload', $metadata: { httpStatusCode: 404 } });
    expect(await complete(parts, '../../etc')).toMatchObject({ name: 'NoSuchUpload' });
    expect(await complete([parts[0]!, { ...parts[1]!, ETag: '"0"' }])).toMatchObject({ name: 'InvalidPart', $metadata: { httpStatusCode: 400 } });
    expect(await complete([parts[0]!, { ...parts[1]!, ChecksumSHA256: parts[0]!.ChecksumSHA256 }])).toMatchObject({ name: 'InvalidPart' });
    expect(await complete([parts[1]!, parts[0]!])).toMatchObject({ name: 'InvalidPartOrder' });
    const small = await s3.send(new UploadPartCommand({ Bucket: BUCKET, Key: key, UploadId: uploadId, PartNumber: 1, Body: part2, ChecksumAlgorithm: 'SHA256' }));
    expect(await complete([{ PartNumber: 1, ETag: small.ETag!, ChecksumSHA256: small.ChecksumSHA256! }, parts[1]!])).toMatchObject({ name: 'EntityTooSmall' });
    expect(await local.head(key)).toBeUndefined();
  });

  it('aborts: the staged parts go, and the upload takes no more parts', async () => {
    const key = `${fresh()}aborted.csv`;
    const { uploadId } = await upload(key);
    await s3.send(new AbortMultipartUploadCommand({ Bucket: BUCKET, Key: key, UploadId: uploadId }));
    expect(await readdir(join(root, RESERVED_DIR, 's3', 'uploads'))).not.toContain(uploadId);
    expect(await errorOf(s3.send(new UploadPartCommand({ Bucket: BUCKET, Key: key, UploadId: uploadId, PartNumber: 1, Body: 'x' })))).toMatchObject({
      name: 'NoSuchUpload',
      $metadata: { httpStatusCode: 404 },
    });
    expect(await local.head(key)).toBeUndefined();
  });
});

describe('S3HttpEndpoint errors', () => {
  it("answers S3's error documents and statuses", async () => {
    const missing = await raw('GET', `/${BUCKET}/nope/missing.txt`);
    expect(missing.status).toBe(404);
    expect(missing.headers['content-type']).toBe('application/xml');
    expect(missing.body).toMatch(/^<\?xml version="1.0" encoding="UTF-8"\?>\n<Error><Code>NoSuchKey<\/Code><Message>[^<]+<\/Message><Key>nope\/missing.txt<\/Key>/);
    expect(await errorOf(s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'nope/missing.txt' })))).toMatchObject({ name: 'NoSuchKey', $metadata: { httpStatusCode: 404 } });
    expect(await errorOf(s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'nope/missing.txt' })))).toMatchObject({ name: 'NotFound', $metadata: { httpStatusCode: 404 } });
    expect(await errorOf(s3.send(new PutObjectCommand({ Bucket: 'other', Key: 'k', Body: 'x' })))).toMatchObject({ name: 'NoSuchBucket', $metadata: { httpStatusCode: 404 } });
    expect(await raw('GET', `/${BUCKET}/k?acl`)).toMatchObject({ status: 501, body: expect.stringContaining('<Code>NotImplemented</Code>') });
    expect(await raw('GET', `/${BUCKET}?prefix=a`)).toMatchObject({ status: 501, body: expect.stringContaining('ListObjects (version 1)') });
    expect(await raw('PUT', `/${BUCKET}/k`, { 'x-amz-copy-source': `/${BUCKET}/a`, 'content-length': 0 })).toMatchObject({ status: 501 });
    expect(await raw('PATCH', `/${BUCKET}/k`)).toMatchObject({ status: 405, body: expect.stringContaining('<Code>MethodNotAllowed</Code>') });
    expect(await raw('GET', `/${BUCKET}/%E0%A4%A`)).toMatchObject({ status: 400, body: expect.stringContaining('<Code>InvalidURI</Code>') });
  });

  it.each(['a/../b', 'a//b', 'a/./b', '../b', `${RESERVED_DIR}/tmp/x`, 'a/%2e%2e/b'])('refuses the key %s as the directory store does (InvalidArgument)', async (key) => {
    const res = await raw('PUT', `/${BUCKET}/${key}`, { 'content-length': 1 }, [Buffer.from('x')]);
    expect(res.status).toBe(400);
    expect(res.body).toContain('<Code>InvalidArgument</Code>');
  });

  it('refuses (InvalidArgument) a key whose file or directory is a link out of the root, and never serves or lists its content', async () => {
    const outside = await mkdtemp(join(tmpdir(), 'ns-s3-outside-'));
    try {
      await writeFile(join(outside, 'secret.txt'), 'root:x:0:0:secret\n');
      const p = fresh();
      await mkdir(join(root, p), { recursive: true });
      await symlink(join(outside, 'secret.txt'), join(root, p, 'link.txt'));
      const res = await raw('GET', `/${BUCKET}/${p}link.txt`);
      expect(res.status).toBe(400);
      expect(res.body).toContain('<Code>InvalidArgument</Code>');
      expect(res.body).not.toContain('root:x');
      expect((await raw('PUT', `/${BUCKET}/${p}link.txt`, { 'content-length': 1 }, [Buffer.from('x')])).status).toBe(400);
      expect((await raw('DELETE', `/${BUCKET}/${p}link.txt`)).status).toBe(400);
      // A linked directory: nothing read, written or listed through it.
      await symlink(outside, join(root, p, 'dir'));
      expect((await raw('GET', `/${BUCKET}/${p}dir/secret.txt`)).status).toBe(400);
      expect((await raw('PUT', `/${BUCKET}/${p}dir/new.txt`, { 'content-length': 1 }, [Buffer.from('x')])).status).toBe(400);
      const listed = await raw('GET', `/${BUCKET}?list-type=2&prefix=${encodeURIComponent(p)}`);
      expect(listed.status).toBe(200);
      expect(listed.body).not.toContain('secret.txt');
      expect(await readdir(outside)).toEqual(['secret.txt']);
      expect(await readFile(join(outside, 'secret.txt'), 'utf8')).toBe('root:x:0:0:secret\n');
    } finally {
      await rm(outside, { recursive: true, force: true });
    }
  });

  it('stays up when a client drops mid-upload, and keeps no part of that upload', async () => {
    const key = `${fresh()}dropped`;
    const { hostname, port } = new URL(url);
    const req = request({ host: hostname, port, method: 'PUT', path: `/${BUCKET}/${key}`, headers: { 'content-length': 10 * MiB } });
    const closed = new Promise<void>((resolve) => req.on('error', () => resolve()));
    req.write(randomBytes(256 * 1024));
    // Drop the connection once the server is writing the upload (its temp file exists).
    await eventually(async () => !(await noTempFiles()));
    req.destroy();
    await closed;
    await eventually(noTempFiles);
    expect(await local.head(key)).toBeUndefined();
    expect((await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: 'fine' }))).$metadata.httpStatusCode).toBe(200);
  });
});

describe('S3HttpEndpoint as a host mounts it', () => {
  let host: Server;
  let hostUrl: string;
  const outcomes: string[] = [];
  beforeAll(async () => {
    // One loopback port for several AWS APIs: this one answers a JSON target itself and hands the rest to S3.
    host = createServer((req, res) => {
      if (req.headers['x-amz-target']) {
        res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' }).end('{}');
        return;
      }
      endpoint.handle(req, res).then(
        () => outcomes.push('resolved'),
        () => outcomes.push('rejected'),
      );
    });
    await new Promise<void>((resolve) => host.listen(0, '127.0.0.1', resolve));
    hostUrl = `http://127.0.0.1:${(host.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    host?.closeAllConnections();
    await new Promise((resolve) => host?.close(resolve));
  });

  it('answers through handle(), which settles without rejecting whatever the request', async () => {
    const client = clientFor(hostUrl);
    try {
      await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'mounted/k', Body: 'v' }));
      expect(await (await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'mounted/k' }))).Body!.transformToString()).toBe('v');
      expect((await raw('POST', '/', { 'x-amz-target': 'AWSEvents.PutEvents' }, [], hostUrl)).body).toBe('{}');
      expect((await raw('GET', `/${BUCKET}/%E0%A4%A`, {}, [], hostUrl)).status).toBe(400);
      expect((await raw('DELETE', `/${BUCKET}`, {}, [], hostUrl)).status).toBe(501);
      await eventually(async () => outcomes.length >= 4);
      expect(outcomes).not.toContain('rejected');
    } finally {
      client.destroy();
    }
  });
});

describe('S3HttpEndpoint bucket calls', () => {
  it('answers ListBuckets, HeadBucket and GetBucketLocation as the CLI needs', async () => {
    expect((await s3.send(new ListBucketsCommand({}))).Buckets?.map((b) => b.Name)).toEqual([BUCKET]);
    expect((await s3.send(new HeadBucketCommand({ Bucket: BUCKET }))).$metadata.httpStatusCode).toBe(200);
    expect(await errorOf(s3.send(new HeadBucketCommand({ Bucket: 'other' })))).toMatchObject({ $metadata: { httpStatusCode: 404 } });
    expect((await s3.send(new GetBucketLocationCommand({ Bucket: BUCKET }))).LocationConstraint).toBeUndefined();
  });
});

describe('S3HttpEndpoint with large bodies', () => {
  it('moves 100 MB through PutObject and GetObject with memory bounded well under the body size', async () => {
    const size = 100 * MiB;
    const dir = await mkdtemp(join(tmpdir(), 'ns-s3-big-'));
    const file = join(dir, 'big.bin');
    try {
      const expected = createHash('sha256');
      await pipeline(
        async function* () {
          for (let i = 0; i < size / MiB; i++) {
            const chunk = randomBytes(MiB);
            expected.update(chunk);
            yield chunk;
          }
        },
        createWriteStream(file),
      );
      const digest = expected.digest('hex');

      const baseline = process.memoryUsage().rss;
      let peak = baseline;
      const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 10);
      try {
        // A stream body: the SDK sends it aws-chunked with a CRC32 trailer; the endpoint streams it to disk.
        await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'big/100mb.bin', Body: createReadStream(file), ContentLength: size }));
        const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'big/100mb.bin' }));
        const hash = createHash('sha256');
        await pipeline(got.Body as Readable, hash);
        expect(hash.digest('hex')).toBe(digest);
      } finally {
        clearInterval(sampler);
      }
      expect((await local.head('big/100mb.bin'))?.sha256).toBe(digest);
      // Buffering the body anywhere would add at least its 100 MB.
      expect(peak - baseline).toBeLessThan(40 * MiB);
    } finally {
      await rm(dir, { recursive: true, force: true });
      await local.delete('big/100mb.bin');
    }
  }, 300_000);
});

const aws = await promisify(execFile)('aws', ['--version']).then(
  () => true,
  () => false,
);

describe.skipIf(!aws)('S3HttpEndpoint and the AWS CLI', () => {
  it('serves cp (multipart above 8 MB), ls, sync and rm --recursive', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ns-s3-cli-'));
    const env = {
      ...process.env,
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      AWS_DEFAULT_REGION: 'us-east-1',
      AWS_CONFIG_FILE: '/dev/null',
      AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
      AWS_PAGER: '',
    };
    const cli = async (...args: string[]): Promise<string> => (await promisify(execFile)('aws', ['--endpoint-url', url, ...args], { env, maxBuffer: 16 * MiB })).stdout;
    try {
      const big = randomBytes(9 * MiB + 17);
      await writeFile(join(dir, 'big.bin'), big);
      await writeFile(join(dir, 'small.txt'), 'hello\n');
      await cli('s3', 'cp', join(dir, 'big.bin'), `s3://${BUCKET}/cli/big.bin`, '--only-show-errors');
      await cli('s3', 'cp', join(dir, 'small.txt'), `s3://${BUCKET}/cli/small.txt`, '--only-show-errors');
      expect(Buffer.from(await local.get('cli/big.bin')).equals(big)).toBe(true);
      expect(await cli('s3', 'ls', '--recursive', `s3://${BUCKET}/cli/`)).toMatch(/9437201 cli\/big\.bin\n.*6 cli\/small\.txt\n$/);
      await cli('s3', 'sync', `s3://${BUCKET}/cli/`, join(dir, 'down'), '--only-show-errors');
      expect((await readFile(join(dir, 'down', 'big.bin'))).equals(big)).toBe(true);
      await cli('s3', 'rm', '--recursive', `s3://${BUCKET}/cli/`, '--only-show-errors');
      expect(await local.list('cli/')).toEqual([]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
