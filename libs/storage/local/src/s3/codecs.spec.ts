import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { AwsChunkedDecoder } from './aws-chunked.js';
import { digestOf } from './checksums.js';
import { listPage, type ListEntry } from './list-objects.js';

describe('checksums', () => {
  it.each([
    ['CRC32', 'cbf43926'],
    ['CRC32C', 'e3069283'],
    ['CRC64NVME', 'ae8b14860a799888'],
    ['SHA256', '15e2b0d3c33891ebb0f1ef609ec419420c20e320ce94c65fbc8c3312448eb225'],
  ] as const)('%s of "123456789" is the catalogued check value', (algorithm, hex) => {
    expect(digestOf(algorithm, Buffer.from('123456789')).toString('hex')).toBe(hex);
  });
});

/** Decodes `body` fed in the given pieces; the payload and the trailers. */
async function decode(pieces: Buffer[]): Promise<{ payload: string; trailers: Map<string, string> }> {
  const decoder = new AwsChunkedDecoder();
  const [payload] = await Promise.all([text(decoder), pipeline(Readable.from(pieces, { objectMode: false }), decoder)]);
  return { payload, trailers: decoder.trailers };
}

describe('AwsChunkedDecoder', () => {
  const signed = Buffer.from(
    `5;chunk-signature=${'a'.repeat(64)}\r\nhello\r\n7;chunk-signature=${'b'.repeat(64)}\r\n, world\r\n0;chunk-signature=${'c'.repeat(64)}\r\n` +
      'x-amz-checksum-crc32:abcd\r\nx-amz-trailer-signature:ffff\r\n\r\n',
  );

  it('decodes a body however the reads split it: every single-byte read, and every two-piece split', async () => {
    const bytes = [...signed].map((b) => Buffer.from([b]));
    expect(await decode(bytes)).toEqual({ payload: 'hello, world', trailers: new Map([['x-amz-checksum-crc32', 'abcd'], ['x-amz-trailer-signature', 'ffff']]) });
    for (let cut = 1; cut < signed.length; cut++) {
      expect((await decode([signed.subarray(0, cut), signed.subarray(cut)])).payload).toBe('hello, world');
    }
  });

  it("accepts the SDK's ending without a checksum (no closing empty line) and a payload holding CRLFs", async () => {
    expect(await decode([Buffer.from('4\r\na\r\nb\r\n0\r\n')])).toEqual({ payload: 'a\r\nb', trailers: new Map() });
  });

  it.each([
    ['a chunk longer than its size', '3\r\nabcd\r\n0\r\n\r\n'],
    ['a size that is not hex', 'zz\r\nab\r\n0\r\n\r\n'],
    ['a body ending inside a chunk', '10\r\nshort'],
    ['data after the final chunk', '1\r\na\r\n0\r\n\r\nmore'],
  ])('refuses %s', async (_what, body) => {
    await expect(decode([Buffer.from(body)])).rejects.toMatchObject({ name: 'S3ProtocolError', status: 400 });
  });
});

describe('listPage', () => {
  const entries: ListEntry[] = ['l/a', 'l/b/1', 'l/b/2', 'l/c', 'l/d/1', 'l/e', 'm'].map((key) => ({ key, size: 1, mtime: new Date(0), etag: '"x"' }));
  const names = (p: ReturnType<typeof listPage>): string[] => [...p.contents.map((e) => e.key), ...p.commonPrefixes];

  it('rolls keys up to common prefixes, which count as one entry and are never split over pages', () => {
    const pages: string[][] = [];
    let token: string | undefined;
    do {
      const page = listPage(entries, { prefix: 'l/', delimiter: '/', maxKeys: 2, ...(token ? { continuationToken: token } : {}) });
      pages.push(names(page));
      token = page.nextContinuationToken;
    } while (token);
    expect(pages).toEqual([['l/a', 'l/b/'], ['l/c', 'l/d/'], ['l/e']]);
  });

  it('starts after a key, and has no next page when the last one fits exactly', () => {
    const page = listPage(entries, { prefix: '', maxKeys: 4, startAfter: 'l/b/2' });
    expect(names(page)).toEqual(['l/c', 'l/d/1', 'l/e', 'm']);
    expect(page.nextContinuationToken).toBeUndefined();
  });
});
