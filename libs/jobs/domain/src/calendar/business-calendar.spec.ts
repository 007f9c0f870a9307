import { describe, expect, it } from 'vitest';
import { CalendarRangeError, UnknownCalendarError } from '../errors.js';
import {
  CALENDAR_IDS,
  businessCalendar,
  businessDaysBetween,
  holidaysOf,
  isBusinessDay,
  nextBusinessDay,
  nonBusinessDayReason,
  previousBusinessDay,
} from './business-calendar.js';
import type { HolidayEntry, HolidayTable } from './holidays/holiday-table.js';
import { XLON_HOLIDAYS } from './holidays/xlon.js';
import { XNYS_HOLIDAYS } from './holidays/xnys.js';

// The rules, written out independently of the data: the data is compared with them for every year,
// so a mistyped date or name fails here. Only the one-off closures are listed by hand.

const YEARS = Array.from({ length: 2030 - 2018 + 1 }, (_, i) => 2018 + i);
const [SUN, MON, THU, FRI, SAT] = [0, 1, 4, 5, 6];

interface Holiday {
  date: string;
  name: string;
}

const utc = (year: number, month: number, day: number): Date => new Date(Date.UTC(year, month - 1, day));
const iso = (date: Date): string => date.toISOString().slice(0, 10);
const ymd = (year: number, month: number, day: number): string => iso(utc(year, month, day));
const weekdayOf = (year: number, month: number, day: number): number => utc(year, month, day).getUTCDay();

/** The `n`th `weekday` (0 = Sunday) of a month. */
function nthWeekday(year: number, month: number, weekday: number, n: number): string {
  const first = weekdayOf(year, month, 1);
  return ymd(year, month, 1 + ((weekday - first + 7) % 7) + 7 * (n - 1));
}

/** The last `weekday` of a month (day 0 of the next month is the last of this one). */
function lastWeekday(year: number, month: number, weekday: number): string {
  const lastDay = utc(year, month + 1, 0).getUTCDate();
  return ymd(year, month, lastDay - ((weekdayOf(year, month, lastDay) - weekday + 7) % 7));
}

/** Easter Sunday by the anonymous Gregorian algorithm (Meeus/Jones/Butcher). */
function easterSunday(year: number): Date {
  const a = year % 19;
  const b = Math.floor(year / 100);
  const c = year % 100;
  const d = Math.floor(b / 4);
  const e = b % 4;
  const f = Math.floor((b + 8) / 25);
  const g = Math.floor((b - f + 1) / 3);
  const h = (19 * a + b - d - g + 15) % 30;
  const i = Math.floor(c / 4);
  const k = c % 4;
  const l = (32 + 2 * e + 2 * i - h - k) % 7;
  const m = Math.floor((a + 11 * h + 22 * l) / 451);
  const month = Math.floor((h + l - 7 * m + 114) / 31);
  const day = ((h + l - 7 * m + 114) % 31) + 1;
  return utc(year, month, day);
}

const easterPlus = (year: number, days: number): string => iso(new Date(easterSunday(year).getTime() + days * 86_400_000));

/**
 * NYSE Rule 7.2: Saturday -> the Friday before, Sunday -> the Monday after; but not onto the Friday
 * that ends a yearly accounting period, which in practice is only a Saturday New Year's Day.
 */
function nyseFixed(year: number, month: number, day: number, name: string): Holiday[] {
  const weekday = weekdayOf(year, month, day);
  if (weekday === SAT) return month === 1 && day === 1 ? [] : [{ date: ymd(year, month, day - 1), name: `${name} (observed)` }];
  if (weekday === SUN) return [{ date: ymd(year, month, day + 1), name: `${name} (observed)` }];
  return [{ date: ymd(year, month, day), name }];
}

const XNYS_SPECIAL: Record<number, Holiday[]> = {
  2018: [{ date: '2018-12-05', name: 'National Day of Mourning for President George H.W. Bush' }],
  2025: [{ date: '2025-01-09', name: 'National Day of Mourning for President Jimmy Carter' }],
};

