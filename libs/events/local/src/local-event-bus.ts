import { randomUUID } from 'node:crypto';
import { mkdir, readFile, readdir, unlink } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { z } from 'zod';
import { eventBridgeEnvelopeSchema, NIGHTSHIFT_BUS, type EventBridgeEvent, type RuleDefinition } from '@nightshift/contracts';
import {
  compileEventPattern,
  InvalidEventPatternError,
  validateEventPattern,
  type PutEventsRequestEntry,
  type PutEventsResult,
  type PutEventsResultEntry,
  type MessageConsumer,
  type PutEventsTarget,
} from '@nightshift/events-domain';
import {
  acquireDirLock,
  DirSync,
  fsyncDir,
  releaseDirLock,
  removeStaleTempFiles,
  writeFileAtomically,
} from './durable-files.js';
import { LocalQueueConsumer } from './local-queue-consumer.js';
import { Quarantine, type QuarantinedFile } from './quarantine.js';
import { readReceipts, ReceiptLog, type Receipt } from './receipt-log.js';
import {
  BusClosedError,
  CorruptMessageFileError,
  InvalidEventError,
  InvalidQueueNameError,
  InvalidRuleError,
  messageOf,
  UnknownQueueError,
} from './errors.js';
import { entryToEvent, storableEventProblem, validatePutEventsRequest, type EnvelopeContext } from './put-events.js';

/** Options of {@link LocalEventBus.open}. */
export interface LocalEventBusOptions {
  /** Directory that holds the queues; created if missing. One process owns it at a time. */
  dir: string;
  /** Queue name -> the rules that route events into it (a service's `SERVICE_RULES` entry). */
  rules: Readonly<Record<string, readonly RuleDefinition[]>>;
  /** How long a received message stays invisible before it is delivered again. Default 30 000 (SQS's default). */
  visibilityTimeoutMs?: number;
  /** Receives after which the next receive moves the message to `<queue>-dlq` instead. Default 5. */
  maxReceiveCount?: number;
  /**
   * Size at which a queue's receipt log (`receipts/<queue>.log`, the durable receive counts) is compacted,
   * once it is also 4x its last compacted size. Default 1 MiB (about 12 000 deliveries).
   */
  receiptLogCompactionBytes?: number;
  /** Envelope `account`. Default `000000000000`. */
  account?: string;
  /** Envelope `region`. Default `local`. */
  region?: string;
  /** Name entries may give as `EventBusName` (or its ARN). Default `nightshift`. */
  eventBusName?: string;
  /** Clock for event times and visibility. Default `() => new Date()`. */
  now?: () => Date;
  /**
   * Where the bus reports, at open, message files it could not load and quarantined (see
   * {@link LocalEventBus.quarantined}). Default: `process.emitWarning` (printed on stderr).
   */
  warn?: (message: string) => void;
}

/** A message handed out by {@link LocalEventBus.receive}. */
export interface ReceivedMessage {
  /** Identifies this delivery; ack/release/deadLetter need the handle of the latest delivery. */
  receiptHandle: string;
  /** Stable per queue message (not the event id: one event fanned out to two queues is two messages). */
  messageId: string;
  /** 1 on the first delivery. */
  receiveCount: number;
  /** The full EventBridge event, as EventBridge would deliver it to an SQS target. */
  event: EventBridgeEvent;
  /** When the message entered the queue (SQS `SentTimestamp`). */
  enqueuedAt: string;
  /**
   * When the message was first received (SQS `ApproximateFirstReceiveTimestamp`). Kept in memory only:
   * after a restart it is the first receive since the restart.
   */
  firstReceivedAt: string;
}

/** A message handed out by {@link LocalEventBus.receiveDeadLetters}: a delivery from `<queue>-dlq`. */
export interface ReceivedDeadLetter extends ReceivedMessage {
  /** Why it was dead-lettered (as in {@link DeadLetter}). */
  reason: string;
  deadLetteredAt: string;
}

/** A message in a queue's dead-letter queue. */
export interface DeadLetter {
  messageId: string;
  event: EventBridgeEvent;
  receiveCount: number;
  enqueuedAt: string;
  deadLetteredAt: string;
  /** Why it was dead-lettered: the handler's error, or the receive count that was exceeded. */
  reason: string;
}

/** Options of {@link LocalEventBus.receive}. */
export interface ReceiveOptions {
  /** Long polling, like SQS's WaitTimeSeconds: wait up to this long for a message. Default 0. */
  waitTimeMs?: number;
  /** Ends the wait early (the call then resolves with what it has, usually nothing). */
  signal?: AbortSignal;
  /** This receive's visibility timeout (SQS ReceiveMessage `VisibilityTimeout`). Default: the bus's. */
  visibilityTimeoutMs?: number;
}

/** Counts for one queue. */
export interface QueueStats {
  visible: number;
  inFlight: number;
  deadLetters: number;
}

