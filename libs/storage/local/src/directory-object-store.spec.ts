import { execFile } from 'node:child_process';
import { constants } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { InvalidObjectKeyError, ObjectNotFoundError } from '@nightshift/storage-domain';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
// The conformance suite is test-only and deliberately not in storage-domain's public index.
// eslint-disable-next-line @nx/enforce-module-boundaries
import { describeObjectStoreContract } from '../../domain/src/testing/object-store.contract.js';
import { DirectoryObjectStore } from './directory-object-store.js';
import { OpenDir } from './no-follow.js';
import { RESERVED_DIR, TempFile } from './object-paths.js';

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

    it('refuses a key through a linked directory out of the root, for writes too, and lists nothing through it', async () => {
      await symlink(outside, join(root, 'out'));
      await store.put('in/a.txt', 'a');
      await expect(store.put('out/new.txt', 'x')).rejects.toBeInstanceOf(InvalidObjectKeyError);
      await expect(store.putFile('out/new.txt', join(outside, 'secret.txt'))).rejects.toBeInstanceOf(InvalidObjectKeyError);
      await expect(store.get('out/secret.txt')).rejects.toMatchObject({ name: 'InvalidObjectKeyError', reason: "leads out of the store's root through a symbolic link" });
      await expect(store.head('out/secret.txt')).rejects.toBeInstanceOf(InvalidObjectKeyError);
      await expect(store.delete('out/secret.txt')).rejects.toBeInstanceOf(InvalidObjectKeyError);
      expect(await store.list('')).toEqual([{ key: 'in/a.txt', size: 1 }]);
      expect(await store.list('out/')).toEqual([]);
      expect(await readdir(outside)).toEqual(['secret.txt']);
      expect(await readdir(join(root, RESERVED_DIR, 'tmp'))).toEqual([]);
    });

    it('follows no link even inside the root, and refuses a link loop, naming the kind of link', async () => {
      await store.put('data/real.csv', 'a\n');
      await symlink(join(root, 'data', 'real.csv'), join(root, 'data', 'alias.csv'));
      await symlink(join(root, 'data'), join(root, 'alias-dir'));
      await expect(store.get('data/alias.csv')).rejects.toMatchObject({ name: 'InvalidObjectKeyError', reason: 'is reached through a symbolic link, which the store does not follow' });
      await expect(store.get('alias-dir/real.csv')).rejects.toBeInstanceOf(InvalidObjectKeyError);
      await expect(store.put('alias-dir/new.csv', 'x')).rejects.toBeInstanceOf(InvalidObjectKeyError);
      expect((await store.list('')).map((o) => o.key)).toEqual(['data/real.csv']);
      await symlink(join(root, 'loop'), join(root, 'loop'));
      await expect(store.get('loop')).rejects.toMatchObject({ name: 'InvalidObjectKeyError', reason: 'is a symbolic link loop' });
    });

    it('refuses a FIFO or a directory at a key as no object, without blocking', async () => {
      await mkdir(join(root, 'dir', 'sub'), { recursive: true });
      await expect(store.get('dir/sub')).rejects.toBeInstanceOf(ObjectNotFoundError);
      await promisify(execFile)('mkfifo', [join(root, 'dir', 'fifo')]);
      await expect(store.get('dir/fifo')).rejects.toBeInstanceOf(ObjectNotFoundError);
      expect(await store.head('dir/fifo')).toBeUndefined();
    });

    describe('a link swapped in after the path was checked (the race open-time refusal closes)', () => {
      it('a file replaced by a link between opening its directory and opening it is refused', async () => {
        await store.put('landing/x.csv', 'mine\n');
        const dir = await OpenDir.open(root, ['landing'], false);
        try {
          // The attacker's move, between the walk and the open.
          await rm(join(root, 'landing', 'x.csv'));
          await symlink(join(outside, 'secret.txt'), join(root, 'landing', 'x.csv'));
          await expect(dir.openFile('x.csv', constants.O_RDONLY)).rejects.toMatchObject({ code: 'ELOOP' });
        } finally {
          await dir.close();
        }
        // And through the store, now that the link is there.
        const error = await store.get('landing/x.csv').then(
          () => undefined,
          (e: unknown) => e as Error,
        );
        expect(error).toBeInstanceOf(InvalidObjectKeyError);
        expect(error!.message).not.toContain('root:x');
      });

      it('a directory replaced by a link to outside after it was opened: names resolve in the directory opened, not through the link', async () => {
        await store.put('landing/x.csv', 'mine\n');
        const dir = await OpenDir.open(root, ['landing'], false);
        try {
          await rename(join(root, 'landing'), join(root, 'landing-was'));
          await symlink(outside, join(root, 'landing'));
          await writeFile(join(outside, 'x.csv'), 'root:x:0:0:secret\n');
          const file = await dir.openFile('x.csv', constants.O_RDONLY);
          try {
            expect(await file.readFile('utf8')).toBe('mine\n');
          } finally {
            await file.close();
          }
          // A write through the opened directory lands inside the root, never in `outside`.
          const tmp = await TempFile.create(root);
          await tmp.write(Buffer.from('new\n'));
          await rename(tmp.path, dir.at('y.csv'));
          await tmp.release();
        } finally {
          await dir.close();
        }
        expect(await readFile(join(root, 'landing-was', 'y.csv'), 'utf8')).toBe('new\n');
        expect((await readdir(outside)).sort()).toEqual(['secret.txt', 'x.csv']);
        await expect(store.get('landing/x.csv')).rejects.toBeInstanceOf(InvalidObjectKeyError);
      });

      it('readers racing a writer that swaps files and directories for links never read outside the root', async () => {
        await store.put('landing/x.csv', 'mine\n');
        let swapping = true;
        const swapper = (async () => {
          for (let i = 0; swapping; i++) {
            const file = join(root, 'landing', 'x.csv');
            if (i % 2 === 0) {
              await rm(file, { force: true });
              await symlink(join(outside, 'secret.txt'), file).catch(() => undefined);
              await rm(file, { force: true });
              await writeFile(file, 'mine\n').catch(() => undefined);
            } else {
              await rename(join(root, 'landing'), join(root, 'landing-away')).catch(() => undefined);
              await symlink(outside, join(root, 'landing')).catch(() => undefined);
              await rm(join(root, 'landing'), { force: true });
              await rename(join(root, 'landing-away'), join(root, 'landing')).catch(() => undefined);
            }
          }
        })();
        await writeFile(join(outside, 'x.csv'), 'root:x:0:0:secret\n');
        const seen = new Set<string>();
        try {
          for (let i = 0; i < 400; i++) {
            for (const read of [() => store.get('landing/x.csv').then((b) => Buffer.from(b).toString()), () => store.head('landing/x.csv').then((h) => String(h?.size))]) {
              seen.add(
                await read().catch((e: unknown) => {
                  expect([InvalidObjectKeyError, ObjectNotFoundError].some((t) => e instanceof t), String(e)).toBe(true);
                  return (e as Error).name;
                }),
              );
            }
          }
        } finally {
          swapping = false;
          await swapper;
        }
        expect([...seen].filter((v) => v.includes('root:x') || v === String('root:x:0:0:secret\n'.length))).toEqual([]);
        expect(seen.has('mine\n')).toBe(true);
      });
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
