import { createHmac, timingSafeEqual } from 'node:crypto';

/** `sha256=<hex HMAC-SHA256 of "<timestamp>.<body>" keyed with the subscription's secret>`. */
export const SIGNATURE_HEADER = 'X-Nightshift-Signature';
/** Unix seconds when the attempt was signed; part of what is signed, so a replay can be refused. */
export const TIMESTAMP_HEADER = 'X-Nightshift-Timestamp';
/** The delivery id (also the body's `id`): the same on every attempt, for the receiver to deduplicate on. */
export const DELIVERY_HEADER = 'X-Nightshift-Delivery';
/** Which attempt this is (1, 2, ...): informational, not signed. */
export const ATTEMPT_HEADER = 'X-Nightshift-Attempt';
/** The notification's type (`Run Failed`), also the body's `type`: for routing without parsing. */
export const EVENT_HEADER = 'X-Nightshift-Event';

/** The `X-Nightshift-Signature` value of `body` sent at `timestamp` (unix seconds). */
export function signWebhook(secret: string, timestamp: number | string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/** What {@link verifyWebhookSignature} checks. */
export interface WebhookVerification {
  /** The subscription's secret. */
  secret: string;
  /** The raw request body, exactly as received (not re-serialised JSON). */
  body: string | Buffer;
  /** The `X-Nightshift-Signature` header. */
  signature: string | undefined;
  /** The `X-Nightshift-Timestamp` header. */
  timestamp: string | undefined;
  /** How far the timestamp may be from now, in seconds, either way. Default 300; 0 turns the check off. */
  toleranceSeconds?: number;
  /** Now, for the tolerance check. Default the system clock. */
  now?: Date;
}

/** Why a signature was refused (`ok: false`). */
export type WebhookVerificationResult = { ok: true } | { ok: false; reason: 'missing' | 'malformed' | 'stale' | 'mismatch' };

/**
 * How a receiver checks a nightshift webhook: recompute `sha256=HMAC-SHA256(secret, "<timestamp>.<body>")`
 * over the raw body and the `X-Nightshift-Timestamp` header, compare in constant time with
 * `X-Nightshift-Signature`, and refuse a timestamp more than `toleranceSeconds` from now (a replay).
 * A tampered body or timestamp, or another secret, gives `mismatch`.
 */
export function verifyWebhookSignature(input: WebhookVerification): WebhookVerificationResult {
  const { signature, timestamp } = input;
  if (!signature || !timestamp) return { ok: false, reason: 'missing' };
  if (!/^\d{1,12}$/.test(timestamp) || !/^sha256=[0-9a-f]{64}$/.test(signature)) return { ok: false, reason: 'malformed' };
  const tolerance = input.toleranceSeconds ?? 300;
  const nowSeconds = Math.floor((input.now ?? new Date()).getTime() / 1000);
  if (tolerance > 0 && Math.abs(nowSeconds - Number(timestamp)) > tolerance) return { ok: false, reason: 'stale' };
  const body = typeof input.body === 'string' ? input.body : input.body.toString('utf8');
  const expected = Buffer.from(signWebhook(input.secret, timestamp, body));
  const given = Buffer.from(signature);
  return expected.length === given.length && timingSafeEqual(expected, given) ? { ok: true } : { ok: false, reason: 'mismatch' };
}
