import { describe, expect, it } from 'vitest';
import { scheduleDefinitionSchema } from '../pipeline/pipeline-definition.js';
import { runIdFor } from '../planning/planner.js';
import { canonicalFireTime, decideFire, localDateAt, previousBusinessDayBefore, scheduledTriggerId } from './scheduled-fire.js';

const schedule = (overrides: Record<string, unknown> = {}) => scheduleDefinitionSchema.parse({ name: 'nightly', expression: 'cron(0 7 * * ? *)', ...overrides });

describe('decideFire', () => {
  it("runs the business day before the fire's local date by default", () => {
    // Monday 07:00 UTC: the run covers Friday.
    expect(decideFire({ calendar: 'WEEKDAYS' }, schedule(), new Date('2026-11-23T07:00:00Z'))).toEqual({ kind: 'run', localDate: '2026-11-23', businessDate: '2026-11-20' });
    expect(decideFire({ calendar: 'WEEKDAYS' }, schedule({ businessDate: 'same' }), new Date('2026-11-23T07:00:00Z'))).toEqual({
      kind: 'run',
      localDate: '2026-11-23',
      businessDate: '2026-11-23',
    });
  });

  it('takes the local date in the schedule\'s time zone, not UTC', () => {
    // 02:00 in Seoul on Tuesday is still Monday in UTC.
    const seoul = schedule({ expression: 'cron(0 2 ? * TUE-SAT *)', timezone: 'Asia/Seoul' });
    const fire = new Date('2026-11-23T17:00:00Z');
    expect(localDateAt(fire, 'Asia/Seoul')).toBe('2026-11-24');
    expect(decideFire({ calendar: 'WEEKDAYS' }, seoul, fire)).toEqual({ kind: 'run', localDate: '2026-11-24', businessDate: '2026-11-23' });
  });

  it('skips a businessDaysOnly fire on a holiday or a weekend, with the calendar\'s reason', () => {
    const onBusinessDays = schedule({ businessDaysOnly: true });
    expect(decideFire({ calendar: 'XNYS' }, onBusinessDays, new Date('2026-12-25T07:00:00Z'))).toEqual({
      kind: 'skip',
      localDate: '2026-12-25',
      reason: '2026-12-25 is a holiday of XNYS (Christmas Day)',
    });
    expect(decideFire({ calendar: 'XNYS' }, onBusinessDays, new Date('2026-11-28T07:00:00Z'))).toEqual({ kind: 'skip', localDate: '2026-11-28', reason: '2026-11-28 is a Saturday' });
    // Without businessDaysOnly it runs, for the business day before: Christmas Eve.
    expect(decideFire({ calendar: 'XNYS' }, schedule(), new Date('2026-12-25T07:00:00Z'))).toEqual({ kind: 'run', localDate: '2026-12-25', businessDate: '2026-12-24' });
    // The day after a holiday covers the day before it.
    expect(decideFire({ calendar: 'XNYS' }, onBusinessDays, new Date('2026-11-27T07:00:00Z'))).toMatchObject({ kind: 'run', businessDate: '2026-11-25' });
  });

  it('skips, with the reason, a fire the calendar cannot answer for (outside its years)', () => {
    const decision = decideFire({ calendar: 'XNYS' }, schedule({ businessDaysOnly: true }), new Date('2150-06-01T07:00:00Z'));
    expect(decision).toMatchObject({ kind: 'skip', localDate: '2150-06-01' });
    expect(decision.kind === 'skip' && decision.reason).toMatch(/outside the years .* covered by business calendar XNYS/);
  });
});

describe('scheduled fires as run triggers', () => {
  it('gives every form of one fire time one trigger, and so one run id', () => {
    const aws = scheduledTriggerId('nightly-tca', 'nightly', '2026-12-24T07:00:00Z');
    const embedded = scheduledTriggerId('nightly-tca', 'nightly', new Date(Date.UTC(2026, 11, 24, 7)));
    expect(aws).toBe('schedule:nightly-tca:nightly:2026-12-24T07:00:00.000Z');
    expect(embedded).toBe(aws);
    expect(scheduledTriggerId('nightly-tca', 'nightly', '2026-12-24T08:00:00+01:00')).toBe(aws);
    expect(runIdFor('nightly-tca', '2026-12-23', aws)).not.toBe(runIdFor('nightly-tca', '2026-12-23', scheduledTriggerId('nightly-tca', 'morning', '2026-12-24T07:00:00Z')));
    expect(() => canonicalFireTime('not a time')).toThrow(RangeError);
  });

  it("defaults a run's business date to the calendar's business day before today (UTC)", () => {
    expect(previousBusinessDayBefore('WEEKDAYS', new Date('2026-11-23T23:59:00Z'))).toBe('2026-11-20');
    expect(previousBusinessDayBefore('XNYS', new Date('2026-11-27T00:30:00Z'))).toBe('2026-11-25');
  });
});