const messageRecordSchema = z.object({
  format: z.literal(1),
  messageId: z.string().min(1),
  enqueuedAt: z.string(),
  receiveCount: z.number().int().nonnegative(),
  /** Epoch ms before which the message is not delivered (0: visible). */
  visibleAt: z.number(),
  lastError: z.string().optional(),
  deadLetteredAt: z.string().optional(),
  deadLetterReason: z.string().optional(),
  event: eventBridgeEnvelopeSchema,
});
type MessageRecord = z.infer<typeof messageRecordSchema> & { event: EventBridgeEvent };

interface Slot {
  /** File name, the same in the queue and its DLQ: `<enqueued epoch ms, 13 digits>-<messageId>.json`. */
  readonly file: string;
  record: MessageRecord;
  /** Removals of this message (ack, dead-letter move, redrive) run one after another. Delivery state goes to the receipt log. */
  chain: Promise<void>;
  /** An ack or a move is under way: the message is no longer deliverable. */
  leaving: boolean;
  /** First receive in this process (SQS `ApproximateFirstReceiveTimestamp`), epoch ms. */
  firstReceivedAt?: number;
  /** The latest delivery of a dead letter (the DLQ read as a queue). In memory only: see {@link LocalEventBus.receiveDeadLetters}. */
  deadDelivery?: DeadDelivery;
}

interface DeadDelivery {
  /** `<messageId>:<uuid>`: random per delivery, so a handle from before a restart is stale after it. */
  handle: string;
  visibleAt: number;
  /** Deliveries from the DLQ, added to the receive count the message had when it was moved. */
  receives: number;
}

class Queue {
  readonly messages = new Map<string, Slot>();
  readonly dead = new Map<string, Slot>();
  readonly waiters = new Set<() => void>();
  readonly deadWaiters = new Set<() => void>();
  readonly dirSync: DirSync;
  readonly dlqDirSync: DirSync;
  /** Opened by `loadQueue`; a bus exists only once every queue is loaded. */
  receipts!: ReceiptLog;

  constructor(
    readonly name: string,
    readonly dir: string,
    readonly dlqDir: string,
    readonly matchers: ReadonlyArray<(event: unknown) => boolean>,
  ) {
    this.dirSync = new DirSync(dir);
    this.dlqDirSync = new DirSync(dlqDir);
  }

  routes(event: EventBridgeEvent): boolean {
    return this.matchers.some((m) => m(event));
  }

  wake(): void {
    for (const w of [...this.waiters]) w();
  }

  wakeDead(): void {
    for (const w of [...this.deadWaiters]) w();
  }

  /** The delivery state that lives in the receipt log: every message delivered at least once. */
  *deliveryStates(): Iterable<Receipt> {
    for (const { record } of this.messages.values()) if (record.receiveCount > 0) yield receiptOf(record);
  }
}

const QUEUE_NAME = /^[A-Za-z0-9_-]{1,76}$/;
const MAX_TIMER_MS = 60_000;

/**
 * The embedded event bus: EventBridge rules fanning out to one SQS-like queue per service, kept in
 * plain files under one directory (layout in the README).
 *
 * Delivery semantics match the AWS mode: `putEvents` resolves only after every routed copy is on
 * disk (fsync'ed file and directory); a queue's message is deleted only by `ack`; a received message
 * is invisible for the visibility timeout and then delivered again with a higher receive count, also
 * after a restart (receive count and visibility are on disk before a message is handed out); after
 * `maxReceiveCount` deliveries the next receive moves it to the queue's DLQ. Delivery is at least
 * once: a crash can repeat a delivery, never lose one, so consumers deduplicate on event id.
 *
 * One process owns the directory (a `LOCK` file with its pid; a dead owner's lock is taken over).
 * Other processes publish through {@link PutEventsHttpEndpoint}.
 */
export class LocalEventBus implements PutEventsTarget {
  private closed = false;
  private readonly pending = new Set<Promise<unknown>>();

  private constructor(
    readonly dir: string,
    private readonly tmpDir: string,
    private readonly queues: ReadonlyMap<string, Queue>,
    private readonly envelope: EnvelopeContext,
    /** How long a received message stays invisible before it is delivered again. */
    readonly visibilityTimeoutMs: number,
    /** Receives after which the next receive moves a message to its DLQ. */
    readonly maxReceiveCount: number,
    private readonly quarantine: Quarantine,
  ) {}

