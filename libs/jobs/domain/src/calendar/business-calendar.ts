import { CalendarRangeError, UnknownCalendarError } from '../errors.js';
import type { HolidayTable } from './holidays/holiday-table.js';
import { XLON_HOLIDAYS } from './holidays/xlon.js';
import { XNYS_HOLIDAYS } from './holidays/xnys.js';

/**
 * The business calendars a job can be scheduled on: `WEEKDAYS` (Monday to Friday, no holidays, any
 * year), `XNYS` (New York Stock Exchange) and `XLON` (London Stock Exchange). Exchange ids are ISO
 * 10383 market identifier codes, the names data vendors already use; they are matched exactly.
 */
export const CALENDAR_IDS = ['WEEKDAYS', 'XNYS', 'XLON'] as const;

/** One of `CALENDAR_IDS`. */
export type CalendarId = (typeof CALENDAR_IDS)[number];

/**
 * A business calendar: which days an exchange is open. Only the metadata is here; ask the
 * functions of this module about days. A calendar knows its holidays for `years` only
 * (inclusive): outside them the functions throw `CalendarRangeError` rather than guess.
 */
export interface BusinessCalendar {
  readonly id: string;
  readonly name: string;
  /** IANA time zone of the exchange, for turning its dates into instants; the dates here are plain dates. */
  readonly timezone: string;
  readonly years: { readonly from: number; readonly to: number };
  /** Where the holidays come from (empty for `WEEKDAYS`, which has none). */
  readonly sources: ReadonlyArray<{ readonly title: string; readonly url: string }>;
}

interface Calendar {
  readonly calendar: BusinessCalendar;
  /** Closed weekday (`YYYY-MM-DD`) -> holiday name. */
  readonly holidays: ReadonlyMap<string, string>;
}

const DAY_MS = 86_400_000;
const DAY_NAMES = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'] as const;
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** Frozen so the objects handed out cannot be edited by one caller under another's feet. */
function fromTable(table: HolidayTable): Calendar {
  const calendar: BusinessCalendar = Object.freeze({
    id: table.calendar,
    name: table.name,
    timezone: table.timezone,
    years: Object.freeze({ from: table.years.from, to: table.years.to }),
    sources: Object.freeze(table.sources.map((s) => Object.freeze({ title: s.title, url: s.url }))),
  });
  return { calendar, holidays: new Map(table.holidays.map((h) => [h.date, h.name])) };
}

const CALENDARS: ReadonlyMap<string, Calendar> = new Map<CalendarId, Calendar>([
  [
    'WEEKDAYS',
    {
      // Every year a YYYY date can name: without holidays there is nothing that could be unknown.
      calendar: Object.freeze({
        id: 'WEEKDAYS',
        name: 'Weekdays (Monday to Friday, no holidays)',
        timezone: 'UTC',
        years: Object.freeze({ from: 0, to: 9999 }),
        sources: Object.freeze([]),
      }),
      holidays: new Map(),
    },
  ],
  ['XNYS', fromTable(XNYS_HOLIDAYS)],
  ['XLON', fromTable(XLON_HOLIDAYS)],
]);

function resolve(calendar: BusinessCalendar | string): Calendar {
  // An object is looked up by its id, so a caller cannot slip in a calendar with made-up holidays.
  const id = typeof calendar === 'string' ? calendar : calendar.id;
  const found = CALENDARS.get(id);
  if (found === undefined) throw new UnknownCalendarError(id, CALENDAR_IDS);
  return found;
}

/**
 * A `YYYY-MM-DD` calendar date as midnight UTC. UTC because these are plain dates: a day in UTC has
 * no daylight-saving gap, so adding 24 hours is always the next day. `setUTCFullYear` rather than
 * `Date.UTC` because the latter maps years 0-99 to 1900-1999.
 */
function parseDate(date: string): Date {
  const match = typeof date === 'string' ? DATE.exec(date) : null;
  if (match !== null) {
    const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
    const parsed = new Date(0);
    parsed.setUTCFullYear(year, month - 1, day);
    // Date rolls 2026-02-30 over to 2026-03-02: a date that does not come back unchanged does not exist.
    if (parsed.getUTCFullYear() === year && parsed.getUTCMonth() === month - 1 && parsed.getUTCDate() === day) return parsed;
  }
  throw new RangeError(`${JSON.stringify(date)} is not a calendar date (YYYY-MM-DD)`);
}

function formatDate(date: Date): string {
  const year = String(date.getUTCFullYear()).padStart(4, '0');
  const month = String(date.getUTCMonth() + 1).padStart(2, '0');
  const day = String(date.getUTCDate()).padStart(2, '0');
  return `${year}-${month}-${day}`;
}

function addDays(date: Date, days: number): Date {
  return new Date(date.getTime() + days * DAY_MS);
}

function checkCovered({ calendar }: Calendar, date: Date): void {
  const year = date.getUTCFullYear();
  if (year < calendar.years.from || year > calendar.years.to) {
    throw new CalendarRangeError(calendar.id, formatDate(date), calendar.years.from, calendar.years.to);
  }
}

