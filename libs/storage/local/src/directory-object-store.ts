import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, readFile, rm, stat, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ObjectNotFoundError, type ObjectInfo, type ObjectStore, type ObjectSummary } from '@nightshift/storage-domain';
import { containedKeyPath, isMissing, keyPath, listFiles, pruneEmptyDirs, renameIntoPlace, tempPath } from './object-paths.js';

/**
 * ObjectStore on a local directory: key `a/b.csv` is file `<root>/a/b.csv`. Writes go to a temp
 * file under the root's reserved directory, fsync'ed and renamed into place, so readers never see a
 * partial object. No key leads out of the root: a symbolic link to outside it is refused
 * (`containedKeyPath`), never followed. Checksums are computed when asked for rather than kept in a side file that could
 * drift from the content. `localFile` answers the object's own file: DuckDB reads it in place.
 */
export class DirectoryObjectStore implements ObjectStore {
  constructor(private readonly root: string) {}

  async put(key: string, body: Uint8Array | string): Promise<ObjectInfo> {
    const path = await this.contained(key);
    const bytes = typeof body === 'string' ? Buffer.from(body) : body;
    await this.commit(path, async (tmp) => {
      const fh = await open(tmp, 'w');
      try {
        await fh.writeFile(bytes);
        await fh.sync();
      } finally {
        await fh.close();
      }
    });
    return { key, size: bytes.byteLength, sha256: createHash('sha256').update(bytes).digest('hex') };
  }

  async putFile(key: string, localPath: string): Promise<ObjectInfo> {
    const path = await this.contained(key);
    const hash = createHash('sha256');
    let size = 0;
    const tap = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        hash.update(chunk);
        size += chunk.byteLength;
        done(null, chunk);
      },
    });
    await this.commit(path, (tmp) => pipeline(createReadStream(localPath), tap, createWriteStream(tmp, { flush: true })));
    return { key, size, sha256: hash.digest('hex') };
  }

  async get(key: string): Promise<Uint8Array> {
    try {
      return await readFile(await this.contained(key));
    } catch (e) {
      if (isMissing(e) || isDirectory(e)) throw new ObjectNotFoundError(key, { cause: e });
      throw e;
    }
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    const path = await this.contained(key);
    try {
      const st = await stat(path);
      if (!st.isFile()) return undefined;
      const hash = createHash('sha256');
      await pipeline(createReadStream(path), hash);
      return { key, size: st.size, sha256: hash.digest('hex') };
    } catch (e) {
      if (isMissing(e)) return undefined;
      throw e;
    }
  }

  async list(prefix: string): Promise<ObjectSummary[]> {
    return (await listFiles(this.root, prefix)).map(({ key, size }) => ({ key, size }));
  }

  async delete(key: string): Promise<void> {
    const path = await this.contained(key);
    try {
      await unlink(path);
    } catch (e) {
      // A directory at the key's path holds other keys (`a/b` under `a`): there is no object `a`.
      if (isMissing(e) || isDirectory(e)) return;
      throw e;
    }
    await pruneEmptyDirs(this.root, path);
  }

  /** The object's own file: no copy, `scratchDir` is not used. */
  async localFile(key: string, _scratchDir: string): Promise<string> {
    const path = await this.contained(key);
    try {
      if ((await stat(path)).isFile()) return path;
    } catch (e) {
      if (!isMissing(e)) throw e;
    }
    throw new ObjectNotFoundError(key);
  }

  /** The file that holds `key` (whether or not it exists); InvalidObjectKeyError for a refused key. */
  pathOf(key: string): string {
    return keyPath(this.root, key);
  }

  /** `pathOf`, refused (InvalidObjectKeyError) when a symbolic link leads it out of the root. */
  private contained(key: string): Promise<string> {
    return containedKeyPath(this.root, key);
  }

  /** Removes everything under the store's root (tests and `--reset`). */
  async clear(): Promise<void> {
    await rm(this.root, { recursive: true, force: true });
  }

  /** Writes through a temp file, then renames it to `path`; the temp file never outlives a failure. */
  private async commit(path: string, write: (tmp: string) => Promise<unknown>): Promise<void> {
    const tmp = tempPath(this.root);
    await mkdir(dirname(tmp), { recursive: true });
    try {
      await write(tmp);
      await renameIntoPlace(tmp, path);
    } catch (e) {
      await rm(tmp, { force: true });
      throw e;
    }
  }
}

function isDirectory(e: unknown): boolean {
  const code = typeof e === 'object' && e !== null ? (e as { code?: string }).code : undefined;
  return code === 'EISDIR';
}
