import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { InvalidScheduleExpressionError } from '../errors.js';
import { nextFireTimes, parseScheduleExpression } from './schedule-expression.js';
import { instantOfWallTime } from './time-zone.js';

interface ConformanceCase {
  /** The six fields, without `cron(...)`. */
  readonly cron: string;
  readonly from: string;
  readonly expected: readonly string[];
  readonly timezone?: string;
  readonly kind: 'next' | 'next_n';
  readonly source: string;
}

interface ConformanceFile {
  readonly about: string;
  readonly count: number;
  readonly cases: readonly ConformanceCase[];
}

// winebarrel/cronplan's next/iter tests (MIT), a Go implementation of AWS EventBridge cron.
const fixture = JSON.parse(readFileSync(new URL('./__fixtures__/aws-cron.json', import.meta.url), 'utf8')) as ConformanceFile;

/** A case time: an instant when it ends in Z, else a wall-clock time in the case's zone. */
function instant(text: string, timezone: string | undefined): Date {
  if (text.endsWith('Z')) return new Date(text);
  const [year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0] = text.split(/[-T:]/).map(Number);
  const ms = instantOfWallTime({ year, month, day, hour, minute, second }, timezone);
  if (ms === undefined) throw new RangeError(`${text} does not exist in ${timezone}`);
  return new Date(ms);
}

/**
 * How many fire times a case asks for. An empty `expected` is either an expression that never fires
 * again (asked for 3: none come) or, for the one `*\/5 * * * ? *` case, cronplan's `NextN(from, 0)`.
 */
function countOf(c: ConformanceCase): number {
  if (c.expected.length > 0) return c.expected.length;
  return c.cron === '*/5 * * * ? *' ? 0 : 3;
}

const iso = (dates: readonly Date[]): string[] => dates.map((d) => d.toISOString());

function refusal(expression: string, timezone?: string): InvalidScheduleExpressionError {
  try {
    parseScheduleExpression(expression, timezone === undefined ? {} : { timezone });
  } catch (e) {
    if (e instanceof InvalidScheduleExpressionError) return e;
    throw e;
  }
  throw new Error(`${expression} was accepted`);
}

describe('AWS EventBridge cron conformance (cronplan)', () => {
  it('holds exactly the 83 cases', () => {
    expect(fixture.count).toBe(83);
    expect(fixture.cases).toHaveLength(83);
  });

  it.each(fixture.cases.map((c, i) => [`#${i + 1} ${c.kind} cron(${c.cron}) from ${c.from}${c.timezone ? ` in ${c.timezone}` : ''}`, c] as const))(
    '%s',
    (_name, c) => {
      const schedule = parseScheduleExpression(`cron(${c.cron})`, c.timezone === undefined ? {} : { timezone: c.timezone });
      const fires = nextFireTimes(schedule, instant(c.from, c.timezone), countOf(c));
      expect(iso(fires)).toEqual(c.expected.map((e) => instant(e, c.timezone).toISOString()));
    },
  );
});