  /**
   * Opens (creating if needed) the bus in `options.dir`: takes the directory lock, removes temp
   * files of interrupted writes, finishes interrupted dead-letter moves and loads every queue. A
   * message file that does not load (edited, or written by something else) does not stop the
   * start: it is moved to `<dir>/quarantine/<queue>/` with a `.reason` file, and `options.warn`
   * says how many and where. Throws `InvalidQueueNameError` / `InvalidRuleError` for a bad
   * configuration and `BusDirectoryLockedError` if a live process owns the directory.
   */
  static async open(options: LocalEventBusOptions): Promise<LocalEventBus> {
    const visibilityTimeoutMs = options.visibilityTimeoutMs ?? 30_000;
    const maxReceiveCount = options.maxReceiveCount ?? 5;
    const compactAtBytes = options.receiptLogCompactionBytes ?? 1024 * 1024;
    if (!(Number.isFinite(visibilityTimeoutMs) && visibilityTimeoutMs >= 0)) {
      throw new RangeError(`visibilityTimeoutMs must be a non-negative number, got ${visibilityTimeoutMs}`);
    }
    if (!(Number.isInteger(maxReceiveCount) && maxReceiveCount >= 1)) {
      throw new RangeError(`maxReceiveCount must be a positive integer, got ${maxReceiveCount}`);
    }
    if (!(Number.isFinite(compactAtBytes) && compactAtBytes >= 0)) {
      throw new RangeError(`receiptLogCompactionBytes must be a non-negative number, got ${compactAtBytes}`);
    }
    const dir = resolve(options.dir);
    const tmpDir = join(dir, 'tmp');
    const queuesDir = join(dir, 'queues');
    const receiptsDir = join(dir, 'receipts');
    const queues = new Map<string, Queue>();
    for (const [name, rules] of Object.entries(options.rules)) {
      if (!QUEUE_NAME.test(name)) {
        throw new InvalidQueueNameError(name, 'use 1-76 letters, digits, "-" or "_" (SQS names, leaving room for "-dlq")');
      }
      if (name.endsWith('-dlq')) throw new InvalidQueueNameError(name, 'the "-dlq" suffix is reserved for dead-letter queues');
      const matchers = rules.map((rule) => {
        try {
          validateEventPattern(rule.eventPattern);
          return compileEventPattern(rule.eventPattern);
        } catch (e) {
          if (e instanceof InvalidEventPatternError) throw new InvalidRuleError(name, rule.name, { cause: e });
          throw e;
        }
      });
      queues.set(name, new Queue(name, join(queuesDir, name), join(queuesDir, `${name}-dlq`), matchers));
    }

    await mkdir(tmpDir, { recursive: true });
    await acquireDirLock(dir, tmpDir);
    const quarantine = new Quarantine(dir, tmpDir);
    const quarantinedNow: QuarantinedFile[] = [];
    const loaded: Queue[] = [];
    try {
      await removeStaleTempFiles(tmpDir);
      await mkdir(queuesDir, { recursive: true });
      await mkdir(receiptsDir, { recursive: true });
      for (const q of queues.values()) {
        await mkdir(q.dir, { recursive: true });
        await mkdir(q.dlqDir, { recursive: true });
      }
      // Make the directories themselves durable before anything is published into them.
      const dirs = [dirname(dir), dir, queuesDir, receiptsDir, ...[...queues.values()].flatMap((q) => [q.dir, q.dlqDir])];
      await Promise.all(dirs.map(fsyncDir));
      const receipts: ReceiptLogLocation = { dir: receiptsDir, dirSync: new DirSync(receiptsDir), tmpDir, compactAtBytes };
      for (const q of queues.values()) {
        quarantinedNow.push(...(await loadQueue(q, receipts, quarantine)));
        loaded.push(q);
      }
    } catch (e) {
      for (const q of loaded) await q.receipts.close();
      await releaseDirLock(dir);
      throw e;
    }
    const envelope: EnvelopeContext = {
      account: options.account ?? '000000000000',
      region: options.region ?? 'local',
      busName: options.eventBusName ?? NIGHTSHIFT_BUS,
      now: options.now ?? (() => new Date()),
    };
    const bus = new LocalEventBus(dir, tmpDir, queues, envelope, visibilityTimeoutMs, maxReceiveCount, quarantine);
    const all = await quarantine.list();
    if (all.length > 0) {
      const warn = options.warn ?? ((message: string) => process.emitWarning(message, { code: 'NIGHTSHIFT_BUS_QUARANTINE' }));
      warn(
        `event bus ${dir}: ${quarantinedNow.length} message file(s) could not be loaded and were moved to ${quarantine.dir} ` +
          `(${all.length} file(s) there in all; each with a .reason file). ` +
          'They are not delivered: inspect, repair and move back, or delete them.',
      );
    }
    return bus;
  }

  /** The message files this bus could not load and moved to `<dir>/quarantine/` (at this start or earlier), with their reasons. */
  quarantined(): Promise<QuarantinedFile[]> {
    return this.quarantine.list();
  }

  /** True once {@link close} was called. */
  get isClosed(): boolean {
    return this.closed;
  }

  /** The configured queue names. */
  get queueNames(): string[] {
    return [...this.queues.keys()];
  }

  /** Envelope `account` of the events this bus builds (also the account of its queues' ARNs). */
  get account(): string {
    return this.envelope.account;
  }

  /** Envelope `region` of the events this bus builds. */
  get region(): string {
    return this.envelope.region;
  }

