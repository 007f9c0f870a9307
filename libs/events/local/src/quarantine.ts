import { mkdir, readFile, readdir, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { fsyncDir, writeFileAtomically } from './durable-files.js';

/** A message file the bus could not load, moved out of its queue so that the bus could start. */
export interface QuarantinedFile {
  /** The directory it was moved from: a queue name, or `<queue>-dlq`. */
  queue: string;
  /** Where it is now: `<bus dir>/quarantine/<queue>/<file>`. */
  path: string;
  /** Why it could not be loaded (written next to it as `<file>.reason`). */
  reason: string;
}

const REASON_SUFFIX = '.reason';

/**
 * The quarantine of one bus directory: `<bus dir>/quarantine/<queue>/`, one directory per queue or
 * DLQ, holding each unloadable message file as it was and a `<file>.reason` beside it. The bus never
 * reads it back; an operator inspects, repairs (and moves back) or deletes what is there.
 */
export class Quarantine {
  readonly dir: string;

  constructor(
    busDir: string,
    private readonly tmpDir: string,
  ) {
    this.dir = join(busDir, 'quarantine');
  }

  /**
   * Moves `<fromDir>/<file>` into the quarantine of `queue`. The reason is written first: a crash in
   * between leaves the file where it was (quarantined again at the next start), never a file
   * without its reason.
   */
  async move(queue: string, fromDir: string, file: string, reason: string): Promise<QuarantinedFile> {
    const dir = join(this.dir, queue);
    await mkdir(dir, { recursive: true });
    await writeFileAtomically(this.tmpDir, join(dir, file + REASON_SUFFIX), reason + '\n');
    await rename(join(fromDir, file), join(dir, file));
    await fsyncDir(dir);
    await fsyncDir(fromDir);
    return { queue, path: join(dir, file), reason };
  }

  /** Everything in the quarantine now (also what earlier starts put there), by queue then file name. */
  async list(): Promise<QuarantinedFile[]> {
    const out: QuarantinedFile[] = [];
    for (const queue of (await readdirIfPresent(this.dir)).sort()) {
      const dir = join(this.dir, queue);
      for (const file of (await readdirIfPresent(dir)).filter((f) => !f.endsWith(REASON_SUFFIX)).sort()) {
        const reason = await readFile(join(dir, file + REASON_SUFFIX), 'utf8').then(
          (text) => text.trim(),
          () => '(no reason recorded)',
        );
        out.push({ queue, path: join(dir, file), reason });
      }
    }
    return out;
  }
}

async function readdirIfPresent(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ENOTDIR') return [];
    throw e;
  }
}
