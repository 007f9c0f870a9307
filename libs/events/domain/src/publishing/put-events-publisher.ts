import type { ObjectStore } from '@nightshift/storage-domain';
import { ClaimCheckError, PublishFailedError, RETRYABLE_ENTRY_CODES, type FailedEntry } from '../errors.js';
import type { EventPublisher, OutgoingEvent } from '../ports/event-publisher.port.js';
import {
  PUT_EVENTS_MAX_ENTRIES,
  PUT_EVENTS_MAX_TOTAL_BYTES,
  type PutEventsRequestEntry,
  type PutEventsTarget,
} from '../ports/put-events.port.js';
import { entrySize } from '../size/event-size.js';

/** What claim-checking needs of the object store. */
export type ClaimCheckStore = Pick<ObjectStore, 'put' | 'get'>;

/** Options of {@link PutEventsPublisher}. */
export interface PutEventsPublisherOptions {
  /** Sent as each entry's `EventBusName`; default none (the target's default bus). */
  eventBusName?: string;
  /**
   * Where a detail too large for one event goes (claim-check): the event then carries
   * `{ metadata, claimCheck: { key, bytes } }` and consumers read the detail back with
   * {@link resolveClaimCheck}. Without it an oversized entry is refused (`EventTooLarge`).
   */
  claimChecks?: ClaimCheckStore;
  /** Tries per entry (first included) while it fails with a transient code (`InternalFailure`, `ThrottlingException`) or the call fails retryably. Default 4. */
  attempts?: number;
  /** First backoff; doubles per try, with full jitter. Default 100 ms. */
  baseDelayMs?: number;
  /** Sleeps between tries (tests pass an immediate one). */
  sleep?: (ms: number) => Promise<void>;
}

/** What a claim-checked event's detail holds instead of the detail itself. */
export interface ClaimCheckReference {
  /** Object-store key of the serialized detail. */
  key: string;
  /** Its size in bytes. */
  bytes: number;
}

/** Prefix of the object-store keys claim-checked details are written under. */
export const CLAIM_CHECK_PREFIX = 'claim-checks/';

interface Pending {
  index: number;
  event: OutgoingEvent;
  entry: PutEventsRequestEntry;
}

/**
 * The one `EventPublisher` of every mode: the embedded bus and EventBridge are both
 * {@link PutEventsTarget}s. Splits a call into PutEvents requests within EventBridge's limits (10
 * entries, 256 KiB), claim-checks a detail too large for one event, retries entries refused with a
 * transient code (and calls that failed retryably) with exponential backoff, and resolves once every
 * entry is durably accepted. Entries still refused are reported together in a
 * {@link PublishFailedError} (index, detail-type, error code and message), after the others were sent.
 */
export class PutEventsPublisher implements EventPublisher {
  private readonly attempts: number;
  private readonly baseDelayMs: number;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(
    private readonly target: PutEventsTarget,
    private readonly options: PutEventsPublisherOptions = {},
  ) {
    this.attempts = options.attempts ?? 4;
    this.baseDelayMs = options.baseDelayMs ?? 100;
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  }

  async publish(events: OutgoingEvent[]): Promise<void> {
    const failures: FailedEntry[] = [];
    const fail = (p: Pick<Pending, 'index' | 'event'>, errorCode: string, errorMessage: string) =>
      failures.push({ index: p.index, source: p.event.source, detailType: p.event.detailType, errorCode, errorMessage });

    let pending: Pending[] = [];
    for (const [index, event] of events.entries()) {
      const entry = await this.toEntry(event).catch((e: unknown) => ({ error: e }));
      if ('error' in entry) fail({ index, event }, entryErrorCode(entry.error), messageOf(entry.error));
      else pending.push({ index, event, entry });
    }

    for (let attempt = 1; pending.length > 0; attempt++) {
      const again: Pending[] = [];
      const last = attempt >= this.attempts;
      for (const batch of batches(pending)) {
        let result;
        try {
          result = await this.target.putEvents(batch.map((p) => p.entry));
        } catch (e) {
          if (isRetryable(e) && !last) again.push(...batch);
          else if (isRetryable(e)) throw e;
          // A refusal of the request as a whole (validation) is about these entries; nothing else is.
          else for (const p of batch) fail(p, 'ValidationException', messageOf(e));
          continue;
        }
        result.Entries.forEach((r, i) => {
          if (!('ErrorCode' in r)) return;
          if (RETRYABLE_ENTRY_CODES.has(r.ErrorCode) && !last) again.push(batch[i]);
          else fail(batch[i], r.ErrorCode, r.ErrorMessage);
        });
      }
      pending = again;
      if (pending.length > 0) await this.sleep(Math.random() * this.baseDelayMs * 2 ** (attempt - 1));
    }
    if (failures.length > 0) throw new PublishFailedError(failures.sort((a, b) => a.index - b.index), events.length);
  }

