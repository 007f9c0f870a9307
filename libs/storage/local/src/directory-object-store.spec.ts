import { mkdtemp, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvalidObjectKeyError, ObjectNotFoundError } from '@nightshift/storage-domain';
import { beforeEach, describe, expect, it } from 'vitest';
import { DirectoryObjectStore } from './directory-object-store.js';

describe('DirectoryObjectStore', () => {
  let root: string;
  let store: DirectoryObjectStore;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'ns-store-'));
    store = new DirectoryObjectStore(root);
  });

  it('round-trips an object and reports its size and sha256', async () => {
    const info = await store.put('a/b/c.json', '{"x":1}');
    expect(info).toEqual({ key: 'a/b/c.json', size: 7, sha256: '5041bf1f713df204784353e82f6a4a535931cb64f1f4b4a5aeaffcb720918b22' });
    expect(Buffer.from(await store.get('a/b/c.json')).toString()).toBe('{"x":1}');
    expect(await store.head('a/b/c.json')).toEqual(info);
  });

  it('overwrites atomically and leaves no temp files behind', async () => {
    await store.put('k.txt', 'one');
    await store.put('k.txt', 'two');
    expect(Buffer.from(await store.get('k.txt')).toString()).toBe('two');
    expect(await readdir(root)).toEqual(['k.txt']);
  });

  it('copies a local file in with putFile', async () => {
    const src = join(root, '..', `src-${Date.now()}.csv`);
    await writeFile(src, 'a,b\n1,2\n');
    const info = await store.putFile('in/data.csv', src);
    expect(info.size).toBe(8);
    expect(Buffer.from(await store.get('in/data.csv')).toString()).toBe('a,b\n1,2\n');
  });

  it('lists keys under a prefix in lexicographic order', async () => {
    await store.put('runs/r1/b.json', '1');
    await store.put('runs/r1/a.json', '2');
    await store.put('runs/r2/a.json', '3');
    expect((await store.list('runs/r1/')).map((o) => o.key)).toEqual(['runs/r1/a.json', 'runs/r1/b.json']);
    expect(await store.list('nothing/')).toEqual([]);
  });

  it('throws ObjectNotFoundError for a missing key and head returns undefined', async () => {
    await expect(store.get('missing.json')).rejects.toBeInstanceOf(ObjectNotFoundError);
    expect(await store.head('missing.json')).toBeUndefined();
  });

  it.each(['../escape.txt', '/abs.txt', 'a//b', 'a/./b', ''])('rejects the key %j', async (key) => {
    await expect(store.put(key, 'x')).rejects.toBeInstanceOf(InvalidObjectKeyError);
  });

  it('gives DuckDB a readable file path', async () => {
    await store.put('x/y.csv', 'a\n1\n');
    expect(store.uriFor('x/y.csv')).toBe(join(root, 'x', 'y.csv'));
  });
});