  /**
   * EventBridge PutEvents. Throws `PutEventsValidationError` (and writes nothing) for what AWS
   * rejects as a whole request: 0 or more than 10 entries, more than 256 KiB. Otherwise every
   * entry gets a result: its `EventId` once a copy is durably in every queue whose rules match it
   * (an event no rule matches is accepted and goes nowhere, as in AWS), or EventBridge's per-entry
   * error (`InvalidArgument`, `MalformedDetail`, or `InternalFailure` if a write failed); one bad
   * entry does not stop the others.
   */
  async putEvents(entries: readonly PutEventsRequestEntry[]): Promise<PutEventsResult> {
    this.assertOpen();
    validatePutEventsRequest(entries);
    const results = await Promise.all(
      entries.map(async (entry): Promise<PutEventsResultEntry> => {
        const built = entryToEvent(entry, this.envelope);
        if (!('event' in built)) return built;
        const { event } = built;
        try {
          await Promise.all([...this.queues.values()].filter((q) => q.routes(event)).map((q) => this.enqueue(q, event)));
        } catch (e) {
          if (e instanceof InvalidEventError) {
            return { ErrorCode: 'InvalidArgument', ErrorMessage: `The event is not valid. Reason: ${e.reason}` };
          }
          // PutEvents reports an internal failure per entry (retryable) rather than failing the call.
          return { ErrorCode: 'InternalFailure', ErrorMessage: `the event could not be persisted: ${messageOf(e)}` };
        }
        return { EventId: event.id };
      }),
    );
    return { FailedEntryCount: results.filter((r) => 'ErrorCode' in r).length, Entries: results };
  }

  /** The {@link MessageConsumer} of one queue (what a service's transport consumes). */
  consumer(queue: string): MessageConsumer {
    this.queue(queue);
    return new LocalQueueConsumer(this, queue);
  }

  /**
   * Receives up to `max` visible messages of `queue`, oldest first, each made invisible for the
   * visibility timeout with its receive count incremented, durably, before this resolves. A
   * message already delivered `maxReceiveCount` times is moved to the DLQ instead. With
   * `waitTimeMs` it waits (in-process notification on publish/release, a timer for visibility
   * expiry; no polling) until at least one message is available, the time is up, `signal` aborts
   * or the bus closes.
   */
  async receive(queue: string, max = 1, options: ReceiveOptions = {}): Promise<ReceivedMessage[]> {
    const q = this.queue(queue);
    if (!(Number.isInteger(max) && max >= 1)) throw new RangeError(`max must be a positive integer, got ${max}`);
    const visibilityMs = this.visibilityOf(options);
    this.assertOpen();
    const deadline = this.nowMs() + Math.max(0, options.waitTimeMs ?? 0);
    for (;;) {
      const received = await this.claim(q, max, visibilityMs);
      if (received.length > 0) return received;
      if (this.closed || options.signal?.aborted || this.nowMs() >= deadline) return [];
      await this.waitForChange(q.waiters, nextVisible(q.messages.values(), (s) => s.record.visibleAt), deadline, options.signal);
    }
  }

  /**
   * Enqueues `event` as is, a new message of `queue` (SQS SendMessage to a queue that an EventBridge
   * rule targets), bypassing the rules; resolves with its message id once it is durable. Throws
   * `InvalidEventError` if the bus could not load `event` back (not an EventBridge event by
   * `eventBridgeEnvelopeSchema`, or a detail nested too deep).
   */
  async sendMessage(queue: string, event: EventBridgeEvent): Promise<string> {
    const q = this.queue(queue);
    assertStorable(event);
    this.assertOpen();
    return this.enqueue(q, structuredClone(event));
  }

  /**
   * True if `receiptHandle` is the latest delivery of a message of `queue` that is invisible now (SQS's
   * "in flight": what ChangeMessageVisibility accepts).
   */
  isInFlight(queue: string, receiptHandle: string): boolean {
    const slot = this.deliveredSlot(this.queue(queue), receiptHandle);
    return slot !== undefined && slot.record.visibleAt > this.nowMs();
  }

  /**
   * Deletes the message: its handler succeeded. Resolves `false` (and deletes nothing) if the
   * handle is not the message's latest delivery (it was acked already, moved, or delivered again
   * after its visibility timeout: that newer delivery now owns it).
   */
  async ack(queue: string, receiptHandle: string): Promise<boolean> {
    const q = this.queue(queue);
    this.assertOpen();
    const slot = this.deliveredSlot(q, receiptHandle);
    if (!slot) return false;
    await this.removeSlot(slot, q.dir, q.dirSync, q.messages);
    return true;
  }

  /**
   * Makes the message visible again after `delayMs` (0: at once), keeping its receive count, and
   * records `lastError` for the dead-letter queue should it end there. `false` for a stale handle.
   */
  async release(queue: string, receiptHandle: string, delayMs = 0, lastError?: string): Promise<boolean> {
    const q = this.queue(queue);
    this.assertOpen();
    const slot = this.deliveredSlot(q, receiptHandle);
    if (!slot) return false;
    slot.record.visibleAt = this.nowMs() + Math.max(0, delayMs);
    if (lastError !== undefined) slot.record.lastError = lastError;
    await this.track(q.receipts.append([receiptOf(slot.record)]));
    q.wake();
    return true;
  }

