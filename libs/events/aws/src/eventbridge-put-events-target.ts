import { PutEventsCommand, type EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { PutEventsRequestEntry, PutEventsResult, PutEventsResultEntry, PutEventsTarget } from '@nightshift/events-domain';
import { withPutEventsSpan } from '@nightshift/observability';
import { EventBridgeRequestError } from './errors.js';

/**
 * EventBridge's PutEvents behind the `PutEventsTarget` port, over one injected `EventBridgeClient`
 * (its endpoint comes from the SDK's own configuration: `AWS_ENDPOINT_URL_EVENTBRIDGE`,
 * `AWS_ENDPOINT_URL`, or AWS). Entries go as they are; the per-entry results come back as they
 * are (the publisher retries transient codes). A request refused as a whole is an
 * {@link EventBridgeRequestError}: not retryable for a validation error, retryable for throttling,
 * a 5xx or a network failure (after the SDK's own retries).
 */
export class EventBridgePutEventsTarget implements PutEventsTarget {
  constructor(private readonly client: EventBridgeClient) {}

  /** One producer span per request, inside the caller's trace (none for a call outside any). */
  putEvents(entries: readonly PutEventsRequestEntry[]): Promise<PutEventsResult> {
    return withPutEventsSpan(entries, () => this.send(entries));
  }

  private async send(entries: readonly PutEventsRequestEntry[]): Promise<PutEventsResult> {
    let out;
    try {
      out = await this.client.send(new PutEventsCommand({ Entries: entries.map((e) => ({ ...e })) }));
    } catch (e) {
      throw EventBridgeRequestError.from(e);
    }
    const results = out.Entries ?? [];
    if (results.length !== entries.length) {
      throw new EventBridgeRequestError(`PutEvents answered ${results.length} results for ${entries.length} entries`, true);
    }
    const mapped: PutEventsResultEntry[] = results.map((r) =>
      r.EventId !== undefined && r.ErrorCode === undefined
        ? { EventId: r.EventId }
        : { ErrorCode: r.ErrorCode ?? 'InternalFailure', ErrorMessage: r.ErrorMessage ?? 'no event id returned' },
    );
    return { FailedEntryCount: out.FailedEntryCount ?? mapped.filter((r) => 'ErrorCode' in r).length, Entries: mapped };
  }
}

