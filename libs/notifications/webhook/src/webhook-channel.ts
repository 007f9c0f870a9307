import {
  ATTEMPT_HEADER,
  DELIVERY_HEADER,
  EVENT_HEADER,
  SIGNATURE_HEADER,
  signWebhook,
  TIMESTAMP_HEADER,
  type DeliveryAttempt,
  type DeliveryAttemptResult,
  type NotificationChannel,
} from '@nightshift/notifications-domain';

/** How a {@link WebhookChannel} is wired. */
export interface WebhookChannelOptions {
  /** An http:// or https:// URL (the subscriptions file checked it). */
  url: string;
  /** The subscription's signing secret. */
  secret: string;
  /** For the `X-Nightshift-Timestamp` header (tests). */
  clock?: { now(): Date };
}

/** The part of an error answer kept in `lastError`. */
const ERROR_BODY_CHARS = 200;

/**
 * The webhook adapter of {@link NotificationChannel}: one HTTP POST per attempt of the JSON body,
 * signed (`X-Nightshift-Signature: sha256=<HMAC-SHA256 of "<timestamp>.<body>">`, see
 * `verifyWebhookSignature`), with the delivery id, attempt and type in headers. Any 2xx delivers.
 * Retryable: network errors, the attempt's timeout, 408, 429 and 5xx (a `Retry-After`, seconds or an
 * HTTP date, is passed on). Not retryable: redirects (not followed: a webhook URL that moved is a
 * configuration to fix) and every other 4xx.
 */
export class WebhookChannel implements NotificationChannel {
  readonly target: string;
  private readonly clock: { now(): Date };

  constructor(private readonly options: WebhookChannelOptions) {
    // The listing shows where deliveries go, never credentials a URL might carry.
    const shown = new URL(options.url);
    shown.username = '';
    shown.password = '';
    this.target = shown.toString();
    this.clock = options.clock ?? { now: () => new Date() };
  }

  async deliver(attempt: DeliveryAttempt): Promise<DeliveryAttemptResult> {
    const now = this.clock.now();
    const timestamp = Math.floor(now.getTime() / 1000);
    let response: Response;
    try {
      response = await fetch(this.options.url, {
        method: 'POST',
        body: attempt.body,
        redirect: 'manual',
        signal: attempt.signal,
        headers: {
          'content-type': 'application/json',
          'user-agent': 'nightshift-webhooks/1',
          [SIGNATURE_HEADER]: signWebhook(this.options.secret, timestamp, attempt.body),
          [TIMESTAMP_HEADER]: String(timestamp),
          [DELIVERY_HEADER]: attempt.deliveryId,
          [ATTEMPT_HEADER]: String(attempt.attempt),
          [EVENT_HEADER]: attempt.type,
        },
      });
    } catch (error) {
      return { ok: false, retryable: true, error: describeFetchError(error, attempt.signal) };
    }
    const status = response.status;
    if (status >= 200 && status < 300) {
      await response.body?.cancel().catch(() => undefined);
      return { ok: true, status };
    }
    const text = await response.text().catch(() => '');
    const error = `HTTP ${status}${text ? `: ${text.slice(0, ERROR_BODY_CHARS)}` : ''}`;
    if (status === 408 || status === 429 || status >= 500) {
      const retryAfterMs = parseRetryAfter(response.headers.get('retry-after'), now);
      return { ok: false, retryable: true, error, status, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) };
    }
    if (status >= 300 && status < 400) {
      return { ok: false, retryable: false, error: `HTTP ${status} redirect to ${response.headers.get('location') ?? '(no Location)'}: redirects are not followed; configure the final URL`, status };
    }
    return { ok: false, retryable: false, error, status };
  }
}

/** `Retry-After` as milliseconds from `now`: delta-seconds or an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null, now: Date): number | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now.getTime());
}

/** fetch's `TypeError: fetch failed` says little; its cause has the code (ECONNREFUSED, ENOTFOUND, ...). */
function describeFetchError(error: unknown, signal: AbortSignal): string {
  if (signal.aborted) return 'timed out (no answer within the attempt timeout)';
  const cause = (error as { cause?: { code?: unknown; message?: unknown } } | undefined)?.cause;
  if (cause && typeof cause.code === 'string') return `network error: ${cause.code}${typeof cause.message === 'string' ? ` (${cause.message})` : ''}`;
  return `network error: ${error instanceof Error ? error.message : String(error)}`;
}
