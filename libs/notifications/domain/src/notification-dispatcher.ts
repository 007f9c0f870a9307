import { DeliveryNotFoundError } from './errors.js';
import { deliveryIdOf, notificationBody, type Notification } from './notification.js';
import type { Delivery, DeliveryPage, DeliveryStatus, DeliveryStore } from './ports/delivery-store.port.js';
import type { DeliveryAttemptResult, NotificationChannel } from './ports/notification-channel.port.js';
import { backoffDelayMs, type RetryPolicy } from './retry-policy.js';
import { subscriptionMatches, type Subscription } from './subscriptions.js';

/** How a {@link NotificationDispatcher} is wired. */
export interface NotificationDispatcherOptions {
  subscriptions: readonly Subscription[];
  /** The channel of each subscription (composition root: a webhook for `url`, SNS for `topicArn`). */
  channelFor: (subscription: Subscription) => NotificationChannel;
  store: DeliveryStore;
  policy: RetryPolicy;
  clock?: { now(): Date };
  /** How often the store is asked for due deliveries besides the in-process wake-ups. Default 5 000 ms. */
  pollIntervalMs?: number;
  /** Deliveries attempted at once. Default 4. */
  concurrency?: number;
  /** Told of each outcome (the service logs them). */
  log?: (level: 'info' | 'warn' | 'error', message: string) => void;
  /** For the backoff's jitter (tests). */
  random?: () => number;
}

/** Beyond an attempt's timeout, how long its claim lasts before another process may take it over. */
const CLAIM_GRACE_MS = 30_000;
const DUE_BATCH = 25;

/**
 * The notifications use case: `record` turns a notification into one durable PENDING delivery per
 * matching subscription (idempotent per event and subscription); the delivery loop attempts due
 * deliveries through each subscription's channel, retries the retryable failures with exponential
 * backoff and jitter, and gives up (DEAD) after `policy.maxAttempts` or at once on a failure that
 * retrying cannot fix. The state lives in the {@link DeliveryStore}, so a restart resumes pending
 * retries and several processes may run the loop (claims are conditional).
 *
 * A failed delivery never fails the event that caused it, and a DEAD delivery is a record, not a
 * message in any queue: so a notification can never cause another one.
 */
export class NotificationDispatcher {
  private readonly subscriptions: ReadonlyMap<string, { subscription: Subscription; channel: NotificationChannel }>;
  private readonly clock: { now(): Date };
  private readonly pollIntervalMs: number;
  private readonly concurrency: number;
  private readonly log: NonNullable<NotificationDispatcherOptions['log']>;
  private readonly random: () => number;
  private timer: NodeJS.Timeout | undefined;
  private wakeAtMs = Infinity;
  private running: Promise<void> | undefined;
  private again = false;
  private started = false;

  constructor(private readonly options: NotificationDispatcherOptions) {
    this.subscriptions = new Map(options.subscriptions.map((s) => [s.name, { subscription: s, channel: options.channelFor(s) }]));
    this.clock = options.clock ?? { now: () => new Date() };
    this.pollIntervalMs = Math.max(1, options.pollIntervalMs ?? 5_000);
    this.concurrency = Math.max(1, options.concurrency ?? 4);
    this.log = options.log ?? (() => undefined);
    this.random = options.random ?? Math.random;
  }

  /** The subscriptions, without their secrets (what the API shows). */
  describeSubscriptions(): Array<{ name: string; kind: 'webhook' | 'sns'; target: string; events: '*' | readonly string[]; tenant?: string }> {
    return [...this.subscriptions.values()].map(({ subscription: s, channel }) => ({
      name: s.name,
      kind: s.target.kind,
      target: channel.target,
      events: s.events,
      ...(s.tenant !== undefined ? { tenant: s.tenant } : {}),
    }));
  }

  /**
   * Records a PENDING delivery of `notification` to each subscription that wants it and wakes the
   * loop. Idempotent: recording the same event again creates nothing new. Resolves once every
   * delivery is durable (the caller may then acknowledge the event).
   */
  async record(notification: Notification): Promise<Delivery[]> {
    const now = this.clock.now();
    const deliveries: Delivery[] = [];
    for (const { subscription, channel } of this.subscriptions.values()) {
      if (!subscriptionMatches(subscription, notification)) continue;
      const deliveryId = deliveryIdOf(notification.eventId, subscription.name);
      const { delivery } = await this.options.store.create({
        deliveryId,
        subscription: subscription.name,
        target: channel.target,
        eventId: notification.eventId,
        type: notification.type,
        ...(notification.tenant !== undefined ? { tenant: notification.tenant } : {}),
        body: notificationBody(deliveryId, notification),
        createdAt: now.toISOString(),
      });
      deliveries.push(delivery);
    }
    if (deliveries.some((d) => d.status === 'PENDING')) this.wake(0);
    return deliveries;
  }

  /** Puts a DEAD delivery back (attempts from 1 again) and wakes the loop. */
  async redeliver(deliveryId: string, visibleTo?: (d: Delivery) => boolean): Promise<Delivery> {
    const existing = await this.options.store.get(deliveryId);
    if (!existing || (visibleTo && !visibleTo(existing))) throw new DeliveryNotFoundError(deliveryId);
    const delivery = await this.options.store.redeliver(deliveryId, this.clock.now());
    this.log('info', `notification ${deliveryId} (${delivery.type} to ${delivery.subscription}) put back for redelivery`);
    this.wake(0);
    return delivery;
  }

