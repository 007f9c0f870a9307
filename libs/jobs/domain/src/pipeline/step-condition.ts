import { parseScheduleExpression, nextFireTimes } from '../schedule/schedule-expression.js';
import { CONDITION_OPERATORS, type StepCondition, type WaitDefinition } from './pipeline-definition.js';

/** What a condition found: whether it holds, and a sentence saying why, for the step's record. */
export interface ConditionOutcome {
  holds: boolean;
  explanation: string;
}

/**
 * Evaluates a step's condition (a Choice rule) against the result its source step wrote. A path
 * that leads nowhere reads as absent: only `exists: false` holds then. Comparisons are typed as
 * Step Functions' are: a numeric operator never holds on a non-number, `equals` compares JSON
 * scalars strictly (the string "1" is not the number 1).
 */
export function evaluateCondition(condition: StepCondition, result: unknown): ConditionOutcome {
  const value = valueAt(result, condition.path);
  const op = CONDITION_OPERATORS.find((o) => condition[o] !== undefined)!;
  const expected = condition[op]!;
  const holds = compare(op, value, expected);
  const shown = value === undefined ? 'absent' : JSON.stringify(value);
  return { holds, explanation: `${condition.step}${condition.partition ? `[${condition.partition}]` : ''} ${condition.path} ${op} ${JSON.stringify(expected)}: the value is ${shown}, so the condition ${holds ? 'holds' : 'does not hold'}` };
}

function compare(op: (typeof CONDITION_OPERATORS)[number], value: unknown, expected: string | number | boolean): boolean {
  switch (op) {
    case 'exists':
      return (value !== undefined && value !== null) === expected;
    case 'equals':
      return value === expected;
    case 'notEquals':
      return value !== expected;
    case 'greaterThan':
      return typeof value === 'number' && value > (expected as number);
    case 'greaterThanOrEquals':
      return typeof value === 'number' && value >= (expected as number);
    case 'lessThan':
      return typeof value === 'number' && value < (expected as number);
    case 'lessThanOrEquals':
      return typeof value === 'number' && value <= (expected as number);
  }
}

/** The value at a dotted path (`headline.orders`, `rows.0.desk`, optionally `$.`-prefixed); undefined where it leads nowhere. */
export function valueAt(document: unknown, path: string): unknown {
  let at: unknown = document;
  for (const part of path.replace(/^\$\./, '').split('.')) {
    if (at === null || typeof at !== 'object') return undefined;
    at = Array.isArray(at) ? (/^\d+$/.test(part) ? at[Number(part)] : undefined) : (at as Record<string, unknown>)[part];
  }
  return at;
}

/**
 * When a wait that begins at `now` ends: `seconds` later, or at the first `until` wall-clock time
 * (in its zone) at or after now; a day with no such time (a daylight-saving gap) goes to the next.
 */
export function waitEnds(wait: WaitDefinition, now: Date): Date {
  if ('seconds' in wait) return new Date(now.getTime() + wait.seconds * 1000);
  const [hours, minutes] = wait.until.split(':');
  const daily = parseScheduleExpression(`cron(${Number(minutes)} ${Number(hours)} * * ? *)`, { timezone: wait.timezone });
  const [next] = nextFireTimes(daily, now, 1);
  if (!next) throw new RangeError(`no ${wait.until} ${wait.timezone} after ${now.toISOString()}`);
  return next;
}
