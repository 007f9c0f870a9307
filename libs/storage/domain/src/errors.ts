/** Base of storage errors; `retryable` tells the caller whether trying again can help. */
export abstract class StorageError extends Error {
  abstract readonly retryable: boolean;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

export class ObjectNotFoundError extends StorageError {
  readonly retryable = false;
  constructor(readonly key: string, options?: { cause?: unknown }) {
    super(`object ${key} not found`, options);
  }
}

export class InvalidObjectKeyError extends StorageError {
  readonly retryable = false;
  constructor(readonly key: string, readonly reason: string) {
    super(`invalid object key ${JSON.stringify(key)}: ${reason}`);
  }
}

export class StorageUnavailableError extends StorageError {
  readonly retryable = true;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** Checks a key against the port's rules; returns the reason it is invalid, if it is. */
export function objectKeyProblem(key: string): string | undefined {
  if (key.length === 0) return 'empty';
  if (key.length > 1024) return 'longer than 1024 characters';
  if (key.startsWith('/')) return 'starts with "/"';
  if (key.includes('\\')) return 'contains "\\"';
  if (key.includes('\0')) return 'contains a NUL byte';
  if (key.split('/').some((s) => s === '..' || s === '.' || s === '')) return 'has an empty, "." or ".." segment';
  return undefined;
}