  get(deliveryId: string): Promise<Delivery | undefined> {
    return this.options.store.get(deliveryId);
  }

  list(query: { status?: DeliveryStatus; tenant?: string; limit: number; cursor?: string }): Promise<DeliveryPage> {
    return this.options.store.list(query);
  }

  /** Starts the delivery loop: a pass now (pending retries of before a restart), then every `pollIntervalMs`. */
  start(): void {
    this.started = true;
    this.wake(0);
  }

  /** Stops the loop; resolves when the pass under way has finished. */
  async stop(): Promise<void> {
    this.started = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /**
   * One pass: attempts every delivery due now, `concurrency` at a time, until none is due. Resolves
   * with how many attempts it made. Store errors propagate (the loop reports them and tries again).
   */
  async deliverDue(): Promise<number> {
    let attempted = 0;
    for (;;) {
      const due = await this.options.store.due(this.clock.now(), DUE_BATCH);
      if (due.length === 0) return attempted;
      let next = 0;
      const workers = Array.from({ length: Math.min(this.concurrency, due.length) }, async () => {
        while (next < due.length) {
          const delivery = due[next++]!;
          if (await this.attempt(delivery)) attempted++;
        }
      });
      await Promise.all(workers);
      if (due.length < DUE_BATCH) return attempted;
    }
  }

  /** Claims and attempts one delivery; false if another process had claimed it. */
  private async attempt(due: Delivery): Promise<boolean> {
    const { store, policy } = this.options;
    const now = this.clock.now();
    const claimed = await store.claim(due, new Date(now.getTime() + policy.attemptTimeoutMs + CLAIM_GRACE_MS), now);
    if (!claimed) return false;
    const target = this.subscriptions.get(claimed.subscription);
    if (!target) {
      await store.settle(claimed, { status: 'DEAD', lastError: `the subscription "${claimed.subscription}" is no longer configured` }, this.clock.now());
      this.log('warn', `notification ${claimed.deliveryId} (${claimed.type}) is DEAD: its subscription ${claimed.subscription} is no longer configured`);
      return true;
    }
    let result: DeliveryAttemptResult;
    try {
      result = await target.channel.deliver({
        deliveryId: claimed.deliveryId,
        attempt: claimed.attempts,
        type: claimed.type,
        body: claimed.body,
        signal: AbortSignal.timeout(policy.attemptTimeoutMs),
      });
    } catch (error) {
      // The port says a channel answers failures; one that throws is treated as a transient fault.
      result = { ok: false, retryable: true, error: error instanceof Error ? error.message : String(error) };
    }
    const at = this.clock.now();
    const what = `notification ${claimed.deliveryId} (${claimed.type} to ${claimed.subscription})`;
    if (result.ok) {
      await store.settle(claimed, { status: 'DELIVERED', ...(result.status !== undefined ? { lastStatus: result.status } : {}) }, at);
      this.log('info', `${what} delivered on attempt ${claimed.attempts}`);
    } else if (!result.retryable || claimed.attempts >= policy.maxAttempts) {
      await store.settle(claimed, { status: 'DEAD', lastError: result.error, ...(result.status !== undefined ? { lastStatus: result.status } : {}) }, at);
      const why = result.retryable ? `after ${claimed.attempts} attempts` : 'not retryable';
      this.log('error', `${what} is DEAD (${why}): ${result.error}`);
    } else {
      const delayMs = backoffDelayMs(policy, claimed.attempts, result.retryAfterMs, this.random);
      const nextAttemptAt = new Date(at.getTime() + delayMs);
      await store.settle(claimed, { status: 'PENDING', nextAttemptAt, lastError: result.error, ...(result.status !== undefined ? { lastStatus: result.status } : {}) }, at);
      this.log('warn', `${what} failed on attempt ${claimed.attempts} of ${policy.maxAttempts} (${result.error}); retrying in ${delayMs} ms`);
      this.wake(delayMs);
    }
    return true;
  }

  /** Runs a pass in `delayMs` (sooner if one is due sooner); one pass at a time. */
  private wake(delayMs: number): void {
    if (!this.started) return;
    const at = Date.now() + delayMs;
    if (this.timer && this.wakeAtMs <= at) return;
    if (this.timer) clearTimeout(this.timer);
    this.wakeAtMs = at;
    this.timer = setTimeout(() => this.pass(), Math.max(0, delayMs));
    this.timer.unref();
  }

  private pass(): void {
    this.timer = undefined;
    this.wakeAtMs = Infinity;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.deliverDue()
      .then(
        () => undefined,
        (error: unknown) => this.log('error', `notification delivery pass failed, the next one retries: ${error instanceof Error ? error.message : String(error)}`),
      )
      .finally(() => {
        this.running = undefined;
        if (this.again) {
          this.again = false;
          this.wake(0);
        } else {
          this.wake(this.pollIntervalMs);
        }
      });
  }
}
