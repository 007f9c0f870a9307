import { createHash } from 'node:crypto';
import { DatasetRejected, MessageDeadLettered, parseDetail, RunFailed, RunSucceeded, type EventBridgeEvent, type EventContract } from '@nightshift/contracts';

/** The events a subscription may ask for (`events:` in the subscriptions file), besides `*`. */
export const NOTIFIABLE_EVENTS = [RunSucceeded.detailType, RunFailed.detailType, DatasetRejected.detailType, MessageDeadLettered.detailType] as const;
export type NotifiableEvent = (typeof NOTIFIABLE_EVENTS)[number];

const CONTRACTS: Readonly<Record<NotifiableEvent, EventContract & { detailType: NotifiableEvent }>> = { [RunSucceeded.detailType]: RunSucceeded, [RunFailed.detailType]: RunFailed, [DatasetRejected.detailType]: DatasetRejected, [MessageDeadLettered.detailType]: MessageDeadLettered };

/** What happened, as every channel delivers it: one event of {@link NOTIFIABLE_EVENTS}. */
export interface Notification {
  /** The event's id (`metadata.eventId`): with the subscription name, it makes the delivery id. */
  eventId: string;
  /** Its detail-type (`Run Failed`). */
  type: NotifiableEvent;
  /** When it happened (ISO 8601): the event's `metadata.occurredAt`. */
  time: string;
  /** The event's `detail.data`, as the contract defines it (docs/events.md). */
  data: Record<string, unknown>;
  /** The tenant the event concerns (`metadata.tenant`); a subscription's `tenant` filter matches it. */
  tenant?: string;
}

/**
 * The notification an event makes, or undefined for an event that is not one of
 * {@link NOTIFIABLE_EVENTS}. Throws the contract's validation error for a malformed detail.
 */
export function notificationOf(event: EventBridgeEvent): Notification | undefined {
  const contract = CONTRACTS[event['detail-type'] as NotifiableEvent];
  if (!contract) return undefined;
  const detail = parseDetail(contract, event) as { metadata: { eventId: string; occurredAt: string; tenant?: string }; data: Record<string, unknown> };
  return {
    eventId: detail.metadata.eventId,
    type: contract.detailType,
    time: detail.metadata.occurredAt,
    data: detail.data,
    ...(detail.metadata.tenant ? { tenant: detail.metadata.tenant } : {}),
  };
}

/**
 * The delivery id of a notification to a subscription: stable (the same event redelivered by the bus
 * gives the same id), so a receiver deduplicates on it (`X-Nightshift-Delivery`, the body's `id`).
 */
export function deliveryIdOf(eventId: string, subscription: string): string {
  return `dlv_${createHash('sha256').update(`${eventId}\n${subscription}`).digest('hex').slice(0, 32)}`;
}

/** The JSON body every channel sends: `{ id, type, time, data }`, `id` the delivery id. */
export function notificationBody(deliveryId: string, notification: Notification): string {
  return JSON.stringify({ id: deliveryId, type: notification.type, time: notification.time, data: notification.data });
}
