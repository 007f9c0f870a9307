/**
 * One PutEvents entry, as the EventBridge API (and `@aws-sdk/client-eventbridge`) takes it. Every
 * field is optional in the type because EventBridge validates them per entry at run time and
 * reports a missing one as that entry's error, not as a failed request.
 */
export interface PutEventsRequestEntry {
  Source?: string;
  DetailType?: string;
  /** A JSON object, serialized. */
  Detail?: string;
  Resources?: string[];
  /** Event time; defaults to the time the bus accepts the entry. */
  Time?: Date;
  /** Name or ARN of the bus; omitted means the default bus of the target. */
  EventBusName?: string;
  /** X-Ray trace header; carried for wire compatibility. */
  TraceHeader?: string;
}

/** The result for one entry: its event id, or why it was not accepted. */
export type PutEventsResultEntry = { EventId: string } | { ErrorCode: string; ErrorMessage: string };

/** PutEvents' response: one result per entry, in request order. */
export interface PutEventsResult {
  FailedEntryCount: number;
  Entries: PutEventsResultEntry[];
}

/**
 * EventBridge's PutEvents: the one call a publisher needs from a bus. The embedded bus is one; the
 * EventBridge adapter (`@nightshift/events-aws`) is another.
 *
 * Semantics: a resolved call reports every entry, accepted (durably) or refused with AWS's error
 * code; a rejected call refused the request as a whole, with an error whose `retryable` says
 * whether sending the same request again may work (a `PutEventsValidationError`-like refusal is not
 * retryable). At most {@link PUT_EVENTS_MAX_ENTRIES} entries and {@link PUT_EVENTS_MAX_TOTAL_BYTES}
 * per call.
 */
export interface PutEventsTarget {
  putEvents(entries: readonly PutEventsRequestEntry[]): Promise<PutEventsResult>;
}

/** EventBridge's PutEvents limits. */
export const PUT_EVENTS_MAX_ENTRIES = 10;
export const PUT_EVENTS_MAX_TOTAL_BYTES = 256 * 1024;
