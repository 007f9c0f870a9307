import { createHash, randomUUID, type Hash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type GetObjectCommandOutput,
  type S3Client,
} from '@aws-sdk/client-s3';
import {
  compareObjectKeys,
  InvalidObjectKeyError,
  objectKeyProblem,
  ObjectNotFoundError,
  type ObjectInfo,
  type ObjectStore,
  type ObjectSummary,
} from '@nightshift/storage-domain';
import { withSpan } from '@nightshift/observability';
import { fromS3Error, ObjectIntegrityError } from './errors.js';
import { uploadFileInParts } from './multipart-upload.js';

const MiB = 1024 * 1024;
/** S3's bounds: parts of 5 MiB to 5 GiB, at most 10,000 of them; one PutObject up to 5 GiB. */
const MIN_PART = 5 * MiB;
const MAX_PART = 5 * 1024 * MiB;
const MAX_PARTS = 10_000;

export interface S3ObjectStoreOptions {
  /** The bucket holding the store's objects. */
  bucket: string;
  /**
   * Prepended to every key (`env/dev/` stores key `a.csv` as `env/dev/a.csv`); listings answer keys
   * without it. Empty or ending in `/`, its segments valid keys. Default: none.
   */
  prefix?: string;
  /** Part size of multipart uploads, 5 MiB to 5 GiB; grown when a file would need over 10,000 parts. Default 8 MiB. */
  partSizeBytes?: number;
  /** `putFile` of a file larger than this uploads in parts; at most 5 GiB. Default: the part size. */
  multipartThresholdBytes?: number;
}

/**
 * ObjectStore on Amazon S3 over one injected S3Client; the client's configuration says where S3 is
 * (`AWS_ENDPOINT_URL_S3` is read by the SDK itself) and how to address it (`forcePathStyle`).
 *
 * Every write sends a SHA-256 checksum S3 verifies, and records the content's sha256 (hex) as the
 * object's `sha256` metadata too: S3's own checksum of a multipart object is a checksum of the parts'
 * checksums, which is not the content's. `head` answers the metadata, else S3's full-object SHA-256,
 * else (an object another tool wrote) reads the object to hash it. Reads compare the bytes with the
 * recorded sha256 (ObjectIntegrityError). Keys follow the port's rule before any request; listings
 * leave out keys the rule refuses (written by other tools), which no other method could name.
 */
export class S3ObjectStore implements ObjectStore {
  private readonly bucket: string;
  private readonly prefix: string;
  private readonly partSize: number;
  private readonly threshold: number;

  constructor(
    private readonly client: S3Client,
    options: S3ObjectStoreOptions,
  ) {
    this.bucket = options.bucket;
    this.prefix = options.prefix ?? '';
    if (this.prefix !== '' && (!this.prefix.endsWith('/') || objectKeyProblem(this.prefix.slice(0, -1)))) {
      throw new RangeError(`S3ObjectStore prefix ${JSON.stringify(this.prefix)} must be empty or valid key segments ending in "/"`);
    }
    this.partSize = options.partSizeBytes ?? 8 * MiB;
    if (!Number.isInteger(this.partSize) || this.partSize < MIN_PART || this.partSize > MAX_PART) {
      throw new RangeError(`S3ObjectStore partSizeBytes ${this.partSize} is outside S3's 5 MiB to 5 GiB`);
    }
    this.threshold = options.multipartThresholdBytes ?? this.partSize;
    if (!Number.isInteger(this.threshold) || this.threshold < 0 || this.threshold > MAX_PART) {
      throw new RangeError(`S3ObjectStore multipartThresholdBytes ${this.threshold} is outside 0 to 5 GiB`);
    }
  }