  /**
   * Moves the message to `<queue>-dlq` at once with `reason` (a handler error that retrying cannot
   * fix). `false` for a stale handle.
   */
  async deadLetter(queue: string, receiptHandle: string, reason: string): Promise<boolean> {
    const q = this.queue(queue);
    this.assertOpen();
    const slot = this.deliveredSlot(q, receiptHandle);
    if (!slot) return false;
    await this.moveToDlq(q, slot, reason);
    return true;
  }

  /** The messages in `<queue>-dlq`, oldest first. */
  listDeadLetters(queue: string): DeadLetter[] {
    const q = this.queue(queue);
    return [...q.dead.values()].map(({ record }) => ({
      messageId: record.messageId,
      event: structuredClone(record.event),
      receiveCount: record.receiveCount,
      enqueuedAt: record.enqueuedAt,
      deadLetteredAt: record.deadLetteredAt ?? '',
      reason: record.deadLetterReason ?? record.lastError ?? '',
    }));
  }

  /**
   * Moves every dead letter of `queue` back into it as a new message (receive count 0), like an SQS
   * DLQ redrive; returns how many. A crash midway can leave a message in both: a duplicate, never a loss.
   */
  async redriveDeadLetters(queue: string): Promise<number> {
    const q = this.queue(queue);
    this.assertOpen();
    let moved = 0;
    for (const slot of [...q.dead.values()]) {
      if (slot.leaving) continue;
      await this.leave(slot, async () => {
        await this.enqueue(q, slot.record.event, { lastError: slot.record.deadLetterReason });
        await unlinkIfPresent(join(q.dlqDir, slot.file));
        await q.dlqDirSync.sync();
      });
      q.dead.delete(slot.record.messageId);
      moved++;
    }
    return moved;
  }

  /**
   * Deletes every message of `queue`, in flight or not (SQS PurgeQueue); resolves with how many once
   * the deletions are durable. Its dead letters stay. For a queue whose backlog has no value after a
   * restart (the console's), so that it is not kept and reloaded for ever.
   */
  async purge(queue: string): Promise<number> {
    const q = this.queue(queue);
    this.assertOpen();
    const slots = [...q.messages.values()].filter((slot) => !slot.leaving);
    await Promise.all(slots.map((slot) => this.removeSlot(slot, q.dir, q.dirSync, q.messages)));
    return slots.length;
  }

  /** Message counts of `queue` (in-flight = received and not yet visible again). */
  stats(queue: string): QueueStats {
    const q = this.queue(queue);
    const now = this.nowMs();
    let visible = 0;
    let inFlight = 0;
    for (const s of q.messages.values()) {
      if (s.record.visibleAt <= now) visible++;
      else inFlight++;
    }
    return { visible, inFlight, deadLetters: q.dead.size };
  }

  /**
   * Receives up to `max` dead letters of `queue` (`<queue>-dlq` read as an SQS queue: an operator
   * inspecting or draining it), in about the order they arrived, each invisible for the visibility timeout; long polls
   * like {@link receive}. Unlike the queue's, the DLQ's delivery state (visibility, receive count,
   * handles) is kept in memory only: after a restart every dead letter is visible again and old
   * handles are stale. A dead letter is never moved on by its receive count (a DLQ has no redrive).
   */
  async receiveDeadLetters(queue: string, max = 1, options: ReceiveOptions = {}): Promise<ReceivedDeadLetter[]> {
    const q = this.queue(queue);
    if (!(Number.isInteger(max) && max >= 1)) throw new RangeError(`max must be a positive integer, got ${max}`);
    const visibilityMs = this.visibilityOf(options);
    this.assertOpen();
    const deadline = this.nowMs() + Math.max(0, options.waitTimeMs ?? 0);
    for (;;) {
      const received = this.claimDead(q, max, visibilityMs);
      if (received.length > 0) return received;
      if (this.closed || options.signal?.aborted || this.nowMs() >= deadline) return [];
      await this.waitForChange(q.deadWaiters, nextVisible(q.dead.values(), (s) => s.deadDelivery?.visibleAt ?? 0), deadline, options.signal);
    }
  }

  /**
   * Deletes a dead letter received with {@link receiveDeadLetters}. `false` (and nothing deleted) if
   * the handle is not its latest delivery.
   */
  async deleteDeadLetter(queue: string, receiptHandle: string): Promise<boolean> {
    const q = this.queue(queue);
    this.assertOpen();
    const slot = this.deliveredDeadSlot(q, receiptHandle);
    if (!slot) return false;
    await this.removeSlot(slot, q.dlqDir, q.dlqDirSync, q.dead);
    return true;
  }

  /**
   * Makes a received dead letter visible again after `timeoutMs` (SQS ChangeMessageVisibility on the
   * DLQ). `false` if the handle is not its latest delivery or the dead letter is not in flight.
   */
  changeDeadLetterVisibility(queue: string, receiptHandle: string, timeoutMs: number): boolean {
    const q = this.queue(queue);
    this.assertOpen();
    const slot = this.deliveredDeadSlot(q, receiptHandle);
    const now = this.nowMs();
    if (!slot?.deadDelivery || slot.deadDelivery.visibleAt <= now) return false;
    slot.deadDelivery.visibleAt = now + Math.max(0, timeoutMs);
    q.wakeDead();
    return true;
  }

