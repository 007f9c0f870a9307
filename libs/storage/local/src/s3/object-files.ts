import { createHash } from 'node:crypto';
import { rm, rmdir, type FileHandle } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { withDir } from '../no-follow.js';
import { fileVersion, isMissing, keyPath, listFiles, openObject, placeFile, removeObject, renameIntoPlace, RESERVED_DIR, TempFile, type ListedFile } from '../object-paths.js';
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
 * its version and a sha256 computed when asked for, as the directory store computes it. As there, no
 * symbolic link under the root is followed, objects and records alike (no-follow.ts).
 */
export class S3ObjectFiles {
  constructor(readonly root: string) {}

  pathOf(key: string): string {
    return keyPath(this.root, key);
  }

  /** A new temp file on the root's file system. Its owner renames it into place or discards it. */
  stage(): Promise<TempFile> {
    return TempFile.create(this.root);
  }

  /**
   * Renames a written temp file into place as `key`, after recording `meta` for its version (rename
   * keeps inode and mtime), and releases it. A crash in between leaves a record no file matches:
   * harmless.
   */
  async commit(key: string, tmp: TempFile, meta: Omit<ObjectMeta, 'version'>): Promise<ObjectMeta> {
    this.pathOf(key);
    const full: ObjectMeta = { ...meta, version: await tmp.version() };
    await this.writeMeta(key, full);
    try {
      await renameIntoPlace(this.root, tmp.path, key);
    } catch (e) {
      await this.removeMeta(key, (name) => name === versionName(full.version));
      const code = (e as { code?: string }).code;
      if (code === 'EEXIST' || code === 'ENOTDIR' || code === 'EISDIR') {
        throw s3Errors.invalidArgument(`Key ${key} conflicts with another key on disk: the directory store cannot hold both "a" and "a/b".`, 'key', key);
      }
      throw e;
    }
    await tmp.release();
    await this.pruneMeta(key);
    return full;
  }

  /** Opens the object's current file, or undefined if there is none. Close `handle` when done. */
  async open(key: string): Promise<OpenedObject | undefined> {
    const handle = await openObject(this.root, key);
    if (!handle) return undefined;
    try {
      const st = await handle.stat({ bigint: true });
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
    this.pathOf(key);
    await this.removeMeta(key, () => true);
    await removeObject(this.root, key);
  }

  private async readMeta(key: string, version: string): Promise<ObjectMeta | undefined> {
    try {
      const meta = JSON.parse((await withDir(this.root, [...META_DIR, metaName(key)], false, (dir) => dir.readFile(versionName(version)))).toString('utf8')) as ObjectMeta;
      return meta.version === version ? meta : undefined;
    } catch (e) {
      if (isMissing(e)) return undefined;
      throw e;
    }
  }

  private async writeMeta(key: string, meta: ObjectMeta): Promise<void> {
    const tmp = await this.stage();
    try {
      await tmp.write(Buffer.from(JSON.stringify(meta)));
      await placeFile(this.root, [...META_DIR, metaName(key), versionName(meta.version)], tmp.path);
    } catch (e) {
      await tmp.discard();
      throw e;
    }
    await tmp.release();
  }

  /**
   * Drops the records of versions the key no longer has. Best effort: a version that became current
   * meanwhile (a concurrent write) may lose its record, and is then served as a file S3 did not write.
   */
  private async pruneMeta(key: string): Promise<void> {
    let current: string | undefined;
    const file = await openObject(this.root, key);
    if (file) {
      try {
        current = versionName(fileVersion(await file.stat({ bigint: true })));
      } finally {
        await file.close();
      }
    }
    await this.removeMeta(key, (name) => name !== current);
  }

  /** Removes the key's records whose file names `which` picks, and their directory once empty (best effort). */
  private async removeMeta(key: string, which: (name: string) => boolean): Promise<void> {
    try {
      await withDir(this.root, [...META_DIR, metaName(key)], false, async (dir) => {
        for (const entry of await dir.entries()) {
          if (which(entry.name)) await rm(dir.at(entry.name), { force: true });
        }
      });
      await withDir(this.root, META_DIR, false, (dir) => rmdir(dir.at(metaName(key)))).catch(() => undefined);
    } catch (e) {
      if (!isMissing(e)) throw e;
    }
  }
}

/** The records' directory under the root. */
const META_DIR = [RESERVED_DIR, 's3', 'meta'];

/** A key's directory of records, in META_DIR. */
function metaName(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

/** A version's record file, in its key's directory. */
function versionName(version: string): string {
  return `${createHash('sha256').update(version).digest('hex')}.json`;
}

/** The ETag of a file S3 did not write: stable for the file version, different for any other. */
function derivedEtag(version: string): string {
  return `"${createHash('md5').update(version).digest('hex')}"`;
}
