import { constants, existsSync, type Dirent } from 'node:fs';
import { lstat, mkdir, open, readdir, rmdir, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';

/*
 * Opening files under the store's root without following a symbolic link at open time. Checking a
 * path ("is it inside the root?") and then opening it by name leaves a window in which a directory
 * on the way, or the file itself, can be swapped for a link. Node has no openat(2), so directories
 * are opened one component at a time with O_NOFOLLOW, and the next name is resolved through the
 * open descriptor (`/proc/self/fd/<fd>/<name>`, Linux): the directory that was opened is the one
 * used, whatever its path names by then. The final component is opened with O_NOFOLLOW too, and
 * renamed, unlinked or created through its directory's descriptor. A link anywhere under the root
 * fails as open(2) fails on one with O_NOFOLLOW: an error whose `code` is ELOOP.
 *
 * Without /proc (not Linux) names resolve through the directory's path: every component is still
 * opened with O_NOFOLLOW, but a directory swapped for a link after its own open is not caught.
 */

const DIRECTORY = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW;
const VIA_PROC = existsSync('/proc/self/fd');

/** A directory under the root, open; names in it resolve through the open descriptor. Close it when done. */
export class OpenDir {
  private constructor(
    private readonly handle: FileHandle,
    /** Its path when opened (for messages and the no-/proc fallback). */
    readonly path: string,
  ) {}

  /**
   * Opens `root` (following links in the root's own path: it is configuration, not data), then
   * each of `names` below it without following any link; each created first when `create`.
   * @throws ENOENT/ENOTDIR when one is missing or a file; ELOOP when one is a symbolic link.
   */
  static async open(root: string, names: readonly string[], create: boolean): Promise<OpenDir> {
    if (create) await mkdir(root, { recursive: true });
    let dir = new OpenDir(await open(root, constants.O_RDONLY | constants.O_DIRECTORY), root);
    try {
      for (const name of names) {
        const next = await dir.child(name, create);
        await dir.close();
        dir = next;
      }
      return dir;
    } catch (e) {
      await dir.close();
      throw e;
    }
  }

  /** The path of `name` in this directory, resolved through the open descriptor. For fs calls that do not follow a final link (rename, unlink, rmdir, mkdir, lstat). */
  at(name: string): string {
    if (name === '' || name === '.' || name === '..' || name.includes('/') || name.includes('\0')) throw new RangeError(`not a single path component: ${JSON.stringify(name)}`);
    return `${this.self}/${name}`;
  }

  /** Opens the directory `name` in this one, not following a link (ELOOP); created first when `create`. Close it when done. */
  async child(name: string, create: boolean): Promise<OpenDir> {
    const path = this.at(name);
    if (create) {
      try {
        await mkdir(path);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
    }
    try {
      return new OpenDir(await open(path, DIRECTORY), join(this.path, name));
    } catch (e) {
      // O_DIRECTORY | O_NOFOLLOW answers ENOTDIR for a link as for a file: tell them apart.
      if ((e as NodeJS.ErrnoException).code === 'ENOTDIR' && (await this.isLink(name))) throw linkError(join(this.path, name));
      throw e;
    }
  }

  /** Opens `name` in this directory with O_NOFOLLOW added to `flags`: ELOOP when it is a symbolic link. */
  openFile(name: string, flags: number, mode?: number): Promise<FileHandle> {
    return open(this.at(name), flags | constants.O_NOFOLLOW, mode);
  }

  /** Reads the whole of `name`, not following a link. */
  async readFile(name: string): Promise<Buffer> {
    const handle = await this.openFile(name, constants.O_RDONLY);
    try {
      return await handle.readFile();
    } finally {
      await handle.close();
    }
  }

  /** The directory's entries (a link is an entry that is neither file nor directory). */
  entries(): Promise<Dirent[]> {
    return readdir(this.self, { withFileTypes: true });
  }

  /** Whether `name` is a symbolic link (false when it is missing). */
  async isLink(name: string): Promise<boolean> {
    try {
      return (await lstat(this.at(name))).isSymbolicLink();
    } catch {
      return false;
    }
  }

  close(): Promise<void> {
    return this.handle.close();
  }

  private get self(): string {
    return VIA_PROC ? `/proc/self/fd/${this.handle.fd}` : this.path;
  }
}

/** Runs `use` on the directory `names` under `root` (see {@link OpenDir.open}), closing it after. */
export async function withDir<T>(root: string, names: readonly string[], create: boolean, use: (dir: OpenDir) => Promise<T>): Promise<T> {
  const dir = await OpenDir.open(root, names, create);
  try {
    return await use(dir);
  } finally {
    await dir.close();
  }
}

/** A symbolic link was met where a file or directory was opened (open(2)'s answer with O_NOFOLLOW). */
export function isLinkError(e: unknown): boolean {
  return typeof e === 'object' && e !== null && (e as { code?: unknown }).code === 'ELOOP';
}

function linkError(path: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`ELOOP: symbolic link not followed, open '${path}'`), { code: 'ELOOP', syscall: 'open', path });
}

/**
 * Removes the directories `names` (a path under `root`) from the deepest up, while they are empty:
 * an object store has no directories, and an empty one left at `a/` would refuse a later object
 * `a`. Best effort: it stops at the first that is not empty (or is being filled again, or cannot be
 * removed, or is a link).
 */
export async function pruneEmptyDirs(root: string, names: readonly string[]): Promise<void> {
  for (let depth = names.length; depth > 0; depth--) {
    try {
      await withDir(root, names.slice(0, depth - 1), false, (parent) => rmdir(parent.at(names[depth - 1]!)));
    } catch {
      return;
    }
  }
}

/**
 * Removes the directory `names` under `root` and the files in it (its entries are unlinked: a link
 * among them is removed, not followed). A missing directory is not an error.
 */
export async function removeFileDir(root: string, names: readonly string[]): Promise<void> {
  const gone = (e: unknown) => ['ENOENT', 'ENOTDIR'].includes((e as { code?: string }).code ?? '');
  try {
    await withDir(root, names, false, async (dir) => {
      for (const entry of await dir.entries()) {
        try {
          await unlink(dir.at(entry.name));
        } catch (e) {
          if (!gone(e)) throw e;
        }
      }
    });
    await withDir(root, names.slice(0, -1), false, (parent) => rmdir(parent.at(names.at(-1)!)));
  } catch (e) {
    if (!gone(e)) throw e;
  }
}