describe('cron', () => {
  const next = (expression: string, from: string, count: number, timezone?: string): string[] =>
    iso(nextFireTimes(parseScheduleExpression(expression, timezone === undefined ? {} : { timezone }), new Date(from), count));

  it('counts from a from inside a minute at the next whole minute', () => {
    expect(next('cron(0/15 * * * ? *)', '2024-01-01T00:00:30Z', 2)).toEqual(['2024-01-01T00:15:00.000Z', '2024-01-01T00:30:00.000Z']);
  });

  it('takes the second Tuesday with 3#2 and the last day but three with L-3', () => {
    expect(next('cron(0 9 ? * 3#2 *)', '2024-01-01T00:00:00Z', 2)).toEqual(['2024-01-09T09:00:00.000Z', '2024-02-13T09:00:00.000Z']);
    expect(next('cron(0 9 L-3 FEB ? *)', '2024-01-01T00:00:00Z', 2)).toEqual(['2024-02-26T09:00:00.000Z', '2025-02-25T09:00:00.000Z']);
  });

  it('finds a far-off year quickly and stops at 2199', () => {
    const started = performance.now();
    expect(next('cron(0 0 29 FEB ? 2196-2199)', '2024-01-01T00:00:00Z', 3)).toEqual(['2196-02-29T00:00:00.000Z']);
    expect(next('cron(0 0 30 FEB ? *)', '2024-01-01T00:00:00Z', 1)).toEqual([]);
    expect(next('cron(* * * * ? *)', '2199-12-31T23:58:00Z', 5)).toEqual(['2199-12-31T23:58:00.000Z', '2199-12-31T23:59:00.000Z']);
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it('skips a wall time that spring-forward skips and fires a repeated one once (America/New_York)', () => {
    // 2024-03-10: 02:00 EST -> 03:00 EDT; 2024-11-03: 02:00 EDT -> 01:00 EST.
    expect(next('cron(30 2 * * ? *)', '2024-03-09T00:00:00Z', 3, 'America/New_York')).toEqual([
      '2024-03-09T07:30:00.000Z',
      '2024-03-11T06:30:00.000Z',
      '2024-03-12T06:30:00.000Z',
    ]);
    expect(next('cron(30 1 * * ? *)', '2024-11-02T12:00:00Z', 3, 'America/New_York')).toEqual([
      '2024-11-03T05:30:00.000Z',
      '2024-11-04T06:30:00.000Z',
      '2024-11-05T06:30:00.000Z',
    ]);
    // From inside the repeated hour, the wall time already fired at its first occurrence.
    expect(next('cron(45 1 * * ? *)', '2024-11-03T06:30:00Z', 1, 'America/New_York')).toEqual(['2024-11-04T06:45:00.000Z']);
  });
});

describe('rate', () => {
  it('fires every period from the anchor, inclusive of from', () => {
    const schedule = parseScheduleExpression('rate(5 minutes)');
    const anchor = new Date('2024-01-01T00:02:00Z');
    expect(iso(nextFireTimes(schedule, new Date('2024-01-01T00:12:00Z'), 2, { anchor }))).toEqual([
      '2024-01-01T00:12:00.000Z',
      '2024-01-01T00:17:00.000Z',
    ]);
    expect(iso(nextFireTimes(schedule, new Date('2024-01-01T00:13:00Z'), 1, { anchor }))).toEqual(['2024-01-01T00:17:00.000Z']);
  });

  it('anchors at from by default and ignores the time zone', () => {
    const schedule = parseScheduleExpression('rate(1 day)', { timezone: 'America/New_York' });
    expect(iso(nextFireTimes(schedule, new Date('2024-03-09T12:00:00Z'), 2))).toEqual([
      '2024-03-09T12:00:00.000Z',
      '2024-03-10T12:00:00.000Z',
    ]);
  });

  it('starts at an anchor after from', () => {
    const schedule = parseScheduleExpression('rate(2 hours)');
    const anchor = new Date('2024-01-02T00:00:00Z');
    expect(iso(nextFireTimes(schedule, new Date('2024-01-01T00:00:00Z'), 1, { anchor }))).toEqual(['2024-01-02T00:00:00.000Z']);
  });
});

describe('at', () => {
  it('fires once, at or after from, as wall-clock time in the zone', () => {
    const schedule = parseScheduleExpression('at(2024-07-01T09:30:00)', { timezone: 'Europe/Paris' });
    expect(iso(nextFireTimes(schedule, new Date('2024-07-01T07:30:00Z'), 3))).toEqual(['2024-07-01T07:30:00.000Z']);
    expect(nextFireTimes(schedule, new Date('2024-07-01T07:30:01Z'), 3)).toEqual([]);
  });

  it('is UTC without a zone', () => {
    expect(iso(nextFireTimes(parseScheduleExpression('at(2030-01-01T00:00:00)'), new Date(0), 1))).toEqual([
      '2030-01-01T00:00:00.000Z',
    ]);
  });
});

describe('refusals name the field and token', () => {
  it.each([
    ['cron(0 12 * * ?)', 'expression', undefined],
    ['cron(0 12 * * * *)', 'day-of-week', '*'],
    ['cron(0 12 ? * ? *)', 'day-of-month', '?'],
    ['cron(60 12 * * ? *)', 'minutes', '60'],
    ['cron(0 24 * * ? *)', 'hours', '24'],
    ['cron(0 12 32 * ? *)', 'day-of-month', '32'],
    ['cron(0 12 L-31 * ? *)', 'day-of-month', 'L-31'],
    ['cron(0 12 * FOO ? *)', 'month', 'FOO'],
    ['cron(0 12 ? * 8 *)', 'day-of-week', '8'],
    ['cron(0 12 ? * MON#6 *)', 'day-of-week', 'MON#6'],
    ['cron(0 12 ? * 1,XL *)', 'day-of-week', 'XL'],
    ['cron(0 12 * * ? 1969)', 'year', '1969'],
    ['cron(0 12 * * ? 2200)', 'year', '2200'],
    ['cron(*/0 12 * * ? *)', 'minutes', '*/0'],
    ['cron(1-2-3 12 * * ? *)', 'minutes', '1-2-3'],
    ['cron(? 12 * * ? *)', 'minutes', '?'],
    ['rate(0 minutes)', 'rate', '0'],
    ['rate(1 minutes)', 'rate', 'minutes'],
    ['rate(5 minute)', 'rate', 'minute'],
    ['rate(5 weeks)', 'rate', 'weeks'],
    ['rate(5)', 'rate', '5'],
    ['at(2024-02-30T00:00:00)', 'at', '2024-02-30T00:00:00'],
    ['at(2024-01-01 00:00:00)', 'at', '2024-01-01 00:00:00'],
    ['every(5 minutes)', 'expression', undefined],
  ] as const)('%s -> %s %s', (expression, field, token) => {
    const error = refusal(expression);
    expect(error.retryable).toBe(false);
    expect(error.field).toBe(field);
    expect(error.token).toBe(token);
    expect(error.message).toContain(field);
  });

  it('refuses an unknown zone and a wall time the zone skips', () => {
    expect(refusal('rate(1 hour)', 'Mars/Olympus').field).toBe('timezone');
    const skipped = refusal('at(2024-03-10T02:30:00)', 'America/New_York');
    expect([skipped.field, skipped.token]).toEqual(['at', '2024-03-10T02:30:00']);
  });
});
