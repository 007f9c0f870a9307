import { InvalidScheduleExpressionError } from '../errors.js';
import { CronFieldProblem, MAX_YEAR, MIN_YEAR, matchingDays, parseCronFields } from './cron-fields.js';
import type { CronFields } from './cron-fields.js';
import { instantOfWallTime, isKnownTimeZone, wallTimeAt } from './time-zone.js';
import type { WallTime } from './time-zone.js';

/** `cron(min hour day-of-month month day-of-week year)`, wall-clock in `timezone` (UTC when absent). */
export interface CronSchedule {
  readonly kind: 'cron';
  readonly expression: string;
  readonly timezone?: string;
  readonly fields: CronFields;
}

/** `rate(value unit)`: every `periodMs`, counted from an anchor; no time zone applies. */
export interface RateSchedule {
  readonly kind: 'rate';
  readonly expression: string;
  readonly timezone?: string;
  readonly periodMs: number;
}

/** `at(yyyy-mm-ddThh:mm:ss)`: once, at that wall-clock time in `timezone` (UTC when absent). */
export interface AtSchedule {
  readonly kind: 'at';
  readonly expression: string;
  readonly timezone?: string;
  /** The instant the wall time names in the zone. */
  readonly at: Date;
}

/** A parsed EventBridge Scheduler schedule expression. */
export type Schedule = CronSchedule | RateSchedule | AtSchedule;

/** Options of `parseScheduleExpression`. */
export interface ParseScheduleOptions {
  /** IANA zone (`America/New_York`) the cron and at fields are wall-clock times in; UTC when absent. */
  readonly timezone?: string;
}

/** Options of `nextFireTimes`. */
export interface NextFireTimesOptions {
  /** Where a `rate` schedule's periods are counted from (its start date); `from` when absent. */
  readonly anchor?: Date;
}

const MINUTE_MS = 60_000;
const RATE_UNITS: Readonly<Record<string, number>> = { minute: MINUTE_MS, hour: 60 * MINUTE_MS, day: 1440 * MINUTE_MS };
/** Nothing fires after the last minute of the last year a cron year field accepts. */
const END_MS = Date.UTC(MAX_YEAR + 1, 0, 1);

function parseRate(expression: string, body: string): number {
  const match = /^(\S+)\s+(\S+)$/.exec(body.trim());
  if (!match) throw new InvalidScheduleExpressionError(expression, 'rate', body, 'rate takes "value unit", e.g. rate(5 minutes)');
  const [, valueText = '', unit = ''] = match;
  if (!/^\d+$/.test(valueText) || Number(valueText) < 1) {
    throw new InvalidScheduleExpressionError(expression, 'rate', valueText, 'the value is a whole number of at least 1');
  }
  const value = Number(valueText);
  const singular = unit.endsWith('s') ? unit.slice(0, -1) : unit;
  const unitMs = RATE_UNITS[singular];
  if (unitMs === undefined) {
    throw new InvalidScheduleExpressionError(expression, 'rate', unit, 'the unit is minute(s), hour(s) or day(s)');
  }
  if ((value === 1) !== (unit === singular)) {
    throw new InvalidScheduleExpressionError(
      expression,
      'rate',
      unit,
      value === 1 ? `a value of 1 takes the singular "${singular}"` : `a value above 1 takes the plural "${singular}s"`,
    );
  }
  return value * unitMs;
}

function parseAt(expression: string, body: string, timezone: string | undefined): Date {
  const match = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})$/.exec(body.trim());
  if (!match) throw new InvalidScheduleExpressionError(expression, 'at', body, 'at takes yyyy-mm-ddThh:mm:ss');
  const [year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0] = match.slice(1).map(Number);
  const wall: WallTime = { year, month, day, hour, minute, second };
  const asUtc = new Date(Date.UTC(year, month - 1, day, hour, minute, second));
  if (asUtc.getUTCMonth() !== month - 1 || asUtc.getUTCDate() !== day || hour > 23 || minute > 59 || second > 59) {
    throw new InvalidScheduleExpressionError(expression, 'at', body, 'is not a date and time of day');
  }
  if (year < MIN_YEAR || year > MAX_YEAR) {
    throw new InvalidScheduleExpressionError(expression, 'at', body, `the year is outside ${MIN_YEAR}-${MAX_YEAR}`);
  }
  const instant = instantOfWallTime(wall, timezone);
  if (instant === undefined) {
    throw new InvalidScheduleExpressionError(expression, 'at', body, `this wall time does not exist in ${timezone} (daylight saving)`);
  }
  return new Date(instant);
}

/**
 * Parses an EventBridge Scheduler schedule expression: `cron(...)` (six fields, AWS's rules),
 * `rate(value unit)` or `at(yyyy-mm-ddThh:mm:ss)`. Throws `InvalidScheduleExpressionError` naming
 * the field and token that are wrong.
 */
