import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import type { EventBridgeEvent } from '@nightshift/contracts';
import { compareDeadLetterPositions, type DeadLetterPosition } from '@nightshift/events-domain';
import type { BusRuntime } from './bus-runtime.js';
import { messageOf } from './errors.js';
import { MessageDirectory, type IndexEntry, type PollOptions } from './message-directory.js';
import { enqueuedAtMsOf, messageFileName, readMessageFile, readMessageFileSync, unlinkIfPresent, type MessageRecord } from './message-file.js';
import type { DeadLetter, DeadLetterBrowseOptions, DeadLetterBrowsePage, ReceivedDeadLetter } from './messages.js';
import type { QuarantinedFile } from './quarantine.js';

interface DeadEntry extends IndexEntry {
  /** When it was dead-lettered, epoch ms (its file's `deadLetteredAt`; its enqueue time if that does not parse): the listing order. */
  readonly deadLetteredAtMs: number;
  /** The latest delivery of the dead letter (the DLQ read as a queue). In memory only. */
  delivery?: DeadDelivery;
}

interface DeadDelivery {
  /** `<messageId>:<uuid>`: random per delivery, so a handle from before a restart is stale after it. */
  readonly handle: string;
  visibleAt: number;
  /** Deliveries from the DLQ, added to the receive count the message had when it was moved. */
  readonly receives: number;
}

/**
 * A queue's dead-letter queue, `queues/<queue>-dlq/`: what the bus moved there (after
 * `maxReceiveCount` deliveries, or a handler's non-retryable error) and what was sent there. Read as
 * an SQS queue too (an operator inspecting or draining it): unlike its source queue's, its delivery
 * state (visibility, receive count, handles) is kept in memory only, so after a restart every dead
 * letter is visible again and old handles are stale. A dead letter is never moved on by its receive
 * count (a DLQ has no redrive policy of its own). Retention counts from when the message entered its
 * source queue, as in SQS.
 */
export class DeadLetterQueue extends MessageDirectory<DeadEntry> {
  constructor(
    readonly sourceQueue: string,
    dir: string,
    runtime: BusRuntime,
    retentionMs: number,
  ) {
    super(`${sourceQueue}-dlq`, dir, runtime, retentionMs);
  }

  protected visibleAt(entry: DeadEntry): number {
    return entry.delivery?.visibleAt ?? 0;
  }

  /**
   * Loads the index at open (see {@link MessageDirectory.scan}). Also returns the id of every dead
   * letter found, expired ones too, so that the source queue can finish the moves a crash interrupted.
   */
  async load(): Promise<{ quarantined: QuarantinedFile[]; ids: Set<string> }> {
    const ids = new Set<string>();
    const now = this.runtime.nowMs();
    const quarantined = await this.scan(now, (file, record, size) => {
      ids.add(record.messageId);
      return this.entryOf(file, record, size, now);
    });
    return { quarantined, ids };
  }

  /** True if a dead letter of this id is here. */
  has(messageId: string): boolean {
    return this.entries.has(messageId);
  }

  /** Writes a dead letter's file (durably) without adding it yet: the source queue's move does, once its own file is gone. */
  write(file: string, record: MessageRecord): Promise<number> {
    return this.writeMessage(file, record);
  }

  /** Adds a dead letter that {@link write} wrote. */
  admit(file: string, record: MessageRecord, size: number): void {
    this.add(this.entryOf(file, record, size, this.runtime.nowMs()));
    this.runtime.deadLettered?.(this.sourceQueue, record);
  }

  /** Puts `event` in as a new dead letter with `reason` (SQS SendMessage to the DLQ); resolves with its message id once durable. */
  async put(event: EventBridgeEvent, reason: string): Promise<string> {
    const now = this.runtime.nowMs();
    const at = new Date(now).toISOString();
    const record: MessageRecord = {
      format: 1,
      messageId: randomUUID(),
      enqueuedAt: at,
      receiveCount: 0,
      visibleAt: 0,
      deadLetteredAt: at,
      deadLetterReason: reason,
      event,
    };
    const file = messageFileName(now, record.messageId);
    this.admit(file, record, await this.writeMessage(file, record));
    return record.messageId;
  }

