import { InvalidEventPatternError } from '../errors.js';
import { indexFieldNames, type FieldIndex } from './event-fields.js';
import { jsonView } from './json-view.js';
import { CidrSyntaxError, parseCidr, parseIpAddress } from './ip-address.js';
import * as match from './value-matchers.js';
import type { ValueTest } from './value-matchers.js';
import { MAX_WILDCARD_COMPLEXITY, parseWildcard, wildcardComplexity, WildcardSyntaxError, type Wildcard, type WildcardGroup } from './wildcard.js';

/** One field of a compiled rule: the event values found at `name` are tested against it. */
export interface CompiledField {
  /** Position in {@link CompiledPattern.fieldCount}-sized per-event caches. */
  readonly id: number;
  /** The flattened field name: pattern keys joined by `.` (as EventBridge joins event keys). */
  readonly name: string;
  /** Where the field was written in the pattern document, for error messages. */
  readonly keyPath: string;
  /** Matches a present value (`undefined` when the field only lists `{"exists": false}`). */
  readonly test: ValueTest | undefined;
  /** `{"exists": false}` is one of the alternatives: the field may also be absent. */
  readonly mayBeAbsent: boolean;
  /** Canonical form of the listed alternatives, so equal fields can be recognised. */
  readonly identity: string;
  /** The wildcard pattern objects among the alternatives, for the complexity check. */
  readonly wildcards: readonly WildcardGroup[];
}

/**
 * A validated pattern: `$or` expanded into alternative rules (the pattern matches when any of them
 * does), each rule's fields sorted by name, plus the names the event walk must collect.
 */
export interface CompiledPattern {
  readonly rules: readonly (readonly CompiledField[])[];
  /** Upper bound of the fields' ids. */
  readonly fieldCount: number;
  /** Where in an event the tested fields are found. */
  readonly index: FieldIndex;
}

/** Field names that cannot appear inside an `$or` branch (Ruler keeps them for operators). */
const RESERVED_IN_OR = new Set([
  'exactly',
  'equals-ignore-case',
  'prefix',
  'suffix',
  'anything-but',
  'exists',
  'wildcard',
  'numeric',
  'cidr',
  '=',
  '<',
  '<=',
  '>',
  '>=',
  'regex',
  'not-wildcard',
  'not-equals-ignore-case',
  'date-after',
  'date-on-or-after',
  'date-before',
  'date-on-or-before',
  'in-date-range',
  'ip-address-in-range',
  'ip-address-not-in-range',
]);

type Rule = Map<string, CompiledField>;

/**
 * Every `$or` multiplies the rules by its branch count. AWS documents no limit of its own (its matcher
 * would exhaust memory first), so this is nightshift's guard against patterns that would do the same.
 */
export const MAX_OR_COMBINATIONS = 10_000;

/** The rules built so far; an `$or` replaces them with one copy per branch. */
interface RuleSet {
  rules: Rule[];
  readonly counter: { fields: number };
}

/**
 * Validates `pattern` exactly as EventBridge's PutRule does and compiles it for matching.
 * Checks run in the order AWS's streaming parser meets them, so the first problem AWS would report
 * is the one reported here.
 *
 * @throws InvalidEventPatternError naming AWS's reason and the key path.
 */
export function compilePattern(pattern: unknown): CompiledPattern {
  const value = toJson(pattern);
  if (!isObject(value)) throw new InvalidEventPatternError('', 'Filter is not an object');
  const set: RuleSet = { rules: [], counter: { fields: 0 } };
  parseObject(set, value, [], '', false);

  // Sorted by name because that is the order in which EventBridge's matcher visits fields, which
  // decides how {"exists": false} interacts with arrays.
  const rules = set.rules.map((rule) => [...rule.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)));
  checkWildcardComplexity(rules);
  return { rules, fieldCount: set.counter.fields, index: indexFieldNames(rules.flatMap((rule) => rule.map((f) => f.name))) };
}

