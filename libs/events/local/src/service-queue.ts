import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import type { EventBridgeEvent } from '@nightshift/contracts';
import type { BusRuntime } from './bus-runtime.js';
import { DeadLetterQueue } from './dead-letter-queue.js';
import type { DirSync } from './durable-files.js';
import { MessageDirectory, type IndexEntry, type PollOptions } from './message-directory.js';
import { enqueuedAtMsOf, messageFileName, unlinkIfPresent, type MessageRecord } from './message-file.js';
import type { QueueBacklog, QueueStats, ReceivedMessage } from './messages.js';
import type { QuarantinedFile } from './quarantine.js';
import { readReceipts, ReceiptLog, type Receipt } from './receipt-log.js';

interface MessageEntry extends IndexEntry {
  /** Deliveries so far (durable in the receipt log). */
  receiveCount: number;
  /** Epoch ms before which the message is not delivered (0: visible). */
  visibleAt: number;
  /** The last handler error a release recorded: the dead-letter reason should the message end there. */
  lastError?: string;
}

/** Where the queues' receipt logs are, and when they are compacted. */
export interface ReceiptLogLocation {
  dir: string;
  dirSync: DirSync;
  tmpDir: string;
  compactAtBytes: number;
}

/** How a queue keeps and dead-letters its messages. */
export interface ServiceQueueSettings {
  maxReceiveCount: number;
  messageRetentionMs: number;
  deadLetterRetentionMs: number;
}

/**
 * One service's queue, `queues/<queue>/`, with its DLQ ({@link dead}) and its receipt log: delivery
 * state (receive count, visibility, last error) is appended to the log before a message is handed
 * out, so it survives a restart; the message file keeps the state it was enqueued with.
 */
export class ServiceQueue extends MessageDirectory<MessageEntry> {
  readonly dead: DeadLetterQueue;
  /** Opened by {@link load}. */
  private receipts!: ReceiptLog;
  private readonly maxReceiveCount: number;

  constructor(
    name: string,
    dir: string,
    dlqDir: string,
    private readonly matchers: ReadonlyArray<(event: unknown) => boolean>,
    runtime: BusRuntime,
    settings: ServiceQueueSettings,
  ) {
    super(name, dir, runtime, settings.messageRetentionMs);
    this.dead = new DeadLetterQueue(name, dlqDir, runtime, settings.deadLetterRetentionMs);
    this.maxReceiveCount = settings.maxReceiveCount;
  }

  protected visibleAt(entry: MessageEntry): number {
    return entry.visibleAt;
  }

  /** True if one of the queue's rules matches `event`. */
  routes(event: EventBridgeEvent): boolean {
    return this.matchers.some((m) => m(event));
  }

  /**
   * Loads the DLQ and the queue from their files, finishes interrupted dead-letter moves, deletes
   * what is past retention, applies the receipt log and opens it (compacted); returns the files it
   * could not load and quarantined.
   */
  async load(location: ReceiptLogLocation): Promise<QuarantinedFile[]> {
    const dead = await this.dead.load();
    const path = join(location.dir, `${this.name}.log`);
    // A message file keeps the state it was enqueued with; the log's latest line for it is newer. Lines
    // of messages that are gone (acked, dead-lettered, expired) are dropped by the compaction on open.
    const states = await readReceipts(path);
    const now = this.runtime.nowMs();
    const quarantined = await this.scan(now, (file, record, size) => {
      // A dead-letter move was interrupted after its DLQ copy was written: finish it.
      if (dead.ids.has(record.messageId)) return undefined;
      const state = states.get(record.messageId);
      const lastError = state ? state.lastError : record.lastError;
      return {
        file,
        messageId: record.messageId,
        enqueuedAtMs: enqueuedAtMsOf(record, now),
        size,
        order: this.nextOrder(),
        ticket: 0,
        leaving: false,
        receiveCount: state?.receiveCount ?? record.receiveCount,
        visibleAt: state?.visibleAt ?? record.visibleAt,
        ...(lastError !== undefined ? { lastError } : {}),
      };
    });
    this.receipts = await ReceiptLog.open({
      path,
      tmpDir: location.tmpDir,
      dirSync: location.dirSync,
      snapshot: () => this.deliveryStates(),
      compactAtBytes: location.compactAtBytes,
    });
    return [...dead.quarantined, ...quarantined];
  }

