import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ObjectNotFoundError, type ObjectInfo, type ObjectStore, type ObjectSummary } from '@nightshift/storage-domain';
import { withSpan } from '@nightshift/observability';
import { keyPath, listFiles, openObject, removeObject, renameIntoPlace, TempFile } from './object-paths.js';

/** A client span for one object-store call, inside the caller's trace; a missing object is an answer, not an error. */
function traced<T>(operation: string, key: string, fn: () => Promise<T>): Promise<T> {
  const attributes = { 'nightshift.object_store': 'directory', 'nightshift.object_store.operation': operation, 'nightshift.object_store.key': key };
  return withSpan(`ObjectStore.${operation}`, { kind: 'client', requireParent: true, attributes, isError: (e) => !(e instanceof ObjectNotFoundError) }, fn);
}

/**
 * ObjectStore on a local directory: key `a/b.csv` is file `<root>/a/b.csv`. Writes go to a temp
 * file under the root's reserved directory, fsync'ed and renamed into place, so readers never see a
 * partial object. No key leads out of the root: no symbolic link under it is followed, at the moment
 * of the open, rename or unlink (a key reached through one is InvalidObjectKeyError). Checksums are
 * computed when asked for rather than kept in a side file that could drift from the content.
 * `localFile` answers the object's own file: DuckDB reads it in place.
 */
export class DirectoryObjectStore implements ObjectStore {
  constructor(private readonly root: string) {}

  put(key: string, body: Uint8Array | string): Promise<ObjectInfo> {
    return traced('put', key, () => this.putBytes(key, body));
  }

  private async putBytes(key: string, body: Uint8Array | string): Promise<ObjectInfo> {
    keyPath(this.root, key);
    const bytes = typeof body === 'string' ? Buffer.from(body) : body;
    await this.commit(key, (tmp) => tmp.write(bytes));
    return { key, size: bytes.byteLength, sha256: createHash('sha256').update(bytes).digest('hex') };
  }

  putFile(key: string, localPath: string): Promise<ObjectInfo> {
    return traced('putFile', key, () => this.putFromFile(key, localPath));
  }

  private async putFromFile(key: string, localPath: string): Promise<ObjectInfo> {
    keyPath(this.root, key);
    const hash = createHash('sha256');
    let size = 0;
    const tap = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        hash.update(chunk);
        size += chunk.byteLength;
        done(null, chunk);
      },
    });
    await this.commit(key, (tmp) => pipeline(createReadStream(localPath), tap, tmp.stream()));
    return { key, size, sha256: hash.digest('hex') };
  }

  get(key: string): Promise<Uint8Array> {
    return traced('get', key, async () => {
      const file = await openObject(this.root, key);
      if (!file) throw new ObjectNotFoundError(key);
      try {
        return await file.readFile();
      } finally {
        await file.close();
      }
    });
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    const file = await openObject(this.root, key);
    if (!file) return undefined;
    try {
      const hash = createHash('sha256');
      await pipeline(file.createReadStream({ start: 0, autoClose: false }), hash);
      return { key, size: (await file.stat()).size, sha256: hash.digest('hex') };
    } finally {
      await file.close();
    }
  }

  list(prefix: string): Promise<ObjectSummary[]> {
    return traced('list', prefix, async () => (await listFiles(this.root, prefix)).map(({ key, size }) => ({ key, size })));
  }

  async delete(key: string): Promise<void> {
    await removeObject(this.root, key);
  }

  /**
   * The object's own file: no copy, `scratchDir` is not used. Checked to be a regular file reached
   * through no symbolic link; the caller then opens it by path, so a link swapped in after this
   * answer is the caller's to refuse (DuckDB follows links).
   */
  async localFile(key: string, _scratchDir: string): Promise<string> {
    const file = await openObject(this.root, key);
    if (!file) throw new ObjectNotFoundError(key);
    await file.close();
    return keyPath(this.root, key);
  }

  /** The file that holds `key` (whether or not it exists); InvalidObjectKeyError for a refused key. */
  pathOf(key: string): string {
    return keyPath(this.root, key);
  }

  /** Removes everything under the store's root (tests and `--reset`). */
  async clear(): Promise<void> {
    await rm(this.root, { recursive: true, force: true });
  }

  /** Writes through a temp file, then renames it into place as `key`; the temp file never outlives a failure. */
  private async commit(key: string, write: (tmp: TempFile) => Promise<unknown>): Promise<void> {
    const tmp = await TempFile.create(this.root);
    try {
      await write(tmp);
      await renameIntoPlace(this.root, tmp.path, key);
    } catch (e) {
      await tmp.discard();
      throw e;
    }
    await tmp.release();
  }
}
