/**
 * Where one schedule of one pipeline stands: the last fire time the embedded scheduler has decided
 * about, and the fires it claimed and has not yet seen published. The record that makes a fire
 * happen once whichever scheduler process (or restart) gets to it: a process claims fires by
 * moving the cursor with a write conditioned on `version`, so of two that read the same cursor one
 * wins and the other sees its claim refused.
 */
export interface ScheduleCursor {
  pipeline: string;
  schedule: string;
  /** When the cursor was created (ISO-8601): where a `rate(...)` schedule's periods are counted from. */
  createdAt: string;
  /** The latest fire time (ISO-8601) already decided about (published, or dropped as missed); none before the first. */
  lastFireTime?: string;
  /**
   * Fire times (ISO-8601) claimed for publishing and not yet known to be published. Non-empty only
   * between a claim and its publishing: a cursor found with pending fires long after `claimedAt`
   * belongs to a process that died, and another publishes them again (harmless: the run derives from
   * the schedule and the fire time).
   */
  pending?: string[];
  /** When `pending` was claimed (ISO-8601). */
  claimedAt?: string;
  /** Incremented by every write; the condition of the next one. */
  version: number;
}

/** What became of one fire of a schedule. */
export type ScheduleFireOutcome = 'RUN_REQUESTED' | 'SKIPPED';

/** The planner's record of one fire: the run it asked for, or why it asked for none. */
export interface ScheduleFireRecord {
  pipeline: string;
  schedule: string;
  /** The fire time (ISO-8601, UTC, as `Date.toISOString` writes it): with pipeline and schedule, the record's identity. */
  scheduledTime: string;
  outcome: ScheduleFireOutcome;
  /** The run asked for (RUN_REQUESTED): it may have failed at once, with `reason`. */
  runId?: string;
  /** The business date the fire's run covers (RUN_REQUESTED). */
  businessDate?: string;
  /** Why no run (SKIPPED: "2026-12-25 is a holiday of XNYS (Christmas Day)"), or why the run failed at once. */
  reason?: string;
  /** When the planner recorded it (ISO-8601). */
  at: string;
}

/**
 * The schedules' state: one cursor per (pipeline, schedule), and one record per fire.
 *
 * Semantics every adapter keeps (`src/testing/schedule-state.contract.ts` checks them):
 * - `createCursor` writes a cursor only if none exists (of racing creators one wins); version 1.
 * - `moveCursor` writes only if the stored version is the one given: of two writers that read the
 *   same cursor exactly one succeeds, and the other gets `undefined` and changes nothing.
 * - `recordFire` is idempotent per (pipeline, schedule, scheduledTime): the first record is kept,
 *   a later one for the same fire returns false and changes nothing (a redelivered fire derives the
 *   same outcome). Records are kept at least `SCHEDULE_FIRE_RETENTION_SECONDS` (90 days) after `at`.
 * - `listFires` gives a schedule's records newest fire time first.
 * - Reads are strongly consistent; every write is one conditional single-item write (no transactions).
 * Errors: `StoreUnavailableError` (retryable) when the store cannot be reached; nothing else is
 * translated. Not in the contract: when an expired fire record is deleted, cursors of schedules a
 * pipeline no longer declares (kept; a schedule declared again resumes from its cursor).
 */
export interface ScheduleState {
  /** The schedule's cursor, or undefined when no scheduler has started it. */
  getCursor(pipeline: string, schedule: string): Promise<ScheduleCursor | undefined>;
  /**
   * Starts the schedule's cursor at `createdAt` with nothing fired: the cursor written (version 1),
   * or undefined when one exists already (another process created it: read it).
   */
  createCursor(pipeline: string, schedule: string, createdAt: Date): Promise<ScheduleCursor | undefined>;
  /**
   * Moves `cursor` (as read) to `next`: `lastFireTime` and `pending` (with `claimedAt`) replaced, an
   * absent field removed. Resolves to the cursor written (version + 1), or undefined when the stored
   * version is no longer `cursor.version` (another process moved it first) or the cursor is gone.
   */
  moveCursor(cursor: ScheduleCursor, next: { lastFireTime?: string; pending?: readonly string[]; claimedAt?: string }): Promise<ScheduleCursor | undefined>;
  /** Records a fire's outcome unless the fire has a record: true when written, false when one was there (kept). */
  recordFire(fire: ScheduleFireRecord): Promise<boolean>;
  /** The schedule's last `limit` fire records (1..100), newest fire time first. */
  listFires(pipeline: string, schedule: string, limit: number): Promise<ScheduleFireRecord[]>;
}