export function parseScheduleExpression(expression: string, options: ParseScheduleOptions = {}): Schedule {
  const { timezone } = options;
  if (timezone !== undefined && !isKnownTimeZone(timezone)) {
    throw new InvalidScheduleExpressionError(expression, 'timezone', timezone, 'is not a known IANA time zone');
  }
  const zone = timezone === undefined ? {} : { timezone };
  const match = /^\s*(cron|rate|at)\((.*)\)\s*$/.exec(expression);
  if (!match) {
    throw new InvalidScheduleExpressionError(expression, 'expression', undefined, 'is not cron(...), rate(...) or at(...)');
  }
  const [, kind, body = ''] = match;
  if (kind === 'rate') return { kind, expression, ...zone, periodMs: parseRate(expression, body) };
  if (kind === 'at') return { kind, expression, ...zone, at: parseAt(expression, body, timezone) };
  try {
    const fields = parseCronFields(body.trim() === '' ? [] : body.trim().split(/\s+/));
    return { kind: 'cron', expression, ...zone, fields };
  } catch (e) {
    if (e instanceof CronFieldProblem) throw new InvalidScheduleExpressionError(expression, e.field, e.token, e.problem);
    throw e;
  }
}

/** Wall times the cron fields choose, ascending, from `start` (inclusive) to the end of MAX_YEAR. */
function* wallTimesFrom(fields: CronFields, start: WallTime): Generator<WallTime> {
  for (let year = start.year; year <= MAX_YEAR; year++) {
    if (fields.years[year - MIN_YEAR] !== true) continue;
    const firstYear = year === start.year;
    for (const month of fields.months) {
      if (firstYear && month < start.month) continue;
      const firstMonth = firstYear && month === start.month;
      for (const day of matchingDays(fields, year, month)) {
        if (firstMonth && day < start.day) continue;
        const firstDay = firstMonth && day === start.day;
        for (const hour of fields.hours) {
          if (firstDay && hour < start.hour) continue;
          const firstHour = firstDay && hour === start.hour;
          for (const minute of fields.minutes) {
            if (firstHour && minute < start.minute) continue;
            yield { year, month, day, hour, minute, second: 0 };
          }
        }
      }
    }
  }
}

function cronFireTimes(schedule: CronSchedule, fromMs: number, count: number): Date[] {
  const startMs = Math.max(Math.ceil(fromMs / MINUTE_MS) * MINUTE_MS, Date.UTC(MIN_YEAR, 0, 1) - 14 * 3_600_000);
  const wall = wallTimeAt(startMs, schedule.timezone);
  const start = wall.year < MIN_YEAR ? { year: MIN_YEAR, month: 1, day: 1, hour: 0, minute: 0, second: 0 } : wall;
  const fires: Date[] = [];
  for (const candidate of wallTimesFrom(schedule.fields, start)) {
    if (fires.length >= count) break;
    const instant = instantOfWallTime(candidate, schedule.timezone);
    // Skipped by spring-forward: no fire. Repeated by fall-back: fired once, at the earlier instant,
    // so a `from` inside the repeated hour does not fire it again.
    if (instant !== undefined && instant >= fromMs) fires.push(new Date(instant));
  }
  return fires;
}

/**
 * The first `count` fire times of `schedule` at or after `from` (inclusive), in order; fewer when
 * it stops firing (a past `at`, a year field that ends, the year 2199).
 *
 * Daylight saving, as EventBridge Scheduler documents it: a cron wall time that clocks skip when
 * they spring forward does not fire that day; a wall time that repeats when they fall back fires
 * once, at its first occurrence. `rate` ignores the zone: it fires every period after `anchor`.
 */
export function nextFireTimes(schedule: Schedule, from: Date, count: number, options: NextFireTimesOptions = {}): Date[] {
  if (!Number.isInteger(count) || count < 0) throw new RangeError(`count must be a whole number >= 0, got ${count}`);
  const fromMs = from.getTime();
  if (count === 0) return [];
  switch (schedule.kind) {
    case 'at':
      return schedule.at.getTime() >= fromMs ? [schedule.at] : [];
    case 'rate': {
      const anchorMs = (options.anchor ?? from).getTime();
      const first = Math.max(0, Math.ceil((fromMs - anchorMs) / schedule.periodMs));
      const fires: Date[] = [];
      for (let k = first; fires.length < count; k++) {
        const at = anchorMs + k * schedule.periodMs;
        if (at >= END_MS) break;
        fires.push(new Date(at));
      }
      return fires;
    }
    case 'cron':
      return cronFireTimes(schedule, fromMs, count);
  }
}