  /**
   * Puts `event` straight into `<queue>-dlq` with `reason` (SQS SendMessage to the DLQ: how a
   * consumer dead-letters over the SQS API); resolves with the new message id once it is durable.
   * Throws `InvalidEventError` as {@link sendMessage} does.
   */
  async putDeadLetter(queue: string, event: EventBridgeEvent, reason: string): Promise<string> {
    const q = this.queue(queue);
    assertStorable(event);
    this.assertOpen();
    const now = this.nowMs();
    const at = new Date(now).toISOString();
    const record: MessageRecord = {
      format: 1,
      messageId: randomUUID(),
      enqueuedAt: at,
      receiveCount: 0,
      visibleAt: 0,
      deadLetteredAt: at,
      deadLetterReason: reason,
      event: structuredClone(event),
    };
    await this.addSlot(record, now, q.dlqDir, q.dlqDirSync, q.dead);
    q.wakeDead();
    return record.messageId;
  }

  /** Counts of `<queue>-dlq` read as a queue: dead letters visible, and received and not visible again. */
  deadLetterStats(queue: string): { visible: number; inFlight: number } {
    const q = this.queue(queue);
    const now = this.nowMs();
    let inFlight = 0;
    for (const s of q.dead.values()) if ((s.deadDelivery?.visibleAt ?? 0) > now) inFlight++;
    return { visible: q.dead.size - inFlight, inFlight };
  }

  /**
   * Stops the bus: pending long polls resolve empty, new calls throw `BusClosedError`, writes under
   * way complete, and the directory lock is released. Messages keep their durable state.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const q of this.queues.values()) {
      q.wake();
      q.wakeDead();
    }
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
    for (const q of this.queues.values()) await q.receipts.close();
    await releaseDirLock(this.dir);
  }

  private async enqueue(q: Queue, event: EventBridgeEvent, extra: { lastError?: string } = {}): Promise<string> {
    const now = this.nowMs();
    const record: MessageRecord = {
      format: 1,
      messageId: randomUUID(),
      enqueuedAt: new Date(now).toISOString(),
      receiveCount: 0,
      visibleAt: 0,
      ...(extra.lastError !== undefined ? { lastError: extra.lastError } : {}),
      event,
    };
    await this.addSlot(record, now, q.dir, q.dirSync, q.messages);
    q.wake();
    return record.messageId;
  }

  private async claim(q: Queue, max: number, visibilityMs: number): Promise<ReceivedMessage[]> {
    const now = this.nowMs();
    const claimed: Slot[] = [];
    const exhausted: Slot[] = [];
    for (const slot of q.messages.values()) {
      if (claimed.length >= max) break;
      if (slot.leaving || slot.record.visibleAt > now) continue;
      if (slot.record.receiveCount >= this.maxReceiveCount) {
        exhausted.push(slot);
        continue;
      }
      // Claimed in memory synchronously, so a concurrent receive cannot take the same message.
      slot.record.receiveCount++;
      slot.record.visibleAt = now + visibilityMs;
      slot.firstReceivedAt ??= now;
      claimed.push(slot);
    }
    const outcomes = await Promise.allSettled([
      // One appended line per message, one fsync for the lot (shared with concurrent receives).
      ...(claimed.length > 0 ? [this.track(q.receipts.append(claimed.map((slot) => receiptOf(slot.record))))] : []),
      ...exhausted.map((slot) =>
        this.moveToDlq(
          q,
          slot,
          `maxReceiveCount ${this.maxReceiveCount} exceeded` + (slot.record.lastError ? `; last error: ${slot.record.lastError}` : ''),
        ),
      ),
    ]);
    const failed = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
    // A failed append leaves the claimed messages invisible until the timeout, then they are delivered again.
    if (failed) throw failed.reason;
    return claimed.map(({ record, firstReceivedAt }) => ({
      receiptHandle: receiptHandleOf(record),
      messageId: record.messageId,
      receiveCount: record.receiveCount,
      event: structuredClone(record.event),
      enqueuedAt: record.enqueuedAt,
      firstReceivedAt: new Date(firstReceivedAt ?? now).toISOString(),
    }));
  }

  /** Claims visible dead letters; synchronous, so concurrent receives never share one. */
  private claimDead(q: Queue, max: number, visibilityMs: number): ReceivedDeadLetter[] {
    const now = this.nowMs();
    const out: ReceivedDeadLetter[] = [];
    for (const slot of q.dead.values()) {
      if (out.length >= max) break;
      if (slot.leaving || (slot.deadDelivery?.visibleAt ?? 0) > now) continue;
      const { record } = slot;
      const delivery: DeadDelivery = {
        handle: `${record.messageId}:${randomUUID()}`,
        visibleAt: now + visibilityMs,
        receives: (slot.deadDelivery?.receives ?? 0) + 1,
      };
      slot.deadDelivery = delivery;
      slot.firstReceivedAt ??= now;
      out.push({
        receiptHandle: delivery.handle,
        messageId: record.messageId,
        receiveCount: record.receiveCount + delivery.receives,
        event: structuredClone(record.event),
        enqueuedAt: record.enqueuedAt,
        firstReceivedAt: new Date(slot.firstReceivedAt).toISOString(),
        reason: record.deadLetterReason ?? record.lastError ?? '',
        deadLetteredAt: record.deadLetteredAt ?? '',
      });
    }
    return out;
  }

