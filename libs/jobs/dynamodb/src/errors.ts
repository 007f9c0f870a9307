import { JobsError } from '@nightshift/jobs-domain';

/*
 * Errors this adapter adds to the jobs-domain ones (StaleStateError, NotFoundError,
 * StoreUnavailableError). They extend JobsError so a consumer decides retry vs dead-letter from
 * `retryable` alone, whichever adapter raised them.
 */

/** The table did not reach ACTIVE in time after `createTable`; it may still be creating. */
export class TableNotActiveError extends JobsError {
  readonly retryable = true;
  constructor(
    readonly tableName: string,
    readonly lastStatus: string | undefined,
    options?: { cause?: unknown },
  ) {
    super(`table ${tableName} is not ACTIVE (last status ${lastStatus ?? 'unknown'})`, options);
  }
}

/** A table of that name exists with another key schema than the job store's `PK`/`SK`. */
export class TableSchemaMismatchError extends JobsError {
  readonly retryable = false;
  constructor(
    readonly tableName: string,
    readonly found: string,
  ) {
    super(`table ${tableName} exists with key schema ${found}, expected PK (HASH, S) + SK (RANGE, S)`);
  }
}

/**
 * Allocating the next dataset version kept losing to concurrent registrations of the same dataset
 * and date. Retrying later succeeds once the burst is over.
 */
export class DatasetVersionContentionError extends JobsError {
  readonly retryable = true;
  constructor(
    readonly dataset: string,
    readonly businessDate: string,
    readonly attempts: number,
  ) {
    super(`could not allocate a version of ${dataset}@${businessDate} after ${attempts} attempts`);
  }
}

/**
 * The caller passed arguments the store cannot take: ids that contradict each other, a step name
 * with `#`, an array index outside its step, a page limit below 1, a `nextToken` the listing did
 * not issue.
 */
export class InvalidJobStoreInputError extends JobsError {
  readonly retryable = false;
  constructor(readonly problem: string) {
    super(`invalid job store input: ${problem}`);
  }
}

/** The embedded DynamoDB-compatible server could not start (data directory in use, unreadable, port taken). */
export class EmbeddedDynamoDbStartError extends JobsError {
  readonly retryable = false;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/**
 * Creating a backfill kept losing the race for its tenant's and pipeline's lane (the item that
 * keeps open backfills from overlapping) to concurrent creates. Retrying later succeeds.
 */
export class BackfillLaneContentionError extends JobsError {
  readonly retryable = true;
  constructor(
    readonly tenant: string,
    readonly pipeline: string,
    readonly attempts: number,
  ) {
    super(`could not claim the backfill lane of ${tenant}/${pipeline} after ${attempts} attempts`);
  }
}
