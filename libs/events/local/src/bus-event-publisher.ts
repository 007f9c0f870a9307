import type { EventPublisher, OutgoingEvent } from '@nightshift/events-domain';
import { messageOf, PublishFailedError, PutEventsValidationError, type FailedEntry } from './errors.js';
import {
  entrySize,
  PUT_EVENTS_MAX_ENTRIES,
  PUT_EVENTS_MAX_TOTAL_BYTES,
  type PutEventsRequestEntry,
  type PutEventsTarget,
} from './put-events.js';

/** Options of {@link BusEventPublisher}. */
export interface BusEventPublisherOptions {
  /** Sent as each entry's `EventBusName`; default none (the bus itself). */
  eventBusName?: string;
}

interface Pending {
  index: number;
  event: OutgoingEvent;
  entry: PutEventsRequestEntry;
}

/**
 * `EventPublisher` on the embedded bus (or anything with PutEvents). Splits the call into
 * PutEvents requests within EventBridge's limits (10 entries, 256 KiB), sends them in order, and
 * resolves once every entry is durably accepted. If any entry is refused it still sends the rest,
 * then rejects with {@link PublishFailedError} naming each refused entry (index, detail-type,
 * error code and message); its `retryable` is true only when every failure is transient.
 */
export class BusEventPublisher implements EventPublisher {
  constructor(
    private readonly target: PutEventsTarget,
    private readonly options: BusEventPublisherOptions = {},
  ) {}

  async publish(entries: OutgoingEvent[]): Promise<void> {
    const failures: FailedEntry[] = [];
    const fail = (p: Pick<Pending, 'index' | 'event'>, errorCode: string, errorMessage: string) =>
      failures.push({ index: p.index, source: p.event.source, detailType: p.event.detailType, errorCode, errorMessage });

    const pending: Pending[] = [];
    entries.forEach((event, index) => {
      let detail: string | undefined;
      try {
        detail = JSON.stringify(event.detail);
      } catch (e) {
        fail({ index, event }, 'MalformedDetail', `detail is not serializable to JSON: ${messageOf(e)}`);
        return;
      }
      pending.push({
        index,
        event,
        entry: {
          Source: event.source,
          DetailType: event.detailType,
          Detail: detail,
          ...(event.resources !== undefined ? { Resources: event.resources } : {}),
          ...(this.options.eventBusName !== undefined ? { EventBusName: this.options.eventBusName } : {}),
        },
      });
    });

    for (const batch of batches(pending)) {
      let result;
      try {
        result = await this.target.putEvents(batch.map((p) => p.entry));
      } catch (e) {
        // Only a batch-level refusal is about these entries (one oversized entry is a batch of its
        // own); anything else (bus closed, I/O) is not, and propagates as is.
        if (!(e instanceof PutEventsValidationError)) throw e;
        for (const p of batch) fail(p, 'ValidationException', e.message);
        continue;
      }
      result.Entries.forEach((r, i) => {
        if ('ErrorCode' in r) fail(batch[i], r.ErrorCode, r.ErrorMessage);
      });
    }
    if (failures.length > 0) throw new PublishFailedError(failures.sort((a, b) => a.index - b.index), entries.length);
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
