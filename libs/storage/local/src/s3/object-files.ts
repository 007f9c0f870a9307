import { createHash } from 'node:crypto';
import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir, open, readdir, readFile, rm, stat, unlink, writeFile, type FileHandle } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { containedKeyPath, fileVersion, isMissing, keyPath, listFiles, pruneEmptyDirs, renameIntoPlace, RESERVED_DIR, tempPath, type ListedFile } from '../object-paths.js';
import type { ChecksumAlgorithm } from './checksums.js';
import { s3Errors } from './s3-protocol.js';

/** An object's checksum as S3 reports it: FULL_OBJECT over the content, or COMPOSITE over the parts' (`...-N`). */
export interface StoredChecksum {
  algorithm: ChecksumAlgorithm;
  /** Base64, with `-<parts>` for a composite one. */
  value: string;
  type: 'FULL_OBJECT' | 'COMPOSITE';
}

/** What S3 keeps about an object beyond its bytes. */
export interface ObjectMeta {
  /** The file this describes (`fileVersion`); the record is ignored for any other. */
  version: string;
  /** Quoted, as in the ETag header. */
  etag: string;
  /** Hex sha256 of the whole content, once known. */
  sha256?: string;
  contentType?: string;
  /** `x-amz-meta-*` values by lower-cased name (without the prefix). */
  metadata: Record<string, string>;
  checksum?: StoredChecksum;
  partsCount?: number;
}

/** An object opened for reading: the handle pins this version even if the key is rewritten meanwhile. */
export interface OpenedObject {
  handle: FileHandle;
  size: number;
  lastModified: Date;
  meta: ObjectMeta;
}

/**
 * The S3 endpoint's view of the directory store's root: objects are the same files
 * DirectoryObjectStore reads and writes; what S3 keeps beyond the bytes (ETag, content type, user
 * metadata, the checksum sent) is a record per file version, under the reserved directory at
 * `s3/meta/<hash of key>/<hash of version>.json`. A reader finds the record of the version it opened
 * or none, so concurrent writers of one key cannot pair one's bytes with the other's record. A file
 * written by anyone else (DirectoryObjectStore) has no record: it is served with an ETag derived from
 * its version and a sha256 computed when asked for, as the directory store computes it. As there, a
 * symbolic link leading out of the root is refused (`containedKeyPath`), never followed.
 */
export class S3ObjectFiles {
  constructor(readonly root: string) {}

  pathOf(key: string): string {
    return keyPath(this.root, key);
  }

  /** A temp file path on the root's file system, its directory created; with a write stream that fsyncs on close. */
  async stage(): Promise<{ path: string; stream: () => WriteStream }> {
    const path = tempPath(this.root);
    await mkdir(dirname(path), { recursive: true });
    return { path, stream: () => createWriteStream(path, { flush: true }) };
  }

  /**
   * Renames a written temp file into place as `key`, after recording `meta` for its version (rename
   * keeps inode and mtime). A crash in between leaves a record no file matches: harmless.
   */
  async commit(key: string, tmp: string, meta: Omit<ObjectMeta, 'version'>): Promise<ObjectMeta> {
    const path = await containedKeyPath(this.root, key);
    const full: ObjectMeta = { ...meta, version: fileVersion(await stat(tmp, { bigint: true })) };
    await this.writeMeta(key, full);
    try {
      await renameIntoPlace(tmp, path);
    } catch (e) {
      await rm(this.metaPath(key, full.version), { force: true });
      const code = (e as { code?: string }).code;
      if (code === 'EEXIST' || code === 'ENOTDIR' || code === 'EISDIR') {
        throw s3Errors.invalidArgument(`Key ${key} conflicts with another key on disk: the directory store cannot hold both "a" and "a/b".`, 'key', key);
      }
      throw e;
    }
    await this.pruneMeta(key);
    return full;
  }

