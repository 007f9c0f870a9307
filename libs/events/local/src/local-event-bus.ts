import { randomUUID } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { envelope, MessageDeadLettered, NIGHTSHIFT_BUS, type EventBridgeEvent, traceparentSchema, type EventMetadata, type RuleDefinition } from '@nightshift/contracts';
import {
  compileEventPattern,
  InvalidEventPatternError,
  validateEventPattern,
  type PutEventsRequestEntry,
  type PutEventsResult,
  type PutEventsResultEntry,
  type DeadLetterQueues,
  type MessageConsumer,
  type ServiceBus,
} from '@nightshift/events-domain';
import { withPutEventsSpan } from '@nightshift/observability';
import { BusRuntime } from './bus-runtime.js';
import { acquireDirLock, DirSync, fsyncDir, releaseDirLock, removeStaleTempFiles } from './durable-files.js';
import { BusClosedError, InvalidEventError, InvalidQueueNameError, InvalidRuleError, messageOf, UnknownQueueError } from './errors.js';
import { LocalDeadLetterQueues } from './local-dead-letter-queues.js';
import { LocalQueueConsumer } from './local-queue-consumer.js';
import type {
  DeadLetter,
  DeadLetterBrowseOptions,
  DeadLetterBrowsePage,
  QueueBacklog,
  QueueStats,
  ReceivedDeadLetter,
  ReceivedMessage,
  ReceiveOptions,
} from './messages.js';
import { entryToEvent, storableEventProblem, validatePutEventsRequest, type EnvelopeContext } from './put-events.js';
import type { MessageRecord } from './message-file.js';
import { Quarantine, type QuarantinedFile } from './quarantine.js';
import { ServiceQueue, type ReceiptLogLocation } from './service-queue.js';

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
   * How long a queue keeps a message, from when it entered the queue (SQS `MessageRetentionPeriod`),
   * in flight or not; older ones are deleted at open, when a receive meets them, and by a sweep every
   * minute ({@link LocalEventBus.expireMessages}). Default 4 days (SQS's default).
   */
  messageRetentionMs?: number;
  /**
   * The same for `<queue>-dlq`, counted from when the message entered its source queue, as SQS does.
   * Default 14 days (SQS's maximum: AWS recommends a DLQ retention longer than its source queue's).
   */
  deadLetterRetentionMs?: number;
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
  /** Clock for event times, visibility and retention. Default `() => new Date()`. */
  now?: () => Date;
  /**
   * Where the bus reports message files it could not load and quarantined (at open, see
   * {@link LocalEventBus.quarantined}, or when a delivery found one gone or changed) and a retention
   * sweep that failed. Default: `process.emitWarning` (printed on stderr).
   */
  warn?: (message: string) => void;
  /**
   * Publish a `Message Dead-Lettered` event (source `nightshift.bus`) on this bus whenever a message
   * enters a DLQ while it runs, so notifications can tell someone. Never for a Message Dead-Lettered
   * event itself (no loop). Best effort: a crash between the move and the announcement loses the
   * announcement, never the dead letter. Default false.
   */
  announceDeadLetters?: boolean;
}

const QUEUE_NAME = /^[A-Za-z0-9_-]{1,76}$/;
const DAY_MS = 24 * 60 * 60 * 1000;
/** How often retention is enforced besides at open and on receive. */
const RETENTION_SWEEP_MS = 60_000;

/**
 * The embedded event bus: EventBridge rules fanning out to one SQS-like queue per service, kept in
 * plain files under one directory (layout in the README).
 *
 * Delivery semantics match the AWS mode: `putEvents` resolves only after every routed copy is on
 * disk (fsync'ed file and directory); a queue's message is deleted only by `ack` (or retention); a
 * received message is invisible for the visibility timeout and then delivered again with a higher
 * receive count, also after a restart (receive count and visibility are on disk before a message is
 * handed out); after `maxReceiveCount` deliveries the next receive moves it to the queue's DLQ.
 * Delivery is at least once: a crash can repeat a delivery, never lose one, so consumers deduplicate
 * on event id.
 *
 * Memory holds a small index entry per message (see the README), never an event: a delivery reads
 * its event from the message file.
 *
 * One process owns the directory (a `LOCK` file with its pid; a dead owner's lock is taken over).
 * Other processes publish through {@link PutEventsHttpEndpoint}.
 */