  /** Receives up to `max` visible dead letters, oldest arrival first, each invisible for `visibilityMs`. */
  receive(max: number, visibilityMs: number, options: PollOptions): Promise<ReceivedDeadLetter[]> {
    return this.poll(() => this.claim(max, visibilityMs), options);
  }

  /** Deletes a received dead letter; `false` (nothing deleted) if the handle is not its latest delivery. */
  async delete(receiptHandle: string): Promise<boolean> {
    const entry = this.delivered(receiptHandle);
    if (!entry) return false;
    await this.remove(entry);
    return true;
  }

  /** Makes a received dead letter visible again after `timeoutMs`; `false` if the handle is stale or it is not in flight. */
  changeVisibility(receiptHandle: string, timeoutMs: number): boolean {
    const entry = this.delivered(receiptHandle);
    const now = this.runtime.nowMs();
    if (!entry?.delivery || entry.delivery.visibleAt <= now) return false;
    entry.delivery.visibleAt = now + Math.max(0, timeoutMs);
    this.schedule.schedule(entry, entry.delivery.visibleAt);
    this.wake();
    return true;
  }

  /**
   * Every dead letter, oldest arrival first, each read from its file: synchronous (one blocking read
   * per dead letter), for inspection. A file that vanished or no longer loads is left out, with a warning.
   */
  list(): DeadLetter[] {
    const out: DeadLetter[] = [];
    for (const entry of this.entries.values()) {
      let record: MessageRecord;
      try {
        record = readMessageFileSync(join(this.dir, entry.file));
      } catch (e) {
        if (!entry.leaving) this.runtime.warn(`event bus: dead letter ${entry.messageId} of ${this.name} left out of the list: ${messageOf(e)}`);
        continue;
      }
      out.push(deadLetterOf(record));
    }
    return out;
  }

  /**
   * One page of the dead letters in listing order (when each was dead-lettered, then message id),
   * after `options.after`, read from their files one at a time (the index alone is sorted). A file
   * that vanished or no longer loads is left out, with a warning, as in {@link list}.
   */
  async browse(options: DeadLetterBrowseOptions): Promise<DeadLetterBrowsePage> {
    const { after, limit, filter } = options;
    const deadLetters: DeadLetter[] = [];
    let last: DeadLetterPosition | undefined;
    for (const entry of this.inListingOrder()) {
      const position = positionOf(entry);
      if (after !== undefined && compareDeadLetterPositions(position, after) <= 0) continue;
      if (entry.leaving || this.entries.get(entry.messageId) !== entry) continue;
      let record: MessageRecord;
      try {
        record = (await readMessageFile(join(this.dir, entry.file))).record;
      } catch (e) {
        if (!entry.leaving && this.entries.get(entry.messageId) === entry) {
          this.runtime.warn(`event bus: dead letter ${entry.messageId} of ${this.name} left out of the list: ${messageOf(e)}`);
        }
        continue;
      }
      const deadLetter = deadLetterOf(record);
      if (filter !== undefined && !filter(deadLetter)) continue;
      // One more than the page was found: the page is full and a next one is not empty.
      if (deadLetters.length === limit) return { deadLetters, next: last };
      deadLetters.push(deadLetter);
      last = position;
    }
    return { deadLetters };
  }

  /** Dead letters visible, and received and not visible again. */
  stats(): { visible: number; inFlight: number } {
    const now = this.runtime.nowMs();
    let inFlight = 0;
    for (const e of this.entries.values()) if (this.visibleAt(e) > now) inFlight++;
    return { visible: this.entries.size - inFlight, inFlight };
  }

  /**
   * Hands up to `max` dead letters, in listing order, to `enqueue` (its event, and its reason as the
   * new message's last error), then deletes each; returns how many. The dead letters are those here
   * when it starts (one dead-lettered again meanwhile waits for the next redrive); one that another
   * redrive is moving is skipped. A crash midway can leave a message in both: a duplicate, never a loss.
   */
  async redrive(enqueue: (event: EventBridgeEvent, lastError: string | undefined) => Promise<unknown>, max = Infinity): Promise<number> {
    let moved = 0;
    for (const entry of this.inListingOrder()) {
      if (moved >= max) break;
      if (entry.leaving || this.entries.get(entry.messageId) !== entry) continue;
      const redriven = await this.leave(entry, async () => {
        const record = await this.readLeaving(entry);
        if (record) await enqueue(record.event, record.deadLetterReason);
        await unlinkIfPresent(join(this.dir, entry.file));
        await this.dirSync.sync();
        return record !== undefined;
      });
      this.forget(entry);
      if (redriven) moved++;
    }
    return moved;
  }