  /** Opens the object's current file, or undefined if there is none. Close `handle` when done. */
  async open(key: string): Promise<OpenedObject | undefined> {
    let handle: FileHandle;
    try {
      handle = await open(await containedKeyPath(this.root, key), 'r');
    } catch (e) {
      if (isMissing(e) || (e as { code?: string }).code === 'EISDIR') return undefined;
      throw e;
    }
    try {
      const st = await handle.stat({ bigint: true });
      if (!st.isFile()) {
        await handle.close();
        return undefined;
      }
      const version = fileVersion(st);
      const meta = await this.readMeta(key, version);
      return { handle, size: Number(st.size), lastModified: st.mtime, meta: meta ?? { version, etag: derivedEtag(version), metadata: {} } };
    } catch (e) {
      await handle.close();
      throw e;
    }
  }

  /** The object's sha256, hex: recorded, or computed from the open file (reads write nothing). */
  async sha256Of(object: OpenedObject): Promise<string> {
    if (object.meta.sha256) return object.meta.sha256;
    const hash = createHash('sha256');
    await pipeline(object.handle.createReadStream({ start: 0, autoClose: false }), hash);
    object.meta = { ...object.meta, sha256: hash.digest('hex') };
    return object.meta.sha256!;
  }

  /** Listing entries with their ETags (recorded, or derived from the file version). */
  async list(prefix: string): Promise<Array<ListedFile & { etag: string }>> {
    const files = await listFiles(this.root, prefix);
    return Promise.all(files.map(async (f) => ({ ...f, etag: (await this.readMeta(f.key, f.version))?.etag ?? derivedEtag(f.version) })));
  }

  /** Removes the object and its record; a missing one is not an error. */
  async remove(key: string): Promise<void> {
    const path = await containedKeyPath(this.root, key);
    await rm(this.metaDir(key), { recursive: true, force: true });
    try {
      await unlink(path);
    } catch (e) {
      if (isMissing(e) || (e as { code?: string }).code === 'EISDIR') return;
      throw e;
    }
    await pruneEmptyDirs(this.root, path);
  }

  private metaDir(key: string): string {
    return join(this.root, RESERVED_DIR, 's3', 'meta', createHash('sha256').update(key).digest('hex'));
  }

  private metaPath(key: string, version: string): string {
    return join(this.metaDir(key), `${createHash('sha256').update(version).digest('hex')}.json`);
  }

  private async readMeta(key: string, version: string): Promise<ObjectMeta | undefined> {
    try {
      const meta = JSON.parse(await readFile(this.metaPath(key, version), 'utf8')) as ObjectMeta;
      return meta.version === version ? meta : undefined;
    } catch (e) {
      if (isMissing(e)) return undefined;
      throw e;
    }
  }

  private async writeMeta(key: string, meta: ObjectMeta): Promise<void> {
    const path = this.metaPath(key, meta.version);
    const { path: tmp } = await this.stage();
    await writeFile(tmp, JSON.stringify(meta));
    await renameIntoPlace(tmp, path);
  }

  /**
   * Drops the records of versions the key no longer has. Best effort: a version that became current
   * meanwhile (a concurrent write) may lose its record, and is then served as a file S3 did not write.
   */
  private async pruneMeta(key: string): Promise<void> {
    let current: string | undefined;
    try {
      current = this.metaPath(key, fileVersion(await stat(this.pathOf(key), { bigint: true })));
    } catch (e) {
      if (!isMissing(e)) throw e;
    }
    const dir = this.metaDir(key);
    let names: string[];
    try {
      names = await readdir(dir);
    } catch (e) {
      if (isMissing(e)) return;
      throw e;
    }
    for (const name of names) {
      if (join(dir, name) !== current) await rm(join(dir, name), { force: true });
    }
  }
}

/** The ETag of a file S3 did not write: stable for the file version, different for any other. */
function derivedEtag(version: string): string {
  return `"${createHash('md5').update(version).digest('hex')}"`;
}