export class LocalEventBus implements ServiceBus {
  private readonly sweepTimer: NodeJS.Timeout;
  private sweeping = false;

  private constructor(
    readonly dir: string,
    private readonly queues: ReadonlyMap<string, ServiceQueue>,
    private readonly envelope: EnvelopeContext,
    /** How long a received message stays invisible before it is delivered again. */
    readonly visibilityTimeoutMs: number,
    /** Receives after which the next receive moves a message to its DLQ. */
    readonly maxReceiveCount: number,
    private readonly runtime: BusRuntime,
  ) {
    this.sweepTimer = setInterval(() => void this.sweep(), RETENTION_SWEEP_MS);
    this.sweepTimer.unref();
  }

  /**
   * Opens (creating if needed) the bus in `options.dir`: takes the directory lock, removes temp
   * files of interrupted writes, finishes interrupted dead-letter moves, loads every queue's index
   * and deletes the messages past retention. A message file that does not load (edited, or written
   * by something else) does not stop the start: it is moved to `<dir>/quarantine/<queue>/` with a
   * `.reason` file, and `options.warn` says how many and where. Throws `InvalidQueueNameError` /
   * `InvalidRuleError` for a bad configuration, `RangeError` for a bad number, and
   * `BusDirectoryLockedError` if a live process owns the directory.
   */
  static async open(options: LocalEventBusOptions): Promise<LocalEventBus> {
    const visibilityTimeoutMs = nonNegative('visibilityTimeoutMs', options.visibilityTimeoutMs ?? 30_000);
    const maxReceiveCount = options.maxReceiveCount ?? 5;
    if (!(Number.isInteger(maxReceiveCount) && maxReceiveCount >= 1)) {
      throw new RangeError(`maxReceiveCount must be a positive integer, got ${maxReceiveCount}`);
    }
    const settings = {
      maxReceiveCount,
      messageRetentionMs: positive('messageRetentionMs', options.messageRetentionMs ?? 4 * DAY_MS),
      deadLetterRetentionMs: positive('deadLetterRetentionMs', options.deadLetterRetentionMs ?? 14 * DAY_MS),
    };
    const compactAtBytes = nonNegative('receiptLogCompactionBytes', options.receiptLogCompactionBytes ?? 1024 * 1024);
    const dir = resolve(options.dir);
    const tmpDir = join(dir, 'tmp');
    const queuesDir = join(dir, 'queues');
    const receiptsDir = join(dir, 'receipts');
    const warn = options.warn ?? ((message: string) => process.emitWarning(message, { code: 'NIGHTSHIFT_BUS_QUARANTINE' }));
    const envelope: EnvelopeContext = {
      account: options.account ?? '000000000000',
      region: options.region ?? 'local',
      busName: options.eventBusName ?? NIGHTSHIFT_BUS,
      now: options.now ?? (() => new Date()),
    };
    const quarantine = new Quarantine(dir, tmpDir);
    const runtime = new BusRuntime(tmpDir, quarantine, envelope.now, warn);
    const queues = new Map<string, ServiceQueue>();
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
      queues.set(name, new ServiceQueue(name, join(queuesDir, name), join(queuesDir, `${name}-dlq`), matchers, runtime, settings));
    }