function xnysRules(year: number): Holiday[] {
  return [
    ...nyseFixed(year, 1, 1, "New Year's Day"),
    { date: nthWeekday(year, 1, MON, 3), name: 'Martin Luther King, Jr. Day' },
    { date: nthWeekday(year, 2, MON, 3), name: "Washington's Birthday" },
    { date: easterPlus(year, -2), name: 'Good Friday' },
    { date: lastWeekday(year, 5, MON), name: 'Memorial Day' },
    ...(year >= 2022 ? nyseFixed(year, 6, 19, 'Juneteenth National Independence Day') : []),
    ...nyseFixed(year, 7, 4, 'Independence Day'),
    { date: nthWeekday(year, 9, MON, 1), name: 'Labor Day' },
    { date: nthWeekday(year, 11, THU, 4), name: 'Thanksgiving Day' },
    ...nyseFixed(year, 12, 25, 'Christmas Day'),
    ...(XNYS_SPECIAL[year] ?? []),
  ].sort((x, y) => x.date.localeCompare(y.date));
}

/** England and Wales: New Year's Day on a weekend moves to the Monday after. */
function ukNewYear(year: number): Holiday {
  const weekday = weekdayOf(year, 1, 1);
  if (weekday === SAT) return { date: ymd(year, 1, 3), name: "New Year's Day (substitute day)" };
  if (weekday === SUN) return { date: ymd(year, 1, 2), name: "New Year's Day (substitute day)" };
  return { date: ymd(year, 1, 1), name: "New Year's Day" };
}

/** Christmas and Boxing Day on a weekend move to the next weekdays not already holidays. */
function ukChristmas(year: number): Holiday[] {
  const christmas = { date: ymd(year, 12, 25), name: 'Christmas Day' };
  const boxing = { date: ymd(year, 12, 26), name: 'Boxing Day' };
  switch (weekdayOf(year, 12, 25)) {
    case SAT:
      return [
        { date: ymd(year, 12, 27), name: 'Christmas Day (substitute day)' },
        { date: ymd(year, 12, 28), name: 'Boxing Day (substitute day)' },
      ];
    case SUN:
      return [boxing, { date: ymd(year, 12, 27), name: 'Christmas Day (substitute day)' }];
    case FRI:
      return [christmas, { date: ymd(year, 12, 28), name: 'Boxing Day (substitute day)' }];
    default:
      return [christmas, boxing];
  }
}

/** Bank holidays moved or added by royal proclamation (GOV.UK). */
const XLON_MOVED: Record<number, { early?: Holiday; spring?: Holiday[]; extra?: Holiday[] }> = {
  2020: { early: { date: '2020-05-08', name: 'Early May bank holiday (VE Day)' } },
  2022: {
    spring: [
      { date: '2022-06-02', name: 'Spring bank holiday' },
      { date: '2022-06-03', name: 'Platinum Jubilee bank holiday' },
    ],
    extra: [{ date: '2022-09-19', name: 'Bank holiday for the State Funeral of Queen Elizabeth II' }],
  },
  2023: { extra: [{ date: '2023-05-08', name: 'Bank holiday for the coronation of King Charles III' }] },
};

function xlonRules(year: number): Holiday[] {
  const moved = XLON_MOVED[year] ?? {};
  return [
    ukNewYear(year),
    { date: easterPlus(year, -2), name: 'Good Friday' },
    { date: easterPlus(year, 1), name: 'Easter Monday' },
    moved.early ?? { date: nthWeekday(year, 5, MON, 1), name: 'Early May bank holiday' },
    ...(moved.spring ?? [{ date: lastWeekday(year, 5, MON), name: 'Spring bank holiday' }]),
    { date: lastWeekday(year, 8, MON), name: 'Summer bank holiday' },
    ...ukChristmas(year),
    ...(moved.extra ?? []),
  ].sort((x, y) => x.date.localeCompare(y.date));
}

const inYear = (table: HolidayTable, year: number): readonly HolidayEntry[] => table.holidays.filter((h) => h.date.startsWith(`${year}-`));

describe('the rules the data is checked against', () => {
  it('computes Easter Sunday for known years', () => {
    const known = {
      2018: '2018-04-01',
      2019: '2019-04-21',
      2020: '2020-04-12',
      2024: '2024-03-31',
      2025: '2025-04-20',
      2026: '2026-04-05',
      2027: '2027-03-28',
      2030: '2030-04-21',
    };
    for (const [year, date] of Object.entries(known)) expect(iso(easterSunday(Number(year)))).toBe(date);
  });

  it('finds the nth and the last weekday of a month', () => {
    expect(nthWeekday(2026, 11, THU, 4)).toBe('2026-11-26');
    expect(nthWeekday(2026, 9, MON, 1)).toBe('2026-09-07');
    expect(lastWeekday(2026, 5, MON)).toBe('2026-05-25');
    expect(lastWeekday(2026, 8, MON)).toBe('2026-08-31');
  });
});