function parseObject(set: RuleSet, object: JsonObject, names: readonly string[], keyPath: string, insideOr: boolean): void {
  const entries = jsonEntries(object);
  if (entries.length === 0) fail(keyPath, 'Empty objects are not allowed');
  for (const [key, value] of entries) {
    const path = join(keyPath, key);
    if (key === '$or') {
      parseOr(set, value, names, path);
      continue;
    }
    if (insideOr && RESERVED_IN_OR.has(key)) fail(path, `${key} is Ruler reserved fieldName which cannot be used inside $or.`);
    if (Array.isArray(value)) {
      writeField(set, [...names, key].join('.'), value, path);
    } else if (isObject(value)) {
      parseObject(set, value, [...names, key], path, insideOr);
    } else {
      fail(path, `"${key}" must be an object or an array`);
    }
  }
}

function parseOr(set: RuleSet, value: JsonValue, names: readonly string[], keyPath: string): void {
  const before = set.rules.map((rule) => new Map(rule));
  set.rules = [];
  if (!Array.isArray(value)) fail(keyPath, 'It must be an Array followed with $or.');
  value.forEach((branch, i) => {
    const branchPath = `${keyPath}[${i}]`;
    if (!isObject(branch)) fail(branchPath, 'Only JSON object is allowed in array of $or relationship.');
    const branchSet: RuleSet = { rules: before.length === 0 ? [new Map()] : before.map((rule) => new Map(rule)), counter: set.counter };
    parseObject(branchSet, branch, names, branchPath, true);
    set.rules.push(...branchSet.rules);
  });
  if (value.length < 2) fail(keyPath, 'There must have at least 2 Objects in $or relationship.');
  if (set.rules.length > MAX_OR_COMBINATIONS) {
    fail(keyPath, `Rule is too complex - more than ${MAX_OR_COMBINATIONS} $or combinations (a nightshift limit)`);
  }
}

/** A value alternative of one field, before the field's alternatives are combined. */
interface Alternative {
  readonly test?: ValueTest;
  readonly exactString?: string;
  readonly absent?: true;
  readonly wildcards?: WildcardGroup;
}

function writeField(set: RuleSet, name: string, values: readonly JsonValue[], keyPath: string): void {
  const alternatives: Alternative[] = [];
  for (const value of values) {
    if (isObject(value)) {
      alternatives.push(matchExpression(value, keyPath));
    } else if (typeof value === 'string') {
      const address = parseIpAddress(value);
      alternatives.push(address === undefined ? { exactString: value } : { test: match.exactIpAddress(address) });
    } else if (typeof value === 'number') {
      alternatives.push({ test: match.exactNumber(value) });
    } else if (value === null || typeof value === 'boolean') {
      alternatives.push({ test: match.exactLiteral(value) });
    } else {
      fail(keyPath, 'Match value must be String, number, true, false, or null');
    }
  }
  if (alternatives.length === 0) fail(keyPath, 'Empty arrays are not allowed');

  const exactStrings = new Set<string>();
  const tests: ValueTest[] = [];
  const wildcards: WildcardGroup[] = [];
  let mayBeAbsent = false;
  for (const alt of alternatives) {
    if (alt.absent) mayBeAbsent = true;
    if (alt.exactString !== undefined) exactStrings.add(alt.exactString);
    if (alt.test) tests.push(alt.test);
    if (alt.wildcards) wildcards.push(alt.wildcards);
  }
  const field: CompiledField = {
    id: set.counter.fields++,
    name,
    keyPath,
    test: tests.length === 0 && exactStrings.size === 0 ? undefined : match.anyOf(tests, exactStrings),
    mayBeAbsent,
    identity: canonical(values),
    wildcards,
  };
  if (set.rules.length === 0) set.rules.push(new Map());
  // A name written twice (e.g. `"a.b"` next to `"a": {"b": ...}`) keeps the last one, as AWS does.
  for (const rule of set.rules) rule.set(name, field);
}

