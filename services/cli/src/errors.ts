/**
 * Errors raised by the `nightshift` command itself (the analytics library has its own). Each says
 * whether running the same command again could succeed (`retryable`).
 */

/** The command line is wrong: unknown subcommand or flag, missing or malformed value. */
export class CliUsageError extends Error {
  readonly retryable = false;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CliUsageError';
  }
}

/**
 * The bench's cross-check failed: the nightshift analytic and the hand-written query (or the
 * merged partitions and the whole-day run) disagree, so its timings compare different results.
 */
export class BenchCheckFailedError extends Error {
  readonly retryable = false;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'BenchCheckFailedError';
  }
}

/**
 * A part of the bench cannot run on this machine (no `redis-server`, the bullmq devDependency not
 * installed, a server that would not start): that section is skipped with this message.
 */
export class BenchUnavailableError extends Error {
  readonly retryable = false;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'BenchUnavailableError';
  }
}

/** A measurement did not finish within its bound (the bench bounds every wait); the machine may be overloaded. */
export class BenchTimeoutError extends Error {
  readonly retryable = true;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'BenchTimeoutError';
  }
}

/** A chaos run's check failed: a task lost, a result committed twice, a terminal event missing or repeated, reports that differ. */
export class ChaosCheckFailedError extends Error {
  readonly retryable = false;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ChaosCheckFailedError';
  }
}

/** The chaos run could not be carried out: its host would not start or answer, or the run did not end in time. */
export class ChaosHostFailedError extends Error {
  readonly retryable = true;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ChaosHostFailedError';
  }
}