function reasonOf(entry: Calendar, date: Date): string | undefined {
  checkCovered(entry, date);
  const text = formatDate(date);
  const weekday = date.getUTCDay();
  if (weekday === 0 || weekday === 6) return `${text} is a ${DAY_NAMES[weekday]}`;
  const holiday = entry.holidays.get(text);
  return holiday === undefined ? undefined : `${text} is a holiday of ${entry.calendar.id} (${holiday})`;
}

/** The first business day from `date` (excluded) going forwards (1) or backwards (-1). */
function step(calendar: BusinessCalendar | string, date: string, direction: 1 | -1): string {
  const entry = resolve(calendar);
  // Ends: a run of closed days is short (a weekend plus a few holidays), and leaving the covered
  // years throws.
  for (let day = addDays(parseDate(date), direction); ; day = addDays(day, direction)) {
    if (reasonOf(entry, day) === undefined) return formatDate(day);
  }
}

/**
 * The calendar `id`.
 *
 * @throws UnknownCalendarError when `id` is not one of `CALENDAR_IDS` (matched exactly).
 */
export function businessCalendar(id: string): BusinessCalendar {
  return resolve(id).calendar;
}

/**
 * Why `date` is not a business day of `calendar`, e.g. `"2026-12-25 is a holiday of XNYS (Christmas
 * Day)"` or `"2026-11-28 is a Saturday"`; `undefined` when it is one. Meant for messages that tell a
 * user why a run was not scheduled.
 *
 * @param calendar a calendar or its id.
 * @param date a plain calendar date, `YYYY-MM-DD`.
 * @throws UnknownCalendarError for an unknown calendar.
 * @throws CalendarRangeError when `date` is outside the calendar's `years` (never for `WEEKDAYS`).
 * @throws RangeError when `date` is not a valid `YYYY-MM-DD` date.
 */
export function nonBusinessDayReason(calendar: BusinessCalendar | string, date: string): string | undefined {
  const entry = resolve(calendar);
  return reasonOf(entry, parseDate(date));
}

/**
 * Whether `date` (`YYYY-MM-DD`) is a business day of `calendar`: a weekday that is not a holiday.
 * Throws as `nonBusinessDayReason` does.
 */
export function isBusinessDay(calendar: BusinessCalendar | string, date: string): boolean {
  return nonBusinessDayReason(calendar, date) === undefined;
}

/**
 * The last business day strictly before `date` (`YYYY-MM-DD`), e.g. the trade date whose data a
 * morning run processes. `date` itself may be any day, even one just after the covered years.
 *
 * @throws CalendarRangeError when the answer would lie before the covered years.
 * @throws UnknownCalendarError, RangeError as `nonBusinessDayReason`.
 */
export function previousBusinessDay(calendar: BusinessCalendar | string, date: string): string {
  return step(calendar, date, -1);
}

/**
 * The first business day strictly after `date` (`YYYY-MM-DD`). `date` itself may be any day, even
 * one just before the covered years.
 *
 * @throws CalendarRangeError when the answer would lie after the covered years.
 * @throws UnknownCalendarError, RangeError as `nonBusinessDayReason`.
 */
export function nextBusinessDay(calendar: BusinessCalendar | string, date: string): string {
  return step(calendar, date, 1);
}

/**
 * Every business day from `from` to `to` (`YYYY-MM-DD`, both included), ascending; empty when
 * `from` is after `to`. One entry per day, so a range of years is a list of hundreds.
 *
 * @throws CalendarRangeError when `from` or `to` is outside the covered years (of a non-empty range).
 * @throws UnknownCalendarError, RangeError as `nonBusinessDayReason`.
 */
export function businessDaysBetween(calendar: BusinessCalendar | string, from: string, to: string): string[] {
  const entry = resolve(calendar);
  const first = parseDate(from);
  const last = parseDate(to);
  if (first.getTime() > last.getTime()) return [];
  // Both ends up front: the covered years are contiguous, so every day between is then covered, and
  // a range that leaves them fails before any work rather than halfway through.
  checkCovered(entry, first);
  checkCovered(entry, last);
  const days: string[] = [];
  for (let day = first; day.getTime() <= last.getTime(); day = addDays(day, 1)) {
    if (reasonOf(entry, day) === undefined) days.push(formatDate(day));
  }
  return days;
}

/**
 * The holidays (full-day closures on weekdays) of `calendar` in `year`, ascending by date, for
 * documentation and the API; `WEEKDAYS` has none. Weekends are not listed, nor early closes.
 * Returns fresh objects: changing them changes nothing here.
 *
 * @throws CalendarRangeError when `year` is outside the covered years.
 * @throws RangeError when `year` is not an integer.
 * @throws UnknownCalendarError for an unknown calendar.
 */
export function holidaysOf(calendar: BusinessCalendar | string, year: number): Array<{ date: string; name: string }> {
  const entry = resolve(calendar);
  if (!Number.isInteger(year)) throw new RangeError(`${String(year)} is not a year`);
  const { id, years } = entry.calendar;
  if (year < years.from || year > years.to) throw new CalendarRangeError(id, String(year), years.from, years.to);
  const prefix = `${String(year).padStart(4, '0')}-`;
  return [...entry.holidays].filter(([date]) => date.startsWith(prefix)).map(([date, name]) => ({ date, name }));
}
