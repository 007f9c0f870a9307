import type { Problem } from '@nightshift/api-contract';

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

/**
 * The REST API refused the request: its RFC 9457 problem. A 4xx but 429 is bad input (exit 2): the
 * id, the token, the state of the run; only 429 and 5xx may pass if tried again.
 */
export class ApiProblemError extends Error {
  readonly retryable: boolean;

  constructor(
    readonly status: number,
    readonly problem: Problem,
    /** The problem's detail, with what the status means for this command when that helps (which token was used). */
    message: string = problem.detail,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'ApiProblemError';
    this.retryable = status === 429 || status >= 500;
  }
}

/** The REST API (or the AWS endpoint `land` uses) cannot be reached at all: nothing answers there. */
export class PlatformUnreachableError extends Error {
  readonly retryable = true;

  constructor(
    readonly url: string,
    reason: string,
    options?: { cause?: unknown },
  ) {
    super(`cannot reach ${url} (${reason}): is the platform running? (npm start)`, options);
    this.name = 'PlatformUnreachableError';
  }
}

/** The REST API answered something its contract (`@nightshift/api-contract`) does not allow: a CLI and a platform of different versions. */
export class ApiAnswerError extends Error {
  readonly retryable = false;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ApiAnswerError';
  }
}

/** `runs watch` saw the run end FAILED: the command reports it and exits 1. */
export class RunFailedError extends Error {
  readonly retryable = false;

  constructor(
    readonly runId: string,
    readonly reason: string | undefined,
  ) {
    super(`run ${runId} FAILED${reason ? `: ${reason}` : ''}`);
    this.name = 'RunFailedError';
  }
}

/** Ingestion rejected the landed dataset (`land`): the reasons were printed; exit 1. */
export class LandingRejectedError extends Error {
  readonly retryable = false;

  constructor(
    readonly eventId: string,
    readonly reasons: number,
  ) {
    super(`landing ${eventId} was rejected (${reasons} reason${reasons === 1 ? '' : 's'})`);
    this.name = 'LandingRejectedError';
  }
}

/**
 * The AWS endpoint refused the landing: PutEvents refused the entry (a source the key may not
 * publish), or S3 the credentials or the key. Not retryable: the credentials or options are wrong.
 */
export class LandingRefusedError extends Error {
  readonly retryable = false;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'LandingRefusedError';
  }
}

/** Something the command waits for (a landing's outcome) did not come in time; the platform may be busy. */
export class WaitTimeoutError extends Error {
  readonly retryable = true;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'WaitTimeoutError';
  }
}

/** `backfill start --wait` saw the backfill end other than SUCCEEDED (a date failed or had no dataset, or it was cancelled): exit 1. */
export class BackfillFailedError extends Error {
  readonly retryable = false;

  constructor(
    readonly backfillId: string,
    readonly status: string,
    readonly summary: string | undefined,
  ) {
    super(`backfill ${backfillId} ${status}${summary ? `: ${summary}` : ''}`);
    this.name = 'BackfillFailedError';
  }
}
