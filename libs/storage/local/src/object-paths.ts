import { randomUUID } from 'node:crypto';
import { constants, type BigIntStats, type WriteStream } from 'node:fs';
import { lstat, realpath, rename, unlink, type FileHandle } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import { compareObjectKeys, InvalidObjectKeyError, objectKeyProblem, type ObjectSummary } from '@nightshift/storage-domain';
import { isLinkError, OpenDir, pruneEmptyDirs, withDir } from './no-follow.js';

/*
 * The on-disk layout shared by DirectoryObjectStore and the S3 endpoint over the same root: key
 * `a/b.csv` is file `<root>/a/b.csv`; the stores' own files (temp files before their rename, the S3
 * endpoint's metadata and multipart parts) live under one hidden top-level directory that no key may
 * name and no listing shows. Temp files stay on the root's file system so that rename is atomic.
 * Nothing under the root is reached through a symbolic link: every file and directory is opened,
 * renamed into place or removed without following one, at the moment it is used (no-follow.ts), so a
 * link planted in the store, or swapped in while a request runs, refuses the key.
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

/** The path components of `key` under the root; InvalidObjectKeyError for a key the rules refuse. */
export function keyNames(key: string): string[] {
  const problem = localKeyProblem(key);
  if (problem) throw new InvalidObjectKeyError(key, problem);
  return key.split('/');
}

/**
 * Opens the object's file for reading, following no symbolic link on the way nor at the file
 * (no-follow.ts): undefined when there is no regular file at the key (missing, a directory, a FIFO
 * or device, a path through a file). A link anywhere under the root refuses the key with
 * InvalidObjectKeyError, whatever the link points at: a key is a file, not a link to one. Close the
 * handle when done: it pins this version of the file even if the key is rewritten meanwhile.
 */
export async function openObject(root: string, key: string): Promise<FileHandle | undefined> {
  const names = keyNames(key);
  let file: FileHandle | undefined;
  try {
    // O_NONBLOCK: opening a FIFO planted at a key must not wait for a writer; it is refused below.
    file = await withDir(root, names.slice(0, -1), false, (dir) => dir.openFile(names.at(-1)!, constants.O_RDONLY | constants.O_NONBLOCK));
    if ((await file.stat()).isFile()) return file;
    await file.close();
    return undefined;
  } catch (e) {
    await file?.close();
    if (isMissing(e)) return undefined;
    throw await refusal(root, key, e);
  }
}

/**
 * A file being written under the root's reserved directory, before its rename into place: on the
 * root's file system (the rename is atomic), created exclusively and without following a link.
 * Its descriptors stay open until `release` or `discard`.
 */
export class TempFile {
  private closed = false;

  private constructor(
    private readonly dir: OpenDir,
    private readonly name: string,
    private readonly handle: FileHandle,
  ) {}

  static async create(root: string): Promise<TempFile> {
    const dir = await OpenDir.open(root, [RESERVED_DIR, 'tmp'], true);
    const name = randomUUID();
    try {
      return new TempFile(dir, name, await dir.openFile(name, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o666));
    } catch (e) {
      await dir.close();
      throw e;
    }
  }

  /** Its path, through its directory's descriptor: valid until `release` or `discard`. */
  get path(): string {
    if (this.closed) throw new Error('the temp file was released');
    return this.dir.at(this.name);
  }

  /** Writes `bytes` as the whole content, fsync'ed. */
  async write(bytes: Uint8Array): Promise<void> {
    await this.handle.writeFile(bytes);
    await this.handle.sync();
  }

  /** A stream writing the content; it fsyncs and closes the file when it finishes. */
  stream(): WriteStream {
    return this.handle.createWriteStream({ flush: true });
  }

  /** Its file's identity now (see `fileVersion`). */
  async version(): Promise<string> {
    return fileVersion(await lstat(this.path, { bigint: true }));
  }

  /** Closes its descriptors, once it was renamed into place. */
  async release(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.handle.close();
    await this.dir.close();
  }

  /** Removes the file, if it is still there, and closes its descriptors; nothing once released. */
  async discard(): Promise<void> {
    if (this.closed) return;
    try {
      await this.handle.close();
      await unlink(this.path);
    } catch (e) {
      if (!isMissing(e)) throw e;
    } finally {
      await this.release();
    }
  }
}

/**
 * Renames the file at `from` (a TempFile's path) into place as `key`, creating the directories on
 * the way, none of them through a link. Retried a few times when a concurrent delete pruned one of
 * them meanwhile. A key whose file is a link is refused (InvalidObjectKeyError) rather than replaced.
 */
export async function renameIntoPlace(root: string, from: string, key: string): Promise<void> {
  const names = keyNames(key);
  try {
    await placeFile(root, names, from, async (dir, name) => {
      if (await dir.isLink(name)) throw linkError();
    });
  } catch (e) {
    throw await refusal(root, key, e);
  }
}

/**
 * Renames `from` to the file `names` under `root` (directories created, no link followed): the
 * reserved directory's records go through here too. Retries when a directory on the way was removed
 * between its creation and the rename.
 */
