import { join } from 'node:path';
import type { BusRuntime } from './bus-runtime.js';
import { DeliverySchedule, type Schedulable } from './delivery-schedule.js';
import { DirSync, writeFileAtomically } from './durable-files.js';
import { CorruptMessageFileError, messageOf } from './errors.js';
import { isNotFound, listMessageFiles, readMessageFile, serialize, unlinkIfPresent, type MessageRecord } from './message-file.js';
import type { QuarantinedFile } from './quarantine.js';

/**
 * What the bus keeps in memory of a message: its index entry. The event, the bulk of a message,
 * stays in the message file and is read when the message is delivered.
 */
export interface IndexEntry extends Schedulable {
  /** `<enqueued epoch ms, 13 digits>-<messageId>.json`, the same in a queue and its DLQ. */
  readonly file: string;
  readonly messageId: string;
  /** When the message entered its (source) queue, epoch ms: what retention counts from. */
  readonly enqueuedAtMs: number;
  /** Bytes of its file. */
  readonly size: number;
  /** First receive in this process (SQS `ApproximateFirstReceiveTimestamp`), epoch ms. */
  firstReceivedAt?: number;
  /** An ack, a move, a deletion is under way: the message is no longer deliverable. */
  leaving: boolean;
  /** The removals of this message run one after another (set by the first). */
  chain?: Promise<void>;
}

/** Options of `receive` on a directory: the long poll. */
export interface PollOptions {
  waitTimeMs?: number;
  signal?: AbortSignal;
}

const MAX_TIMER_MS = 60_000;
/** Retention deletes this many files at a time, so a large expired backlog does not open thousands of files at once. */
const EXPIRY_BATCH = 256;

/**
 * One directory of message files (a queue, or a queue's DLQ) and its in-memory index: the entries,
 * when each is next deliverable, the long-poll waiters, retention, and the reading, writing and
 * removing of its files. A file that vanished or stopped loading after the bus opened is dropped
 * (quarantined if it is still there) with a warning when a delivery meets it; it never fails a call.
 */
export abstract class MessageDirectory<E extends IndexEntry> {
  protected readonly entries = new Map<string, E>();
  protected readonly schedule = new DeliverySchedule<E>();
  readonly dirSync: DirSync;
  private readonly waiters = new Set<() => void>();
  private orders = 0;
  private bytes = 0;

  constructor(
    /** The queue name as SQS knows it: `<queue>`, or `<queue>-dlq`. */
    readonly name: string,
    readonly dir: string,
    protected readonly runtime: BusRuntime,
    /** How long a message is kept, from {@link IndexEntry.enqueuedAtMs}. */
    readonly retentionMs: number,
  ) {
    this.dirSync = new DirSync(dir);
  }

  /** When `entry` is next deliverable, epoch ms (0: now). */
  protected abstract visibleAt(entry: E): number;

  /** Messages in the directory. */
  get count(): number {
    return this.entries.size;
  }

  /** Bytes of their files. */
  get byteCount(): number {
    return this.bytes;
  }

  /** Enqueue time of the oldest message (epoch ms); undefined if there is none. */
  oldestEnqueuedAtMs(): number | undefined {
    let oldest: number | undefined;
    for (const e of this.entries.values()) if (oldest === undefined || e.enqueuedAtMs < oldest) oldest = e.enqueuedAtMs;
    return oldest;
  }

  /** Wakes the long polls waiting on this directory (a message arrived, became visible, or the bus closed). */
  wake(): void {
    for (const w of [...this.waiters]) w();
  }

  /** True if `entry` has been kept for longer than the retention period at `now`. */
  isExpired(entry: E, now: number): boolean {
    return now - entry.enqueuedAtMs > this.retentionMs;
  }

  /** Deletes every message past its retention period at `now` (durably); resolves with how many. */
  async expire(now: number): Promise<number> {
    const expired = [...this.entries.values()].filter((e) => !e.leaving && this.isExpired(e, now));
    let deleted = 0;
    for (let i = 0; i < expired.length && !this.runtime.closed; i += EXPIRY_BATCH) {
      // Entries acked or moved meanwhile are no longer this sweep's.
      const batch = expired.slice(i, i + EXPIRY_BATCH).filter((e) => !e.leaving && this.entries.get(e.messageId) === e);
      await Promise.all(batch.map((e) => this.remove(e)));
      deleted += batch.length;
    }
    return deleted;
  }

  /** The arrival order of a new entry: receive hands out visible entries oldest first. */
  protected nextOrder(): number {
    return ++this.orders;
  }

  /** Adds an entry whose file is durable; it is delivered from its {@link visibleAt}. */
  protected add(entry: E): void {
    this.entries.set(entry.messageId, entry);
    this.bytes += entry.size;
    this.schedule.schedule(entry, this.visibleAt(entry));
    this.wake();
  }

  /** Forgets an entry whose file is gone. */
  protected forget(entry: E): void {
    this.schedule.unschedule(entry);
    if (this.entries.get(entry.messageId) !== entry) return;
    this.entries.delete(entry.messageId);
    this.bytes -= entry.size;
  }

  /** Writes a new message file (durably: file and directory fsync'ed); resolves with its size. */
  protected async writeMessage(file: string, record: MessageRecord): Promise<number> {
    const text = serialize(record);
    await this.runtime.track(
      (async () => {
        await writeFileAtomically(this.runtime.tmpDir, join(this.dir, file), text);
        await this.dirSync.sync();
      })(),
    );
    return Buffer.byteLength(text);
  }