  /** Writes `event` as a new message (durably), then makes it deliverable; resolves with its message id. */
  async enqueue(event: EventBridgeEvent, lastError?: string): Promise<string> {
    const now = this.runtime.nowMs();
    const record: MessageRecord = {
      format: 1,
      messageId: randomUUID(),
      enqueuedAt: new Date(now).toISOString(),
      receiveCount: 0,
      visibleAt: 0,
      ...(lastError !== undefined ? { lastError } : {}),
      event,
    };
    const file = messageFileName(now, record.messageId);
    // Deliverable only once durable, so a consumer can never ack what a crash could still lose.
    const size = await this.writeMessage(file, record);
    this.add({
      file,
      messageId: record.messageId,
      enqueuedAtMs: now,
      size,
      order: this.nextOrder(),
      ticket: 0,
      leaving: false,
      receiveCount: 0,
      visibleAt: 0,
      ...(lastError !== undefined ? { lastError } : {}),
    });
    return record.messageId;
  }

  /** Receives up to `max` visible messages, oldest first, each invisible for `visibilityMs` (see `LocalEventBus.receive`). */
  receive(max: number, visibilityMs: number, options: PollOptions): Promise<ReceivedMessage[]> {
    return this.poll(() => this.claim(max, visibilityMs), options);
  }

  /** True if `receiptHandle` is the latest delivery of a message that is invisible now. */
  isInFlight(receiptHandle: string): boolean {
    const entry = this.delivered(receiptHandle);
    return entry !== undefined && entry.visibleAt > this.runtime.nowMs();
  }

  /** Deletes the message; `false` for a stale handle. */
  async ack(receiptHandle: string): Promise<boolean> {
    const entry = this.delivered(receiptHandle);
    if (!entry) return false;
    await this.remove(entry);
    return true;
  }

  /** Makes the message visible again after `delayMs`, recording `lastError`; `false` for a stale handle. */
  async release(receiptHandle: string, delayMs: number, lastError?: string): Promise<boolean> {
    const entry = this.delivered(receiptHandle);
    if (!entry) return false;
    entry.visibleAt = this.runtime.nowMs() + Math.max(0, delayMs);
    if (lastError !== undefined) entry.lastError = lastError;
    this.schedule.schedule(entry, entry.visibleAt);
    await this.runtime.track(this.receipts.append([receiptOf(entry)]));
    this.wake();
    return true;
  }

  /** Moves the message to the DLQ at once with `reason`; `false` for a stale handle. */
  async deadLetter(receiptHandle: string, reason: string): Promise<boolean> {
    const entry = this.delivered(receiptHandle);
    if (!entry) return false;
    await this.moveToDlq(entry, reason);
    return true;
  }

  /** Moves up to `max` dead letters back in as new messages (receive count 0), oldest dead-lettering first; returns how many. */
  redrive(max = Infinity): Promise<number> {
    return this.dead.redrive((event, lastError) => this.enqueue(event, lastError), max);
  }

  /** Deletes every message, in flight or not; resolves with how many once the deletions are durable. */
  async purge(): Promise<number> {
    const entries = [...this.entries.values()].filter((e) => !e.leaving);
    await Promise.all(entries.map((e) => this.remove(e)));
    return entries.length;
  }

  stats(): QueueStats {
    const now = this.runtime.nowMs();
    let visible = 0;
    for (const e of this.entries.values()) if (e.visibleAt <= now) visible++;
    return { visible, inFlight: this.entries.size - visible, deadLetters: this.dead.count };
  }

  backlog(): QueueBacklog {
    const oldest = [this.oldestEnqueuedAtMs(), this.dead.oldestEnqueuedAtMs()].filter((t) => t !== undefined);
    return {
      messages: this.count,
      messageBytes: this.byteCount,
      deadLetters: this.dead.count,
      deadLetterBytes: this.dead.byteCount,
      oldestEnqueuedAtMs: oldest.length > 0 ? Math.min(...oldest) : undefined,
    };
  }

  /** Waits for appends under way and closes the receipt log. */
  close(): Promise<void> {
    return this.receipts.close();
  }

