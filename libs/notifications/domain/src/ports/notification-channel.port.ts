import type { NotifiableEvent } from '../notification.js';

/** One attempt at delivering one notification to one subscription. */
export interface DeliveryAttempt {
  /** Stable per event and subscription: the receiver's deduplication key. */
  deliveryId: string;
  /** 1 for the first attempt. */
  attempt: number;
  type: NotifiableEvent;
  /** The JSON body `{ id, type, time, data }`, byte for byte the same on every attempt. */
  body: string;
  /** Aborted when the attempt's time is up. */
  signal: AbortSignal;
}

/**
 * What an attempt came to. `retryable: false` means another attempt cannot help (a 4xx other than
 * 408/429, a topic that does not exist): the delivery is dead-lettered at once.
 */
export type DeliveryAttemptResult =
  | { ok: true; status?: number }
  | { ok: false; retryable: boolean; error: string; status?: number; retryAfterMs?: number };

/**
 * Port: where a subscription's notifications go (a webhook URL, an SNS topic). One instance per
 * subscription, built by the composition root from the subscription's target.
 *
 * Semantics: one call is one attempt, within `attempt.signal`; it never throws for a failure of the
 * receiver (network error, timeout, refusal): it answers `{ ok: false }` with `retryable` set, so the
 * dispatcher alone decides about retries. Deliveries are at least once: the same `deliveryId` may
 * arrive twice (a crash after the receiver answered, before the outcome was recorded). Not in the
 * contract: ordering between notifications.
 */
export interface NotificationChannel {
  /** What the delivery listing shows as the target (`https://hooks.example.com/x`, a topic ARN); never a secret. */
  readonly target: string;
  deliver(attempt: DeliveryAttempt): Promise<DeliveryAttemptResult>;
}