  /**
   * Writes a new message's file (durably) into a queue or a DLQ, then adds it: deliverable only once
   * durable, so a consumer can never ack what a crash could still lose.
   */
  private async addSlot(record: MessageRecord, now: number, dir: string, dirSync: DirSync, into: Map<string, Slot>): Promise<void> {
    const file = messageFileName(now, record.messageId);
    await this.track(
      (async () => {
        await writeFileAtomically(this.tmpDir, join(dir, file), serialize(record));
        await dirSync.sync();
      })(),
    );
    into.set(record.messageId, { file, record, chain: Promise.resolve(), leaving: false });
  }

  /** Deletes a message's file (durably) from a queue or a DLQ, then forgets it. */
  private async removeSlot(slot: Slot, dir: string, dirSync: DirSync, from: Map<string, Slot>): Promise<void> {
    await this.leave(slot, async () => {
      await unlinkIfPresent(join(dir, slot.file));
      await dirSync.sync();
    });
    from.delete(slot.record.messageId);
  }

  /** Marks a slot as leaving its queue while `work` removes it; a failure leaves it where it was. */
  private async leave(slot: Slot, work: () => Promise<void>): Promise<void> {
    slot.leaving = true;
    try {
      await this.onSlot(slot, work);
    } catch (e) {
      slot.leaving = false;
      throw e;
    }
  }

  private async moveToDlq(q: Queue, slot: Slot, reason: string): Promise<void> {
    const dead: MessageRecord = { ...slot.record, deadLetteredAt: new Date(this.nowMs()).toISOString(), deadLetterReason: reason };
    // DLQ copy first, then the source: a crash in between leaves the message in both, which
    // loading resolves by finishing the move (same file name, same message id).
    await this.leave(slot, async () => {
      await writeFileAtomically(this.tmpDir, join(q.dlqDir, slot.file), serialize(dead));
      await q.dlqDirSync.sync();
      await unlinkIfPresent(join(q.dir, slot.file));
      await q.dirSync.sync();
    });
    q.messages.delete(slot.record.messageId);
    q.dead.set(dead.messageId, { file: slot.file, record: dead, chain: Promise.resolve(), leaving: false });
    q.wakeDead();
  }

  private onSlot(slot: Slot, op: () => Promise<void>): Promise<void> {
    const run = slot.chain.then(op);
    slot.chain = run.catch(() => undefined);
    return this.track(run);
  }

  private track<T>(p: Promise<T>): Promise<T> {
    const settled = p.then(
      () => undefined,
      () => undefined,
    );
    this.pending.add(settled);
    void settled.then(() => this.pending.delete(settled));
    return p;
  }

  private deliveredSlot(q: Queue, receiptHandle: string): Slot | undefined {
    const [messageId] = receiptHandle.split(':');
    const slot = q.messages.get(messageId ?? '');
    if (!slot || slot.leaving || slot.record.receiveCount === 0) return undefined;
    return receiptHandleOf(slot.record) === receiptHandle ? slot : undefined;
  }

  /** Resolves on a wake-up through `waiters`, at the next visibility expiry `nextVisibleAt`, at `deadline` or on abort. */
  private waitForChange(waiters: Set<() => void>, nextVisibleAt: number, deadline: number, signal: AbortSignal | undefined): Promise<void> {
    return new Promise((done) => {
      const wakeAt = Math.min(deadline, nextVisibleAt);
      const wake = () => {
        clearTimeout(timer);
        waiters.delete(wake);
        signal?.removeEventListener('abort', wake);
        done();
      };
      const timer = setTimeout(wake, Math.min(MAX_TIMER_MS, Math.max(1, wakeAt - this.nowMs())));
      waiters.add(wake);
      signal?.addEventListener('abort', wake, { once: true });
    });
  }

  private deliveredDeadSlot(q: Queue, receiptHandle: string): Slot | undefined {
    const [messageId] = receiptHandle.split(':');
    const slot = q.dead.get(messageId ?? '');
    if (!slot || slot.leaving || slot.deadDelivery?.handle !== receiptHandle) return undefined;
    return slot;
  }

  private visibilityOf(options: ReceiveOptions): number {
    const ms = options.visibilityTimeoutMs ?? this.visibilityTimeoutMs;
    if (!(Number.isFinite(ms) && ms >= 0)) throw new RangeError(`visibilityTimeoutMs must be a non-negative number, got ${ms}`);
    return ms;
  }

  private queue(name: string): Queue {
    const q = this.queues.get(name);
    if (!q) throw new UnknownQueueError(name);
    return q;
  }