  /**
   * Claims up to `max` visible messages in memory (synchronously, so a concurrent receive cannot
   * take the same one), makes their new receive counts and visibility durable in one receipt-log
   * append while their files are read, and hands them out. On the way it moves a message delivered
   * `maxReceiveCount` times to the DLQ and deletes one past retention.
   */
  private async claim(max: number, visibilityMs: number): Promise<ReceivedMessage[]> {
    const now = this.runtime.nowMs();
    const claimed: Array<{ entry: MessageEntry; receiveCount: number }> = [];
    const leaving: Array<Promise<unknown>> = [];
    while (claimed.length < max) {
      const entry = this.schedule.next(now);
      if (entry === undefined) break;
      if (this.isExpired(entry, now)) {
        leaving.push(this.remove(entry));
      } else if (entry.receiveCount >= this.maxReceiveCount) {
        const lastError = entry.lastError ? `; last error: ${entry.lastError}` : '';
        leaving.push(this.moveToDlq(entry, `maxReceiveCount ${this.maxReceiveCount} exceeded${lastError}`));
      } else {
        entry.receiveCount++;
        entry.visibleAt = now + visibilityMs;
        entry.firstReceivedAt ??= now;
        claimed.push({ entry, receiveCount: entry.receiveCount });
      }
    }
    // Scheduled once the loop is done: with a visibility timeout of 0 this receive would take them again.
    for (const { entry } of claimed) this.schedule.schedule(entry, entry.visibleAt);
    const reads = Promise.all(claimed.map(({ entry }) => this.read(entry)));
    const outcomes = await Promise.allSettled([
      // One appended line per message, one fsync for the lot (shared with concurrent receives).
      ...(claimed.length > 0 ? [this.runtime.track(this.receipts.append(claimed.map(({ entry }) => receiptOf(entry))))] : []),
      ...leaving,
    ]);
    const records = await reads;
    const failed = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
    // A failed append leaves the claimed messages invisible until the timeout, then they are delivered again.
    if (failed) throw failed.reason;
    return claimed.flatMap(({ entry, receiveCount }, i) => {
      const record = records[i];
      if (!record) return [];
      return [
        {
          receiptHandle: receiptHandleOf(entry.messageId, receiveCount),
          messageId: entry.messageId,
          receiveCount,
          event: record.event,
          enqueuedAt: record.enqueuedAt,
          firstReceivedAt: new Date(entry.firstReceivedAt ?? now).toISOString(),
        },
      ];
    });
  }

  /**
   * Writes the DLQ copy (the event from the message file, the delivery state from memory), then
   * deletes the source: a crash in between leaves the message in both, which loading resolves by
   * finishing the move (same file name, same message id). A source file that vanished or no longer
   * loads is dropped instead (quarantined, with a warning).
   */
  private async moveToDlq(entry: MessageEntry, reason: string): Promise<void> {
    const deadLetteredAt = new Date(this.runtime.nowMs()).toISOString();
    const moved = await this.leave(entry, async () => {
      const source = await this.readLeaving(entry);
      let copy: { record: MessageRecord; size: number } | undefined;
      if (source) {
        const { lastError: _enqueuedWith, ...rest } = source;
        const record: MessageRecord = {
          ...rest,
          receiveCount: entry.receiveCount,
          visibleAt: entry.visibleAt,
          ...(entry.lastError !== undefined ? { lastError: entry.lastError } : {}),
          deadLetteredAt,
          deadLetterReason: reason,
        };
        copy = { record, size: await this.dead.write(entry.file, record) };
      }
      await unlinkIfPresent(join(this.dir, entry.file));
      await this.dirSync.sync();
      return copy;
    });
    this.forget(entry);
    if (moved) this.dead.admit(entry.file, moved.record, moved.size);
  }

  private delivered(receiptHandle: string): MessageEntry | undefined {
    const [messageId] = receiptHandle.split(':');
    const entry = this.entries.get(messageId ?? '');
    if (!entry || entry.leaving || entry.receiveCount === 0) return undefined;
    return receiptHandleOf(entry.messageId, entry.receiveCount) === receiptHandle ? entry : undefined;
  }

  /** The delivery state that lives in the receipt log: every message delivered at least once. */
  private *deliveryStates(): Iterable<Receipt> {
    for (const e of this.entries.values()) if (e.receiveCount > 0) yield receiptOf(e);
  }
}

function receiptOf(entry: MessageEntry): Receipt {
  return {
    messageId: entry.messageId,
    receiveCount: entry.receiveCount,
    visibleAt: entry.visibleAt,
    ...(entry.lastError !== undefined ? { lastError: entry.lastError } : {}),
  };
}

/** Opaque to callers; names the delivery (message + receive count) so a stale handle is detectable. */
function receiptHandleOf(messageId: string, receiveCount: number): string {
  return `${messageId}:${receiveCount}`;
}
