/** How often and how patiently a delivery is attempted. */
export interface RetryPolicy {
  /** Attempts in all, the first included, before the delivery is DEAD. */
  maxAttempts: number;
  /** Backoff before the 2nd attempt; doubled for each one after. */
  baseDelayMs: number;
  /** Longest backoff (a `Retry-After` is honoured up to this too). */
  maxDelayMs: number;
  /** One attempt's time limit (connect, send, answer). */
  attemptTimeoutMs: number;
}

/** 6 attempts over about 2.5 minutes: backoffs of about 5, 10, 20, 40 and 80 s. */
export const DEFAULT_RETRY_POLICY: RetryPolicy = { maxAttempts: 6, baseDelayMs: 5_000, maxDelayMs: 300_000, attemptTimeoutMs: 10_000 };

/**
 * The wait after failed attempt `attempt` (1-based): exponential (`baseDelayMs * 2^(attempt-1)`,
 * capped at `maxDelayMs`) with "equal jitter" (half fixed, half random), so retries of many
 * deliveries spread out but each wait is at least half its nominal value. A receiver's
 * `Retry-After` raises it (never lowers it), up to `maxDelayMs`.
 */
export function backoffDelayMs(policy: RetryPolicy, attempt: number, retryAfterMs?: number, random: () => number = Math.random): number {
  const nominal = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, attempt - 1));
  const jittered = nominal / 2 + random() * (nominal / 2);
  return Math.round(Math.min(policy.maxDelayMs, Math.max(jittered, retryAfterMs ?? 0)));
}
