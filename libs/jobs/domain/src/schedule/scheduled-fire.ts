import { CalendarRangeError } from '../errors.js';
import { nonBusinessDayReason, previousBusinessDay } from '../calendar/business-calendar.js';
import type { PipelineDefinition, ScheduleDefinition } from '../pipeline/pipeline-definition.js';
import { wallTimeAt } from './time-zone.js';

/**
 * What a schedule's fire asks for, decided from the fire alone: the run of a business date, or a
 * skip with the reason. The same fire decides the same, in every process and mode.
 */
export type FireDecision =
  | { readonly kind: 'run'; readonly localDate: string; readonly businessDate: string }
  | { readonly kind: 'skip'; readonly localDate: string; readonly reason: string };

/** A fire time as records and run ids carry it: ISO-8601 UTC with milliseconds, whichever scheduler wrote it. */
export function canonicalFireTime(scheduledTime: Date | string): string {
  const at = typeof scheduledTime === 'string' ? new Date(scheduledTime) : scheduledTime;
  if (Number.isNaN(at.getTime())) throw new RangeError(`${JSON.stringify(scheduledTime)} is not a fire time`);
  return at.toISOString();
}

/**
 * The trigger id of a fire's run (`runIdFor` derives the run id from it): the schedule and the fire
 * time, never the event that carried it, so two deliveries, two schedulers, or EventBridge Scheduler
 * and the embedded one firing the same time ask for one run.
 */
export function scheduledTriggerId(pipeline: string, schedule: string, scheduledTime: Date | string): string {
  return `schedule:${pipeline}:${schedule}:${canonicalFireTime(scheduledTime)}`;
}

/** The calendar date (`YYYY-MM-DD`) an instant falls on in an IANA time zone. */
export function localDateAt(instant: Date, timezone: string): string {
  const wall = wallTimeAt(instant.getTime(), timezone);
  return `${String(wall.year).padStart(4, '0')}-${String(wall.month).padStart(2, '0')}-${String(wall.day).padStart(2, '0')}`;
}

/**
 * What a fire of `schedule` at `scheduledTime` asks for. The fire's local date is its date in the
 * schedule's time zone. A `businessDaysOnly` schedule skips a fire whose local date is not a
 * business day of the pipeline's calendar, with the calendar's reason ("2026-12-25 is a holiday of
 * XNYS (Christmas Day)"); otherwise the run covers the business day before the local date
 * (`businessDate: previous`) or the local date itself (`same`). A date outside the calendar's
 * covered years is a skip too, with the reason: guessing a holiday table is worse than not running.
 */
export function decideFire(pipeline: Pick<PipelineDefinition, 'calendar'>, schedule: ScheduleDefinition, scheduledTime: Date): FireDecision {
  const localDate = localDateAt(scheduledTime, schedule.timezone);
  try {
    if (schedule.businessDaysOnly) {
      const reason = nonBusinessDayReason(pipeline.calendar, localDate);
      if (reason !== undefined) return { kind: 'skip', localDate, reason };
    }
    const businessDate = schedule.businessDate === 'same' ? localDate : previousBusinessDay(pipeline.calendar, localDate);
    return { kind: 'run', localDate, businessDate };
  } catch (e) {
    if (e instanceof CalendarRangeError) return { kind: 'skip', localDate, reason: e.message };
    throw e;
  }
}

/**
 * The business date a run covers when none is given: the last business day of `calendar` before
 * `now`'s date in UTC (a nightly run covers the previous trading day).
 */
export function previousBusinessDayBefore(calendar: string, now: Date): string {
  return previousBusinessDay(calendar, now.toISOString().slice(0, 10));
}
