import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { crc32 } from 'node:zlib';

/** The S3 checksum algorithms this endpoint computes (the XXHASH family is not among them). */
export type ChecksumAlgorithm = 'CRC32' | 'CRC32C' | 'CRC64NVME' | 'SHA1' | 'SHA256' | 'SHA512' | 'MD5';

export const CHECKSUM_ALGORITHMS: readonly ChecksumAlgorithm[] = ['CRC32', 'CRC32C', 'CRC64NVME', 'SHA1', 'SHA256', 'SHA512', 'MD5'];

/** The header (or trailer) carrying a checksum: `x-amz-checksum-crc32`. */
export function checksumHeader(algorithm: ChecksumAlgorithm): string {
  return `x-amz-checksum-${algorithm.toLowerCase()}`;
}

/** `x-amz-checksum-sha256` -> SHA256; undefined for a name that is no checksum this endpoint computes. */
export function algorithmOfHeader(name: string): ChecksumAlgorithm | undefined {
  const lower = name.toLowerCase();
  return CHECKSUM_ALGORITHMS.find((a) => checksumHeader(a) === lower);
}

/** An incremental digest, raw bytes out (S3 sends them base64). */
export interface Hasher {
  update(chunk: Buffer): void;
  digest(): Buffer;
}

export function newHasher(algorithm: ChecksumAlgorithm): Hasher {
  switch (algorithm) {
    case 'SHA1':
    case 'SHA256':
    case 'SHA512':
    case 'MD5':
      return nodeHash(createHash(algorithm.toLowerCase()));
    case 'CRC32': {
      let crc = 0;
      return { update: (chunk) => void (crc = crc32(chunk, crc)), digest: () => uint32(crc) };
    }
    case 'CRC32C':
      return new Crc32c();
    case 'CRC64NVME':
      return new Crc64Nvme();
  }
}

/** One digest of a whole buffer. */
export function digestOf(algorithm: ChecksumAlgorithm, bytes: Buffer): Buffer {
  const h = newHasher(algorithm);
  h.update(bytes);
  return h.digest();
}

/**
 * A pass-through that digests what flows through it: always MD5 (the ETag) and SHA-256 (what the
 * port reports), plus whichever other algorithms the request declared. Counts the bytes too.
 */
export class DigestingStream extends Transform {
  bytes = 0;
  private readonly hashers = new Map<ChecksumAlgorithm, Hasher>();
  private readonly digests = new Map<ChecksumAlgorithm, Buffer>();

  constructor(algorithms: Iterable<ChecksumAlgorithm>) {
    super();
    for (const a of new Set<ChecksumAlgorithm>(['MD5', 'SHA256', ...algorithms])) this.hashers.set(a, newHasher(a));
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.bytes += chunk.byteLength;
    for (const h of this.hashers.values()) h.update(chunk);
    done(null, chunk);
  }

  /** The digest of everything that went through; call once the stream has ended. */
  digest(algorithm: ChecksumAlgorithm): Buffer {
    let d = this.digests.get(algorithm);
    if (!d) {
      const h = this.hashers.get(algorithm);
      if (!h) throw new RangeError(`${algorithm} was not computed`);
      d = h.digest();
      this.digests.set(algorithm, d);
    }
    return d;
  }
}

function nodeHash(hash: Hash): Hasher {
  return { update: (chunk) => void hash.update(chunk), digest: () => hash.digest() };
}

function uint32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
}

/** CRC-32C (Castagnoli), reflected, table-driven. Node has no native one. */
const CRC32C_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    t[i] = c >>> 0;
  }
  return t;
})();

class Crc32c implements Hasher {
  private crc = 0xffffffff;
  update(chunk: Buffer): void {
    let c = this.crc;
    for (let i = 0; i < chunk.length; i++) c = CRC32C_TABLE[(c ^ chunk[i]!) & 0xff]! ^ (c >>> 8);
    this.crc = c;
  }
  digest(): Buffer {
    return uint32(~this.crc);
  }
}

/**
 * CRC-64/NVME (S3's default checksum for new objects), reflected, in two 32-bit halves so that
 * the per-byte loop stays on small integers rather than BigInt.
 */
const CRC64_TABLE = (() => {
  const reflectedPoly = 0x9a6c9329ac4bc9b5n; // 0xad93d23594c93659 bit-reversed
  const hi = new Uint32Array(256);
  const lo = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = BigInt(i);
    for (let k = 0; k < 8; k++) c = c & 1n ? (c >> 1n) ^ reflectedPoly : c >> 1n;
    hi[i] = Number(c >> 32n);
    lo[i] = Number(c & 0xffffffffn);
  }
  return { hi, lo };
})();

class Crc64Nvme implements Hasher {
  private hi = 0xffffffff;
  private lo = 0xffffffff;
  update(chunk: Buffer): void {
    let hi = this.hi;
    let lo = this.lo;
    const { hi: th, lo: tl } = CRC64_TABLE;
    for (let i = 0; i < chunk.length; i++) {
      const idx = (lo ^ chunk[i]!) & 0xff;
      lo = (((lo >>> 8) | (hi << 24)) ^ tl[idx]!) >>> 0;
      hi = ((hi >>> 8) ^ th[idx]!) >>> 0;
    }
    this.hi = hi;
    this.lo = lo;
  }
  digest(): Buffer {
    const b = Buffer.alloc(8);
    b.writeUInt32BE(~this.hi >>> 0, 0);
    b.writeUInt32BE(~this.lo >>> 0, 4);
    return b;
  }
}