  private async toEntry(event: OutgoingEvent): Promise<PutEventsRequestEntry> {
    let detail: string | undefined;
    try {
      detail = JSON.stringify(event.detail);
    } catch (e) {
      throw new EntryError('MalformedDetail', `detail is not serializable to JSON: ${messageOf(e)}`);
    }
    if (typeof detail !== 'string') throw new EntryError('MalformedDetail', 'detail is not serializable to JSON');
    const entry: PutEventsRequestEntry = {
      Source: event.source,
      DetailType: event.detailType,
      Detail: detail,
      ...(event.resources !== undefined ? { Resources: event.resources } : {}),
      ...(this.options.eventBusName !== undefined ? { EventBusName: this.options.eventBusName } : {}),
    };
    const size = entrySize(entry);
    if (size <= PUT_EVENTS_MAX_TOTAL_BYTES) return entry;
    const store = this.options.claimChecks;
    if (!store) throw new EntryError('EventTooLarge', `entry is ${size} bytes, over EventBridge's ${PUT_EVENTS_MAX_TOTAL_BYTES} and no claim-check store is configured`);
    const key = `${CLAIM_CHECK_PREFIX}${new Date().toISOString().slice(0, 10)}/${globalThis.crypto.randomUUID()}.json`;
    const info = await store.put(key, detail, 'application/json');
    const metadata = (event.detail as { metadata?: unknown } | null)?.metadata;
    const claimCheck: ClaimCheckReference = { key, bytes: info.size };
    const reference = { ...(metadata !== undefined ? { metadata } : {}), claimCheck };
    const small = { ...entry, Detail: JSON.stringify(reference) };
    if (entrySize(small) > PUT_EVENTS_MAX_TOTAL_BYTES) throw new EntryError('EventTooLarge', `entry is over ${PUT_EVENTS_MAX_TOTAL_BYTES} bytes even with its detail claim-checked (metadata or resources too large)`);
    return small;
  }
}

/** Greedy split into requests EventBridge accepts: at most 10 entries and 256 KiB each. */
function* batches(pending: readonly Pending[]): Generator<Pending[]> {
  let batch: Pending[] = [];
  let bytes = 0;
  for (const p of pending) {
    const size = entrySize(p.entry);
    if (batch.length > 0 && (batch.length === PUT_EVENTS_MAX_ENTRIES || bytes + size > PUT_EVENTS_MAX_TOTAL_BYTES)) {
      yield batch;
      batch = [];
      bytes = 0;
    }
    batch.push(p);
    bytes += size;
  }
  if (batch.length > 0) yield batch;
}

/**
 * The detail an event was published with: a claim-checked detail (`{ claimCheck: { key } }`) is
 * read back from the object store; any other is returned as is.
 * @throws ClaimCheckError when the payload is missing (not retryable) or the store fails (retryable per its error)
 */
export async function resolveClaimCheck(detail: unknown, store: ClaimCheckStore | undefined): Promise<unknown> {
  const ref = claimCheckOf(detail);
  if (!ref) return detail;
  if (!store) throw new ClaimCheckError(ref.key, 'this consumer has no object store to read claim-checked details from', false);
  let bytes: Uint8Array;
  try {
    bytes = await store.get(ref.key);
  } catch (e) {
    const retryable = (e as { retryable?: unknown }).retryable === true;
    throw new ClaimCheckError(ref.key, `cannot be read: ${messageOf(e)}`, retryable, { cause: e });
  }
  if (bytes.byteLength !== ref.bytes) throw new ClaimCheckError(ref.key, `is ${bytes.byteLength} bytes, the event says ${ref.bytes}`, false);
  try {
    return JSON.parse(new TextDecoder().decode(bytes)) as unknown;
  } catch (e) {
    throw new ClaimCheckError(ref.key, `is not JSON: ${messageOf(e)}`, false, { cause: e });
  }
}

/** The claim-check reference of a detail, if it is one. */
export function claimCheckOf(detail: unknown): ClaimCheckReference | undefined {
  if (typeof detail !== 'object' || detail === null) return undefined;
  const ref = (detail as { claimCheck?: unknown }).claimCheck;
  if (typeof ref !== 'object' || ref === null) return undefined;
  const { key, bytes } = ref as Record<string, unknown>;
  return typeof key === 'string' && key.startsWith(CLAIM_CHECK_PREFIX) && typeof bytes === 'number' ? { key, bytes } : undefined;
}

class EntryError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

function entryErrorCode(e: unknown): string {
  return e instanceof EntryError ? e.code : 'ClaimCheckFailed';
}

function isRetryable(e: unknown): boolean {
  return typeof e === 'object' && e !== null && (e as { retryable?: unknown }).retryable === true;
}

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
