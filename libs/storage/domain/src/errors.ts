/** Base of storage errors; `retryable` tells the caller whether trying again can help. */
export abstract class StorageError extends Error {
  abstract readonly retryable: boolean;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** No object under the key (`get`, `localFile`). Not retryable: the key is wrong or not written yet. */
export class ObjectNotFoundError extends StorageError {
  readonly retryable = false;
  constructor(readonly key: string, options?: { cause?: unknown }) {
    super(`object ${key} not found`, options);
  }
}

/** The key breaks the port's rule (`objectKeyProblem`); refused before any I/O. */
export class InvalidObjectKeyError extends StorageError {
  readonly retryable = false;
  constructor(readonly key: string, readonly reason: string) {
    super(`invalid object key ${JSON.stringify(key)}: ${reason}`);
  }
}

/** The store could not be reached or asked to slow down (throttling, 5xx, network), after the client's own retries. */
export class StorageUnavailableError extends StorageError {
  readonly retryable = true;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}
