import { describe, expect, it } from 'vitest';
import { BackfillRangeError, IllegalTransitionError } from '../errors.js';
import { runIdFor } from '../planning/planner.js';
import {
  BACKFILL_DATE_STATUSES,
  BACKFILL_STATUSES,
  backfillDates,
  backfillRunId,
  backfillTriggerEventId,
  cancelBackfill,
  canTransitionBackfill,
  canTransitionBackfillDate,
  countBackfillDates,
  finishBackfillIfDone,
  freeBackfillSlots,
  MAX_BACKFILL_REASON_LENGTH,
  moveBackfillDate,
  newBackfill,
  settleBackfillDate,
  summarizeBackfill,
  type Backfill,
} from './backfill.js';

const NOW = new Date('2026-03-02T08:00:00.000Z');
const LATER = new Date('2026-03-02T09:00:00.000Z');

function aBackfill(dates: string[] = ['2026-01-05', '2026-01-06', '2026-01-07'], concurrency = 2): Backfill {
  return newBackfill({ backfillId: 'bf-1', tenant: 'acme', pipeline: 'nightly-tca', from: dates[0]!, to: dates.at(-1)!, concurrency, requestedBy: 'ops', dates, now: NOW });
}

describe('backfill dates', () => {
  it("are the business days of the pipeline's calendar in the range, both ends included", () => {
    expect(backfillDates('WEEKDAYS', '2026-01-02', '2026-01-12')).toEqual(['2026-01-02', '2026-01-05', '2026-01-06', '2026-01-07', '2026-01-08', '2026-01-09', '2026-01-12']);
    // 2026-01-19 is Martin Luther King Jr. Day: closed in New York, open in London.
    expect(backfillDates('XNYS', '2026-01-16', '2026-01-20')).toEqual(['2026-01-16', '2026-01-20']);
    expect(backfillDates('XLON', '2026-01-16', '2026-01-20')).toEqual(['2026-01-16', '2026-01-19', '2026-01-20']);
  });

  it('refuses a range naming the end that is wrong: reversed, over 10 years, without a business day, outside the calendar', () => {
    const refusal = (calendar: string, from: string, to: string) => {
      try {
        backfillDates(calendar, from, to);
      } catch (e) {
        expect(e).toBeInstanceOf(BackfillRangeError);
        return { field: (e as BackfillRangeError).field, retryable: (e as BackfillRangeError).retryable };
      }
      throw new Error('not refused');
    };
    expect(refusal('WEEKDAYS', '2026-01-09', '2026-01-05')).toEqual({ field: 'from', retryable: false });
    expect(refusal('WEEKDAYS', '2016-01-01', '2026-01-01')).toMatchObject({ field: 'to' });
    expect(backfillDates('WEEKDAYS', '2016-01-01', '2025-12-31').length).toBe(2609);
    expect(refusal('WEEKDAYS', '2026-01-03', '2026-01-04')).toMatchObject({ field: 'from' });
    expect(refusal('XNYS', '1900-01-02', '1900-01-05')).toMatchObject({ field: 'from' });
  });
});

