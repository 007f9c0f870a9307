import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InvalidObjectKeyError, ObjectNotFoundError } from '../errors.js';
import { compareObjectKeys } from '../keys.js';
import type { ObjectStore } from '../ports/object-store.port.js';

/*
 * Conformance suite for the ObjectStore port. Every adapter's spec calls
 * `describeObjectStoreContract` with a factory returning an empty store, so all adapters are held
 * to the same semantics. Test-only: not exported from the package index (the lib build excludes
 * `src/testing/`); adapter specs import it by relative path.
 *
 * What is adapter-specific stays in the adapter's spec: the wire protocol, error mapping of a
 * backend's failures, crash behaviour, memory bounds.
 */

/** What a contract run needs from an adapter: an empty store and a way to release it. */
export interface ObjectStoreUnderTest {
  store: ObjectStore;
  /**
   * A file size `putFile` sends in several parts with this store's settings (over its multipart
   * threshold and, for S3, over one 5 MiB part), so the multipart path is exercised.
   */
  multipartFileBytes: number;
  close(): Promise<void>;
}

/** Cases an adapter's backend cannot run, each with the reason (shown in the skipped test's name). */
export type ContractSkips = Partial<Record<'multipart', string>>;

/** Deterministic, incompressible-looking bytes. */
export function someBytes(size: number, seed = 1): Buffer {
  const out = Buffer.allocUnsafe(size);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

const sha256 = (bytes: Uint8Array | string): string => createHash('sha256').update(bytes).digest('hex');
const text = (bytes: Uint8Array): string => Buffer.from(bytes).toString('utf8');

/** Runs `fn` over `items`, at most `limit` at a time. */
async function inParallel<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

export function describeObjectStoreContract(name: string, makeStore: () => Promise<ObjectStoreUnderTest>, skips: ContractSkips = {}): void {
  describe(`ObjectStore contract: ${name}`, () => {
    let subject: ObjectStoreUnderTest;
    let store: ObjectStore;
    let scratch: string;
    beforeEach(async () => {
      subject = await makeStore();
      store = subject.store;
      scratch = await mkdtemp(join(tmpdir(), 'ns-contract-'));
    });
    afterEach(async () => {
      await subject.close();
      await rm(scratch, { recursive: true, force: true });
    });

    it('round-trips an object and reports its size and sha256', async () => {
      const info = await store.put('a/b/c.json', '{"x":1}', 'application/json');
      expect(info).toEqual({ key: 'a/b/c.json', size: 7, sha256: '5041bf1f713df204784353e82f6a4a535931cb64f1f4b4a5aeaffcb720918b22' });
      expect(text(await store.get('a/b/c.json'))).toBe('{"x":1}');
      expect(await store.head('a/b/c.json')).toEqual(info);
      const bytes = someBytes(70_000);
      expect(await store.put('bin/x', bytes)).toEqual({ key: 'bin/x', size: 70_000, sha256: sha256(bytes) });
      expect(Buffer.from(await store.get('bin/x')).equals(bytes)).toBe(true);
      expect(await store.put('empty', '')).toEqual({ key: 'empty', size: 0, sha256: sha256('') });
      expect((await store.get('empty')).byteLength).toBe(0);
    });

    it('overwrites: the last write wins, in get, head and list', async () => {
      await store.put('k.txt', 'one');
      const second = await store.put('k.txt', 'second');
      expect(text(await store.get('k.txt'))).toBe('second');
      expect(await store.head('k.txt')).toEqual(second);
      expect(await store.list('')).toEqual([{ key: 'k.txt', size: 6 }]);
    });

    it('answers head of a missing key with undefined, get and localFile with ObjectNotFoundError', async () => {
      await store.put('present/a', 'x');
      expect(await store.head('present/b')).toBeUndefined();
      expect(await store.head('present')).toBeUndefined();
      await expect(store.get('missing.json')).rejects.toBeInstanceOf(ObjectNotFoundError);
      await expect(store.get('missing.json')).rejects.toMatchObject({ key: 'missing.json', retryable: false });
      await expect(store.localFile('missing.json', scratch)).rejects.toBeInstanceOf(ObjectNotFoundError);
    });

    it('lists keys under a prefix in key order', async () => {
      // Code point order, as S3: U+FB00 before U+1F600, though UTF-16 sorts the emoji's surrogates first.
      const keys = ['runs/r1/b.json', 'runs/r1/a.json', 'runs/r2/a.json', 'runs/r10/a.json', 'runs/r1/sub/z.json', 'runs/r1/\u{1F600}', 'runs/r1/\uFB00', 'runsx'];
      for (const k of keys) await store.put(k, k);
      expect((await store.list('runs/r1/')).map((o) => o.key)).toEqual(['runs/r1/a.json', 'runs/r1/b.json', 'runs/r1/sub/z.json', 'runs/r1/\uFB00', 'runs/r1/\u{1F600}']);
      expect((await store.list('runs/r1')).map((o) => o.key)).toEqual(['runs/r1/a.json', 'runs/r1/b.json', 'runs/r1/sub/z.json', 'runs/r1/\uFB00', 'runs/r1/\u{1F600}', 'runs/r10/a.json']);
      expect(await store.list('runs/r2/')).toEqual([{ key: 'runs/r2/a.json', size: 14 }]);
      expect((await store.list('')).map((o) => o.key)).toEqual([...keys].sort(compareObjectKeys));
      expect(await store.list('nothing/')).toEqual([]);
    });

    it('lists every key when there are more than one page of them (1,100)', async () => {
      const keys = Array.from({ length: 1100 }, (_, i) => `pages/k${String(i).padStart(4, '0')}`);
      await inParallel([...keys].reverse(), 16, (k) => store.put(k, 'x'));
      await store.put('pagesz', 'outside');
      const listed = await store.list('pages/');
      expect(listed.length).toBe(1100);
      expect(listed.map((o) => o.key)).toEqual(keys);
      expect((await store.list('pages/k10')).map((o) => o.key)).toEqual(keys.slice(1000));
    });

    it('puts a local file and reports the content sha256', async () => {
      const small = join(scratch, 'small.csv');
      await writeFile(small, 'a,b\n1,2\n');
      expect(await store.putFile('in/small.csv', small)).toEqual({ key: 'in/small.csv', size: 8, sha256: sha256('a,b\n1,2\n') });
      expect(text(await store.get('in/small.csv'))).toBe('a,b\n1,2\n');
      expect(await store.head('in/small.csv')).toEqual({ key: 'in/small.csv', size: 8, sha256: sha256('a,b\n1,2\n') });
    });

    it.skipIf(skips.multipart !== undefined)(`puts a file over the multipart threshold (in parts) as one object${skips.multipart ? ` (skipped: ${skips.multipart})` : ''}`, async () => {
      const bytes = someBytes(subject.multipartFileBytes, 7);
      const large = join(scratch, 'large.bin');
      await writeFile(large, bytes);
      const info = await store.putFile('in/large.bin', large);
      // The whole content's sha256, not a checksum of the parts' checksums.
      expect(info).toEqual({ key: 'in/large.bin', size: bytes.byteLength, sha256: sha256(bytes) });
      expect(await store.head('in/large.bin')).toEqual(info);
      expect(Buffer.from(await store.get('in/large.bin')).equals(bytes)).toBe(true);
      expect((await readFile(await store.localFile('in/large.bin', scratch))).equals(bytes)).toBe(true);
      expect(await store.list('in/')).toEqual([{ key: 'in/large.bin', size: bytes.byteLength }]);
    });

    it('gives a local file holding the object, for readers that need a path', async () => {
      await store.put('x/y.csv', 'a\n1\n');
      const bytes = someBytes(300_000, 3);
      await store.put('x/large.bin', bytes);
      const into = join(scratch, 'not-yet-made');
      const path = await store.localFile('x/y.csv', into);
      expect(await readFile(path, 'utf8')).toBe('a\n1\n');
      expect((await readFile(await store.localFile('x/large.bin', into))).equals(bytes)).toBe(true);
      // Asked again after an overwrite: the new content.
      await store.put('x/y.csv', 'a\n2\n');
      expect(await readFile(await store.localFile('x/y.csv', into), 'utf8')).toBe('a\n2\n');
    });

    it('deletes, idempotently', async () => {
      await store.put('d/one', '1');
      await store.put('d/two', '2');
      await store.delete('d/one');
      expect(await store.head('d/one')).toBeUndefined();
      await expect(store.get('d/one')).rejects.toBeInstanceOf(ObjectNotFoundError);
      expect((await store.list('d/')).map((o) => o.key)).toEqual(['d/two']);
      await store.delete('d/one');
      await store.delete('never/written');
      await store.put('d/one', 'again');
      expect(text(await store.get('d/one'))).toBe('again');
      // Once `p/q/r` is gone, `p/q` can be an object (S3 has no directories to be left in the way).
      await store.put('p/q/r', '1');
      await store.delete('p/q/r');
      await store.put('p/q', '2');
      expect(await store.list('p/')).toEqual([{ key: 'p/q', size: 1 }]);
    });

    it.each(['../escape.txt', '/abs.txt', 'a//b', 'a/./b', 'a/../b', 'trailing/', '', 'back\\slash'])('refuses the key %j in every method', async (key) => {
      const file = join(scratch, 'f');
      await writeFile(file, 'x');
      const calls: Array<() => Promise<unknown>> = [
        () => store.put(key, 'x'),
        () => store.putFile(key, file),
        () => store.get(key),
        () => store.head(key),
        () => store.delete(key),
        () => store.localFile(key, scratch),
      ];
      for (const call of calls) await expect(call()).rejects.toBeInstanceOf(InvalidObjectKeyError);
    });
  });
}
