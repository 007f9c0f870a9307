/**
 * Errors of the worker. A job's exit code is all AWS Batch's evaluateOnExit rules see, so each
 * error says the code the worker exits with; anything not listed here exits 1 (worth retrying).
 */
export abstract class WorkerError extends Error {
  /** What the job exits with. */
  abstract readonly exitCode: number;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/**
 * The worker was started wrongly (arguments, environment, manifest, unknown analytic): exit 2,
 * which the worker's own rule (`WORKER_EXIT_RULES`) never retries, since retrying cannot help.
 */
export class WorkerUsageError extends WorkerError {
  readonly retryable = false;
  readonly exitCode = 2;
}

/**
 * A command exited 0 but its `result.json` is not JSON (or not a readable file): exit 2, not
 * retried. Nothing is published for the task.
 */
export class CommandResultError extends WorkerError {
  readonly retryable = false;
  readonly exitCode = 2;
  constructor(
    /** The file as the command knows it: `$NIGHTSHIFT_OUTPUT_DIR/result.json`. */
    readonly file: string,
    reason: string,
    options?: { cause?: unknown },
  ) {
    super(`the command wrote ${file}, which is not JSON: ${reason}`, options);
  }
}

/**
 * The program of a command could not be started: 127 when it does not exist (not on PATH, a wrong
 * path, a `#!` interpreter that is missing), 126 when it is not executable, as a shell answers.
 * Other spawn failures (no memory, too many open files) are the host's and are rethrown as they came.
 */
export class CommandNotStartedError extends WorkerError {
  readonly retryable = false;
  constructor(
    readonly program: string,
    readonly exitCode: 126 | 127,
    reason: string,
    options?: { cause?: unknown },
  ) {
    super(`cannot start ${JSON.stringify(program)}: ${reason}`, options);
  }
}

/**
 * A user's command exited non-zero or was killed. The worker exits with the command's own code
 * (128 + the signal's number for a signal, as a container does), so the step's evaluateOnExit rules,
 * not the worker, decide whether to retry: hence no `retryable` here. Nothing is published for the task.
 */
export class CommandFailedError extends WorkerError {
  constructor(
    readonly exitCode: number,
    /** The signal that ended the command, if one did. */
    readonly signal?: NodeJS.Signals,
    message = `command exited with code ${exitCode}${signal ? ` (${signal})` : ''}`,
  ) {
    super(message);
  }
}