  /** Deletes the message's file (durably), then forgets it. */
  protected async remove(entry: E): Promise<void> {
    await this.leave(entry, async () => {
      await unlinkIfPresent(join(this.dir, entry.file));
      await this.dirSync.sync();
    });
    this.forget(entry);
  }

  /**
   * Marks `entry` as leaving (no longer deliverable, synchronously, so no concurrent call can take it)
   * while `work` removes its file; a failure puts it back as it was.
   */
  protected async leave<T>(entry: E, work: () => Promise<T>): Promise<T> {
    entry.leaving = true;
    this.schedule.unschedule(entry);
    const run = (entry.chain ?? Promise.resolve()).then(work);
    entry.chain = run.then(
      () => undefined,
      () => undefined,
    );
    try {
      return await this.runtime.track(run);
    } catch (e) {
      entry.leaving = false;
      if (this.entries.get(entry.messageId) === entry) this.schedule.schedule(entry, this.visibleAt(entry));
      throw e;
    }
  }

  /**
   * Reads the message's file for a delivery. If it vanished or no longer loads, the entry is
   * dropped (the file quarantined) with a warning, and this resolves undefined.
   */
  protected async read(entry: E): Promise<MessageRecord | undefined> {
    try {
      return (await readMessageFile(join(this.dir, entry.file))).record;
    } catch (e) {
      // Deleted meanwhile (a purge, retention): nothing to report.
      if (entry.leaving || this.entries.get(entry.messageId) !== entry) return undefined;
      try {
        await this.leave(entry, () => this.quarantine(entry, e));
        this.forget(entry);
      } catch (qe) {
        this.runtime.warn(
          `event bus: message file ${join(this.dir, entry.file)} could not be read (${messageOf(e)}) nor quarantined ` +
            `(${messageOf(qe)}); it stays in ${this.name} and is tried again when it is next visible`,
        );
      }
      return undefined;
    }
  }

  /** {@link read} for work already running in {@link leave}: the caller forgets the entry. */
  protected async readLeaving(entry: E): Promise<MessageRecord | undefined> {
    try {
      return (await readMessageFile(join(this.dir, entry.file))).record;
    } catch (e) {
      await this.quarantine(entry, e);
      return undefined;
    }
  }

  /**
   * Loads the index from the files (at open). Each file is read and validated once and only its index
   * entry is kept; a file that does not load is quarantined; one past retention, or for which
   * `entryOf` answers undefined, is deleted. A read error (permissions, I/O) is the machine's, not
   * the file's: it fails the start.
   */
  protected async scan(now: number, entryOf: (file: string, record: MessageRecord, size: number) => E | undefined): Promise<QuarantinedFile[]> {
    const quarantined: QuarantinedFile[] = [];
    let deleted = false;
    for (const file of await listMessageFiles(this.dir)) {
      let loaded: { record: MessageRecord; size: number };
      try {
        loaded = await readMessageFile(join(this.dir, file));
      } catch (e) {
        if (!(e instanceof CorruptMessageFileError)) throw e;
        quarantined.push(await this.runtime.quarantine.move(this.name, this.dir, file, e.message));
        continue;
      }
      const entry = entryOf(file, loaded.record, loaded.size);
      if (entry !== undefined && !this.isExpired(entry, now)) {
        this.add(entry);
      } else {
        await unlinkIfPresent(join(this.dir, file));
        deleted = true;
      }
    }
    if (deleted) await this.dirSync.sync();
    return quarantined;
  }

  /**
   * Runs `claim` until it hands out something; with `waitTimeMs` it waits (woken in-process on
   * publish/release, a timer for the next visibility expiry; no polling) until the time is up,
   * `signal` aborts or the bus closes.
   */
  protected async poll<T>(claim: () => Promise<T[]>, options: PollOptions): Promise<T[]> {
    const deadline = this.runtime.nowMs() + Math.max(0, options.waitTimeMs ?? 0);
    for (;;) {
      const received = await claim();
      if (received.length > 0) return received;
      if (this.runtime.closed || options.signal?.aborted || this.runtime.nowMs() >= deadline) return [];
      await this.waitForChange(deadline, options.signal);
    }
  }

  /** Resolves on a wake-up, at the next visibility expiry, at `deadline` or on abort. */
  private waitForChange(deadline: number, signal: AbortSignal | undefined): Promise<void> {
    return new Promise((done) => {
      const wakeAt = Math.min(deadline, this.schedule.nextVisibleAt());
      const wake = () => {
        clearTimeout(timer);
        this.waiters.delete(wake);
        signal?.removeEventListener('abort', wake);
        done();
      };
      const timer = setTimeout(wake, Math.min(MAX_TIMER_MS, Math.max(1, wakeAt - this.runtime.nowMs())));
      this.waiters.add(wake);
      signal?.addEventListener('abort', wake, { once: true });
    });
  }

  /** Moves a file that no longer loads to the quarantine (nothing to move if it vanished), and says so. */
  private async quarantine(entry: E, error: unknown): Promise<void> {
    const path = join(this.dir, entry.file);
    if (isNotFound(error)) {
      this.runtime.warn(`event bus: message file ${path} vanished after the bus opened; message ${entry.messageId} dropped from ${this.name}`);
      return;
    }
    const reason = error instanceof CorruptMessageFileError ? error.message : `message file ${path} could not be read: ${messageOf(error)}`;
    const moved = await this.runtime.quarantine.move(this.name, this.dir, entry.file, reason);
    this.runtime.warn(`event bus: ${reason}; it was not delivered and was moved to ${moved.path}`);
  }
}