  /** Claims visible dead letters (synchronously, so concurrent receives never share one), then reads their files. */
  private async claim(max: number, visibilityMs: number): Promise<ReceivedDeadLetter[]> {
    const now = this.runtime.nowMs();
    const claimed: Array<{ entry: DeadEntry; delivery: DeadDelivery }> = [];
    const expired: Array<Promise<void>> = [];
    while (claimed.length < max) {
      const entry = this.schedule.next(now);
      if (entry === undefined) break;
      if (this.isExpired(entry, now)) {
        expired.push(this.remove(entry));
        continue;
      }
      const delivery: DeadDelivery = {
        handle: `${entry.messageId}:${randomUUID()}`,
        visibleAt: now + visibilityMs,
        receives: (entry.delivery?.receives ?? 0) + 1,
      };
      entry.delivery = delivery;
      entry.firstReceivedAt ??= now;
      claimed.push({ entry, delivery });
    }
    // Scheduled once the loop is done: with a visibility timeout of 0 this receive would take them again.
    for (const { entry, delivery } of claimed) this.schedule.schedule(entry, delivery.visibleAt);
    const [records, removals] = await Promise.all([
      Promise.all(claimed.map(({ entry }) => this.read(entry))),
      Promise.allSettled(expired),
    ]);
    const failed = removals.find((o): o is PromiseRejectedResult => o.status === 'rejected');
    if (failed) throw failed.reason;
    return claimed.flatMap(({ entry, delivery }, i) => {
      const record = records[i];
      if (!record) return [];
      return [
        {
          receiptHandle: delivery.handle,
          messageId: entry.messageId,
          receiveCount: record.receiveCount + delivery.receives,
          event: record.event,
          enqueuedAt: record.enqueuedAt,
          firstReceivedAt: new Date(entry.firstReceivedAt ?? now).toISOString(),
          reason: reasonOf(record),
          deadLetteredAt: record.deadLetteredAt ?? '',
        },
      ];
    });
  }

  /** The entries now, oldest dead-lettering first (a snapshot: sorting the index, reading no file). */
  private inListingOrder(): DeadEntry[] {
    return [...this.entries.values()].sort((a, b) => compareDeadLetterPositions(positionOf(a), positionOf(b)));
  }

  private delivered(receiptHandle: string): DeadEntry | undefined {
    const [messageId] = receiptHandle.split(':');
    const entry = this.entries.get(messageId ?? '');
    if (!entry || entry.leaving || entry.delivery?.handle !== receiptHandle) return undefined;
    return entry;
  }

  private entryOf(file: string, record: MessageRecord, size: number, now: number): DeadEntry {
    const enqueuedAtMs = enqueuedAtMsOf(record, now);
    const deadLetteredAtMs = Date.parse(record.deadLetteredAt ?? '');
    return {
      file,
      messageId: record.messageId,
      enqueuedAtMs,
      deadLetteredAtMs: Number.isFinite(deadLetteredAtMs) ? deadLetteredAtMs : enqueuedAtMs,
      size,
      order: this.nextOrder(),
      ticket: 0,
      leaving: false,
    };
  }
}

function positionOf(entry: DeadEntry): DeadLetterPosition {
  return { atMs: entry.deadLetteredAtMs, messageId: entry.messageId };
}

function deadLetterOf(record: MessageRecord): DeadLetter {
  return {
    messageId: record.messageId,
    event: record.event,
    receiveCount: record.receiveCount,
    enqueuedAt: record.enqueuedAt,
    deadLetteredAt: record.deadLetteredAt ?? '',
    reason: reasonOf(record),
  };
}

function reasonOf(record: MessageRecord): string {
  return record.deadLetterReason ?? record.lastError ?? '';
}
