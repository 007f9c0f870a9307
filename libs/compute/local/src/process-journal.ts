import { closeSync, ftruncateSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
import { readFile, truncate } from 'node:fs/promises';
import { join } from 'node:path';

/** The journal's file name under `stateDir`. */
export const JOURNAL_FILE = 'compute-local-children.jsonl';

interface SpawnLine {
  event: 'spawn';
  pid: number;
  pgid: number;
  /** /proc/<pid>/stat field 22: clock ticks after boot. Tells this process from a later one given the same pid. */
  startTime?: string;
  jobId: string;
}

interface ExitLine {
  event: 'exit';
  pid: number;
  startTime?: string;
}

/**
 * The record of which child processes this host started and which have exited, so that children
 * left running by a host that died (kill -9, power loss of the host process) can be found and
 * stopped by the next one (`reapOrphans`). Each child leads its own process group, so nothing else
 * stops them.
 *
 * One JSON line per spawn and per exit, appended with a plain write: no fsync, because a host killed
 * by SIGKILL does not lose what is in the page cache, and a machine that lost power has no children
 * left. A child spawned in the instant before the host dies, before its line is written, is not
 * recorded: the window is one synchronous write.
 */
export class ProcessJournal {
  private readonly fd: number;
  private live = 0;
  private linesSinceTruncate = 0;
  private failed = false;

  constructor(stateDir: string) {
    mkdirSync(stateDir, { recursive: true });
    this.fd = openSync(join(stateDir, JOURNAL_FILE), 'a');
  }

  /** Records a child that was just spawned; returns its start time, to be given back to `exited`. */
  spawned(pid: number, jobId: string): string | undefined {
    const stat = readStat(pid);
    const line: SpawnLine = { event: 'spawn', pid, pgid: stat?.pgid ?? pid, ...(stat && { startTime: stat.startTime }), jobId };
    this.live += 1;
    this.append(line);
    return stat?.startTime;
  }

  exited(pid: number, startTime: string | undefined): void {
    const line: ExitLine = { event: 'exit', pid, ...(startTime !== undefined && { startTime }) };
    this.live -= 1;
    this.append(line);
    // With nothing running, every line written is settled: start again so the file stays small.
    if (this.live === 0 && this.linesSinceTruncate >= 10_000) {
      try {
        ftruncateSync(this.fd);
        this.linesSinceTruncate = 0;
      } catch {
        // A journal that keeps growing is harmless; reapOrphans reads it whole.
      }
    }
  }

  close(): void {
    closeSync(this.fd);
  }

  /** Best effort: the journal is a safety net, so a full disk must not stop jobs from starting. */
  private append(line: SpawnLine | ExitLine): void {
    try {
      writeSync(this.fd, `${JSON.stringify(line)}\n`);
      this.linesSinceTruncate += 1;
    } catch (error) {
      if (!this.failed) process.stderr.write(`compute-local: cannot write the process journal; orphans of this host may not be reaped: ${String(error)}\n`);
      this.failed = true;
    }
  }
}

/**
 * Stops the children a previous host left running: for every child its journal in `stateDir`
 * records as started and not exited, whose process still has the recorded start time (so a pid
 * the system has since given to another process is never touched), SIGKILL to its process group.
 * Then empties the journal. Returns how many process groups it signalled.
 *
 * Call it before creating the environment that uses the same `stateDir`. Linux only (it reads
 * /proc); elsewhere no start time is recorded and nothing is killed. A group whose leader has
 * exited but whose other members live on is not reaped: without its leader there is no start time
 * to check the group id against.
 */
export async function reapOrphans(stateDir: string): Promise<number> {
  const file = join(stateDir, JOURNAL_FILE);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw error;
  }
  const open = new Map<string, SpawnLine>();
  for (const raw of text.split('\n')) {
    const line = parseLine(raw);
    if (!line) continue;
    const key = `${line.pid}/${line.startTime ?? ''}`;
    if (line.event === 'spawn') open.set(key, line);
    else open.delete(key);
  }
  let killed = 0;
  for (const child of open.values()) {
    if (child.startTime === undefined || readStat(child.pid)?.startTime !== child.startTime) continue;
    try {
      process.kill(-child.pgid, 'SIGKILL');
      killed += 1;
    } catch (error) {
      // ESRCH: it exited meanwhile. EPERM: not ours to stop.
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'ESRCH' && code !== 'EPERM') throw error;
    }
  }
  await truncate(file, 0);
  return killed;
}

/** A torn last line (the host died mid-write) or a foreign line is skipped. */
function parseLine(raw: string): SpawnLine | ExitLine | undefined {
  if (raw.trim() === '') return undefined;
  try {
    const line = JSON.parse(raw) as Record<string, unknown>;
    if (!Number.isInteger(line.pid) || (line.event !== 'spawn' && line.event !== 'exit')) return undefined;
    if (line.event === 'spawn' && !Number.isInteger(line.pgid)) return undefined;
    if (line.startTime !== undefined && typeof line.startTime !== 'string') return undefined;
    return line as unknown as SpawnLine | ExitLine;
  } catch {
    return undefined;
  }
}

/** Fields 5 (process group) and 22 (start time) of /proc/<pid>/stat; undefined when there is no such process or no /proc. */
function readStat(pid: number): { pgid: number; startTime: string } | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // Field 2, the command, is in parentheses and may itself contain spaces and parentheses.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state); a zombie has already exited.
  if (fields[0] === 'Z') return undefined;
  const pgid = Number(fields[5 - 3]);
  const startTime = fields[22 - 3];
  return Number.isInteger(pgid) && startTime !== undefined ? { pgid, startTime } : undefined;
}
