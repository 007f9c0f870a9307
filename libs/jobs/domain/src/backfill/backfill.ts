import { businessDaysBetween } from '../calendar/business-calendar.js';
import { BackfillRangeError, CalendarRangeError, IllegalTransitionError } from '../errors.js';
import type { Run } from '../model/types.js';
import { runIdFor } from '../planning/planner.js';
import { isTerminalRunStatus } from '../state/run-state-machine.js';

/*
 * Backfills: one run of a pipeline per business date of its calendar in a range, at most
 * `concurrency` open at a time. The record (`Backfill`) is the whole state: which dates wait, which
 * run (under which run id), which finished and how. Whoever advances it reads the record and the
 * runs it names, decides with the pure functions here, and writes the record back conditioned on
 * its version; so any number of planner processes can advance one backfill, and a crash loses
 * nothing the next advance does not find.
 */

/** A backfill is RUNNING until every date is settled; then SUCCEEDED (all succeeded) or FAILED (a date failed or had no dataset). CANCELLED on request. */
export const BACKFILL_STATUSES = ['RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED'] as const;
export type BackfillStatus = (typeof BACKFILL_STATUSES)[number];

/**
 * One date: PENDING until its turn; RUNNING once its run is recorded (the run is started after the
 * record says so); SUCCEEDED or FAILED as its run ended; MISSING_DATASET when no dataset version of
 * the pipeline's input was registered for it (reported, never skipped silently); CANCELLED when the
 * backfill was cancelled before the date's run ended well.
 */
export const BACKFILL_DATE_STATUSES = ['PENDING', 'RUNNING', 'SUCCEEDED', 'FAILED', 'MISSING_DATASET', 'CANCELLED'] as const;
export type BackfillDateStatus = (typeof BACKFILL_DATE_STATUSES)[number];

/** The most runs one backfill may keep open at once. */
export const MAX_BACKFILL_CONCURRENCY = 50;
/** The longest range a backfill may span: 10 years is about 2,600 business days, one record. */
export const MAX_BACKFILL_YEARS = 10;
/** Reasons kept per date are cut to this many characters (the run keeps its whole reason). */
export const MAX_BACKFILL_REASON_LENGTH = 500;

/** One business date of a backfill and what became of it. */
export interface BackfillDate {
  /** YYYY-MM-DD. */
  date: string;
  status: BackfillDateStatus;
  /** The date's run, once it has one (RUNNING and after): `backfillRunId`. */
  runId?: string;
  /** Why the date FAILED, has no dataset, or was cancelled, for people. */
  reason?: string;
}

/** A backfill: the dates of a pipeline's calendar in [from, to] and the run of each. */
export interface Backfill {
  backfillId: string;
  /** Whose backfill it is; its runs are this tenant's, over this tenant's datasets only. */
  tenant?: string;
  pipeline: string;
  /** First and last date of the range asked for (YYYY-MM-DD, inclusive); `dates` holds its business days. */
  from: string;
  to: string;
  /** How many of its runs may be open at once (1..MAX_BACKFILL_CONCURRENCY). */
  concurrency: number;
  requestedBy: string;
  status: BackfillStatus;
  /** Every business date of the range, ascending. */
  dates: BackfillDate[];
  createdAt: string;
  updatedAt: string;
  /** Set once no date is PENDING or RUNNING: the backfill is over (a cancelled one once its runs have ended). */
  finishedAt?: string;
  /** What the backfill did, in one sentence, once finished. */
  summary?: string;
  /** Bumped by every write; writes are conditioned on it. */
  version: number;
}

/** How many dates are in each status. */
export type BackfillCounts = Record<BackfillDateStatus, number>;

/** A backfill without its dates, with their counts: what listings carry. */
export type BackfillSummary = Omit<Backfill, 'dates'> & { counts: BackfillCounts };

/** The id of the trigger a backfill's run of `date` is planned under: its run id derives from it (`runIdFor`). */
export function backfillTriggerEventId(backfillId: string, date: string): string {
  return `backfill:${backfillId}:${date}`;
}

/** The run id of a backfill's run of `date`: the same whoever starts it, however often. */
export function backfillRunId(backfill: Pick<Backfill, 'backfillId' | 'pipeline'>, date: string): string {
  return runIdFor(backfill.pipeline, date, backfillTriggerEventId(backfill.backfillId, date));
}

/**
 * The business dates of `calendar` from `from` to `to` (inclusive), ascending: the dates a backfill
 * of the range runs. Throws BackfillRangeError naming the end that is wrong: `from` after `to`, a
 * range over MAX_BACKFILL_YEARS, an end outside the calendar's covered years, or no business day.
 */
