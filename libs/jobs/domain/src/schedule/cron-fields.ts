/** The first and last year EventBridge accepts in a cron expression's year field. */
export const MIN_YEAR = 1970;
export const MAX_YEAR = 2199;

/** One element of a day-of-month field beyond plain values: `L`, `L-n`, `nW`, `LW`. */
export type DayOfMonthSpecial =
  | { readonly kind: 'last'; readonly offset: number }
  | { readonly kind: 'nearest-weekday'; readonly day: number }
  | { readonly kind: 'last-weekday' };

/** One element of a day-of-week field beyond plain values: `nL` (last n of the month), `n#k`. */
export type DayOfWeekSpecial =
  | { readonly kind: 'last-of-month'; readonly weekday: number }
  | { readonly kind: 'nth'; readonly weekday: number; readonly nth: number };

/** Days chosen by one of the two day fields; the other is `?` (undefined in `CronFields`). */
export interface DayRule<S> {
  /** `values[v]` is true when plain value v is chosen (day-of-week: 1 = SUN ... 7 = SAT). */
  readonly values: readonly boolean[];
  readonly specials: readonly S[];
}

/** A parsed `cron(...)`: each list holds the chosen values in ascending order. */
export interface CronFields {
  readonly minutes: readonly number[];
  readonly hours: readonly number[];
  readonly months: readonly number[];
  /** `years[y - MIN_YEAR]` is true when year y is chosen. */
  readonly years: readonly boolean[];
  readonly dayOfMonth?: DayRule<DayOfMonthSpecial>;
  readonly dayOfWeek?: DayRule<DayOfWeekSpecial>;
}

/** Why a field is refused: which field, which token, what is wrong (turned into `InvalidScheduleExpressionError`). */
export class CronFieldProblem extends Error {
  constructor(
    readonly field: string,
    readonly token: string | undefined,
    readonly problem: string,
  ) {
    super(problem);
  }
}

interface FieldSpec {
  readonly name: string;
  readonly min: number;
  readonly max: number;
  readonly names?: readonly string[];
}

const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const WEEKDAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];
const FIELDS = {
  minutes: { name: 'minutes', min: 0, max: 59 },
  hours: { name: 'hours', min: 0, max: 23 },
  dayOfMonth: { name: 'day-of-month', min: 1, max: 31 },
  month: { name: 'month', min: 1, max: 12, names: MONTHS },
  dayOfWeek: { name: 'day-of-week', min: 1, max: 7, names: WEEKDAYS },
  year: { name: 'year', min: MIN_YEAR, max: MAX_YEAR },
} as const satisfies Record<string, FieldSpec>;

function valueOf(spec: FieldSpec, text: string, token: string): number {
  const named = spec.names?.indexOf(text.toUpperCase()) ?? -1;
  if (named >= 0) return named + spec.min;
  if (!/^\d+$/.test(text)) {
    const names = spec.names === undefined ? '' : ` or ${spec.names[0]}-${spec.names[spec.names.length - 1]}`;
    throw new CronFieldProblem(spec.name, token, `"${text}" is not a number${names}`);
  }
  const value = Number(text);
  if (value < spec.min || value > spec.max) {
    throw new CronFieldProblem(spec.name, token, `${value} is outside ${spec.min}-${spec.max}`);
  }
  return value;
}

/** Marks the values of one `*`, `a`, `a-b`, `*\/s`, `a/s` or `a-b/s` token; `a-b` with a > b wraps around. */
function markToken(spec: FieldSpec, token: string, into: boolean[]): void {
  const [range = '', stepText, extra] = token.split('/');
  if (extra !== undefined || range === '') throw new CronFieldProblem(spec.name, token, 'is not a value, range or step');
  let step = 1;
  if (stepText !== undefined) {
    if (!/^\d+$/.test(stepText) || Number(stepText) < 1) {
      throw new CronFieldProblem(spec.name, token, `step "${stepText}" is not a whole number of at least 1`);
    }
    step = Number(stepText);
  }
  let from: number;
  let to: number;
  if (range === '*') {
    from = spec.min;
    to = spec.max;
  } else {
    const bounds = range.split('-');
    if (bounds.length > 2) throw new CronFieldProblem(spec.name, token, 'a range has one "-"');
    from = valueOf(spec, bounds[0] ?? '', token);
    // `a/s` runs from a to the end of the field.
    to = bounds.length === 2 ? valueOf(spec, bounds[1] ?? '', token) : stepText === undefined ? from : spec.max;
  }
  const span = spec.max - spec.min + 1;
  const count = ((to - from + span) % span) + 1;
  for (let i = 0; i < count; i += step) into[spec.min + ((from - spec.min + i) % span)] = true;
}

function parseValues(spec: FieldSpec, text: string): boolean[] {
  const values: boolean[] = [];
  for (const token of text.split(',')) markToken(spec, token, values);
  return values;
}

function ascending(values: readonly boolean[]): number[] {
  const list: number[] = [];
  values.forEach((chosen, value) => chosen && list.push(value));
  return list;
}

function parseDayOfMonth(text: string): DayRule<DayOfMonthSpecial> {
  const spec = FIELDS.dayOfMonth;
  const values: boolean[] = [];
  const specials: DayOfMonthSpecial[] = [];
  for (const token of text.split(',')) {
    const upper = token.toUpperCase();
    const lastOffset = /^L(?:-(\d+))?$/.exec(upper);
    const nearest = /^(\d+)W$/.exec(upper);
    if (upper === 'LW') {
      specials.push({ kind: 'last-weekday' });
    } else if (lastOffset) {
      const offset = Number(lastOffset[1] ?? 0);
      if (offset > 30) throw new CronFieldProblem(spec.name, token, `L-${offset}: a month has at most 31 days`);
      specials.push({ kind: 'last', offset });
    } else if (nearest) {
      specials.push({ kind: 'nearest-weekday', day: valueOf(spec, nearest[1] ?? '', token) });
    } else {
      markToken(spec, token, values);
    }
  }
  return { values, specials };
}

