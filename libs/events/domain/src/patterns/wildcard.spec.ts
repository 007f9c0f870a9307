import { describe, expect, it } from 'vitest';
import { MAX_WILDCARD_COMPLEXITY, parseWildcard, wildcardComplexity, wildcardMatches } from './wildcard.js';

describe('parseWildcard', () => {
  it('splits on unescaped stars and unescapes \\* and \\\\', () => {
    expect(parseWildcard('a*b\\*c*').parts).toEqual(['a', 'b*c', '']);
    expect(parseWildcard('\\\\*').parts).toEqual(['\\', '']);
    expect(parseWildcard('').parts).toEqual(['']);
  });

  it('reports UTF-8 byte positions inside the JSON-quoted value, as AWS does', () => {
    expect(() => parseWildcard('**')).toThrow('Consecutive wildcard characters at pos 1');
    expect(() => parseWildcard('日本**')).toThrow('Consecutive wildcard characters at pos 7');
    expect(() => parseWildcard('🚀\\n')).toThrow('Invalid escape character at pos 5');
    expect(() => parseWildcard('\\**')).not.toThrow();
  });
});

describe('wildcardMatches', () => {
  const matches = (pattern: string, value: string) => wildcardMatches(parseWildcard(pattern), value);

  it('anchors both ends and lets stars match nothing', () => {
    expect(matches('a*c', 'ac')).toBe(true);
    expect(matches('a*c', 'abbc')).toBe(true);
    expect(matches('a*c', 'abcd')).toBe(false);
    expect(matches('*a*a*', 'a')).toBe(false);
    expect(matches('*a*a*', 'xaxa')).toBe(true);
  });

  it('does not let the head and tail overlap', () => {
    expect(matches('ab*ba', 'aba')).toBe(false);
    expect(matches('ab*ba', 'abba')).toBe(true);
  });
});

describe('wildcardComplexity', () => {
  // Expected values are those pinned by aws/event-ruler's MachineComplexityEvaluator tests and its
  // evaluation corpus; the first two tables use Ruler's unquoted patterns.
  const unquoted = (...patterns: string[]) => wildcardComplexity(patterns.map((p) => [parseWildcard(p)]), 1000, false);
  const quoted = (...patterns: string[]) => wildcardComplexity(patterns.map((p) => [parseWildcard(p)]), 1000, true);

  it.each([
    ['*', 1],
    ['abc', 1],
    ['*ab', 2],
    ['*aa', 3],
    ['a*b', 2],
    ['aa*', 2],
    ['a*bb', 3],
    ['a*bcb', 3],
    ['a*bbb', 4],
    ['*ab*ad', 4],
    ['*aba*', 4],
    ['a*b*bb', 5],
    ['a*b*cd', 3],
    ['ab*b*', 3],
    ['*ab*b*b*', 7],
    ['*a*a*a*a*a*a*a*a*', 17],
  ] as const)('%s has complexity %i', (pattern, expected) => {
    expect(unquoted(pattern)).toBe(expected);
  });

  it.each([
    [['*', 'ab*c'], 3],
    [['*abc', '*abcde'], 4],
    [['a*bcd', 'ab*cd'], 4],
    [['a*aaa', 'aa*aa'], 7],
    [['a*aax', 'aaa*x'], 5],
    [['abc*', 'abcde*'], 3],
    [['ab*cd', 'ab*wx', 'ab*yz'], 6],
  ] as const)('%j together have complexity %i', (patterns, expected) => {
    expect(unquoted(...patterns)).toBe(expected);
  });

  it('counts the quotes of real values, and an anything-but list as one pattern', () => {
    const leadingStars = ['*kiwi*', '*BASE_QuxB*', '*Delta*', '*a/example-lake-abc98765432*'];
    expect(quoted(...leadingStars)).toBe(12);
    expect(wildcardComplexity([leadingStars.map(parseWildcard)], 1000, true)).toBe(7);
    expect(quoted(`${'*a'.repeat(50)}*`)).toBe(101);
  });

  it('stops as soon as the cap is exceeded, so huge patterns are refused quickly', () => {
    const started = performance.now();
    expect(wildcardComplexity([[parseWildcard(`${'*a'.repeat(2000)}*`)]])).toBeGreaterThan(MAX_WILDCARD_COMPLEXITY);
    expect(performance.now() - started).toBeLessThan(1000);
  });
});
