/**
 * Publishes events to the bus (EventBridge PutEvents, or the embedded bus).
 *
 * Semantics: when `publish` resolves, every entry is durably accepted; routing to subscribers
 * happens afterwards and at least once. Entries carry their own idempotency key in
 * `detail.metadata.eventId` where the contract has the metadata envelope; consumers deduplicate on it.
 */
export interface EventPublisher {
  publish(entries: OutgoingEvent[]): Promise<void>;
}

/** One event to publish. */
export interface OutgoingEvent {
  source: string;
  detailType: string;
  detail: unknown;
  resources?: string[];
}