describe('a backfill', () => {
  it('starts RUNNING with every date PENDING, at version 0; its runs have ids derived from the backfill and the date', () => {
    const b = aBackfill();
    expect(b).toMatchObject({ status: 'RUNNING', version: 0, createdAt: NOW.toISOString(), concurrency: 2 });
    expect(b.dates.every((d) => d.status === 'PENDING')).toBe(true);
    expect(backfillRunId(b, '2026-01-05')).toBe(runIdFor('nightly-tca', '2026-01-05', backfillTriggerEventId('bf-1', '2026-01-05')));
    expect(backfillRunId(b, '2026-01-05')).not.toBe(backfillRunId({ ...b, backfillId: 'bf-2' }, '2026-01-05'));
    expect(() => aBackfill(['2026-01-05'], 0)).toThrow(RangeError);
    expect(() => aBackfill(['2026-01-05'], 51)).toThrow(RangeError);
  });

  it('moves dates only along the state machine, and the backfill likewise', () => {
    for (const from of BACKFILL_DATE_STATUSES) for (const to of BACKFILL_DATE_STATUSES) expect(typeof canTransitionBackfillDate(from, to)).toBe('boolean');
    for (const from of BACKFILL_STATUSES) for (const to of BACKFILL_STATUSES) expect(typeof canTransitionBackfill(from, to)).toBe('boolean');
    expect(canTransitionBackfillDate('PENDING', 'RUNNING')).toBe(true);
    expect(canTransitionBackfillDate('RUNNING', 'PENDING')).toBe(false);
    expect(canTransitionBackfillDate('MISSING_DATASET', 'RUNNING')).toBe(false);
    expect(() => moveBackfillDate({ date: '2026-01-05', status: 'SUCCEEDED' }, { status: 'FAILED' })).toThrow(IllegalTransitionError);
    expect(canTransitionBackfill('CANCELLED', 'RUNNING')).toBe(false);
  });

  it('counts free slots from the RUNNING dates, and settles a RUNNING date from its run once the run has ended', () => {
    const b = aBackfill();
    const running = moveBackfillDate(b.dates[0]!, { status: 'RUNNING', runId: 'run-a' });
    expect(freeBackfillSlots({ ...b, dates: [running, ...b.dates.slice(1)] })).toBe(1);
    expect(settleBackfillDate(running, { status: 'RUNNING' }, false)).toBeUndefined();
    expect(settleBackfillDate(running, { status: 'SUCCEEDED' }, false)).toEqual({ date: '2026-01-05', status: 'SUCCEEDED', runId: 'run-a' });
    expect(settleBackfillDate(running, { status: 'FAILED', reason: 'fills#D1 exited 3' }, false)).toEqual({ date: '2026-01-05', status: 'FAILED', runId: 'run-a', reason: 'fills#D1 exited 3' });
    expect(settleBackfillDate(running, { status: 'FAILED', reason: 'cancelled: x' }, true)?.status).toBe('CANCELLED');
    // A long reason is cut; the run keeps it whole.
    expect(settleBackfillDate(running, { status: 'FAILED', reason: 'x'.repeat(2_000) }, false)?.reason).toHaveLength(MAX_BACKFILL_REASON_LENGTH);
  });

  it('finishes once no date is PENDING or RUNNING: SUCCEEDED when all succeeded, else FAILED with a summary naming the dates', () => {
    const b = aBackfill();
    expect(finishBackfillIfDone(b, LATER)).toBe(b);
    const done = finishBackfillIfDone(
      {
        ...b,
        dates: [
          { date: '2026-01-05', status: 'SUCCEEDED', runId: 'r1' },
          { date: '2026-01-06', status: 'MISSING_DATASET', reason: 'no registered executions dataset for 2026-01-06' },
          { date: '2026-01-07', status: 'SUCCEEDED', runId: 'r3' },
        ],
      },
      LATER,
    );
    expect(done).toMatchObject({ status: 'FAILED', finishedAt: LATER.toISOString(), summary: 'FAILED: 3 dates, 2 succeeded, 1 missing a dataset (2026-01-06)' });
    expect(finishBackfillIfDone(done, new Date('2030-01-01T00:00:00Z'))).toBe(done);
    const ok = finishBackfillIfDone({ ...b, dates: b.dates.map((d) => ({ ...d, status: 'SUCCEEDED' as const })) }, LATER);
    expect(ok.status).toBe('SUCCEEDED');
    expect(summarizeBackfill(ok)).toMatchObject({ counts: { SUCCEEDED: 3, PENDING: 0 }, status: 'SUCCEEDED' });
    expect(summarizeBackfill(ok)).not.toHaveProperty('dates');
  });

  it('cancels once: PENDING dates CANCELLED, RUNNING ones left to their runs; it finishes CANCELLED when they have ended', () => {
    const b = aBackfill();
    const started = { ...b, dates: [moveBackfillDate(b.dates[0]!, { status: 'RUNNING', runId: 'r1' }), ...b.dates.slice(1)] };
    const cancelled = cancelBackfill(started, 'cancelled by ops', LATER)!;
    expect(countBackfillDates(cancelled.dates)).toMatchObject({ RUNNING: 1, CANCELLED: 2, PENDING: 0 });
    expect(cancelled.status).toBe('CANCELLED');
    expect(cancelBackfill(cancelled, 'again', LATER)).toBeUndefined();
    expect(finishBackfillIfDone(cancelled, LATER).finishedAt).toBeUndefined();
    const settled = { ...cancelled, dates: [settleBackfillDate(cancelled.dates[0]!, { status: 'FAILED', reason: 'cancelled: backfill' }, true)!, ...cancelled.dates.slice(1)] };
    expect(finishBackfillIfDone(settled, LATER)).toMatchObject({ status: 'CANCELLED', finishedAt: LATER.toISOString(), summary: 'CANCELLED: 3 dates, 0 succeeded, 3 cancelled' });
  });
});