function matchExpression(expression: JsonObject, keyPath: string): Alternative {
  const entries = jsonEntries(expression);
  if (entries.length === 0) fail(keyPath, 'Match expression name not found');
  const [[operator, operand]] = entries;
  const onlyOneKey = () => {
    if (entries.length > 1) fail(keyPath, 'Only one key allowed in match expression');
  };

  switch (operator) {
    case 'exactly': {
      if (typeof operand !== 'string') fail(keyPath, 'exact match pattern must be a string');
      onlyOneKey();
      return { exactString: operand };
    }
    case 'prefix':
    case 'suffix': {
      if (isObject(operand)) {
        const text = ignoreCaseOperand(operand, operator, keyPath);
        onlyOneKey();
        return { test: operator === 'prefix' ? match.prefixIgnoreCase(text) : match.suffixIgnoreCase(text) };
      }
      if (typeof operand !== 'string') fail(keyPath, `${operator} match pattern must be a string`);
      onlyOneKey();
      return { test: operator === 'prefix' ? match.prefix(operand) : match.suffix(operand) };
    }
    case 'numeric': {
      if (!Array.isArray(operand)) fail(keyPath, 'Value of numeric must be an array.');
      const range = numericRange(operand as JsonValue[], keyPath);
      if (entries.length > 1) fail(keyPath, 'Too many elements in numeric expression');
      return { test: match.numeric(range) };
    }
    case 'anything-but':
      return anythingBut(operand, entries.length > 1, keyPath);
    case 'exists': {
      if (typeof operand !== 'boolean') fail(keyPath, 'exists match pattern must be either true or false.');
      onlyOneKey();
      return operand ? { test: match.anyValue } : { absent: true };
    }
    case 'cidr': {
      // AWS really does name "prefix" here.
      if (typeof operand !== 'string') fail(keyPath, 'prefix match pattern must be a string');
      const range = cidrRange(operand, keyPath);
      onlyOneKey();
      return { test: match.cidr(range) };
    }
    case 'equals-ignore-case': {
      if (typeof operand !== 'string') fail(keyPath, 'equals-ignore-case match pattern must be a string');
      onlyOneKey();
      return { test: match.equalsIgnoreCase(operand) };
    }
    case 'wildcard': {
      if (typeof operand !== 'string') fail(keyPath, 'wildcard match pattern must be a string');
      const parsed = wildcardOf(operand, keyPath);
      onlyOneKey();
      return { test: match.wildcard(parsed), wildcards: [parsed] };
    }
    default:
      return fail(keyPath, `Unrecognized match type ${operator}`);
  }
}

/** `{"prefix": {"equals-ignore-case": "..."}}` and the same for `suffix`. */
function ignoreCaseOperand(operand: JsonObject, operator: 'prefix' | 'suffix', keyPath: string): string {
  const entries = jsonEntries(operand);
  const Name = operator === 'prefix' ? 'Prefix' : 'Suffix';
  if (entries.length === 0) fail(keyPath, `${Name} expression name not found`);
  const [[inner, text]] = entries;
  if (inner !== 'equals-ignore-case') fail(keyPath, `Unsupported ${operator} pattern: ${inner}`);
  if (typeof text !== 'string') fail(keyPath, 'equals-ignore-case match pattern must be a string');
  if (entries.length > 1) fail(keyPath, 'Only one key allowed in match expression');
  return text;
}

