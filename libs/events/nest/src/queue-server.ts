import { EventEmitter } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { Logger } from '@nestjs/common';
import { Server, type CustomTransportStrategy, type MessageHandler } from '@nestjs/microservices';
import { finalize, isObservable, lastValueFrom } from 'rxjs';
import { ConsumerClosedError, resolveClaimCheck, type ClaimCheckStore, type MessageConsumer, type QueueMessage } from '@nightshift/events-domain';
import { platformMetrics } from '@nightshift/observability';
import { QueueContext } from './queue-context.js';

/** Identifies the queue transport (`@EventPattern('Dataset Landed', QUEUE_TRANSPORT)` in a hybrid app). */
export const QUEUE_TRANSPORT: unique symbol = Symbol.for('nightshift.queue');

/** Options of {@link QueueServer}. */
export interface QueueServerOptions {
  /** The service's queue (the embedded bus's or SQS); owned by the caller (the server neither opens nor closes it). */
  consumer: MessageConsumer;
  /** Where claim-checked details are read back from (see `PutEventsPublisher`); without it such an event is dead-lettered. */
  claimChecks?: ClaimCheckStore;
  /** How long one receive waits for a message (long polling). Default 10 000 (SQS allows up to 20 s). */
  longPollMs?: number;
  /** Messages handled at once. Default 4. */
  concurrency?: number;
  /** Delay before a message whose handler threw a retryable error is delivered again: `min(maxMs, baseMs * 2^(receiveCount-1))`. Default 1 s / 60 s. */
  retryBackoff?: { baseMs?: number; maxMs?: number };
  /** How long `close()` waits for running handlers before giving up on them (their messages come back after the visibility timeout). Default 10 000. */
  shutdownTimeoutMs?: number;
}

/** Events `QueueServer.on` accepts: `error` for failures of the queue itself (disk, network), not of handlers. */
export type QueueServerEvents = { error: (error: unknown) => void };
/** `connected` while consuming, `disconnected` after close or when the bus closed under it. */
export type QueueServerStatus = 'connected' | 'disconnected';

const RECEIVE_ERROR_BACKOFF_MS = 1_000;

/**
 * NestJS transport over one service queue ({@link MessageConsumer}: the embedded bus's queue or SQS),
 * with SQS consumer semantics: each message goes to the `@EventPattern(<detail-type>)` handler with
 * the whole EventBridge event as payload (a claim-checked detail read back first) and a
 * {@link QueueContext}; while a handler runs, its message's visibility is extended every half
 * timeout (heartbeat), so a long handler is not delivered twice; it is acked once the handler's
 * promise or observable completes; a handler error with `retryable === false` sends it to the DLQ at
 * once (with the error recorded), any other error releases it for redelivery after an exponential
 * backoff, and after the queue's `maxReceiveCount` deliveries it is dead-lettered by the queue's
 * redrive policy. `close()` stops receiving and drains the handlers under way (SIGTERM).
 * Register {@link PreserveHandlerErrorFilter} so handler errors reach the transport with their
 * `retryable` flag.
 *
 * A message for which no handler exists is acked with a warning: rules only route subscribed
 * events, so it is a wiring bug, and retrying it would not fix it.
 */
export class QueueServer extends Server<QueueServerEvents, QueueServerStatus> implements CustomTransportStrategy {
  /** Handler failures must reach this transport (it decides ack, retry or dead-letter), not just a log line. */
  override readonly propagatesEventHandlerErrors = true;
  protected override readonly logger = new Logger(QueueServer.name);

  private readonly consumer: MessageConsumer;
  private readonly queue: string;
  private readonly claimChecks: ClaimCheckStore | undefined;
  private readonly longPollMs: number;
  private readonly concurrency: number;
  private readonly backoffBaseMs: number;
  private readonly backoffMaxMs: number;
  private readonly shutdownTimeoutMs: number;
  private readonly emitter = new EventEmitter();
  private readonly inFlight = new Set<Promise<void>>();
  private abort: AbortController | undefined;
  private loop: Promise<void> | undefined;
  private warnedGenericError = false;