export function backfillDates(calendar: string, from: string, to: string): string[] {
  if (from > to) throw new BackfillRangeError('from', `${from} is after to (${to})`);
  const limit = addYears(from, MAX_BACKFILL_YEARS);
  if (to >= limit) throw new BackfillRangeError('to', `a backfill spans at most ${MAX_BACKFILL_YEARS} years: to must be before ${limit}`);
  let dates: string[];
  try {
    dates = businessDaysBetween(calendar, from, to);
  } catch (e) {
    if (e instanceof CalendarRangeError) throw new BackfillRangeError(e.date === from ? 'from' : 'to', e.message, { cause: e });
    throw e;
  }
  if (dates.length === 0) throw new BackfillRangeError('from', `no business day of ${calendar} from ${from} to ${to}`);
  return dates;
}

/** A new backfill over `dates` (from `backfillDates`), every date PENDING. */
export function newBackfill(
  input: Pick<Backfill, 'backfillId' | 'tenant' | 'pipeline' | 'from' | 'to' | 'concurrency' | 'requestedBy'> & { dates: readonly string[]; now: Date },
): Backfill {
  const { backfillId, tenant, pipeline, from, to, concurrency, requestedBy, dates, now } = input;
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > MAX_BACKFILL_CONCURRENCY) {
    throw new RangeError(`backfill concurrency must be an integer from 1 to ${MAX_BACKFILL_CONCURRENCY}, got ${concurrency}`);
  }
  const at = now.toISOString();
  return {
    backfillId,
    ...(tenant !== undefined ? { tenant } : {}),
    pipeline,
    from,
    to,
    concurrency,
    requestedBy,
    status: 'RUNNING',
    dates: dates.map((date) => ({ date, status: 'PENDING' })),
    createdAt: at,
    updatedAt: at,
    version: 0,
  };
}

/**
 * Legal date transitions: PENDING -> RUNNING | MISSING_DATASET | CANCELLED, or FAILED when the date
 * cannot even be started (its pipeline is no longer configured); RUNNING -> SUCCEEDED | FAILED |
 * CANCELLED; nothing leaves the others.
 */
export function canTransitionBackfillDate(from: BackfillDateStatus, to: BackfillDateStatus): boolean {
  switch (from) {
    case 'PENDING':
      return to === 'RUNNING' || to === 'MISSING_DATASET' || to === 'CANCELLED' || to === 'FAILED';
    case 'RUNNING':
      return to === 'SUCCEEDED' || to === 'FAILED' || to === 'CANCELLED';
    case 'SUCCEEDED':
    case 'FAILED':
    case 'MISSING_DATASET':
    case 'CANCELLED':
      return false;
  }
}

/** Legal backfill transitions: RUNNING -> SUCCEEDED | FAILED | CANCELLED; nothing leaves the others. */
export function canTransitionBackfill(from: BackfillStatus, to: BackfillStatus): boolean {
  switch (from) {
    case 'RUNNING':
      return to === 'SUCCEEDED' || to === 'FAILED' || to === 'CANCELLED';
    case 'SUCCEEDED':
    case 'FAILED':
    case 'CANCELLED':
      return false;
  }
}

/** Whether dates may still change: no `finishedAt` yet (a cancelled backfill stays open until its runs have ended). */
export function isOpenBackfill(backfill: Pick<Backfill, 'finishedAt'>): boolean {
  return backfill.finishedAt === undefined;
}

export function countBackfillDates(dates: readonly Pick<BackfillDate, 'status'>[]): BackfillCounts {
  const counts = Object.fromEntries(BACKFILL_DATE_STATUSES.map((s) => [s, 0])) as BackfillCounts;
  for (const d of dates) counts[d.status] += 1;
  return counts;
}

/** The backfill without its dates, with their counts. */
export function summarizeBackfill(backfill: Backfill): BackfillSummary {
  const { dates, ...rest } = backfill;
  return { ...rest, counts: countBackfillDates(dates) };
}

/** `date` moved to `next` (checked by the state machine); `reason` is cut to MAX_BACKFILL_REASON_LENGTH. */
export function moveBackfillDate(date: BackfillDate, next: Omit<BackfillDate, 'date'>): BackfillDate {
  if (!canTransitionBackfillDate(date.status, next.status)) throw new IllegalTransitionError(`backfill date ${date.date}`, date.status, next.status);
  return {
    date: date.date,
    status: next.status,
    ...(next.runId !== undefined ? { runId: next.runId } : {}),
    ...(next.reason !== undefined ? { reason: clipReason(next.reason) } : {}),
  };
}

/**
 * What a RUNNING date becomes now that its run was read: undefined while the run is open; SUCCEEDED
 * or FAILED (with the run's reason) once it ended; in a cancelled backfill a run that did not
 * succeed makes the date CANCELLED.
 */