function numericRange(items: readonly JsonValue[], keyPath: string): match.NumericRange {
  let i = 0;
  const END = Symbol('end of array');
  const next = (): JsonValue | typeof END => (i < items.length ? items[i++] : END);
  const text = (token: JsonValue | typeof END): string =>
    token === END ? ']' : Array.isArray(token) ? '[' : isObject(token) ? '{' : typeof token === 'string' ? token : String(token);
  const isNumber = (token: JsonValue | typeof END): token is number => typeof token === 'number';

  const first = next();
  if (typeof first !== 'string') fail(keyPath, `Invalid member in numeric match: ${text(first)}`);
  const operator = first;
  const value = next();
  switch (operator) {
    case '=': {
      if (!isNumber(value)) fail(keyPath, 'Value of equals must be numeric');
      if (next() !== END) fail(keyPath, 'Too many elements in numeric expression');
      return { lower: { value, inclusive: true }, upper: { value, inclusive: true } };
    }
    case '<':
    case '<=': {
      if (!isNumber(value)) fail(keyPath, `Value of ${operator} must be numeric`);
      if (next() !== END) fail(keyPath, 'Too many elements in numeric expression');
      return { upper: { value, inclusive: operator === '<=' } };
    }
    case '>':
    case '>=': {
      if (!isNumber(value)) fail(keyPath, `Value of ${operator} must be numeric`);
      const lower = { value, inclusive: operator === '>=' };
      const second = next();
      if (second === END) return { lower };
      if (typeof second !== 'string') fail(keyPath, `Bad value in numeric range: ${text(second)}`);
      if (second !== '<' && second !== '<=') fail(keyPath, `Bad numeric range operator: ${second}`);
      const top = next();
      if (!isNumber(top)) fail(keyPath, `Value of ${second} must be numeric`);
      if (next() !== END) fail(keyPath, 'Too many terms in numeric range expression');
      if (lower.value >= top) fail(keyPath, 'Bottom must be less than top');
      return { lower, upper: { value: top, inclusive: second === '<=' } };
    }
    default:
      return fail(keyPath, `Unrecognized numeric range operator: ${operator}`);
  }
}

type AnythingButKind = 'values' | 'equals-ignore-case' | 'prefix' | 'suffix' | 'wildcard';

function anythingBut(operand: JsonValue, extraKeys: boolean, keyPath: string): Alternative {
  // Ruler reports a stray key next to an anything-but with its numeric-expression message.
  const tooMany = 'Too many elements in numeric expression';
  let kind: AnythingButKind = 'values';
  let value = operand;
  let extraInnerKeys = false;
  if (isObject(operand)) {
    const inner = jsonEntries(operand);
    if (inner.length === 0) fail(keyPath, 'Anything-But expression name not found');
    const [[name, innerValue]] = inner;
    if (name !== 'equals-ignore-case' && name !== 'prefix' && name !== 'suffix' && name !== 'wildcard') {
      fail(keyPath, `Unsupported anything-but pattern: ${name}`);
    }
    kind = name as AnythingButKind;
    value = innerValue;
    extraInnerKeys = inner.length > 1;
  }
  if (!Array.isArray(value) && typeof value !== 'string' && typeof value !== 'number') {
    fail(keyPath, 'Value of anything-but must be an array or single string/number value.');
  }
  const items: readonly JsonValue[] = Array.isArray(value) ? value : [value];

  let alternative: Alternative;
  if (kind === 'values') {
    const strings = new Set<string>();
    const numbers = new Set<number>();
    for (const item of items) {
      if (typeof item === 'string') strings.add(item);
      else if (typeof item === 'number') numbers.add(item);
      else fail(keyPath, 'Inside anything but list, start|null|boolean is not supported.');
    }
    if ((strings.size > 0) === (numbers.size > 0)) {
      fail(keyPath, 'Inside anything but list, either all values are number or string, mixed type is not supported');
    }
    alternative = { test: strings.size > 0 ? match.anythingButStrings(strings) : match.anythingButNumbers(numbers) };
  } else {
    const texts: string[] = [];
    for (const item of items) {
      if (typeof item !== 'string') {
        fail(
          keyPath,
          kind === 'equals-ignore-case'
            ? 'Inside anything-but/equals-ignore-case list, number|start|null|boolean is not supported.'
            : kind === 'wildcard'
              ? 'wildcard match pattern must be a string'
              : 'prefix/suffix match pattern must be a string',
        );
      }
      if ((kind === 'prefix' || kind === 'suffix') && item === '') fail(keyPath, 'Null prefix/suffix not allowed');
      texts.push(item);
    }
    switch (kind) {
      case 'equals-ignore-case':
        alternative = { test: match.anythingButIgnoreCase(texts) };
        break;
      case 'prefix':
        alternative = { test: match.anythingButPrefixes(texts) };
        break;
      case 'suffix':
        alternative = { test: match.anythingButSuffixes(texts) };
        break;
      case 'wildcard': {
        const parsed = [...new Set(texts)].map((t) => wildcardOf(t, keyPath));
        alternative = { test: match.anythingButWildcards(parsed), wildcards: parsed };
        break;
      }
    }
  }
  if (extraInnerKeys || extraKeys) fail(keyPath, tooMany);
  return alternative;
}

