import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvalidObjectKeyError } from '@nightshift/storage-domain';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
// The conformance suite is test-only and deliberately not in storage-domain's public index.
// eslint-disable-next-line @nx/enforce-module-boundaries
import { describeObjectStoreContract } from '../../domain/src/testing/object-store.contract.js';
import { DirectoryObjectStore } from './directory-object-store.js';
import { RESERVED_DIR } from './object-paths.js';

describeObjectStoreContract('DirectoryObjectStore', async () => {
  const root = await mkdtemp(join(tmpdir(), 'ns-store-'));
  return { store: new DirectoryObjectStore(root), multipartFileBytes: 3 * 1024 * 1024, close: () => rm(root, { recursive: true, force: true }) };
});

describe('DirectoryObjectStore', () => {
  let root: string;
  let store: DirectoryObjectStore;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'ns-store-'));
    store = new DirectoryObjectStore(root);
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('keeps temp files out of the key space and leaves none behind', async () => {
    await store.put('k.txt', 'one');
    await store.put('k.txt', 'two');
    const src = join(root, '..', `src-${process.pid}-${Date.now()}.csv`);
    await writeFile(src, 'a,b\n');
    await store.putFile('k2.txt', src);
    await rm(src);
    expect((await readdir(root)).sort()).toEqual([RESERVED_DIR, 'k.txt', 'k2.txt']);
    expect(await readdir(join(root, RESERVED_DIR, 'tmp'))).toEqual([]);
    // A key ending in .tmp is an ordinary key.
    await store.put('x.tmp', 'kept');
    expect((await store.list('')).map((o) => o.key)).toEqual(['k.txt', 'k2.txt', 'x.tmp']);
  });

  it('answers its own file from localFile, without copying', async () => {
    await store.put('x/y.csv', 'a\n1\n');
    const scratch = join(root, '..', `unused-${process.pid}`);
    expect(await store.localFile('x/y.csv', scratch)).toBe(join(root, 'x', 'y.csv'));
    expect(store.pathOf('x/y.csv')).toBe(join(root, 'x', 'y.csv'));
    await expect(readdir(scratch)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  describe('symbolic links', () => {
    let outside: string;
    beforeEach(async () => {
      outside = await mkdtemp(join(tmpdir(), 'ns-outside-'));
      await writeFile(join(outside, 'secret.txt'), 'root:x:0:0:secret\n');
    });
    afterEach(async () => {
      await rm(outside, { recursive: true, force: true });
    });

    it('refuses a key whose file is a link out of the root, on every method, naming neither target nor content', async () => {
      await mkdir(join(root, 'landing'), { recursive: true });
      await symlink(join(outside, 'secret.txt'), join(root, 'landing', 'x.csv'));
      for (const call of [
        () => store.get('landing/x.csv'),
        () => store.head('landing/x.csv'),
        () => store.localFile('landing/x.csv', outside),
        () => store.put('landing/x.csv', 'y'),
        () => store.delete('landing/x.csv'),
      ]) {
        const error = await call().then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(error).toBeInstanceOf(InvalidObjectKeyError);
        expect((error as InvalidObjectKeyError).reason).toBe("leads out of the store's root through a symbolic link");
        expect((error as Error).message).not.toContain('root:x');
        expect((error as Error).message).not.toContain(outside);
      }
      expect(await readFile(join(outside, 'secret.txt'), 'utf8')).toBe('root:x:0:0:secret\n');
    });

    it('refuses a key through a linked directory out of the root, for writes too', async () => {
      await symlink(outside, join(root, 'out'));
      await expect(store.put('out/new.txt', 'x')).rejects.toBeInstanceOf(InvalidObjectKeyError);
      await expect(store.get('out/secret.txt')).rejects.toBeInstanceOf(InvalidObjectKeyError);
      expect(await readdir(outside)).toEqual(['secret.txt']);
    });

    it('follows a link that stays inside the root, and refuses a link loop', async () => {
      await store.put('data/real.csv', 'a\n');
      await symlink(join(root, 'data', 'real.csv'), join(root, 'data', 'alias.csv'));
      expect(new TextDecoder().decode(await store.get('data/alias.csv'))).toBe('a\n');
      await symlink(join(root, 'loop'), join(root, 'loop'));
      await expect(store.get('loop')).rejects.toMatchObject({ name: 'InvalidObjectKeyError', reason: 'is a symbolic link loop' });
    });
  });

  it('reserves its own top-level directory: no key may name it, no listing shows it', async () => {
    await mkdir(join(root, RESERVED_DIR, 's3', 'meta'), { recursive: true });
    await writeFile(join(root, RESERVED_DIR, 's3', 'meta', 'm.json'), '{}');
    await store.put('visible', 'v');
    expect(await store.list('')).toEqual([{ key: 'visible', size: 1 }]);
    expect(await store.list(`${RESERVED_DIR}/`)).toEqual([]);
    await expect(store.put(`${RESERVED_DIR}/s3/meta/m.json`, 'x')).rejects.toBeInstanceOf(InvalidObjectKeyError);
    await expect(store.get(`${RESERVED_DIR}/s3/meta/m.json`)).rejects.toBeInstanceOf(InvalidObjectKeyError);
    // Only the top-level name is reserved.
    await store.put(`a/${RESERVED_DIR}`, 'fine');
    expect((await store.list('a/')).map((o) => o.key)).toEqual([`a/${RESERVED_DIR}`]);
  });
});