function parseDayOfWeek(text: string): DayRule<DayOfWeekSpecial> {
  const spec = FIELDS.dayOfWeek;
  const values: boolean[] = [];
  const specials: DayOfWeekSpecial[] = [];
  for (const token of text.split(',')) {
    const upper = token.toUpperCase();
    const lastOf = /^(.+)L$/.exec(upper);
    const nth = /^(.+)#(.*)$/.exec(upper);
    if (upper === 'L') {
      values[7] = true; // `L` alone is the last day of the week: Saturday.
    } else if (lastOf) {
      specials.push({ kind: 'last-of-month', weekday: valueOf(spec, lastOf[1] ?? '', token) });
    } else if (nth) {
      const weekday = valueOf(spec, nth[1] ?? '', token);
      if (!/^[1-5]$/.test(nth[2] ?? '')) {
        throw new CronFieldProblem(spec.name, token, `"#${nth[2]}": the occurrence in a month is 1-5`);
      }
      specials.push({ kind: 'nth', weekday, nth: Number(nth[2]) });
    } else {
      markToken(spec, token, values);
    }
  }
  return { values, specials };
}

/** Parses the six fields of `cron(...)`; throws `CronFieldProblem`. */
export function parseCronFields(fields: readonly string[]): CronFields {
  if (fields.length !== 6) {
    throw new CronFieldProblem(
      'expression',
      undefined,
      `cron takes six fields (minutes hours day-of-month month day-of-week year), got ${fields.length}`,
    );
  }
  const [minutes = '', hours = '', dayOfMonth = '', month = '', dayOfWeek = '', year = ''] = fields;
  const questioned = (dayOfMonth === '?' ? 1 : 0) + (dayOfWeek === '?' ? 1 : 0);
  if (questioned !== 1) {
    throw new CronFieldProblem(
      questioned === 0 ? 'day-of-week' : 'day-of-month',
      questioned === 0 ? dayOfWeek : '?',
      'exactly one of day-of-month and day-of-week must be "?"',
    );
  }
  for (const [spec, text] of [
    [FIELDS.minutes, minutes],
    [FIELDS.hours, hours],
    [FIELDS.month, month],
    [FIELDS.year, year],
  ] as const) {
    if (text === '?') throw new CronFieldProblem(spec.name, text, '"?" is allowed only in day-of-month or day-of-week');
  }
  const years = parseValues(FIELDS.year, year);
  return {
    minutes: ascending(parseValues(FIELDS.minutes, minutes)),
    hours: ascending(parseValues(FIELDS.hours, hours)),
    months: ascending(parseValues(FIELDS.month, month)),
    years: Array.from({ length: MAX_YEAR - MIN_YEAR + 1 }, (_, i) => years[MIN_YEAR + i] === true),
    ...(dayOfMonth === '?' ? {} : { dayOfMonth: parseDayOfMonth(dayOfMonth) }),
    ...(dayOfWeek === '?' ? {} : { dayOfWeek: parseDayOfWeek(dayOfWeek) }),
  };
}

function daysIn(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/** 1 = SUN ... 7 = SAT, as in a cron expression. */
function weekdayOf(year: number, month: number, day: number): number {
  return new Date(Date.UTC(year, month - 1, day)).getUTCDay() + 1;
}

function dayOfMonthSpecial(special: DayOfMonthSpecial, year: number, month: number, last: number): number | undefined {
  switch (special.kind) {
    case 'last':
      return last - special.offset >= 1 ? last - special.offset : undefined;
    case 'last-weekday': {
      const weekday = weekdayOf(year, month, last);
      return weekday === 7 ? last - 1 : weekday === 1 ? last - 2 : last;
    }
    case 'nearest-weekday': {
      if (special.day > last) return undefined;
      // The weekday nearest the given day, never leaving the month.
      const weekday = weekdayOf(year, month, special.day);
      if (weekday === 7) return special.day === 1 ? 3 : special.day - 1;
      if (weekday === 1) return special.day === last ? special.day - 2 : special.day + 1;
      return special.day;
    }
  }
}

function dayOfWeekSpecial(special: DayOfWeekSpecial, year: number, month: number, last: number): number | undefined {
  switch (special.kind) {
    case 'last-of-month':
      return last - ((weekdayOf(year, month, last) - special.weekday + 7) % 7);
    case 'nth': {
      const day = 1 + ((special.weekday - weekdayOf(year, month, 1) + 7) % 7) + 7 * (special.nth - 1);
      return day <= last ? day : undefined;
    }
  }
}

/** The days of a month the expression fires on, ascending. */
export function matchingDays(fields: CronFields, year: number, month: number): number[] {
  const last = daysIn(year, month);
  const chosen: boolean[] = [];
  if (fields.dayOfMonth !== undefined) {
    for (let day = 1; day <= last; day++) chosen[day] = fields.dayOfMonth.values[day] === true;
    for (const special of fields.dayOfMonth.specials) {
      const day = dayOfMonthSpecial(special, year, month, last);
      if (day !== undefined) chosen[day] = true;
    }
  }
  if (fields.dayOfWeek !== undefined) {
    const first = weekdayOf(year, month, 1);
    for (let day = 1; day <= last; day++) chosen[day] = fields.dayOfWeek.values[((first - 1 + day - 1) % 7) + 1] === true;
    for (const special of fields.dayOfWeek.specials) {
      const day = dayOfWeekSpecial(special, year, month, last);
      if (day !== undefined) chosen[day] = true;
    }
  }
  return ascending(chosen);
}