  constructor(options: QueueServerOptions) {
    super();
    this.consumer = options.consumer;
    this.queue = options.consumer.queue;
    this.claimChecks = options.claimChecks;
    this.longPollMs = options.longPollMs ?? 10_000;
    this.concurrency = options.concurrency ?? 4;
    if (!(Number.isInteger(this.concurrency) && this.concurrency >= 1)) {
      throw new RangeError(`concurrency must be a positive integer, got ${options.concurrency}`);
    }
    this.backoffBaseMs = options.retryBackoff?.baseMs ?? 1_000;
    this.backoffMaxMs = options.retryBackoff?.maxMs ?? 60_000;
    this.shutdownTimeoutMs = options.shutdownTimeoutMs ?? 10_000;
    this.transportId = QUEUE_TRANSPORT;
  }

  /** Starts consuming (the consumer reports an unknown queue or a closed bus on its first receive, as `error`). */
  listen(callback: (...optionalParams: unknown[]) => unknown): void {
    if (this.loop) {
      callback();
      return;
    }
    const abort = new AbortController();
    this.abort = abort;
    this.loop = this.consume(abort.signal);
    this._status$.next('connected');
    callback();
  }

  /** Stops receiving, then waits (up to `shutdownTimeoutMs`) for running handlers to finish and ack. */
  async close(): Promise<void> {
    this.abort?.abort();
    await this.loop;
    this.loop = undefined;
    if (this.inFlight.size > 0) {
      const timeout = new AbortController();
      await Promise.race([
        Promise.allSettled([...this.inFlight]),
        sleep(this.shutdownTimeoutMs, undefined, { signal: timeout.signal }).catch(() => undefined),
      ]);
      timeout.abort();
    }
    this._status$.next('disconnected');
  }

  /** Subscribes to `error` (failures of the queue itself: disk errors, an unreachable SQS). */
  on<EventKey extends keyof QueueServerEvents = keyof QueueServerEvents>(
    event: EventKey,
    callback: QueueServerEvents[EventKey],
  ): void {
    this.emitter.on(event, callback);
  }

  /** The {@link MessageConsumer}. */
  unwrap<T>(): T {
    return this.consumer as T;
  }

  private async consume(signal: AbortSignal): Promise<void> {
    const aborted = new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
    while (!signal.aborted) {
      if (this.inFlight.size >= this.concurrency) {
        // A slot frees up, or close() was called (which must not wait on a hung handler here).
        await Promise.race([...this.inFlight, aborted]);
        continue;
      }
      let messages: QueueMessage[];
      try {
        messages = await this.consumer.receive(Math.min(10, this.concurrency - this.inFlight.size), { waitTimeMs: this.longPollMs, signal });
      } catch (e) {
        if (isClosed(e)) {
          this._status$.next('disconnected');
          return;
        }
        // A failure of the queue (disk, network): report it and back off rather than spin; nothing was lost.
        this.reportError(e);
        await sleep(RECEIVE_ERROR_BACKOFF_MS, undefined, { signal }).catch(() => undefined);
        continue;
      }
      for (const message of messages) {
        const run: Promise<void> = this.process(message).finally(() => this.inFlight.delete(run));
        this.inFlight.add(run);
      }
    }
  }