  private assertOpen(): void {
    if (this.closed) throw new BusClosedError();
  }

  private nowMs(): number {
    return this.envelope.now().getTime();
  }
}

/** The earliest future visibility among the deliverable slots (Infinity: none). */
function nextVisible(slots: Iterable<Slot>, visibleAt: (slot: Slot) => number): number {
  let next = Infinity;
  for (const s of slots) if (!s.leaving && visibleAt(s) < next) next = visibleAt(s);
  return next;
}

function messageFileName(enqueuedAtMs: number, messageId: string): string {
  return `${String(enqueuedAtMs).padStart(13, '0')}-${messageId}.json`;
}

function receiptOf(record: MessageRecord): Receipt {
  return {
    messageId: record.messageId,
    receiveCount: record.receiveCount,
    visibleAt: record.visibleAt,
    ...(record.lastError !== undefined ? { lastError: record.lastError } : {}),
  };
}

/** Opaque to callers; names the delivery (message + receive count) so a stale handle is detectable. */
function receiptHandleOf(record: MessageRecord): string {
  return `${record.messageId}:${record.receiveCount}`;
}

interface ReceiptLogLocation {
  dir: string;
  dirSync: DirSync;
  tmpDir: string;
  compactAtBytes: number;
}

/** Loads a queue and its DLQ from their files; returns the files it could not load and quarantined. */
async function loadQueue(q: Queue, receipts: ReceiptLogLocation, quarantine: Quarantine): Promise<QuarantinedFile[]> {
  const dead = await readRecords(q.dlqDir);
  const live = await readRecords(q.dir);
  const quarantined: QuarantinedFile[] = [];
  for (const [name, dir, bad] of [[`${q.name}-dlq`, q.dlqDir, dead.bad], [q.name, q.dir, live.bad]] as const) {
    for (const { file, error } of bad) quarantined.push(await quarantine.move(name, dir, file, error.message));
  }
  for (const [file, record] of dead.records) q.dead.set(record.messageId, { file, record, chain: Promise.resolve(), leaving: false });
  let finishedMoves = false;
  for (const [file, record] of live.records) {
    if (q.dead.has(record.messageId)) {
      // A dead-letter move was interrupted after its DLQ copy was written: finish it.
      await unlinkIfPresent(join(q.dir, file));
      finishedMoves = true;
      continue;
    }
    q.messages.set(record.messageId, { file, record, chain: Promise.resolve(), leaving: false });
  }
  if (finishedMoves) await q.dirSync.sync();
  // A message file keeps the state it was enqueued with; the log's latest line for it is newer. Lines
  // of messages that are gone (acked, dead-lettered) are dropped by the compaction on open.
  const path = join(receipts.dir, `${q.name}.log`);
  for (const receipt of (await readReceipts(path)).values()) {
    const slot = q.messages.get(receipt.messageId);
    if (!slot) continue;
    slot.record.receiveCount = receipt.receiveCount;
    slot.record.visibleAt = receipt.visibleAt;
    if (receipt.lastError === undefined) delete slot.record.lastError;
    else slot.record.lastError = receipt.lastError;
  }
  q.receipts = await ReceiptLog.open({
    path,
    tmpDir: receipts.tmpDir,
    dirSync: receipts.dirSync,
    snapshot: () => q.deliveryStates(),
    compactAtBytes: receipts.compactAtBytes,
  });
  return quarantined;
}

interface QueueFiles {
  records: Array<[string, MessageRecord]>;
  bad: Array<{ file: string; error: CorruptMessageFileError }>;
}

/** Reads a queue directory's message files: those that load, and those that do not (with why). */
async function readRecords(dir: string): Promise<QueueFiles> {
  const files = (await readdir(dir)).filter((f) => f.endsWith('.json')).sort();
  const records: QueueFiles['records'] = [];
  const bad: QueueFiles['bad'] = [];
  for (const file of files) {
    const path = join(dir, file);
    // A read error (permissions, I/O) is the machine's, not the file's: it still fails the start.
    const text = await readFile(path, 'utf8');
    try {
      records.push([file, messageRecordSchema.parse(JSON.parse(text)) as MessageRecord]);
    } catch (e) {
      bad.push({ file, error: new CorruptMessageFileError(path, { cause: e }) });
    }
  }
  return { records, bad };
}

/** Throws `InvalidEventError` for an event the bus could not load back once written. */
function assertStorable(event: unknown): void {
  const problem = storableEventProblem(event);
  if (problem !== undefined) throw new InvalidEventError(problem);
}

/**
 * A message file's content, checked against the schema the bus loads it with, so that nothing it
 * writes can fail its next start (`InvalidEventError` instead; every ingress checks before this).
 */
function serialize(record: MessageRecord): string {
  const checked = messageRecordSchema.safeParse(record);
  if (!checked.success) {
    throw new InvalidEventError(checked.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '), { cause: checked.error });
  }
  return JSON.stringify(record);
}

async function unlinkIfPresent(path: string): Promise<void> {
  try {
    await unlink(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
}
