import { readFileSync, unlinkSync } from 'node:fs';
import { link, mkdir, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** The file in a home that says which process is using it. */
export const PID_FILE = 'nightshift.pid';

/** Another live process holds the home: main prints the message and exits 2. */
export class HomeInUseError extends Error {
  readonly retryable = false;
  constructor(
    readonly home: string,
    readonly pid: number,
    readonly file: string,
  ) {
    super(
      `${home} is in use by another nightshift (pid ${pid}, see ${file}): stop that one, or give this one another home ` +
        `with NIGHTSHIFT_HOME (if pid ${pid} is not nightshift, delete ${file})`,
    );
    this.name = 'HomeInUseError';
  }
}

/** A home this process holds; {@link release} gives it up (also done on exit). */
export interface HomeLock {
  readonly file: string;
  release(): Promise<void>;
}

/**
 * Takes `<home>/nightshift.pid` for this process before anything opens the home: two hosts on one
 * home would share the embedded DynamoDB (whose LevelDB lock refuses the second with a stack trace),
 * the bus and the compute state. The file is created whole or not at all (written aside, then
 * hard-linked into place, which fails if it exists), so a reader never sees it half written. A file
 * whose pid is not a live process (a host killed -9, a machine rebooted) is stale and taken over; so
 * is one holding this process's own pid, which can only be a previous life's in a container, where
 * the host gets the same pid at every start. Throws {@link HomeInUseError} when a live process holds it.
 */
export async function acquireHomeLock(home: string): Promise<HomeLock> {
  await mkdir(home, { recursive: true });
  const file = join(home, PID_FILE);
  const mine = join(home, `.${PID_FILE}.${process.pid}`);
  await writeFile(mine, `${process.pid}\n`);
  try {
    // A few rounds: each lost race with another starter re-reads what it left.
    for (let round = 0; round < 5; round++) {
      try {
        await link(mine, file);
        return held(file);
      } catch (e) {
        if (codeOf(e) !== 'EEXIST') throw e;
      }
      const holder = await readPid(file);
      if (holder !== undefined && holder !== process.pid && isAlive(holder)) throw new HomeInUseError(home, holder, file);
      await takeOverStale(file, home);
    }
    throw new Error(`could not take ${file}: other processes kept replacing it`);
  } finally {
    await unlink(mine).catch(() => undefined);
  }
}

/**
 * Removes a stale pid file. Renamed aside first (atomic: of two starters taking over the same stale
 * file, one gets it), then checked again: if what was renamed turns out to be a live holder's new file,
 * it is put back and the home is reported in use.
 */
async function takeOverStale(file: string, home: string): Promise<void> {
  const aside = `${file}.stale.${process.pid}`;
  try {
    await rename(file, aside);
  } catch (e) {
    if (codeOf(e) === 'ENOENT') return; // another starter removed it first: try again
    throw e;
  }
  const pid = await readPid(aside);
  if (pid !== undefined && pid !== process.pid && isAlive(pid)) {
    await link(aside, file).catch(() => undefined);
    await unlink(aside).catch(() => undefined);
    throw new HomeInUseError(home, pid, file);
  }
  await unlink(aside);
}

function held(file: string): HomeLock {
  // A host that exits without its shutdown (an uncaught error) frees its home all the same; one killed -9 leaves a stale file.
  const onExit = () => {
    if (readPidSync(file) === process.pid) unlinkSync(file);
  };
  process.once('exit', onExit);
  return {
    file,
    async release() {
      process.off('exit', onExit);
      if ((await readPid(file)) === process.pid) await unlink(file);
    },
  };
}

async function readPid(file: string): Promise<number | undefined> {
  try {
    return parsePid(await readFile(file, 'utf8'));
  } catch (e) {
    if (codeOf(e) === 'ENOENT') return undefined;
    throw e;
  }
}

function readPidSync(file: string): number | undefined {
  try {
    return parsePid(readFileSync(file, 'utf8'));
  } catch {
    return undefined;
  }
}

function parsePid(text: string): number | undefined {
  const pid = Number(text.trim());
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

/** Signal 0 checks that the process exists; EPERM means it does, under another user. */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return codeOf(e) === 'EPERM';
  }
}

function codeOf(e: unknown): string | undefined {
  return typeof e === 'object' && e !== null && 'code' in e ? String((e as { code: unknown }).code) : undefined;
}
