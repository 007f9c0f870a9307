/** Base of every jobs-domain error: `retryable` tells a consumer to retry (redeliver) or dead-letter. */
export abstract class JobsError extends Error {
  abstract readonly retryable: boolean;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A conditional write found the item in another state than expected: someone else moved it first. */
export class StaleStateError extends JobsError {
  readonly retryable = false;
  constructor(
    readonly entity: string,
    readonly key: string,
    readonly expected: string,
    options?: { cause?: unknown },
  ) {
    super(`${entity} ${key} is no longer ${expected}`, options);
  }
}

/** The item does not exist. */
export class NotFoundError extends JobsError {
  readonly retryable = false;
  constructor(readonly entity: string, readonly key: string) {
    super(`${entity} ${key} not found`);
  }
}

/** The job store could not be reached or throttled the request; try again later. */
export class StoreUnavailableError extends JobsError {
  readonly retryable = true;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** A requested transition is not allowed by the state machine. */
export class IllegalTransitionError extends JobsError {
  readonly retryable = false;
  constructor(readonly entity: string, readonly from: string, readonly to: string) {
    super(`${entity}: illegal transition ${from} -> ${to}`);
  }
}

/**
 * One problem of a pipeline definition: where it is in the definition as written (zod's path:
 * keys and array indexes, `[]` for the whole definition) and what is wrong there. The path is the
 * written document's, so a loader can point at the line of a file.
 */
export interface PipelineIssue {
  path: Array<string | number>;
  message: string;
}

/** A pipeline definition is invalid (cycle, unknown dependency, bad resources). */
export class InvalidPipelineError extends JobsError {
  readonly retryable = false;
  /** Each issue as `"<dotted.path>: <message>"` (`<root>` for the whole definition). */
  readonly problems: string[];
  constructor(
    readonly pipeline: string,
    readonly issues: PipelineIssue[],
  ) {
    const problems = issues.map((i) => `${i.path.join('.') || '<root>'}: ${i.message}`);
    super(`pipeline ${pipeline} is invalid: ${problems.join('; ')}`);
    this.problems = problems;
  }
}

/** One problem of a pipeline file: which file, where in it, and what is wrong there. */
export interface PipelineFileProblem {
  /** The file as its reader names it (the directory's path joined with its name), or the directory itself when it cannot be read. */
  file: string;
  /** Dotted path in the file's document (`steps.1.dependsOn.0`); `''` for the file as a whole. */
  path: string;
  /** 1-based line of the path (or of the syntax error) in the file, when known. */
  line?: number;
  /** 1-based column of the path in its line, when known. */
  column?: number;
  message: string;
}

/** `<file>: <path> (line L, col C): <message>`, the parts that are known. */
export function formatPipelineFileProblem(p: PipelineFileProblem): string {
  const where = p.line === undefined ? '' : ` (line ${p.line}${p.column === undefined ? '' : `, col ${p.column}`})`;
  return `${p.file}${p.path ? `: ${p.path}` : ''}${where}: ${p.message}`;
}

/**
 * Pipeline files that cannot be loaded: every problem of every file, found at once, so one start
 * (or one `cdk synth`) shows all there is to fix. The message lists them one per line. Refused at
 * boot: the files must change, so trying again cannot help.
 */
export class InvalidPipelineFilesError extends JobsError {
  readonly retryable = false;
  constructor(
    /** The directory the files were read from, when they were read from one. */
    readonly dir: string | undefined,
    readonly problems: PipelineFileProblem[],
  ) {
    super(
      `invalid pipeline files${dir === undefined ? '' : ` in ${dir}`} (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n` +
        problems.map((p) => `  ${formatPipelineFileProblem(p)}`).join('\n'),
    );
  }
}

/**
 * A registered dataset cannot feed a pipeline: it lacks tables the pipeline reads. The pipeline is
 * fine and so is the dataset for other pipelines; this run cannot be planned.
 */
export class DatasetLacksTablesError extends JobsError {
  readonly retryable = false;
  constructor(readonly pipeline: string, readonly datasetId: string, readonly problems: string[]) {
    super(`dataset ${datasetId} cannot feed pipeline ${pipeline}: ${problems.join('; ')}`);
  }
}

/**
 * A run was asked for over a dataset of another tenant: a tenant's runs read only its own
 * datasets. The message is what the requester is told: like a read of another tenant's run, it
 * does not say whose the dataset is, or that it exists.
 */
export class DatasetOfAnotherTenantError extends JobsError {
  readonly retryable = false;
  constructor(readonly datasetId: string, readonly tenant: string) {
    super(`no registered dataset ${datasetId} for tenant ${tenant}`);
  }
}

/** The compute environment refused or could not take a job. */
export class ComputeSubmissionError extends JobsError {
  constructor(message: string, readonly retryable: boolean, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/**
 * A log stream name that is not one (`logStreamNameProblem` says why): refused by every `JobLogs`
 * adapter before it reads anything. The caller is wrong, so trying again cannot help.
 */
export class InvalidLogStreamError extends JobsError {
  readonly retryable = false;
  constructor(
    readonly logStreamName: string,
    readonly problem: string,
  ) {
    super(`${JSON.stringify(logStreamName)} is not a log stream name: ${problem}`);
  }
}

/**
 * A listing's page token was not issued by that listing (garbled, truncated, of another listing,
 * tenant or run): the caller's input is wrong, so APIs answer it as a bad request.
 */
export class InvalidPageTokenError extends JobsError {
  readonly retryable = false;
  constructor(readonly token: string, readonly why: string) {
    super(`nextToken "${token.length > 80 ? `${token.slice(0, 80)}...` : token}" was not issued by this listing (${why})`);
  }
}

/**
 * A schedule expression (`cron(...)`, `rate(...)`, `at(...)`) or its time zone is not one
 * EventBridge Scheduler would accept. `field` names the part that is wrong (`minutes`, `hours`,
 * `day-of-month`, `month`, `day-of-week`, `year`, `rate`, `at`, `timezone` or `expression` for the
 * overall shape) and `token` the offending text where there is one. The caller's input is wrong,
 * so trying again cannot help.
 */
export class InvalidScheduleExpressionError extends JobsError {
  readonly retryable = false;
  constructor(
    readonly expression: string,
    readonly field: string,
    readonly token: string | undefined,
    readonly problem: string,
  ) {
    super(
      `schedule expression ${JSON.stringify(expression)} is invalid: ${field}` +
        `${token === undefined ? '' : ` token ${JSON.stringify(token)}`}: ${problem}`,
    );
  }
}

/**
 * A business calendar id that is not one of the known calendars (`CALENDAR_IDS`). The caller asked
 * for a calendar that does not exist, so trying again cannot help.
 */
export class UnknownCalendarError extends JobsError {
  readonly retryable = false;
  constructor(
    readonly calendar: string,
    readonly known: readonly string[],
  ) {
    super(`unknown business calendar ${JSON.stringify(calendar)} (known: ${known.join(', ')})`);
  }
}

/**
 * A date (or year) outside the years a business calendar covers: its holidays there are not known,
 * so no answer would be right. `from` and `to` are the covered years, inclusive. Trying again
 * cannot help until the calendar's data is extended.
 */
export class CalendarRangeError extends JobsError {
  readonly retryable = false;
  constructor(
    readonly calendar: string,
    readonly date: string,
    readonly from: number,
    readonly to: number,
  ) {
    super(`${date} is outside the years ${from}-${to} covered by business calendar ${calendar}`);
  }
}

/**
 * A backfill's range cannot be run: `from` after `to`, longer than `MAX_BACKFILL_YEARS`, outside the
 * years its pipeline's calendar covers, or holding no business day. `field` names the end that is
 * wrong (`from` or `to`). The caller's input is wrong, so trying again cannot help.
 */
export class BackfillRangeError extends JobsError {
  readonly retryable = false;
  constructor(
    readonly field: 'from' | 'to',
    readonly problem: string,
    options?: { cause?: unknown },
  ) {
    super(`backfill ${field}: ${problem}`, options);
  }
}

/**
 * An open backfill of the same tenant and pipeline already covers some of the requested dates: no
 * date of a pipeline runs in two backfills at once. `existing` names it and its range; once it has
 * finished (or is cancelled and settled) the range is free again.
 */
export class BackfillOverlapError extends JobsError {
  readonly retryable = false;
  constructor(
    readonly backfillId: string,
    readonly existing: { backfillId: string; from: string; to: string },
  ) {
    super(`backfill ${existing.backfillId} of the same pipeline (${existing.from} to ${existing.to}) is still open and overlaps the requested range`);
  }
}
