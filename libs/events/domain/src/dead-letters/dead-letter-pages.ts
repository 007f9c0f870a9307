import { InvalidDeadLetterCursorError, UnknownDeadLetterQueueError } from '../errors.js';
import {
  DEAD_LETTER_PAGE_DEFAULT,
  DEAD_LETTER_PAGE_MAX,
  type DeadLetterEvent,
  type DeadLetterListOptions,
  type DeadLetterPage,
  type DeadLetterView,
} from '../ports/dead-letter-queues.port.js';

/**
 * Where a dead letter sorts in a listing: when it was dead-lettered (or, unknown, when it entered its
 * source queue), epoch ms, then its message id. What a cursor names, so every adapter pages alike.
 */
export interface DeadLetterPosition {
  atMs: number;
  messageId: string;
}

/** Negative if `a` comes first. */
export function compareDeadLetterPositions(a: DeadLetterPosition, b: DeadLetterPosition): number {
  if (a.atMs !== b.atMs) return a.atMs - b.atMs;
  return a.messageId < b.messageId ? -1 : a.messageId > b.messageId ? 1 : 0;
}

/** The cursor naming `position` in `queue`'s listing (opaque to callers: base64url JSON). */
export function encodeDeadLetterCursor(queue: string, position: DeadLetterPosition): string {
  return toBase64Url(JSON.stringify({ q: queue, t: position.atMs, m: position.messageId }));
}

/** The position a cursor of `queue` names; `InvalidDeadLetterCursorError` for anything else. */
export function decodeDeadLetterCursor(queue: string, cursor: string): DeadLetterPosition {
  let parsed: unknown;
  try {
    parsed = /^[A-Za-z0-9_-]+$/.test(cursor) ? JSON.parse(fromBase64Url(cursor)) : undefined;
  } catch (e) {
    throw new InvalidDeadLetterCursorError(queue, cursor, { cause: e });
  }
  const { q, t, m } = (typeof parsed === 'object' && parsed !== null ? parsed : {}) as Record<string, unknown>;
  if (q !== queue || typeof t !== 'number' || !Number.isFinite(t) || typeof m !== 'string') throw new InvalidDeadLetterCursorError(queue, cursor);
  return { atMs: t, messageId: m };
}

/** `options.limit` checked, or the default; a `RangeError` outside 1..{@link DEAD_LETTER_PAGE_MAX}. */
export function deadLetterPageLimit(limit: number | undefined): number {
  if (limit === undefined) return DEAD_LETTER_PAGE_DEFAULT;
  if (!(Number.isInteger(limit) && limit >= 1 && limit <= DEAD_LETTER_PAGE_MAX)) {
    throw new RangeError(`limit must be an integer from 1 to ${DEAD_LETTER_PAGE_MAX}, got ${limit}`);
  }
  return limit;
}

/** A redrive's `max` checked (`Infinity` when absent); a `RangeError` unless a positive integer. */
export function deadLetterRedriveMax(max: number | undefined): number {
  if (max === undefined) return Infinity;
  if (!(Number.isInteger(max) && max >= 1)) throw new RangeError(`max must be a positive integer, got ${max}`);
  return max;
}

/** Throws `UnknownDeadLetterQueueError` unless `queue` is one of `known`. */
export function assertDeadLetterQueue(queue: string, known: readonly string[]): void {
  if (!known.includes(queue)) throw new UnknownDeadLetterQueueError(queue, known);
}

/**
 * The envelope of an EventBridge event as a dead-letter listing shows it, tenant and correlation id
 * from nightshift's `detail.metadata` when present; undefined for anything that is not an event.
 */
export function deadLetterEventOf(event: unknown): DeadLetterEvent | undefined {
  if (!isRecord(event)) return undefined;
  const { id, source, time } = event;
  const detailType = event['detail-type'];
  if (typeof id !== 'string' || typeof source !== 'string' || typeof detailType !== 'string' || typeof time !== 'string') return undefined;
  const metadata = isRecord(event.detail) && isRecord(event.detail.metadata) ? event.detail.metadata : {};
  const { tenant, correlationId } = metadata;
  return {
    id,
    source,
    detailType,
    time,
    ...(typeof tenant === 'string' ? { tenant } : {}),
    ...(typeof correlationId === 'string' ? { correlationId } : {}),
  };
}

/** True if `view` passes the listing's tenant filter. */
export function matchesDeadLetterFilter(view: Pick<DeadLetterView, 'event'>, options: Pick<DeadLetterListOptions, 'tenant'>): boolean {
  return options.tenant === undefined || view.event?.tenant === options.tenant;
}

/**
 * One page of `queue`'s listing out of every dead letter an adapter holds in memory (SQS's scan):
 * filtered, in position order, after the cursor.
 */
export function pageOfDeadLetters(
  queue: string,
  deadLetters: ReadonlyArray<{ view: DeadLetterView; position: DeadLetterPosition }>,
  options: DeadLetterListOptions,
): DeadLetterPage {
  const limit = deadLetterPageLimit(options.limit);
  const after = options.cursor === undefined ? undefined : decodeDeadLetterCursor(queue, options.cursor);
  const candidates = deadLetters
    .filter((d) => matchesDeadLetterFilter(d.view, options) && (after === undefined || compareDeadLetterPositions(d.position, after) > 0))
    .sort((a, b) => compareDeadLetterPositions(a.position, b.position));
  const page = candidates.slice(0, limit);
  const last = page[page.length - 1];
  return {
    items: page.map((d) => d.view),
    ...(candidates.length > limit && last !== undefined ? { nextCursor: encodeDeadLetterCursor(queue, last.position) } : {}),
  };
}

// Base64url of UTF-8 without Node's Buffer: the domain runs on the standard library's globals only.
function toBase64Url(text: string): string {
  let binary = '';
  for (const byte of new TextEncoder().encode(text)) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function fromBase64Url(encoded: string): string {
  const binary = atob(encoded.replace(/-/g, '+').replace(/_/g, '/'));
  return new TextDecoder('utf-8', { fatal: true }).decode(Uint8Array.from(binary, (c) => c.charCodeAt(0)));
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