export async function placeFile(root: string, names: readonly string[], from: string, check?: (dir: OpenDir, name: string) => Promise<void>): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await withDir(root, names.slice(0, -1), true, async (dir) => {
        await check?.(dir, names.at(-1)!);
        await rename(from, dir.at(names.at(-1)!));
      });
      return;
    } catch (e) {
      if (attempt >= 5 || (e as { code?: string }).code !== 'ENOENT') throw e;
    }
  }
}

/**
 * Removes the object's file (not following a link: a key whose file is a link is refused with
 * InvalidObjectKeyError) and the directories it leaves empty. A missing object, or a directory at
 * the key (it holds other keys: there is no object `a` under which `a/b` lives), is not an error.
 */
export async function removeObject(root: string, key: string): Promise<void> {
  const names = keyNames(key);
  try {
    const removed = await withDir(root, names.slice(0, -1), false, async (dir) => {
      const name = names.at(-1)!;
      if (await dir.isLink(name)) throw linkError();
      try {
        await unlink(dir.at(name));
        return true;
      } catch (e) {
        if (isMissing(e) || (e as { code?: string }).code === 'EISDIR') return false;
        throw e;
      }
    });
    if (removed) await pruneEmptyDirs(root, names.slice(0, -1));
  } catch (e) {
    if (isMissing(e)) return;
    throw await refusal(root, key, e);
  }
}

/** `e`, or, for a link met under the root, InvalidObjectKeyError saying what kind of link refused the key. */
async function refusal(root: string, key: string, e: unknown): Promise<unknown> {
  return isLinkError(e) ? new InvalidObjectKeyError(key, await linkReason(root, key)) : e;
}

/**
 * Why a link refuses the key, for the message only (the refusal itself was made at open time): a
 * loop, a link leading out of the root, or one inside it. Names no target.
 */
async function linkReason(root: string, key: string): Promise<string> {
  try {
    const top = resolve(root);
    const realRoot = await realpath(top);
    for (let probe = resolve(keyPath(root, key)); probe.startsWith(top + sep); probe = dirname(probe)) {
      let real: string;
      try {
        real = await realpath(probe);
      } catch (e) {
        if ((e as { code?: string }).code === 'ELOOP') return 'is a symbolic link loop';
        if (isMissing(e)) continue;
        throw e;
      }
      if (real !== realRoot && !real.startsWith(realRoot + sep)) return "leads out of the store's root through a symbolic link";
      break;
    }
  } catch {
    // The link changed again, or the root went: the general reason.
  }
  return 'is reached through a symbolic link, which the store does not follow';
}

function linkError(): Error {
  return Object.assign(new Error('ELOOP: symbolic link not followed'), { code: 'ELOOP' });
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
 * prefix's complete segments name, so listing `runs/r1/` does not visit the rest of the store. A
 * symbolic link is neither listed nor descended into, and directories are opened without following
 * one (no-follow.ts): a link swapped in during the walk is skipped, never followed.
 */
export async function listFiles(root: string, prefix: string): Promise<ListedFile[]> {
  const cut = prefix.lastIndexOf('/');
  const dirKey = cut >= 0 ? prefix.slice(0, cut) : '';
  // A prefix whose directory part is not a valid key names no object.
  if (dirKey !== '' && localKeyProblem(dirKey)) return [];
  const out: ListedFile[] = [];
  const walk = async (dir: OpenDir, keyPrefix: string): Promise<void> => {
    for (const entry of await dir.entries()) {
      if (keyPrefix === '' && entry.name === RESERVED_DIR) continue;
      const key = keyPrefix + entry.name;
      if (entry.isDirectory()) {
        const sub = `${key}/`;
        // Only descend where keys with the prefix can be.
        if (!sub.startsWith(prefix) && !prefix.startsWith(sub)) continue;
        let child: OpenDir;
        try {
          child = await dir.child(entry.name, false);
        } catch (e) {
          // Removed, or swapped for a link or a file, since the readdir: not in the listing.
          if (isMissing(e) || isLinkError(e)) continue;
          throw e;
        }
        try {
          await walk(child, sub);
        } finally {
          await child.close();
        }
      } else if (entry.isFile() && key.startsWith(prefix)) {
        try {
          const st = await lstat(dir.at(entry.name), { bigint: true });
          if (st.isFile()) out.push({ key, size: Number(st.size), mtime: st.mtime, version: fileVersion(st) });
        } catch (e) {
          // Deleted between readdir and lstat: not in the listing.
          if (!isMissing(e)) throw e;
        }
      }
    }
  };
  try {
    await withDir(root, dirKey === '' ? [] : dirKey.split('/'), false, (dir) => walk(dir, dirKey === '' ? '' : `${dirKey}/`));
  } catch (e) {
    // No such directory (or a link where one would be): no keys under it.
    if (!isMissing(e) && !isLinkError(e)) throw e;
  }
  return out.sort((a, b) => compareObjectKeys(a.key, b.key));
}

/** ENOENT, or ENOTDIR (a path through what is a file): nothing is there. */
export function isMissing(e: unknown): boolean {
  const code = typeof e === 'object' && e !== null ? (e as { code?: string }).code : undefined;
  return code === 'ENOENT' || code === 'ENOTDIR';
}
