import type { z } from 'zod';
import type { EventBridgeEvent } from './envelope.js';

/**
 * An event does not match its contract. From nightshift's own producers that is a bug, so it is
 * not retryable: the consumer's transport dead-letters it at once, with this message.
 */
export class ContractViolationError extends Error {
  readonly retryable = false;
  constructor(
    readonly detailType: string,
    readonly eventId: string,
    readonly issues: string,
  ) {
    super(`${detailType} ${eventId} does not match its contract: ${issues}`);
    this.name = 'ContractViolationError';
  }
}

/** Parses an event's detail with its contract's schema; throws ContractViolationError. */
export function parseDetail<S extends z.ZodType>(contract: { detail: S }, event: EventBridgeEvent): z.infer<S> {
  const r = contract.detail.safeParse(event.detail);
  if (!r.success) throw new ContractViolationError(event['detail-type'], event.id, r.error.message);
  return r.data;
}
