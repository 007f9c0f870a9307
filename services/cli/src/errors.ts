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
