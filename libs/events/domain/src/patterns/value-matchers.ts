import { ipInRange, parseIpAddress, type IpRange } from './ip-address.js';
import { wildcardMatches, type Wildcard } from './wildcard.js';

/** One leaf value of an event, as JSON has it. */
export type Leaf = string | number | boolean | null;

/** A compiled value test. Every test is total: a value of the wrong type simply does not match. */
export type ValueTest = (value: Leaf) => boolean;

// EventBridge compares string values in their JSON-quoted form: a prefix is matched against `"value"`
// starting after the opening quote, so a prefix ending in `"` can match a whole value. The helpers
// below reproduce that without building the quoted string when the operand has no quote in it.

/** `{"prefix": p}` on a string value. */
export function hasPrefix(value: string, prefix: string): boolean {
  return prefix.includes('"') ? `${value}"`.startsWith(prefix) : value.startsWith(prefix);
}

/** `{"suffix": s}` on a string value. */
export function hasSuffix(value: string, suffix: string): boolean {
  return suffix.includes('"') ? `"${value}`.endsWith(suffix) : value.endsWith(suffix);
}

/**
 * Case-insensitive text, compiled the way Ruler does it: each UTF-16 unit of the operand stands for
 * its lower-case or its upper-case form (which may differ in length, e.g. `ß` / `SS`), nothing else.
 */
export class IgnoreCaseText {
  private readonly alternatives: readonly (readonly string[])[];

  constructor(readonly text: string) {
    this.alternatives = Array.from({ length: text.length }, (_, i) => {
      const unit = text[i];
      const lower = unit.toLowerCase();
      const upper = unit.toUpperCase();
      return lower === upper ? [lower] : [lower, upper];
    });
  }

  /** The whole value matches. */
  equals(value: string): boolean {
    return this.forward(0, value, 0, true);
  }

  /** The value starts with the text (the value is taken JSON-quoted, as for `prefix`). */
  isPrefixOf(value: string): boolean {
    return this.forward(0, this.text.includes('"') ? `${value}"` : value, 0, false);
  }

  /** The value ends with the text (the value is taken JSON-quoted, as for `suffix`). */
  isSuffixOf(value: string): boolean {
    const subject = this.text.includes('"') ? `"${value}` : value;
    return this.backward(this.alternatives.length - 1, subject, subject.length);
  }

  private forward(unit: number, value: string, at: number, whole: boolean): boolean {
    if (unit === this.alternatives.length) return !whole || at === value.length;
    for (const alt of this.alternatives[unit]) {
      if (value.startsWith(alt, at) && this.forward(unit + 1, value, at + alt.length, whole)) return true;
    }
    return false;
  }

  private backward(unit: number, value: string, end: number): boolean {
    if (unit < 0) return true;
    for (const alt of this.alternatives[unit]) {
      const at = end - alt.length;
      if (at >= 0 && value.startsWith(alt, at) && this.backward(unit - 1, value, at)) return true;
    }
    return false;
  }
}

/**
 * An exact pattern string that is an IP literal: EventBridge compares it as an address, so it also
 * matches other spellings of the same address (`2001:DB8::0:1` for `2001:db8::1`).
 */
export function exactIpAddress(address: Uint8Array): ValueTest {
  const range: IpRange = { bottom: address, top: address };
  return (v) => typeof v === 'string' && matchesIp(v, range);
}

/** `{"cidr": ...}`: string values that are IP literals inside the range. */
export function cidr(range: IpRange): ValueTest {
  return (v) => typeof v === 'string' && matchesIp(v, range);
}

function matchesIp(value: string, range: IpRange): boolean {
  const address = parseIpAddress(value);
  return address !== undefined && ipInRange(address, range);
}

/** Exact number: JSON numbers only, compared as numbers (`300` matches `300.0`). */
export function exactNumber(expected: number): ValueTest {
  return (v) => v === expected;
}

/** Exact `null`, `true` or `false` (never the strings `"null"`, `"true"`, `"false"`). */
export function exactLiteral(expected: null | boolean): ValueTest {
  return (v) => v === expected;
}

/** A numeric range; bounds are optional, each open or closed. Only JSON numbers match. */
export interface NumericRange {
  readonly lower?: { readonly value: number; readonly inclusive: boolean };
  readonly upper?: { readonly value: number; readonly inclusive: boolean };
}

export function numeric(range: NumericRange): ValueTest {
  const { lower, upper } = range;
  return (v) => {
    if (typeof v !== 'number') return false;
    if (lower !== undefined && (lower.inclusive ? v < lower.value : v <= lower.value)) return false;
    if (upper !== undefined && (upper.inclusive ? v > upper.value : v >= upper.value)) return false;
    return true;
  };
}

export function prefix(operand: string): ValueTest {
  return (v) => typeof v === 'string' && hasPrefix(v, operand);
}

export function suffix(operand: string): ValueTest {
  return (v) => typeof v === 'string' && hasSuffix(v, operand);
}

export function prefixIgnoreCase(operand: string): ValueTest {
  const text = new IgnoreCaseText(operand);
  return (v) => typeof v === 'string' && text.isPrefixOf(v);
}

export function suffixIgnoreCase(operand: string): ValueTest {
  const text = new IgnoreCaseText(operand);
  return (v) => typeof v === 'string' && text.isSuffixOf(v);
}

export function equalsIgnoreCase(operand: string): ValueTest {
  const text = new IgnoreCaseText(operand);
  return (v) => typeof v === 'string' && text.equals(v);
}

export function wildcard(pattern: Wildcard): ValueTest {
  return (v) => typeof v === 'string' && wildcardMatches(pattern, v);
}

/** `{"exists": true}`: any leaf value, `null` included. */
export const anyValue: ValueTest = () => true;

// anything-but matches every leaf value (null, booleans, numbers, other strings) except the ones its
// operand names; a missing field is handled by the caller (it never matches).

export function anythingButStrings(excluded: ReadonlySet<string>): ValueTest {
  return (v) => typeof v !== 'string' || !excluded.has(v);
}

export function anythingButNumbers(excluded: ReadonlySet<number>): ValueTest {
  return (v) => typeof v !== 'number' || !excluded.has(v);
}

export function anythingButPrefixes(operands: readonly string[]): ValueTest {
  return (v) => typeof v !== 'string' || !operands.some((p) => hasPrefix(v, p));
}

export function anythingButSuffixes(operands: readonly string[]): ValueTest {
  return (v) => typeof v !== 'string' || !operands.some((s) => hasSuffix(v, s));
}

export function anythingButIgnoreCase(operands: readonly string[]): ValueTest {
  const texts = operands.map((o) => new IgnoreCaseText(o));
  return (v) => typeof v !== 'string' || !texts.some((t) => t.equals(v));
}

export function anythingButWildcards(patterns: readonly Wildcard[]): ValueTest {
  return (v) => typeof v !== 'string' || !patterns.some((p) => wildcardMatches(p, v));
}

/** Any of `tests` (the alternatives listed for one field); exact strings collapse into one set lookup. */
export function anyOf(tests: readonly ValueTest[], exactStrings: ReadonlySet<string>): ValueTest {
  if (tests.length === 0) return (v) => typeof v === 'string' && exactStrings.has(v);
  if (exactStrings.size === 0) {
    if (tests.length === 1) return tests[0];
    return (v) => tests.some((t) => t(v));
  }
  return (v) => (typeof v === 'string' && exactStrings.has(v)) || tests.some((t) => t(v));
}