export function settleBackfillDate(date: BackfillDate, run: Pick<Run, 'status' | 'reason'>, cancelled: boolean): BackfillDate | undefined {
  if (date.status !== 'RUNNING' || !isTerminalRunStatus(run.status)) return undefined;
  if (run.status === 'SUCCEEDED') return moveBackfillDate(date, { status: 'SUCCEEDED', ...(date.runId ? { runId: date.runId } : {}) });
  return moveBackfillDate(date, { status: cancelled ? 'CANCELLED' : 'FAILED', ...(date.runId ? { runId: date.runId } : {}), reason: run.reason ?? 'the run failed' });
}

/** Free run slots: `concurrency` less the RUNNING dates (never below 0). */
export function freeBackfillSlots(backfill: Pick<Backfill, 'concurrency' | 'dates'>): number {
  return Math.max(0, backfill.concurrency - backfill.dates.filter((d) => d.status === 'RUNNING').length);
}

/** The reason a date without a dataset is reported with. */
export function missingDatasetReason(dataset: string, date: string): string {
  return `no registered ${dataset} dataset for ${date}`;
}

/**
 * A cancelled backfill: CANCELLED, its PENDING dates CANCELLED with `reason`; RUNNING dates stay
 * until their runs (which the caller stops) have ended. Undefined when it is not RUNNING (finished,
 * or cancelled already): cancelling is idempotent.
 */
export function cancelBackfill(backfill: Backfill, reason: string, now: Date): Backfill | undefined {
  if (backfill.status !== 'RUNNING') return undefined;
  if (!canTransitionBackfill(backfill.status, 'CANCELLED')) throw new IllegalTransitionError(`backfill ${backfill.backfillId}`, backfill.status, 'CANCELLED');
  return {
    ...backfill,
    status: 'CANCELLED',
    dates: backfill.dates.map((d) => (d.status === 'PENDING' ? moveBackfillDate(d, { status: 'CANCELLED', reason }) : d)),
    updatedAt: now.toISOString(),
  };
}

/**
 * The backfill finished when no date is PENDING or RUNNING: SUCCEEDED if every date succeeded,
 * FAILED otherwise (a failed date, a missing dataset), CANCELLED staying CANCELLED; with
 * `finishedAt` and a summary. As it was while dates are open, or when it already finished.
 */
export function finishBackfillIfDone(backfill: Backfill, now: Date): Backfill {
  if (!isOpenBackfill(backfill) || backfill.dates.some((d) => d.status === 'PENDING' || d.status === 'RUNNING')) return backfill;
  const status: BackfillStatus = backfill.status === 'CANCELLED' ? 'CANCELLED' : backfill.dates.every((d) => d.status === 'SUCCEEDED') ? 'SUCCEEDED' : 'FAILED';
  if (status !== backfill.status && !canTransitionBackfill(backfill.status, status)) throw new IllegalTransitionError(`backfill ${backfill.backfillId}`, backfill.status, status);
  const at = now.toISOString();
  return { ...backfill, status, finishedAt: at, updatedAt: at, summary: backfillSummaryText(backfill.dates, status) };
}

/** Lists shown in a summary name at most this many dates each. */
const SUMMARY_DATES = 5;

/** E.g. "FAILED: 20 dates, 19 succeeded, 1 missing a dataset (2026-01-05)". */
export function backfillSummaryText(dates: readonly BackfillDate[], status: BackfillStatus): string {
  const counts = countBackfillDates(dates);
  const named = (s: BackfillDateStatus): string => {
    const of = dates.filter((d) => d.status === s).map((d) => d.date);
    return of.length > SUMMARY_DATES ? `${of.slice(0, SUMMARY_DATES).join(', ')} and ${of.length - SUMMARY_DATES} more` : of.join(', ');
  };
  const parts = [`${dates.length} date${dates.length === 1 ? '' : 's'}`, `${counts.SUCCEEDED} succeeded`];
  if (counts.FAILED > 0) parts.push(`${counts.FAILED} failed (${named('FAILED')})`);
  if (counts.MISSING_DATASET > 0) parts.push(`${counts.MISSING_DATASET} missing a dataset (${named('MISSING_DATASET')})`);
  if (counts.CANCELLED > 0) parts.push(`${counts.CANCELLED} cancelled`);
  return `${status}: ${parts.join(', ')}`;
}

function clipReason(reason: string): string {
  return reason.length <= MAX_BACKFILL_REASON_LENGTH ? reason : `${reason.slice(0, MAX_BACKFILL_REASON_LENGTH - 1)}…`;
}

/** `date` plus `years` (Feb 29 plus a year is Mar 1), as YYYY-MM-DD. Dates here are plain dates: UTC arithmetic. */
function addYears(date: string, years: number): string {
  const d = new Date(`${date}T00:00:00Z`);
  d.setUTCFullYear(d.getUTCFullYear() + years);
  return d.toISOString().slice(0, 10);
}
