import { open, readFile, type FileHandle } from 'node:fs/promises';
import { z } from 'zod';
import { writeFileAtomically, type DirSync } from './durable-files.js';
import { BusClosedError } from './errors.js';

/** A message's delivery state, as a receive or a release leaves it. */
export interface Receipt {
  messageId: string;
  receiveCount: number;
  /** Epoch ms before which the message is not delivered (0: visible). */
  visibleAt: number;
  lastError?: string;
}

/** One line of the log: short keys, since a line is written per delivery. */
const lineSchema = z.object({
  m: z.string().min(1),
  c: z.number().int().nonnegative(),
  v: z.number(),
  e: z.string().optional(),
});

function lineOf(r: Receipt): string {
  const line = { m: r.messageId, c: r.receiveCount, v: r.visibleAt, ...(r.lastError !== undefined ? { e: r.lastError } : {}) };
  return JSON.stringify(line) + '\n';
}

/**
 * Reads a receipt log: the latest line per message, in file order. A line that is not complete
 * JSON is skipped: only the tail written after the last fsync can be torn (a crash mid-append, or
 * zeros where the file grew but its data never reached the disk), and no delivery depended on it.
 * A missing file is an empty log.
 */
export async function readReceipts(path: string): Promise<Map<string, Receipt>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return new Map();
    throw e;
  }
  const latest = new Map<string, Receipt>();
  // The text after the last newline is an append the crash cut short.
  for (const line of text.split('\n').slice(0, -1)) {
    let parsed: z.infer<typeof lineSchema>;
    try {
      parsed = lineSchema.parse(JSON.parse(line));
    } catch {
      continue;
    }
    latest.set(parsed.m, {
      messageId: parsed.m,
      receiveCount: parsed.c,
      visibleAt: parsed.v,
      ...(parsed.e !== undefined ? { lastError: parsed.e } : {}),
    });
  }
  return latest;
}

/** Options of {@link ReceiptLog.open}. */
export interface ReceiptLogOptions {
  /** The log file (`<bus dir>/receipts/<queue>.log`). */
  path: string;
  /** Where the compacted log is written before it is renamed over `path`. */
  tmpDir: string;
  /** Group-committed fsync of the directory holding `path`. */
  dirSync: DirSync;
  /** The current state of every message whose delivery state lives in the log: what a compaction writes. */
  snapshot: () => Iterable<Receipt>;
  /** Compact once the log holds this many bytes (and at least 4x its last compacted size). */
  compactAtBytes: number;
}

interface Waiter {
  resolve: () => void;
  reject: (e: unknown) => void;
}

/**
 * A queue's append-only log of delivery state (receive count, visibility, last error), so that a
 * delivery costs one appended line instead of rewriting its message file. One file handle stays
 * open; appends are group-committed: an append resolves after an fdatasync that started after it,
 * and the appends that arrive while one runs share the next one. The latest line of a message wins
 * over its message file (which keeps the state it was enqueued with).
 *
 * The log is compacted when it is opened and when it outgrows `compactAtBytes`: the snapshot (one
 * line per message that has delivery state) is written to a temp file, fsync'ed and renamed over
 * the log, then the directory is fsync'ed. A crash at any point leaves either the old log or the new
 * one, both complete. Appends made meanwhile wait for it; the snapshot already holds their state.
 */
export class ReceiptLog {
  private pending: string[] = [];
  private waiters: Waiter[] = [];
  private flushing: Promise<void> | undefined;
  private bytes = 0;
  private compactedBytes = 0;
  /** A write or sync failed, so the file may end in a partial line: compact before appending again. */
  private broken = false;
  private closed = false;

  private constructor(
    private readonly options: ReceiptLogOptions,
    private fh: FileHandle,
    size: number,
  ) {
    this.bytes = this.compactedBytes = size;
  }

  /**
   * Compacts the log at `options.path` (creating it if missing; a torn tail is dropped) and opens it
   * for appending. Call it once the state read by {@link readReceipts} is applied, so the snapshot
   * holds it.
   */
  static async open(options: ReceiptLogOptions): Promise<ReceiptLog> {
    const size = await writeSnapshot(options);
    return new ReceiptLog(options, await open(options.path, 'a'), size);
  }

  /** Appends the receipts; resolves once they are durable. */
  append(receipts: readonly Receipt[]): Promise<void> {
    if (this.closed) return Promise.reject(new BusClosedError());
    for (const r of receipts) this.pending.push(lineOf(r));
    return new Promise<void>((resolve, reject) => {
      this.waiters.push({ resolve, reject });
      this.flushing ??= this.flush();
    });
  }

  /** Waits for appends under way and closes the file. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.flushing;
    await this.fh.close();
  }

  private async flush(): Promise<void> {
    try {
      while (this.waiters.length > 0) {
        const lines = this.pending.join('');
        const waiters = this.waiters;
        this.pending = [];
        this.waiters = [];
        try {
          if (this.broken || this.bytes >= Math.max(this.options.compactAtBytes, 4 * this.compactedBytes)) {
            // The snapshot is taken now, after these lines' state was set in memory: it holds them.
            await this.compact();
          } else {
            await this.write(Buffer.from(lines, 'utf8'));
            await this.fh.datasync();
          }
        } catch (e) {
          this.broken = true;
          for (const w of waiters) w.reject(e);
          continue;
        }
        for (const w of waiters) w.resolve();
      }
    } finally {
      this.flushing = undefined;
    }
  }

  /** Appends all of `data` (a write may be short, as when the disk fills up). */
  private async write(data: Buffer): Promise<void> {
    for (let offset = 0; offset < data.length; ) {
      const { bytesWritten } = await this.fh.write(data, offset);
      offset += bytesWritten;
      this.bytes += bytesWritten;
    }
  }

  private async compact(): Promise<void> {
    const size = await writeSnapshot(this.options);
    // The old handle points at the replaced file, which nothing reads any more: a failure to close it changes nothing.
    const fh = await open(this.options.path, 'a');
    await this.fh.close().catch(() => undefined);
    this.fh = fh;
    this.bytes = this.compactedBytes = size;
    this.broken = false;
  }
}

/** Replaces the log with one line per message of the snapshot, crash-atomically; returns its size. */
async function writeSnapshot(options: ReceiptLogOptions): Promise<number> {
  let text = '';
  for (const r of options.snapshot()) text += lineOf(r);
  await writeFileAtomically(options.tmpDir, options.path, text);
  await options.dirSync.sync();
  return Buffer.byteLength(text);
}
