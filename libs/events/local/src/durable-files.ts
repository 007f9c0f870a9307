import { randomUUID } from 'node:crypto';
import { open, readFile, readdir, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { BusDirectoryLockedError } from './errors.js';

/**
 * Writes `data` to `target` so that, whatever happens to the process, `target` is either absent,
 * its old content, or the complete new content: write a temp file (named after this process, so a
 * later start can tell leftovers from live writes), fsync it, rename it over the target. The
 * rename itself becomes durable with the directory's fsync, which callers batch (`DirSync`).
 */
export async function writeFileAtomically(tmpDir: string, target: string, data: string): Promise<void> {
  const tmp = join(tmpDir, `${process.pid}-${randomUUID()}.tmp`);
  const fh = await open(tmp, 'wx');
  try {
    try {
      await fh.writeFile(data, 'utf8');
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, target);
  } catch (e) {
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
}

/** Makes a directory's entries (creations, renames, unlinks) durable. */
export async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/**
 * Group commit for one directory's fsync: every caller gets a sync that started after its call,
 * and callers that arrive while a sync runs share the next one, so a burst of N renames costs two
 * directory fsyncs instead of N.
 */
export class DirSync {
  private running: Promise<void> | undefined;
  private queued: Promise<void> | undefined;

  constructor(readonly dir: string) {}

  sync(): Promise<void> {
    if (this.queued) return this.queued;
    if (!this.running) return this.start();
    const queued: Promise<void> = this.running.then(
      () => this.startQueued(queued),
      () => this.startQueued(queued),
    );
    this.queued = queued;
    return queued;
  }

  private startQueued(self: Promise<void> | undefined): Promise<void> {
    if (this.queued === self) this.queued = undefined;
    return this.start();
  }

  private start(): Promise<void> {
    const p: Promise<void> = fsyncDir(this.dir).finally(() => {
      if (this.running === p) this.running = undefined;
    });
    this.running = p;
    return p;
  }
}

/** True if a process with this pid exists (EPERM means it exists but belongs to someone else). */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Directories held by open buses of this process, so a second instance cannot share one. */
const heldByThisProcess = new Set<string>();

/**
 * Takes `<dir>/LOCK` for this process. A lock left by a process that no longer exists (kill -9)
 * is taken over; a live owner means the directory is in use and this throws.
 */
export async function acquireDirLock(dir: string, tmpDir: string): Promise<void> {
  if (heldByThisProcess.has(dir)) throw new BusDirectoryLockedError(dir, process.pid);
  const lockPath = join(dir, 'LOCK');
  try {
    const fh = await open(lockPath, 'wx');
    try {
      await fh.writeFile(String(process.pid));
      await fh.sync();
    } finally {
      await fh.close();
    }
    heldByThisProcess.add(dir);
    return;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  }
  const owner = Number.parseInt((await readFile(lockPath, 'utf8').catch(() => '')).trim(), 10);
  if (Number.isInteger(owner) && owner !== process.pid && isProcessAlive(owner)) {
    throw new BusDirectoryLockedError(dir, owner);
  }
  // The owner is gone (killed, or an earlier life of this pid): take the lock over with one
  // atomic rename, so a reader never sees an empty LOCK.
  await writeFileAtomically(tmpDir, lockPath, String(process.pid));
  heldByThisProcess.add(dir);
}

/** Gives the lock up (on close). */
export async function releaseDirLock(dir: string): Promise<void> {
  heldByThisProcess.delete(dir);
  await unlink(join(dir, 'LOCK')).catch((e: NodeJS.ErrnoException) => {
    if (e.code !== 'ENOENT') throw e;
  });
}

/** Deletes temp files of writes that a dead process (or an earlier life of this pid) left behind. */
export async function removeStaleTempFiles(tmpDir: string): Promise<void> {
  for (const name of await readdir(tmpDir)) {
    const pid = Number.parseInt(name.split('-')[0] ?? '', 10);
    if (!Number.isInteger(pid) || pid === process.pid || !isProcessAlive(pid)) {
      await unlink(join(tmpDir, name)).catch(() => undefined);
    }
  }
}