    await mkdir(tmpDir, { recursive: true });
    await acquireDirLock(dir, tmpDir);
    const quarantinedNow: QuarantinedFile[] = [];
    let quarantinedAll: QuarantinedFile[] = [];
    const loaded: ServiceQueue[] = [];
    try {
      await removeStaleTempFiles(tmpDir);
      await mkdir(queuesDir, { recursive: true });
      await mkdir(receiptsDir, { recursive: true });
      for (const q of queues.values()) {
        await mkdir(q.dir, { recursive: true });
        await mkdir(q.dead.dir, { recursive: true });
      }
      // Make the directories themselves durable before anything is published into them.
      const dirs = [dirname(dir), dir, queuesDir, receiptsDir, ...[...queues.values()].flatMap((q) => [q.dir, q.dead.dir])];
      await Promise.all(dirs.map(fsyncDir));
      const receipts: ReceiptLogLocation = { dir: receiptsDir, dirSync: new DirSync(receiptsDir), tmpDir, compactAtBytes };
      for (const q of queues.values()) {
        quarantinedNow.push(...(await q.load(receipts)));
        loaded.push(q);
      }
      quarantinedAll = await quarantine.list();
    } catch (e) {
      for (const q of loaded) await q.close();
      await releaseDirLock(dir);
      throw e;
    }
    if (quarantinedAll.length > 0) {
      warn(
        `event bus ${dir}: ${quarantinedNow.length} message file(s) could not be loaded and were moved to ${quarantine.dir} ` +
          `(${quarantinedAll.length} file(s) there in all; each with a .reason file). ` +
          'They are not delivered: inspect, repair and move back, or delete them.',
      );
    }
    const bus = new LocalEventBus(dir, queues, envelope, visibilityTimeoutMs, maxReceiveCount, runtime);
    if (options.announceDeadLetters) runtime.deadLettered = (queue, record) => bus.announceDeadLetter(queue, record);
    return bus;
  }

  /** The message files this bus could not load and moved to `<dir>/quarantine/` (at a start, or when a delivery met one), with their reasons. */
  quarantined(): Promise<QuarantinedFile[]> {
    return this.runtime.quarantine.list();
  }

  /** True once {@link close} was called. */
  get isClosed(): boolean {
    return this.runtime.closed;
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
  putEvents(entries: readonly PutEventsRequestEntry[]): Promise<PutEventsResult> {
    // One producer span per request, inside the caller's trace (none for the PutEvents endpoint's upstream calls).
    return withPutEventsSpan(entries, () => this.putEntries(entries));
  }

  private async putEntries(entries: readonly PutEventsRequestEntry[]): Promise<PutEventsResult> {
    this.assertOpen();
    validatePutEventsRequest(entries);
    const results = await Promise.all(
      entries.map(async (entry): Promise<PutEventsResultEntry> => {
        const built = entryToEvent(entry, this.envelope);
        if (!('event' in built)) return built;
        const { event } = built;
        try {
          await Promise.all([...this.queues.values()].filter((q) => q.routes(event)).map((q) => q.enqueue(event)));
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
   * The {@link DeadLetterQueues} of `queues` (default: every queue of the bus; names it does not have
   * are left out): what the REST API lists and redrives.
   */
  deadLetterQueues(queues?: readonly string[]): DeadLetterQueues {
    return new LocalDeadLetterQueues(this, queues);
  }

  /**
   * Receives up to `max` visible messages of `queue`, oldest first, each made invisible for the
   * visibility timeout with its receive count incremented, durably, before this resolves. A
   * message already delivered `maxReceiveCount` times is moved to the DLQ instead, and one past
   * retention is deleted. A message whose file vanished or no longer loads since the bus opened is
   * skipped (quarantined, with a warning). With `waitTimeMs` it waits (in-process notification on
   * publish/release, a timer for visibility expiry; no polling) until at least one message is
   * available, the time is up, `signal` aborts or the bus closes.
   */
  async receive(queue: string, max = 1, options: ReceiveOptions = {}): Promise<ReceivedMessage[]> {
    const q = this.queue(queue);
    const visibilityMs = this.receiveArguments(max, options);
    return q.receive(max, visibilityMs, options);
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
    return q.enqueue(event);
  }

  /**
   * True if `receiptHandle` is the latest delivery of a message of `queue` that is invisible now (SQS's
   * "in flight": what ChangeMessageVisibility accepts).
   */
  isInFlight(queue: string, receiptHandle: string): boolean {
    return this.queue(queue).isInFlight(receiptHandle);
  }

  /**
   * Deletes the message: its handler succeeded. Resolves `false` (and deletes nothing) if the
   * handle is not the message's latest delivery (it was acked already, moved, or delivered again
   * after its visibility timeout: that newer delivery now owns it).
   */
  async ack(queue: string, receiptHandle: string): Promise<boolean> {
    const q = this.queue(queue);
    this.assertOpen();
    return q.ack(receiptHandle);
  }

  /**
   * Makes the message visible again after `delayMs` (0: at once), keeping its receive count, and
   * records `lastError` for the dead-letter queue should it end there. `false` for a stale handle.
   */
  async release(queue: string, receiptHandle: string, delayMs = 0, lastError?: string): Promise<boolean> {
    const q = this.queue(queue);
    this.assertOpen();
    return q.release(receiptHandle, delayMs, lastError);
  }

  /**
   * Moves the message to `<queue>-dlq` at once with `reason` (a handler error that retrying cannot
   * fix). `false` for a stale handle.
   */
  async deadLetter(queue: string, receiptHandle: string, reason: string): Promise<boolean> {
    const q = this.queue(queue);
    this.assertOpen();
    return q.deadLetter(receiptHandle, reason);
  }

  /**
   * The messages in `<queue>-dlq`, oldest first. Synchronous: it reads each dead letter's file with
   * a blocking read (the bus does not keep events in memory), so it is for inspection and tests, not
   * for a large DLQ on a hot path (drain that with {@link receiveDeadLetters}).
   */
  listDeadLetters(queue: string): DeadLetter[] {
    return this.queue(queue).dead.list();
  }

  /**
   * One page of `<queue>-dlq` in listing order: oldest dead-lettering first, ties by message id (see
   * `DeadLetterPosition`); after `options.after`, up to `options.limit`, only those `options.filter`
   * accepts. Reads the page's files (asynchronously), not the whole DLQ's (but for a filter that
   * rejects most). Paging by `next` is stable: nothing is returned twice or skipped while it stays.
   */
  async browseDeadLetters(queue: string, options: DeadLetterBrowseOptions): Promise<DeadLetterBrowsePage> {
    const q = this.queue(queue);
    if (!(Number.isInteger(options.limit) && options.limit >= 1)) throw new RangeError(`limit must be a positive integer, got ${options.limit}`);
    this.assertOpen();
    return q.dead.browse(options);
  }

  /**
   * Moves the dead letters of `queue` (up to `options.max`, oldest dead-lettering first) back into it
   * as new messages (receive count 0), like an SQS DLQ redrive; returns how many. Those dead-lettered
   * again while it runs wait for the next redrive. A crash midway can leave a message in both: a
   * duplicate, never a loss.
   */
  async redriveDeadLetters(queue: string, options: { max?: number } = {}): Promise<number> {
    const q = this.queue(queue);
    const max = options.max ?? Infinity;
    if (!(max === Infinity || (Number.isInteger(max) && max >= 1))) throw new RangeError(`max must be a positive integer, got ${max}`);
    this.assertOpen();
    return q.redrive(max);
  }

  /**
   * Deletes every message of `queue`, in flight or not (SQS PurgeQueue); resolves with how many once
   * the deletions are durable. Its dead letters stay. For a queue whose backlog has no value after a
   * restart (the console's), so that it is not kept and reloaded for ever.
   */
  async purge(queue: string): Promise<number> {
    const q = this.queue(queue);
    this.assertOpen();
    return q.purge();
  }

  /** Message counts of `queue` (in-flight = received and not yet visible again). */
  stats(queue: string): QueueStats {
    return this.queue(queue).stats();
  }

  /**
   * Age in ms of the oldest message in `queue` (in flight or not; its DLQ aside), 0 when it is
   * empty: SQS's ApproximateAgeOfOldestMessage, for the queue gauges. Scans the in-memory index.
   */
  oldestMessageAgeMs(queue: string): number {
    const oldest = this.queue(queue).oldestEnqueuedAtMs();
    return oldest === undefined ? 0 : Math.max(0, this.runtime.nowMs() - oldest);
  }

  /** What `queue` and its DLQ hold, counts and bytes on disk, from the in-memory index (for capacity checks and benchmarks). */
  backlog(queue: string): QueueBacklog {
    return this.queue(queue).backlog();
  }

  /**
   * Deletes every message and dead letter past its retention period now (what the sweep every
   * minute does); resolves with how many once the deletions are durable.
   */
  async expireMessages(): Promise<number> {
    this.assertOpen();
    const now = this.runtime.nowMs();
    let deleted = 0;
    for (const q of this.queues.values()) deleted += (await q.expire(now)) + (await q.dead.expire(now));
    return deleted;
  }

  /**
   * Receives up to `max` dead letters of `queue` (`<queue>-dlq` read as an SQS queue: an operator
   * inspecting or draining it), in about the order they arrived, each invisible for the visibility
   * timeout; long polls like {@link receive}. Unlike the queue's, the DLQ's delivery state
   * (visibility, receive count, handles) is kept in memory only: after a restart every dead letter
   * is visible again and old handles are stale. A dead letter is never moved on by its receive count
   * (a DLQ has no redrive).
   */
  async receiveDeadLetters(queue: string, max = 1, options: ReceiveOptions = {}): Promise<ReceivedDeadLetter[]> {
    const q = this.queue(queue);
    const visibilityMs = this.receiveArguments(max, options);
    return q.dead.receive(max, visibilityMs, options);
  }

  /**
   * Deletes a dead letter received with {@link receiveDeadLetters}. `false` (and nothing deleted) if
   * the handle is not its latest delivery.
   */
  async deleteDeadLetter(queue: string, receiptHandle: string): Promise<boolean> {
    const q = this.queue(queue);
    this.assertOpen();
    return q.dead.delete(receiptHandle);
  }

  /**
   * Makes a received dead letter visible again after `timeoutMs` (SQS ChangeMessageVisibility on the
   * DLQ). `false` if the handle is not its latest delivery or the dead letter is not in flight.
   */
  changeDeadLetterVisibility(queue: string, receiptHandle: string, timeoutMs: number): boolean {
    const q = this.queue(queue);
    this.assertOpen();
    return q.dead.changeVisibility(receiptHandle, timeoutMs);
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
    return q.dead.put(event, reason);
  }

  /** Counts of `<queue>-dlq` read as a queue: dead letters visible, and received and not visible again. */
  deadLetterStats(queue: string): { visible: number; inFlight: number } {
    return this.queue(queue).dead.stats();
  }

  /**
   * Stops the bus: pending long polls resolve empty, new calls throw `BusClosedError`, writes under
   * way complete, and the directory lock is released. Messages keep their durable state.
   */
  async close(): Promise<void> {
    if (this.runtime.closed) return;
    this.runtime.markClosed();
    clearInterval(this.sweepTimer);
    for (const q of this.queues.values()) {
      q.wake();
      q.dead.wake();
    }
    await this.runtime.settled();
    for (const q of this.queues.values()) await q.close();
    await releaseDirLock(this.dir);
  }

  /** Publishes Message Dead-Lettered for a message that just entered `<queue>-dlq` (see `announceDeadLetters`). */
  private announceDeadLetter(queue: string, record: MessageRecord): void {
    const dead = record.event;
    if (dead.source === MessageDeadLettered.source && dead['detail-type'] === MessageDeadLettered.detailType) return;
    if (this.runtime.closed) return;
    const meta = metadataOf(dead.detail);
    const detail = envelope(
      {
        queue,
        deadLetterQueue: `${queue}-dlq`,
        messageId: record.messageId,
        eventId: dead.id,
        eventDetailType: dead['detail-type'],
        eventSource: dead.source,
        reason: record.deadLetterReason ?? record.lastError ?? 'dead-lettered',
        receiveCount: record.receiveCount,
        deadLetteredAt: record.deadLetteredAt ?? new Date(this.runtime.nowMs()).toISOString(),
      },
      {
        eventId: randomUUID(),
        correlationId: meta.correlationId ?? dead.id,
        occurredAt: new Date(this.runtime.nowMs()),
        ...(meta.traceparent ? { traceparent: meta.traceparent } : {}),
        ...(meta.tenant ? { tenant: meta.tenant } : {}),
      },
    );
    const entry = { Source: MessageDeadLettered.source, DetailType: MessageDeadLettered.detailType, Detail: JSON.stringify(detail), EventBusName: this.envelope.busName };
    const announced = this.putEvents([entry]).then(
      (result) => {
        if (result.FailedEntryCount > 0) this.runtime.warn(`event bus ${this.dir}: could not announce the dead letter ${record.messageId} of ${queue}: ${JSON.stringify(result.Entries[0])}`);
      },
      (e: unknown) => {
        if (!(e instanceof BusClosedError)) this.runtime.warn(`event bus ${this.dir}: could not announce the dead letter ${record.messageId} of ${queue}: ${messageOf(e)}`);
      },
    );
    void this.runtime.track(announced);
  }

  /** The periodic retention sweep: a failure is reported and retried at the next one, never thrown. */
  private async sweep(): Promise<void> {
    if (this.runtime.closed || this.sweeping) return;
    this.sweeping = true;
    try {
      await this.runtime.track(this.expireMessages());
    } catch (e) {
      if (!(e instanceof BusClosedError)) this.runtime.warn(`event bus ${this.dir}: the retention sweep failed (${messageOf(e)}); the next one retries`);
    } finally {
      this.sweeping = false;
    }
  }

  /** Checks receive's arguments and the bus; returns the visibility timeout to use. */
  private receiveArguments(max: number, options: ReceiveOptions): number {
    if (!(Number.isInteger(max) && max >= 1)) throw new RangeError(`max must be a positive integer, got ${max}`);
    const visibilityMs = nonNegative('visibilityTimeoutMs', options.visibilityTimeoutMs ?? this.visibilityTimeoutMs);
    this.assertOpen();
    return visibilityMs;
  }

  private queue(name: string): ServiceQueue {
    const q = this.queues.get(name);
    if (!q) throw new UnknownQueueError(name);
    return q;
  }

  private assertOpen(): void {
    if (this.runtime.closed) throw new BusClosedError();
  }
}

function nonNegative(option: string, value: number): number {
  if (!(Number.isFinite(value) && value >= 0)) throw new RangeError(`${option} must be a non-negative number, got ${value}`);
  return value;
}

function positive(option: string, value: number): number {
  if (!(Number.isFinite(value) && value > 0)) throw new RangeError(`${option} must be a positive number, got ${value}`);
  return value;
}

/** The nightshift metadata of a dead event's detail, where it has one (upstream and AWS events do not). */
function metadataOf(detail: unknown): Partial<EventMetadata> {
  const metadata = (detail as { metadata?: unknown } | null)?.metadata;
  if (typeof metadata !== 'object' || metadata === null) return {};
  const m = metadata as Record<string, unknown>;
  const text = (v: unknown) => (typeof v === 'string' && v.length > 0 ? v : undefined);
  const traceparent = text(m['traceparent']);
  const correlationId = text(m['correlationId']);
  const tenant = text(m['tenant']);
  return {
    ...(correlationId ? { correlationId } : {}),
    // Only a well-formed one: the contract refuses the event otherwise.
    ...(traceparent && traceparentSchema.safeParse(traceparent).success ? { traceparent } : {}),
    ...(tenant ? { tenant } : {}),
  };
}

/** Throws `InvalidEventError` for an event the bus could not load back once written. */
function assertStorable(event: unknown): void {
  const problem = storableEventProblem(event);
  if (problem !== undefined) throw new InvalidEventError(problem);
}
