/*
 * How long idempotency records are kept. A record is never deleted before its retention has
 * passed; after that it may be deleted at any time (DynamoDB's TTL deletes within days, the
 * embedded sweeper at its next pass). Until it is deleted it counts: an expired record that is
 * still there still says "processed" / "bound", the safe answer for deduplication.
 */

const DAY_SECONDS = 24 * 60 * 60;

/**
 * Retention of a consumer's processed-event record (`JobStore.markProcessed`): 15 days. It must
 * outlive every redelivery of the event, and the longest a queue keeps a message is SQS's maximum
 * message retention, 14 days; a day more covers a redelivery at the very end of that window and
 * clock skew between the writer and the deleter.
 */
export const PROCESSED_EVENT_RETENTION_SECONDS = 15 * DAY_SECONDS;

/**
 * Retention of an `Idempotency-Key` binding (`IdempotencyKeys.claim`): 24 hours from first use, as
 * Stripe keeps its keys. A client retries within minutes; a key reused after it was deleted binds
 * anew.
 */
export const IDEMPOTENCY_KEY_RETENTION_SECONDS = DAY_SECONDS;

/**
 * Retention of a schedule's fire record (`ScheduleState.recordFire`): 90 days, a quarter of fires to
 * answer "did last month's month-end run start, and why not" with; cursors are kept for good.
 */
export const SCHEDULE_FIRE_RETENTION_SECONDS = 90 * DAY_SECONDS;

/** When a record written at `now` and kept `retentionSeconds` may be deleted: epoch seconds, rounded up. */
export function expiresAtEpochSeconds(now: Date, retentionSeconds: number): number {
  return Math.ceil(now.getTime() / 1000) + retentionSeconds;
}
