/**
 * Base of the embedded bus's errors. `retryable` tells a caller whether trying the same call again
 * can help; consumers decide retry vs dead-letter from it alone.
 */
export abstract class LocalBusError extends Error {
  abstract readonly retryable: boolean;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The bus (or the endpoint) was closed; a new instance (after a restart) can take the call. */
export class BusClosedError extends LocalBusError {
  readonly retryable = true;
  constructor(what = 'local event bus') {
    super(`${what} is closed`);
  }
}

/** Another process, or another open instance in this process, owns the bus directory. */
export class BusDirectoryLockedError extends LocalBusError {
  readonly retryable = false;
  constructor(
    readonly dir: string,
    readonly ownerPid: number,
  ) {
    super(
      ownerPid === process.pid
        ? `bus directory ${dir} is already open in this process; close that LocalEventBus first`
        : `bus directory ${dir} is locked by running process ${ownerPid}; publish through its PutEvents endpoint instead ` +
            `(if that process is gone and its pid was reused, delete ${dir}/LOCK)`,
    );
  }
}

/** A queue name the bus was not configured with (or a name SQS would not accept). */
export class UnknownQueueError extends LocalBusError {
  readonly retryable = false;
  constructor(readonly queue: string) {
    super(`unknown queue ${JSON.stringify(queue)}`);
  }
}

/** A queue name in the bus configuration is unusable. */
export class InvalidQueueNameError extends LocalBusError {
  readonly retryable = false;
  constructor(
    readonly queue: string,
    readonly reason: string,
  ) {
    super(`invalid queue name ${JSON.stringify(queue)}: ${reason}`);
  }
}

/** A rule's event pattern is not a valid EventBridge pattern; the cause is the matcher's error. */
export class InvalidRuleError extends LocalBusError {
  readonly retryable = false;
  constructor(
    readonly queue: string,
    readonly rule: string,
    options: { cause: unknown },
  ) {
    super(`rule ${JSON.stringify(rule)} of queue ${JSON.stringify(queue)} has an invalid event pattern: ${messageOf(options.cause)}`, options);
  }
}

/**
 * A PutEvents request that EventBridge rejects as a whole (HTTP 400 `ValidationException`): no entry
 * was accepted. `message` is the text AWS returns.
 */
export class PutEventsValidationError extends LocalBusError {
  readonly retryable = false;
  constructor(message: string) {
    super(message);
  }
}

/**
 * A message file on disk could not be read back (it was not written by this bus, or was edited). The
 * bus does not fail its start on one: it moves the file to its quarantine (see `LocalEventBus.quarantined`)
 * with this error's message as the reason.
 */
export class CorruptMessageFileError extends LocalBusError {
  readonly retryable = false;
  constructor(
    readonly path: string,
    options: { cause: unknown },
  ) {
    super(`message file ${path} is not a valid bus message: ${messageOf(options.cause)}`, options);
  }
}

/**
 * An event the bus will not store, because it could not load it back: it fails the envelope schema
 * (`eventBridgeEnvelopeSchema`, the cause), or its detail nests too deep. Sending it again fails again.
 */
export class InvalidEventError extends LocalBusError {
  readonly retryable = false;
  constructor(
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`not a storable EventBridge event: ${reason}`, options);
  }
}

/** The embedded bus is asynchronous one-way messaging, like EventBridge: there is no reply channel. */
export class RequestResponseNotSupportedError extends LocalBusError {
  readonly retryable = false;
  constructor(pattern: unknown) {
    super(
      `LocalBusClient does not support send() (request/response) for pattern ${safeJson(pattern)}: ` +
        'EventBridge has no reply channel; use emit() and have the other side publish an event back',
    );
  }
}

/** `LocalBusClient.emit` was called with a pattern or payload that is not an event. */
export class InvalidEmitError extends LocalBusError {
  readonly retryable = false;
  constructor(reason: string) {
    super(`LocalBusClient.emit: ${reason}`);
  }
}

export function messageOf(e: unknown): string {
  if (e instanceof Error) return e.message;
  if (typeof e === 'object' && e !== null && typeof (e as { message?: unknown }).message === 'string') {
    return (e as { message: string }).message;
  }
  return safeJson(e);
}

function safeJson(v: unknown): string {
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}
