import type { NotifiableEvent } from '../notification.js';

/** A delivery's state: attempts still to come, delivered, or given up on (dead-lettered). */
export type DeliveryStatus = 'PENDING' | 'DELIVERED' | 'DEAD';
export const DELIVERY_STATUSES: readonly DeliveryStatus[] = ['PENDING', 'DELIVERED', 'DEAD'];

/** One notification to one subscription, and everything that became of it. */
export interface Delivery {
  deliveryId: string;
  subscription: string;
  /** Where it goes (URL or topic ARN), as the channel names it. */
  target: string;
  eventId: string;
  type: NotifiableEvent;
  tenant?: string;
  /** The JSON body sent on every attempt. */
  body: string;
  status: DeliveryStatus;
  /** Attempts started (a claimed attempt counts even if its process died in it). */
  attempts: number;
  /** PENDING: when the next attempt is due (or, while one is under way, when its claim lapses). */
  nextAttemptAt: string;
  lastError?: string;
  /** The receiver's last HTTP status, where it answered. */
  lastStatus?: number;
  createdAt: string;
  updatedAt: string;
  deliveredAt?: string;
  deadAt?: string;
  /** Times it was put back from DEAD (`redeliver`). */
  redeliveries: number;
  /** Bumped by every write: claims and outcomes are conditioned on it. */
  version: number;
}

/** What {@link DeliveryStore.create} records. */
export type NewDelivery = Pick<Delivery, 'deliveryId' | 'subscription' | 'target' | 'eventId' | 'type' | 'tenant' | 'body' | 'createdAt'>;

/** What an attempt came to, as recorded by {@link DeliveryStore.settle}. */
export type DeliverySettlement =
  | { status: 'DELIVERED'; lastStatus?: number }
  | { status: 'PENDING'; nextAttemptAt: Date; lastError: string; lastStatus?: number }
  | { status: 'DEAD'; lastError: string; lastStatus?: number };

/** A page of deliveries, newest first. */
export interface DeliveryPage {
  items: Delivery[];
  /** Opaque; absent on the last page. */
  nextCursor?: string;
}

/**
 * Port: the durable record of every delivery, so retries survive a restart and every outcome is
 * visible. Every state change is a single-item write conditioned on the record's `version` (several
 * processes may run the dispatcher: only one claims an attempt).
 *
 * - `create` is idempotent per `deliveryId` (the bus delivers an event at least once).
 * - `due` lists PENDING deliveries whose `nextAttemptAt` has passed, oldest due first.
 * - `claim` starts an attempt: `attempts + 1`, `nextAttemptAt = leaseUntil` (a process that dies
 *   mid-attempt leaves it due again then); undefined if the version moved (someone else has it).
 * - `settle` records the attempt's outcome; false if the version moved since the claim.
 * - `redeliver` puts a DEAD delivery back to PENDING with its attempts reset.
 *
 * Errors: `DeliveryStoreUnavailableError` (retryable) when the store cannot be reached;
 * `DeliveryNotFoundError` / `DeliveryStateError` from `redeliver`. Not in the contract: how long
 * finished deliveries are kept (the DynamoDB adapter expires them after 30 days).
 */
export interface DeliveryStore {
  create(delivery: NewDelivery): Promise<{ created: boolean; delivery: Delivery }>;
  get(deliveryId: string): Promise<Delivery | undefined>;
  due(now: Date, limit: number): Promise<Delivery[]>;
  claim(delivery: Delivery, leaseUntil: Date, now: Date): Promise<Delivery | undefined>;
  settle(claimed: Delivery, outcome: DeliverySettlement, now: Date): Promise<boolean>;
  redeliver(deliveryId: string, now: Date): Promise<Delivery>;
  list(query: { status?: DeliveryStatus; tenant?: string; limit: number; cursor?: string }): Promise<DeliveryPage>;
}
