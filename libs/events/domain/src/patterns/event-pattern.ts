import { compilePattern, type CompiledPattern } from './compile.js';
import { matchCompiled } from './match.js';

/**
 * An EventBridge event pattern: a JSON object whose leaves are arrays of alternatives, e.g.
 * `{ "source": ["nightshift.ingestion"], "detail": { "size": [{ "numeric": [">", 0] }] } }`.
 */
export type EventPattern = Record<string, unknown>;

// Compiled form of the patterns already seen, so repeated calls with the same pattern object do not
// validate it again. Patterns are treated as immutable once used.
const compiled = new WeakMap<object, CompiledPattern>();

function compileCached(pattern: unknown): CompiledPattern {
  if (pattern === null || typeof pattern !== 'object') return compilePattern(pattern);
  let result = compiled.get(pattern);
  if (result === undefined) {
    result = compilePattern(pattern);
    compiled.set(pattern, result);
  }
  return result;
}

/**
 * Checks `pattern` the way EventBridge's PutRule / TestEventPattern do, rejecting what AWS rejects
 * (non-array leaves, empty arrays or objects, unknown operators, malformed numeric ranges, CIDRs or
 * wildcards, `$or` misuse, wildcards AWS finds too complex, ...).
 *
 * @throws InvalidEventPatternError (never retryable) whose `path` is the offending key path and whose
 *   message is AWS's.
 */
export function validateEventPattern(pattern: unknown): asserts pattern is EventPattern {
  compileCached(pattern);
}

/**
 * Whether `event` (a JSON object, e.g. an EventBridge envelope) matches `pattern` with AWS's
 * semantics: fields are ANDed, alternatives within a field's array are ORed, event arrays match when
 * any element does (array-consistently), missing fields never match except `{"exists": false}`.
 *
 * Pure. The pattern must be valid (an invalid one throws InvalidEventPatternError). A pattern object
 * is compiled on first use and cached, so do not mutate it afterwards; prefer
 * {@link compileEventPattern} where the pattern is known up front.
 */
export function matchesEventPattern(pattern: EventPattern, event: unknown): boolean {
  return matchCompiled(compileCached(pattern), event);
}

/**
 * Validates `pattern` once and returns a predicate that tests events against it without touching
 * the pattern again (the predicate keeps its own compiled copy).
 *
 * @throws InvalidEventPatternError when AWS would reject the pattern.
 */
export function compileEventPattern(pattern: unknown): (event: unknown) => boolean {
  const compiledPattern = compilePattern(pattern);
  return (event: unknown) => matchCompiled(compiledPattern, event);
}