  async put(key: string, body: Uint8Array | string, contentType?: string): Promise<ObjectInfo> {
    const s3Key = this.s3Key(key);
    const bytes = typeof body === 'string' ? Buffer.from(body) : body;
    const digest = createHash('sha256').update(bytes).digest();
    const sha256 = digest.toString('hex');
    await this.call('PutObject', key, () =>
      this.client.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: s3Key,
          Body: bytes,
          ...(contentType ? { ContentType: contentType } : {}),
          ChecksumAlgorithm: 'SHA256',
          ChecksumSHA256: digest.toString('base64'),
          Metadata: { sha256 },
        }),
      ),
    );
    return { key, size: bytes.byteLength, sha256 };
  }

  async putFile(key: string, localPath: string): Promise<ObjectInfo> {
    const s3Key = this.s3Key(key);
    const { size } = await stat(localPath);
    // Hashed first: the metadata goes with the request's headers, before the body.
    const digest = await hashStream(createReadStream(localPath));
    const sha256 = digest.toString('hex');
    if (size > this.threshold) {
      const partSize = Math.max(this.partSize, Math.ceil(size / MAX_PARTS));
      await this.call('multipart upload', key, () => uploadFileInParts(this.client, { bucket: this.bucket, s3Key, key, localPath, size, partSize, sha256 }));
    } else {
      // S3 checks the body against ChecksumSHA256: a file changed since it was hashed is refused (BadDigest).
      await this.call('PutObject', key, () =>
        this.client.send(
          new PutObjectCommand({
            Bucket: this.bucket,
            Key: s3Key,
            Body: createReadStream(localPath),
            ContentLength: size,
            ChecksumAlgorithm: 'SHA256',
            ChecksumSHA256: digest.toString('base64'),
            Metadata: { sha256 },
          }),
        ),
      );
    }
    return { key, size, sha256 };
  }

  async get(key: string): Promise<Uint8Array> {
    const s3Key = this.s3Key(key);
    return this.call('GetObject', key, async () => {
      const out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: s3Key }));
      const bytes = await out.Body!.transformToByteArray();
      this.verify(key, out, createHash('sha256').update(bytes).digest('hex'), 'download');
      return bytes;
    });
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    const s3Key = this.s3Key(key);
    let out;
    try {
      out = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: s3Key, ChecksumMode: 'ENABLED' }));
    } catch (e) {
      const mapped = fromS3Error(e, this.bucket, key, 'HeadObject');
      if (mapped instanceof ObjectNotFoundError) return undefined;
      throw mapped;
    }
    const size = out.ContentLength ?? 0;
    const recorded = recordedSha256(out.Metadata);
    if (recorded) return { key, size, sha256: recorded };
    // S3's own SHA-256 describes the content only for a single-part object (a composite one ends in -<parts>).
    if (out.ChecksumSHA256 && out.ChecksumType !== 'COMPOSITE' && !out.ChecksumSHA256.includes('-')) {
      return { key, size, sha256: Buffer.from(out.ChecksumSHA256, 'base64').toString('hex') };
    }
    try {
      return await this.call('GetObject', key, async () => {
        const body = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: s3Key }));
        return { key, size: body.ContentLength ?? size, sha256: (await hashStream(bodyStream(body))).toString('hex') };
      });
    } catch (e) {
      if (e instanceof ObjectNotFoundError) return undefined;
      throw e;
    }
  }

  async list(prefix: string): Promise<ObjectSummary[]> {
    const out: ObjectSummary[] = [];
    let token: string | undefined;
    do {
      const page = await this.call('ListObjectsV2', undefined, () =>
        this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: this.prefix + prefix, ...(token ? { ContinuationToken: token } : {}) })),
      );
      for (const o of page.Contents ?? []) {
        const key = o.Key?.slice(this.prefix.length);
        if (key !== undefined && objectKeyProblem(key) === undefined) out.push({ key, size: o.Size ?? 0 });
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
      if (page.IsTruncated && !token) throw new TypeError(`ListObjectsV2 of ${this.prefix + prefix} is truncated without a continuation token`);
    } while (token);
    // S3 lists in this order already; an emulator might not.
    return out.sort((a, b) => compareObjectKeys(a.key, b.key));
  }

  async delete(key: string): Promise<void> {
    const s3Key = this.s3Key(key);
    await this.call('DeleteObject', key, () => this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: s3Key })));
  }

  async localFile(key: string, scratchDir: string): Promise<string> {
    const s3Key = this.s3Key(key);
    const target = join(scratchDir, ...key.split('/'));
    await mkdir(dirname(target), { recursive: true });
    const tmp = `${target}.${randomUUID()}.part`;
    try {
      await this.call('GetObject', key, async () => {
        const out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: s3Key }));
        const hash = createHash('sha256');
        await pipeline(bodyStream(out), hashing(hash), createWriteStream(tmp));
        this.verify(key, out, hash.digest('hex'), 'download');
      });
      await rename(tmp, target);
      return target;
    } catch (e) {
      await rm(tmp, { force: true });
      throw e;
    }
  }

  private s3Key(key: string): string {
    const problem = objectKeyProblem(key);
    if (problem) throw new InvalidObjectKeyError(key, problem);
    return this.prefix + key;
  }

  /** Runs one S3 call, its known failures mapped to the port's errors. */
  /** One client span per request, inside the caller's trace; a missing object is an answer, not an error. */
  private call<T>(operation: string, key: string | undefined, fn: () => Promise<T>): Promise<T> {
    const attributes = { 'rpc.system': 'aws-api', 'rpc.service': 'S3', 'rpc.method': operation, 'aws.s3.bucket': this.bucket, ...(key !== undefined ? { 'aws.s3.key': key } : {}) };
    return withSpan(`S3.${operation}`, { kind: 'client', requireParent: true, attributes, isError: (e) => !(e instanceof ObjectNotFoundError) }, async () => {
      try {
        return await fn();
      } catch (e) {
        throw fromS3Error(e, this.bucket, key, operation);
      }
    });
  }

  /** The bytes read must hash to the sha256 recorded at write time (when this adapter wrote them). */
  private verify(key: string, out: GetObjectCommandOutput, actual: string, what: string): void {
    const expected = recordedSha256(out.Metadata);
    if (expected && expected !== actual) throw new ObjectIntegrityError(key, expected, actual, what);
  }
}

function recordedSha256(metadata: Record<string, string> | undefined): string | undefined {
  const value = metadata?.['sha256'];
  return value && /^[0-9a-f]{64}$/.test(value) ? value : undefined;
}

function bodyStream(out: GetObjectCommandOutput): Readable {
  if (!(out.Body instanceof Readable)) throw new TypeError('GetObject answered a body that is not a Node.js stream');
  return out.Body;
}

function hashing(hash: Hash): Transform {
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      hash.update(chunk);
      done(null, chunk);
    },
  });
}

async function hashStream(stream: Readable): Promise<Buffer> {
  const hash = createHash('sha256');
  await pipeline(stream, hash);
  return hash.digest();
}