function cidrRange(text: string, keyPath: string) {
  try {
    return parseCidr(text);
  } catch (e) {
    if (e instanceof CidrSyntaxError) fail(keyPath, e.message, e);
    throw e;
  }
}

function wildcardOf(text: string, keyPath: string): Wildcard {
  try {
    return parseWildcard(text);
  } catch (e) {
    if (e instanceof WildcardSyntaxError) fail(keyPath, e.message, e);
    throw e;
  }
}

/**
 * AWS refuses rules whose wildcards could keep too many states of one field's matcher active at once.
 * Fields of different `$or` branches share one matcher when everything tested before them (in name
 * order) is the same, so their wildcards are weighed together.
 */
function checkWildcardComplexity(rules: readonly (readonly CompiledField[])[]): void {
  const machines = new Map<string, { keyPath: string; groups: Map<string, WildcardGroup> }>();
  for (const rule of rules) {
    rule.forEach((field, i) => {
      if (field.wildcards.length === 0) return;
      const key = JSON.stringify([rule.slice(0, i).map((f) => [f.name, f.identity]), field.name]);
      const machine = machines.get(key) ?? { keyPath: field.keyPath, groups: new Map<string, WildcardGroup>() };
      for (const group of field.wildcards) machine.groups.set(JSON.stringify(group.map((w) => w.text)), group);
      machines.set(key, machine);
    });
  }
  for (const { keyPath, groups } of machines.values()) {
    if (wildcardComplexity([...groups.values()]) > MAX_WILDCARD_COMPLEXITY) {
      fail(keyPath, 'Rule is too complex - try using fewer wildcard characters or fewer repeating character sequences after a wildcard character');
    }
  }
}

// ---- JSON view of the input --------------------------------------------------------------------

/** Patterns are JSON documents; a JS object is read as JSON.stringify would write it. */
type JsonValue = string | number | boolean | null | JsonValue[] | JsonObject;
interface JsonObject {
  [key: string]: JsonValue;
}

function toJson(value: unknown, inArray = false): JsonValue | undefined {
  const view = jsonView(value);
  if (view === undefined) return inArray ? null : undefined;
  if (Array.isArray(view)) return view.map((item) => toJson(item, true) as JsonValue);
  return view as JsonValue; // object entries are converted lazily by jsonEntries
}

function jsonEntries(object: JsonObject): [string, JsonValue][] {
  const entries: [string, JsonValue][] = [];
  for (const key of Object.keys(object)) {
    const value = toJson(object[key]);
    if (value !== undefined) entries.push([key, value]);
  }
  return entries;
}

/** A stable text form of a JSON value (keys in document order), used to recognise equal fields. */
function canonical(value: JsonValue | readonly JsonValue[]): string {
  if (isArray(value)) return `[${value.map((v) => canonical(v)).join(',')}]`;
  if (isObject(value)) return `{${jsonEntries(value).map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  return JSON.stringify(value);
}

function isArray(value: JsonValue | readonly JsonValue[]): value is readonly JsonValue[] {
  return Array.isArray(value);
}

function isObject(value: JsonValue | readonly JsonValue[] | undefined): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function join(keyPath: string, key: string): string {
  return keyPath === '' ? key : `${keyPath}.${key}`;
}

function fail(path: string, reason: string, cause?: unknown): never {
  throw new InvalidEventPatternError(path, reason, cause === undefined ? undefined : { cause });
}
