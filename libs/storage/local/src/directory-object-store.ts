import { createHash, randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { copyFile, mkdir, open, readFile, readdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import {
  InvalidObjectKeyError,
  objectKeyProblem,
  ObjectNotFoundError,
  type ObjectInfo,
  type ObjectStore,
} from '@nightshift/storage-domain';

/**
 * ObjectStore on a local directory: key `a/b.csv` is file `<root>/a/b.csv`. Writes go to a temp
 * file that is fsync'ed and renamed into place, so readers never see a partial object.
 * Checksums are computed on read of metadata (cheap at embedded-mode sizes) rather than kept in a
 * side file that could drift from the content.
 */
export class DirectoryObjectStore implements ObjectStore {
  constructor(private readonly root: string) {}

  async put(key: string, body: Uint8Array | string): Promise<ObjectInfo> {
    const path = this.pathOf(key);
    await mkdir(dirname(path), { recursive: true });
    const tmp = `${path}.${randomUUID()}.tmp`;
    const fh = await open(tmp, 'w');
    try {
      await fh.writeFile(body);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
    const bytes = typeof body === 'string' ? Buffer.from(body) : body;
    return { key, size: bytes.byteLength, sha256: createHash('sha256').update(bytes).digest('hex') };
  }

  async putFile(key: string, localPath: string): Promise<ObjectInfo> {
    const path = this.pathOf(key);
    await mkdir(dirname(path), { recursive: true });
    const tmp = `${path}.${randomUUID()}.tmp`;
    await copyFile(localPath, tmp);
    const fh = await open(tmp, 'r+');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
    const info = await this.head(key);
    if (!info) throw new ObjectNotFoundError(key);
    return info;
  }

  async get(key: string): Promise<Uint8Array> {
    try {
      return await readFile(this.pathOf(key));
    } catch (e) {
      if (isNotFound(e)) throw new ObjectNotFoundError(key, { cause: e });
      throw e;
    }
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    const path = this.pathOf(key);
    try {
      const st = await stat(path);
      if (!st.isFile()) return undefined;
      const hash = createHash('sha256');
      await pipeline(createReadStream(path), hash);
      return { key, size: st.size, sha256: hash.digest('hex') };
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  }

  async list(prefix: string): Promise<ObjectInfo[]> {
    const files: string[] = [];
    const walk = async (dir: string): Promise<void> => {
      let entries;
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch (e) {
        if (isNotFound(e)) return;
        throw e;
      }
      for (const e of entries) {
        const p = join(dir, e.name);
        if (e.isDirectory()) await walk(p);
        else if (e.isFile() && !e.name.endsWith('.tmp')) files.push(relative(this.root, p).split(sep).join('/'));
      }
    };
    await walk(this.root);
    const keys = files.filter((k) => k.startsWith(prefix)).sort();
    const out: ObjectInfo[] = [];
    for (const k of keys) {
      const info = await this.head(k);
      if (info) out.push(info);
    }
    return out;
  }

  uriFor(key: string): string {
    return this.pathOf(key);
  }

  /** Removes everything under the store's root (tests and `--reset`). */
  async clear(): Promise<void> {
    await rm(this.root, { recursive: true, force: true });
  }

  private pathOf(key: string): string {
    const problem = objectKeyProblem(key);
    if (problem) throw new InvalidObjectKeyError(key, problem);
    return join(this.root, ...key.split('/'));
  }
}

function isNotFound(e: unknown): boolean {
  return typeof e === 'object' && e !== null && (e as { code?: string }).code === 'ENOENT';
}
