/**
 * Errors raised by the analytics library. One class per condition; each says whether retrying the
 * same call could succeed (`retryable`), so the worker can decide between a retry and a failed task.
 */

/** One problem found in an input data file; `line` is 1-based (the CSV header is line 1). */
export interface RowProblem {
  file: string;
  line: number;
  column?: string;
  message: string;
}

/**
 * Input data is malformed (missing columns, non-numeric values, empty series, ...). Names the first
 * offending file, line and column; `problems` holds every problem found (capped). Retrying the same
 * input cannot help.
 */
export class InputDataError extends Error {
  readonly retryable = false;
  readonly file: string;
  readonly line: number;
  readonly column: string | undefined;
  readonly problems: RowProblem[];

  constructor(problems: RowProblem[], options?: { cause?: unknown }) {
    const first = problems[0] ?? { file: '<unknown>', line: 0, message: 'invalid input' };
    const where = `${first.file}:${first.line}${first.column ? ` column ${first.column}` : ''}`;
    const more = problems.length > 1 ? ` (and ${problems.length - 1} more problem(s))` : '';
    super(`${where}: ${first.message}${more}`, options);
    this.name = 'InputDataError';
    this.file = first.file;
    this.line = first.line;
    this.column = first.column;
    this.problems = problems;
  }
}

/** An input or output file could not be read or written (missing, permission, disk). */
export class DataFileAccessError extends Error {
  readonly retryable: boolean;
  readonly path: string;

  constructor(path: string, message: string, options?: { cause?: unknown; retryable?: boolean }) {
    super(`${path}: ${message}`, options);
    this.name = 'DataFileAccessError';
    this.path = path;
    // A missing file stays missing; other I/O failures (EIO, EMFILE, ...) may be transient.
    this.retryable = options?.retryable ?? false;
  }
}

/** The caller passed options that can never work (empty desk list, malformed date, ...). */
export class InvalidAnalyticsOptionsError extends Error {
  readonly retryable = false;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'InvalidAnalyticsOptionsError';
  }
}

/** Partial results that cannot be merged (different versions or parameters). */
export class IncompatiblePartialsError extends Error {
  readonly retryable = false;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'IncompatiblePartialsError';
  }
}

/** DuckDB failed for a reason not attributable to the input data (out of memory, internal error). */
export class AnalyticsEngineError extends Error {
  readonly retryable = true;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AnalyticsEngineError';
  }
}