describe.each([
  ['XNYS', XNYS_HOLIDAYS, xnysRules, 2028],
  ['XLON', XLON_HOLIDAYS, xlonRules, 2027],
] as const)('%s holiday data', (id, table, rules, firstDerivedYear) => {
  it('describes the calendar', () => {
    expect(table.calendar).toBe(id);
    expect(table.years).toEqual({ from: 2018, to: 2030 });
    expect(table.sources.length).toBeGreaterThanOrEqual(2);
    for (const source of table.sources) expect(source.url).toMatch(/^https:\/\//);
    expect(table.notes).toMatch(/Early closes .* are not closures/);
  });

  it('lists valid weekdays inside the covered years, ascending and once each', () => {
    const dates = table.holidays.map((h) => h.date);
    expect(dates).toEqual([...new Set(dates)].sort());
    for (const { date } of table.holidays) {
      expect(iso(new Date(`${date}T00:00:00Z`))).toBe(date);
      expect([SAT, SUN]).not.toContain(new Date(`${date}T00:00:00Z`).getUTCDay());
      expect(Number(date.slice(0, 4))).toBeGreaterThanOrEqual(2018);
      expect(Number(date.slice(0, 4))).toBeLessThanOrEqual(2030);
    }
  });

  it(`marks the years from ${firstDerivedYear} on, not yet published, as derived`, () => {
    for (const h of table.holidays) expect(h.derived === true).toBe(Number(h.date.slice(0, 4)) >= firstDerivedYear);
  });

  it.each(YEARS)('%i matches the rules', (year) => {
    expect(inYear(table, year).map(({ date, name }) => ({ date, name }))).toEqual(rules(year));
    expect(holidaysOf(id, year)).toEqual(rules(year));
  });
});

describe('known dates', () => {
  it.each([
    ['XNYS', '2026-11-26', '2026-11-26 is a holiday of XNYS (Thanksgiving Day)'],
    ['XNYS', '2026-12-25', '2026-12-25 is a holiday of XNYS (Christmas Day)'],
    ['XLON', '2026-12-25', '2026-12-25 is a holiday of XLON (Christmas Day)'],
    // Christmas 2027 is a Saturday: NYSE closes the Friday before.
    ['XNYS', '2027-12-24', '2027-12-24 is a holiday of XNYS (Christmas Day (observed))'],
    ['XNYS', '2026-07-03', '2026-07-03 is a holiday of XNYS (Independence Day (observed))'],
    ['XNYS', '2025-01-09', '2025-01-09 is a holiday of XNYS (National Day of Mourning for President Jimmy Carter)'],
    // Boxing Day 2026 is a Saturday: the substitute is Monday 28th.
    ['XLON', '2026-12-28', '2026-12-28 is a holiday of XLON (Boxing Day (substitute day))'],
    ['XLON', '2026-08-31', '2026-08-31 is a holiday of XLON (Summer bank holiday)'],
    ['XLON', '2026-04-06', '2026-04-06 is a holiday of XLON (Easter Monday)'],
    ['XNYS', '2026-11-28', '2026-11-28 is a Saturday'],
    ['WEEKDAYS', '2026-11-29', '2026-11-29 is a Sunday'],
  ])('%s %s: %s', (calendar, date, reason) => {
    expect(nonBusinessDayReason(calendar, date)).toBe(reason);
    expect(isBusinessDay(calendar, date)).toBe(false);
  });

  it.each([
    // New Year's Day 2022 is a Saturday: NYSE stays open on Friday 31 December (Rule 7.2) and
    // Monday 3 January alike.
    ['XNYS', '2021-12-31'],
    ['XNYS', '2022-01-03'],
    // Holidays of one exchange only.
    ['XNYS', '2026-12-28'],
    ['XLON', '2026-11-26'],
    ['XLON', '2026-07-03'],
    ['XNYS', '2026-08-31'],
    ['WEEKDAYS', '2026-12-25'],
  ])('%s %s is a business day', (calendar, date) => {
    expect(nonBusinessDayReason(calendar, date)).toBeUndefined();
    expect(isBusinessDay(calendar, date)).toBe(true);
  });

  it('closes XLON on the Monday substitute for a Saturday New Year 2022', () => {
    expect(nonBusinessDayReason('XLON', '2022-01-03')).toBe("2022-01-03 is a holiday of XLON (New Year's Day (substitute day))");
  });

  it('takes a calendar object as well as its id', () => {
    expect(isBusinessDay(businessCalendar('XNYS'), '2026-11-26')).toBe(false);
  });
});

describe('previous and next business day', () => {
  it('steps over a holiday', () => {
    expect(nextBusinessDay('XNYS', '2026-11-25')).toBe('2026-11-27');
    expect(previousBusinessDay('XNYS', '2026-11-27')).toBe('2026-11-25');
    expect(nextBusinessDay('XLON', '2026-11-25')).toBe('2026-11-26');
  });

  it('steps over a weekend', () => {
    expect(nextBusinessDay('WEEKDAYS', '2026-11-27')).toBe('2026-11-30');
    expect(previousBusinessDay('WEEKDAYS', '2026-11-30')).toBe('2026-11-27');
    expect(previousBusinessDay('XNYS', '2026-11-29')).toBe('2026-11-27');
  });

  it('steps over a weekend and holidays together', () => {
    // Christmas Friday, weekend, Boxing Day substitute Monday.
    expect(nextBusinessDay('XLON', '2026-12-24')).toBe('2026-12-29');
    expect(previousBusinessDay('XLON', '2026-12-29')).toBe('2026-12-24');
    expect(nextBusinessDay('XNYS', '2026-12-24')).toBe('2026-12-28');
    // Good Friday and Easter Monday around a weekend.
    expect(previousBusinessDay('XLON', '2026-04-07')).toBe('2026-04-02');
    expect(previousBusinessDay('XNYS', '2026-04-07')).toBe('2026-04-06');
  });

  it('is strictly before or after, even from a business day', () => {
    expect(nextBusinessDay('XNYS', '2026-11-23')).toBe('2026-11-24');
    expect(previousBusinessDay('XNYS', '2026-11-24')).toBe('2026-11-23');
  });

  it('answers from just outside the covered years when the answer is inside', () => {
    expect(previousBusinessDay('XNYS', '2031-01-01')).toBe('2030-12-31');
    expect(nextBusinessDay('XNYS', '2017-12-31')).toBe('2018-01-02');
  });

  it('works for WEEKDAYS at the edges of four-digit years', () => {
    expect(previousBusinessDay('WEEKDAYS', '0001-01-01')).toBe('0000-12-29');
    expect(nextBusinessDay('WEEKDAYS', '1899-12-29')).toBe('1900-01-01');
  });
});

describe('business days between', () => {
  it('lists the XNYS business days of November 2026, without Thanksgiving', () => {
    const days = '02 03 04 05 06 09 10 11 12 13 16 17 18 19 20 23 24 25 27 30'.split(' ').map((d) => `2026-11-${d}`);
    expect(businessDaysBetween('XNYS', '2026-11-01', '2026-11-30')).toEqual(days);
  });

  it('lists the XLON business days of December 2026, without Christmas and the Boxing Day substitute', () => {
    const days = businessDaysBetween('XLON', '2026-12-01', '2026-12-31');
    expect(days).toHaveLength(21);
    expect(days).not.toContain('2026-12-25');
    expect(days).not.toContain('2026-12-28');
    expect(days.slice(-4)).toEqual(['2026-12-24', '2026-12-29', '2026-12-30', '2026-12-31']);
  });

  it('includes both ends and is empty when from is after to', () => {
    expect(businessDaysBetween('XNYS', '2026-11-27', '2026-11-27')).toEqual(['2026-11-27']);
    expect(businessDaysBetween('XNYS', '2026-11-26', '2026-11-26')).toEqual([]);
    expect(businessDaysBetween('XNYS', '2026-11-30', '2026-11-01')).toEqual([]);
  });

  it('agrees with isBusinessDay over whole years', () => {
    for (const id of ['XNYS', 'XLON']) {
      const days = new Set(businessDaysBetween(id, '2018-01-01', '2030-12-31'));
      for (let t = Date.UTC(2018, 0, 1); t <= Date.UTC(2030, 11, 31); t += 86_400_000) {
        const date = iso(new Date(t));
        expect(days.has(date)).toBe(isBusinessDay(id, date));
      }
    }
  });
});

describe('coverage and errors', () => {
  function rangeError(run: () => unknown): CalendarRangeError {
    try {
      run();
    } catch (e) {
      if (e instanceof CalendarRangeError) return e;
      throw e;
    }
    throw new Error('no CalendarRangeError');
  }

  it('refuses a date outside the covered years, naming date, calendar and range', () => {
    const error = rangeError(() => isBusinessDay('XNYS', '2031-01-02'));
    expect(error).toMatchObject({ calendar: 'XNYS', date: '2031-01-02', from: 2018, to: 2030, retryable: false });
    expect(error.message).toBe('2031-01-02 is outside the years 2018-2030 covered by business calendar XNYS');
    expect(rangeError(() => nonBusinessDayReason('XLON', '2017-12-29')).date).toBe('2017-12-29');
  });

  it('refuses a next or previous business day that would leave the covered years', () => {
    expect(rangeError(() => nextBusinessDay('XNYS', '2030-12-31')).date).toBe('2031-01-01');
    expect(rangeError(() => previousBusinessDay('XLON', '2018-01-02')).date).toBe('2017-12-31');
    expect(rangeError(() => nextBusinessDay('WEEKDAYS', '9999-12-31')).date).toBe('10000-01-01');
  });

  it('refuses a range that leaves the covered years', () => {
    expect(rangeError(() => businessDaysBetween('XNYS', '2030-12-01', '2031-01-31')).date).toBe('2031-01-31');
    expect(rangeError(() => businessDaysBetween('XLON', '2017-12-01', '2018-01-31')).date).toBe('2017-12-01');
  });

  it('refuses holidays of a year outside the covered years', () => {
    expect(rangeError(() => holidaysOf('XNYS', 2031))).toMatchObject({ calendar: 'XNYS', date: '2031' });
    expect(() => holidaysOf('XNYS', 2026.5)).toThrow(RangeError);
  });

  it('covers every year for WEEKDAYS', () => {
    expect(businessCalendar('WEEKDAYS').years).toEqual({ from: 0, to: 9999 });
    expect(isBusinessDay('WEEKDAYS', '1900-01-01')).toBe(true);
    expect(isBusinessDay('WEEKDAYS', '2200-12-25')).toBe(true);
    expect(holidaysOf('WEEKDAYS', 2026)).toEqual([]);
  });

  it('refuses an unknown calendar, naming it and the known ones', () => {
    const run = (): unknown => businessCalendar('XTKS');
    expect(run).toThrow(UnknownCalendarError);
    expect(run).toThrow('unknown business calendar "XTKS" (known: WEEKDAYS, XNYS, XLON)');
    expect(() => isBusinessDay('xnys', '2026-11-26')).toThrow(UnknownCalendarError);
    try {
      run();
    } catch (e) {
      expect(e).toMatchObject({ calendar: 'XTKS', known: ['WEEKDAYS', 'XNYS', 'XLON'], retryable: false });
    }
  });

  it.each(['2026-02-30', '2026-13-01', '2026-1-1', '26-01-01', '2026-01-01T00:00:00Z', '', ' 2026-01-01'])(
    'refuses the malformed date %j',
    (date) => {
      expect(() => isBusinessDay('XNYS', date)).toThrow(new RangeError(`${JSON.stringify(date)} is not a calendar date (YYYY-MM-DD)`));
      expect(() => businessDaysBetween('WEEKDAYS', '2026-01-01', date)).toThrow(RangeError);
    },
  );
});

describe('calendars', () => {
  it('lists the known calendars', () => {
    expect(CALENDAR_IDS).toEqual(['WEEKDAYS', 'XNYS', 'XLON']);
    for (const id of CALENDAR_IDS) expect(businessCalendar(id).id).toBe(id);
  });

  it('describes each exchange with its zone, years and sources', () => {
    expect(businessCalendar('XNYS')).toMatchObject({
      name: 'New York Stock Exchange',
      timezone: 'America/New_York',
      years: { from: 2018, to: 2030 },
    });
    expect(businessCalendar('XLON')).toMatchObject({
      name: 'London Stock Exchange',
      timezone: 'Europe/London',
      years: { from: 2018, to: 2030 },
    });
    expect(businessCalendar('XNYS').sources.map((s) => s.url)).toContain('https://www.nyse.com/markets/hours-calendars');
    expect(businessCalendar('XLON').sources.map((s) => s.url)).toEqual([
      'https://www.londonstockexchange.com/equities-trading/business-days',
      'https://www.gov.uk/bank-holidays',
    ]);
    expect(businessCalendar('WEEKDAYS')).toMatchObject({ timezone: 'UTC', sources: [] });
  });

  it('hands out holidays a caller cannot use to change the calendar', () => {
    const holidays = holidaysOf('XNYS', 2026);
    expect(holidays).toHaveLength(10);
    holidays[0].date = '2026-01-02';
    holidays.pop();
    expect(holidaysOf('XNYS', 2026)).toHaveLength(10);
    expect(isBusinessDay('XNYS', '2026-01-02')).toBe(true);
    expect(Object.isFrozen(businessCalendar('XNYS').years)).toBe(true);
  });
});
