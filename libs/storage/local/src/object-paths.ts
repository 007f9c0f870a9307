import { randomUUID } from 'node:crypto';
import type { BigIntStats } from 'node:fs';
import { mkdir, readdir, realpath, rename, rmdir, stat } from 'node:fs/promises';
import { dirname, join, sep } from 'node:path';
import { compareObjectKeys, InvalidObjectKeyError, objectKeyProblem, type ObjectSummary } from '@nightshift/storage-domain';

/*
 * The on-disk layout shared by DirectoryObjectStore and the S3 endpoint over the same root: key
 * `a/b.csv` is file `<root>/a/b.csv`; the stores' own files (temp files before their rename, the S3
 * endpoint's metadata and multipart parts) live under one hidden top-level directory that no key may
 * name and no listing shows. Temp files stay on the root's file system so that rename is atomic.
 */

/** Top-level directory of the root holding the stores' own files; a key may not start with it. */
export const RESERVED_DIR = '.nightshift';

/** The port's key rule plus the local layout's one reservation. */
export function localKeyProblem(key: string): string | undefined {
  const problem = objectKeyProblem(key);
  if (problem) return problem;
  if (key.split('/', 1)[0] === RESERVED_DIR) return `"${RESERVED_DIR}/" is reserved for the store's own files`;
  return undefined;
}

/** The file that holds `key` under `root`; InvalidObjectKeyError for a key the rules refuse. */
export function keyPath(root: string, key: string): string {
  const problem = localKeyProblem(key);
  if (problem) throw new InvalidObjectKeyError(key, problem);
  return join(root, ...key.split('/'));
}

/**
 * The file that holds `key` under `root`, once checked not to lead out of the root: the real path
 * of the file, or of its deepest existing directory for a key not written yet, must be inside the
 * root's real path. A symbolic link inside the root to a place inside it is followed; one to outside
 * (or a link loop) refuses the key with InvalidObjectKeyError, whose reason names no target. The
 * check and the later open are two steps: it guards against links planted in the store, not against
 * a writer racing to swap a directory for a link in between.
 */
export async function containedKeyPath(root: string, key: string): Promise<string> {
  const path = keyPath(root, key);
  let realRoot: string;
  try {
    realRoot = await realpath(root);
  } catch (e) {
    // No root yet: nothing under it to follow.
    if (isMissing(e)) return path;
    throw e;
  }
  for (let probe = path; ; probe = dirname(probe)) {
    let real: string;
    try {
      real = await realpath(probe);
    } catch (e) {
      if ((e as { code?: string }).code === 'ELOOP') throw new InvalidObjectKeyError(key, 'is a symbolic link loop');
      if (isMissing(e) && probe !== root && dirname(probe) !== probe) continue;
      throw e;
    }
    if (real !== realRoot && !real.startsWith(realRoot + sep)) throw new InvalidObjectKeyError(key, "leads out of the store's root through a symbolic link");
    return path;
  }
}

/** A fresh temp file path under the root, for a write that ends in a rename into place. */
export function tempPath(root: string): string {
  return join(root, RESERVED_DIR, 'tmp', randomUUID());
}

/**
 * Renames a written temp file to `path`, creating the directories on the way. Retried a few times
 * when a concurrent delete pruned one of them between the mkdir and the rename.
 */
export async function renameIntoPlace(tmp: string, path: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    await mkdir(dirname(path), { recursive: true });
    try {
      await rename(tmp, path);
      return;
    } catch (e) {
      if (attempt >= 5 || (e as { code?: string }).code !== 'ENOENT') throw e;
    }
  }
}

/**
 * Removes the directories a deleted object leaves empty, up to the root: S3 has no directories, and
 * an empty one left at `a/` would refuse a later object `a`. Best effort by design: it stops at the
 * first directory that is not empty (or is being filled again, or cannot be removed).
 */
export async function pruneEmptyDirs(root: string, path: string): Promise<void> {
  for (let dir = dirname(path); dir.startsWith(root + sep); dir = dirname(dir)) {
    try {
      await rmdir(dir);
    } catch {
      return;
    }
  }
}

/** A file of the listing: its key, size, modification time and version (see `fileVersion`). */
export interface ListedFile extends ObjectSummary {
  mtime: Date;
  version: string;
}

/**
 * Which file this is: inode, size and modification time to the nanosecond. Every write renames a
 * new file into place, so a rewrite by any writer, this process or another, changes it; metadata
 * recorded for one version is not taken for another's.
 */
export function fileVersion(st: BigIntStats): string {
  return `${st.ino}:${st.size}:${st.mtimeNs}`;
}

/**
 * Every object file whose key starts with `prefix`, in key order. Walks only the directory the
 * prefix's complete segments name, so listing `runs/r1/` does not visit the rest of the store.
 */
export async function listFiles(root: string, prefix: string): Promise<ListedFile[]> {
  const cut = prefix.lastIndexOf('/');
  const dirKey = cut >= 0 ? prefix.slice(0, cut) : '';
  // A prefix whose directory part is not a valid key names no object.
  if (dirKey !== '' && localKeyProblem(dirKey)) return [];
  const out: ListedFile[] = [];
  const walk = async (dir: string, keyPrefix: string): Promise<void> => {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (e) {
      if (isMissing(e)) return;
      throw e;
    }
    for (const entry of entries) {
      if (keyPrefix === '' && entry.name === RESERVED_DIR) continue;
      const key = keyPrefix + entry.name;
      if (entry.isDirectory()) {
        const sub = `${key}/`;
        // Only descend where keys with the prefix can be.
        if (sub.startsWith(prefix) || prefix.startsWith(sub)) await walk(join(dir, entry.name), sub);
      } else if (entry.isFile() && key.startsWith(prefix)) {
        try {
          const st = await stat(join(dir, entry.name), { bigint: true });
          out.push({ key, size: Number(st.size), mtime: st.mtime, version: fileVersion(st) });
        } catch (e) {
          // Deleted between readdir and stat: not in the listing.
          if (!isMissing(e)) throw e;
        }
      }
    }
  };
  await walk(dirKey === '' ? root : join(root, ...dirKey.split('/')), dirKey === '' ? '' : `${dirKey}/`);
  return out.sort((a, b) => compareObjectKeys(a.key, b.key));
}

/** ENOENT, or ENOTDIR (a path through what is a file): nothing is there. */
export function isMissing(e: unknown): boolean {
  const code = typeof e === 'object' && e !== null ? (e as { code?: string }).code : undefined;
  return code === 'ENOENT' || code === 'ENOTDIR';
}
