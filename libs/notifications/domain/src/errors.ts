/*
 * The notifications' errors, one class per condition. Each says whether trying again can help
 * (`retryable`), so a caller (the queue transport, the REST API) decides from the type alone.
 */

/** Base of every notifications error. */
export abstract class NotificationError extends Error {
  abstract readonly retryable: boolean;
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** One problem of a subscriptions file: which file, which entry, which field, what is wrong. */
export interface SubscriptionProblem {
  file: string;
  /** `subscriptions[2] "ops-alerts"`, or empty for the file as a whole. */
  entry: string;
  /** `url`, `events[1]`; empty for the entry (or file) as a whole. */
  field: string;
  /** 1-based line in the file, where known. */
  line?: number;
  message: string;
}

/** `<file>:<line>: <entry>: <field>: <message>`, leaving out the parts that are unknown. */
export function formatSubscriptionProblem(p: SubscriptionProblem): string {
  return [`${p.file}${p.line !== undefined ? `:${p.line}` : ''}`, p.entry, p.field, p.message].filter((s) => s !== '').join(': ');
}

/** The subscriptions file is missing, unreadable or invalid: the start is refused, every problem named. */
export class InvalidSubscriptionsError extends NotificationError {
  readonly retryable = false;
  constructor(
    readonly file: string,
    readonly problems: readonly SubscriptionProblem[],
  ) {
    super(`invalid notification subscriptions in ${file}:\n${problems.map((p) => `  ${formatSubscriptionProblem(p)}`).join('\n')}`);
  }
}

/** No delivery of this id (or not one the caller may see). */
export class DeliveryNotFoundError extends NotificationError {
  readonly retryable = false;
  constructor(readonly deliveryId: string) {
    super(`no notification delivery ${deliveryId}`);
  }
}

/** The delivery is not in a state for what was asked (redelivering one that is not DEAD). */
export class DeliveryStateError extends NotificationError {
  readonly retryable = false;
  constructor(
    readonly deliveryId: string,
    readonly status: string,
    message: string,
  ) {
    super(message);
  }
}

/** The delivery store could not be reached or refused the request for now (throttling, network). */
export class DeliveryStoreUnavailableError extends NotificationError {
  readonly retryable = true;
}
