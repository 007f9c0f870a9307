import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { InvalidEventPatternError } from '../errors.js';
import { compileEventPattern, matchesEventPattern, validateEventPattern } from './event-pattern.js';

interface ConformanceCase {
  readonly name: string;
  readonly expect: 'match' | 'no-match' | 'invalid-pattern';
  readonly event: Record<string, unknown>;
  readonly pattern: unknown;
  readonly awsError?: string;
}

interface ConformanceFile {
  readonly about: string;
  readonly count: number;
  readonly cases: readonly ConformanceCase[];
}

// Recorded against AWS EventBridge's TestEventPattern (LocalStack's snapshot tests, Apache-2.0).
const fixture = JSON.parse(readFileSync(new URL('./__fixtures__/eventbridge-patterns.json', import.meta.url), 'utf8')) as ConformanceFile;

const AWS_PREFIX = 'Event pattern is not valid. Reason: ';

/** The reason AWS gave, or undefined where the recording is cut short (a lone trailing backslash). */
function recordedReason(awsError: string | undefined): string | undefined {
  if (awsError === undefined || awsError.endsWith('\\')) return undefined;
  return awsError.slice(AWS_PREFIX.length);
}

describe('EventBridge conformance (recorded against AWS)', () => {
  it('holds exactly the 155 recorded cases', () => {
    expect(fixture.count).toBe(155);
    expect(fixture.cases).toHaveLength(155);
    expect(new Set(fixture.cases.map((c) => c.name)).size).toBe(155);
  });

  it.each(fixture.cases.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    if (c.expect === 'invalid-pattern') {
      let error: unknown;
      try {
        compileEventPattern(c.pattern);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(InvalidEventPatternError);
      const invalid = error as InvalidEventPatternError;
      expect(invalid.retryable).toBe(false);
      expect(invalid.message.startsWith(AWS_PREFIX)).toBe(true);
      const reason = recordedReason(c.awsError);
      if (reason !== undefined) expect(invalid.awsReason).toBe(reason);
      expect(() => validateEventPattern(c.pattern)).toThrow(InvalidEventPatternError);
      return;
    }
    const matches = compileEventPattern(c.pattern);
    expect(matches(c.event)).toBe(c.expect === 'match');
    // The convenience entry point agrees with the compiled predicate.
    expect(matchesEventPattern(c.pattern as Record<string, unknown>, c.event)).toBe(c.expect === 'match');
  });
});