  /** Never rejects: every outcome ends in ack, release, dead-letter, or a reported bus error. */
  private async process(message: QueueMessage): Promise<void> {
    const { receiptHandle } = message;
    const pattern = message.event['detail-type'];
    try {
      const handler = this.getHandlerByPattern(pattern);
      if (!handler) {
        this.logger.warn(
          `No @EventPattern(${JSON.stringify(pattern)}) handler consumes queue ${this.queue}; event ${message.event.id} acknowledged ` +
            'and dropped. A rule routes this detail-type here: add the handler or narrow the rule.',
        );
        await this.consumer.ack(receiptHandle);
        platformMetrics().eventConsumed(pattern, this.queue, 'dropped');
        return;
      }
      let failure: { error: unknown } | undefined;
      const heartbeat = this.heartbeat(receiptHandle);
      try {
        const detail = await resolveClaimCheck(message.event.detail, this.claimChecks);
        await this.dispatch(handler, detail === message.event.detail ? message : { ...message, event: { ...message.event, detail } });
      } catch (error) {
        failure = { error };
      } finally {
        clearInterval(heartbeat);
      }
      if (!failure) {
        platformMetrics().eventConsumed(pattern, this.queue, 'handled');
        if (!(await this.consumer.ack(receiptHandle))) {
          this.logger.warn(
            `Event ${message.event.id} (${pattern}) was handled after its visibility timeout and has been delivered again; ` +
              'the redelivery will be handled too (handlers are idempotent per event id).',
          );
        }
        return;
      }
      const reason = describeError(failure.error);
      this.warnIfGeneric(failure.error);
      if (isNonRetryable(failure.error)) {
        this.logger.error(`Event ${message.event.id} (${pattern}) failed with a non-retryable error; moved to ${this.queue}-dlq: ${reason}`);
        await this.consumer.deadLetter(receiptHandle, reason);
        platformMetrics().eventConsumed(pattern, this.queue, 'dead_lettered');
      } else {
        const delayMs = Math.min(this.backoffMaxMs, this.backoffBaseMs * 2 ** (message.receiveCount - 1));
        this.logger.warn(
          `Event ${message.event.id} (${pattern}) failed on delivery ${message.receiveCount}; retrying in ${delayMs} ms: ${reason}`,
        );
        await this.consumer.release(receiptHandle, delayMs, reason);
        platformMetrics().eventConsumed(pattern, this.queue, 'retried');
      }
    } catch (e) {
      // ack/release/deadLetter failed (disk or network error, bus closed): the message is still in
      // its queue and comes back after its visibility timeout.
      if (!isClosed(e)) this.reportError(e);
    }
  }

  /** Extends the message's visibility every half timeout while its handler runs. */
  private heartbeat(receiptHandle: string): NodeJS.Timeout {
    const timeoutMs = this.consumer.visibilityTimeoutMs;
    const timer = setInterval(() => {
      this.consumer.extendVisibility(receiptHandle, timeoutMs).catch((e: unknown) => {
        if (!isClosed(e)) this.reportError(e);
      });
    }, Math.max(100, timeoutMs / 2));
    timer.unref();
    return timer;
  }

  /** Runs the handler between Nest's processing hooks and settles when its result has completed. */
  private dispatch(handler: MessageHandler, message: QueueMessage): Promise<void> {
    const ctx = new QueueContext([message.event, this.queue, message.receiveCount, message.messageId]);
    return new Promise<void>((resolve, reject) => {
      const run = async (runEndHook: () => void): Promise<void> => {
        try {
          const result: unknown = await handler(message.event, ctx);
          if (isObservable(result)) await lastValueFrom(result.pipe(finalize(runEndHook)), { defaultValue: undefined });
          runEndHook();
          resolve();
        } catch (e) {
          runEndHook();
          reject(e);
        }
      };
      try {
        // Typed void, but the default hook returns the promise of `run`; a custom hook may return
        // its own promise, whose rejection must not go unhandled.
        const started: unknown = this.runWithProcessingHooks(ctx, run);
        if (started instanceof Promise) started.catch(reject);
      } catch (e) {
        reject(e);
      }
    });
  }

  private warnIfGeneric(error: unknown): void {
    if (this.warnedGenericError || error instanceof Error || typeof error !== 'object' || error === null) return;
    if ((error as { status?: unknown }).status === 'error' && !('retryable' in error)) {
      this.warnedGenericError = true;
      this.logger.warn(
        "A handler error reached the transport as Nest's generic RPC error, without its retryable flag: register " +
          'PreserveHandlerErrorFilter (app.useGlobalFilters) so non-retryable errors go to the DLQ at once.',
      );
    }
  }

  private reportError(error: unknown): void {
    if (this.emitter.listenerCount('error') > 0) this.emitter.emit('error', error);
    else this.logger.error(`Queue ${this.queue}: ${describeError(error)}`, error instanceof Error ? error.stack : undefined);
  }
}

function isNonRetryable(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { retryable?: unknown }).retryable === false;
}

function describeError(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  if (typeof error === 'object' && error !== null && typeof (error as { message?: unknown }).message === 'string') return (error as { message: string }).message;
  try {
    return JSON.stringify(error) ?? String(error);
  } catch {
    return String(error);
  }
}

/** The consumer was closed under the loop (the embedded bus stopping): not an error to report. */
function isClosed(e: unknown): boolean {
  return e instanceof ConsumerClosedError;
}
