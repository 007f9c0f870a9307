import { describe, expect, it } from 'vitest';
import { logStreamNameProblem, MAX_LOG_STREAM_NAME_LENGTH } from './log-stream-name.js';

describe('logStreamNameProblem', () => {
  it("accepts AWS Batch's stream names and other segments of letters, digits, _ and -", () => {
    for (const name of ['nightshift-worker/default/0f3c2a9e4b7d4e5f8a1b2c3d4e5f6a7b', 'a', 'a_b/C-9', 'x'.repeat(MAX_LOG_STREAM_NAME_LENGTH)]) {
      expect(logStreamNameProblem(name), name).toBeUndefined();
    }
  });

  it('says why any other name is not one', () => {
    for (const name of ['../secret', 'a/../../secret', '/etc/passwd', 'a//b', 'a/', '', 'a\\b', 'a/b.txt', 'a:b', 'a*b', 'a b']) {
      expect(logStreamNameProblem(name), JSON.stringify(name)).toBe('expected segments of letters, digits, "_" or "-" joined by "/"');
    }
    expect(logStreamNameProblem('x'.repeat(MAX_LOG_STREAM_NAME_LENGTH + 1))).toBe('longer than 512 characters');
    expect(logStreamNameProblem(42)).toBe('expected a string, got number');
  });
});
