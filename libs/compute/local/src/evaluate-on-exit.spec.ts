import { describe, expect, it } from 'vitest';
import type { EvaluateOnExit, RetryStrategy } from '@nightshift/jobs-domain';
import { decideRetry, matchesPattern, retryStrategyProblems, ruleMatches, type AttemptExit } from './evaluate-on-exit.js';

// The rules under test are AWS Batch's:
// https://docs.aws.amazon.com/batch/latest/APIReference/API_EvaluateOnExit.html (patterns, conditions, action)
// https://docs.aws.amazon.com/batch/latest/userguide/job_retries.html (up to 5 rules, none matching: retry)

const exited = (exitCode: number, reason?: string): AttemptExit => ({ exitCode, statusReason: 'Essential container in task exited', ...(reason && { reason }) });
const strategy = (attempts: number, evaluateOnExit?: EvaluateOnExit[]): RetryStrategy => ({ attempts, ...(evaluateOnExit && { evaluateOnExit }) });

describe('matchesPattern', () => {
  it('matches exactly without a trailing *', () => {
    expect(matchesPattern('137', '137')).toBe(true);
    expect(matchesPattern('13', '137')).toBe(false);
    expect(matchesPattern('Task failed to start', 'Task failed to start')).toBe(true);
    expect(matchesPattern('task failed to start', 'Task failed to start')).toBe(false);
  });

  it('matches a prefix with a trailing * ("only the start of the string needs to be an exact match")', () => {
    expect(matchesPattern('13*', '137')).toBe(true);
    expect(matchesPattern('13*', '13')).toBe(true);
    expect(matchesPattern('Host EC2*', 'Host EC2 (instance i-0abc) terminated.')).toBe(true);
    expect(matchesPattern('*', 'anything')).toBe(true);
    expect(matchesPattern('14*', '137')).toBe(false);
  });

  it('matches nothing when the attempt has no such value', () => {
    expect(matchesPattern('*', undefined)).toBe(false);
  });
});

describe('ruleMatches', () => {
  it('needs every present condition to match (AWS: "if all of the specified conditions are met")', () => {
    const rule: EvaluateOnExit = { onExitCode: '1', onStatusReason: 'Essential*', action: 'EXIT' };
    expect(ruleMatches(rule, exited(1))).toBe(true);
    expect(ruleMatches(rule, exited(2))).toBe(false);
    expect(ruleMatches(rule, { exitCode: 1, statusReason: 'Task failed to start' })).toBe(false);
  });

  it('matches onExitCode against the decimal exit code and onReason against the container reason', () => {
    expect(ruleMatches({ onExitCode: '137', action: 'EXIT' }, exited(137))).toBe(true);
    expect(ruleMatches({ onReason: 'CannotStartContainerError*', action: 'EXIT' }, { statusReason: 'Task failed to start', reason: 'CannotStartContainerError: spawn x ENOENT' })).toBe(
      true,
    );
    // An attempt that never ran has no exit code.
    expect(ruleMatches({ onExitCode: '*', action: 'EXIT' }, { statusReason: 'Task failed to start' })).toBe(false);
  });

  it('matches every attempt with a rule that has no condition', () => {
    expect(ruleMatches({ action: 'EXIT' }, exited(3))).toBe(true);
  });
});

describe('decideRetry', () => {
  it('retries while attempts remain when no rule is given', () => {
    expect(decideRetry(strategy(3), exited(1), 1)).toEqual({ action: 'RETRY' });
    expect(decideRetry(strategy(3), exited(1), 3)).toEqual({ action: 'EXIT' });
  });

  it('lets the first matching rule decide', () => {
    const rules: EvaluateOnExit[] = [
      { onExitCode: '2', action: 'exit' },
      { onExitCode: '2', action: 'RETRY' },
      { onReason: '*', action: 'EXIT' },
    ];
    expect(decideRetry(strategy(5, rules), exited(2), 1)).toEqual({ action: 'EXIT', rule: 0 });
    // No reason: the catch-all onReason rule does not match, so AWS's default applies: retry.
    expect(decideRetry(strategy(5, rules), exited(3), 1)).toEqual({ action: 'RETRY' });
    expect(decideRetry(strategy(5, rules), exited(3, 'Process exited on SIGKILL'), 1)).toEqual({ action: 'EXIT', rule: 2 });
  });

  it('retries when no rule matches, and a matching RETRY still needs attempts left', () => {
    const rules: EvaluateOnExit[] = [{ onStatusReason: 'Host EC2*', action: 'RETRY' }];
    expect(decideRetry(strategy(2, rules), exited(1), 1)).toEqual({ action: 'RETRY' });
    expect(decideRetry(strategy(2, rules), { exitCode: 143, statusReason: 'Host EC2 (instance x) terminated.' }, 2)).toEqual({ action: 'EXIT' });
  });

  it('reads the action case-insensitively ("the values aren\'t case sensitive")', () => {
    expect(decideRetry(strategy(3, [{ action: 'Exit' as 'EXIT' }]), exited(1), 1)).toEqual({ action: 'EXIT', rule: 0 });
  });
});

describe('retryStrategyProblems', () => {
  it('accepts AWS examples', () => {
    expect(
      retryStrategyProblems(
        strategy(3, [
          { action: 'RETRY', onReason: 'AGENT' },
          { action: 'RETRY', onStatusReason: 'Task failed to start' },
          { action: 'EXIT', onReason: '*' },
        ]),
      ),
    ).toEqual([]);
    expect(retryStrategyProblems(strategy(10, [{ onExitCode: '14*', action: 'retry' }, { onStatusReason: 'Host EC2*', action: 'RETRY' }]))).toEqual([]);
  });

  it('refuses attempts outside 1..10', () => {
    expect(retryStrategyProblems(strategy(0))).toHaveLength(1);
    expect(retryStrategyProblems(strategy(11))[0]).toMatch(/attempts must be an integer in 1\.\.10/);
    expect(retryStrategyProblems(undefined)).toEqual(['retryStrategy is required']);
  });

  it('refuses more than 5 rules, naming the count', () => {
    const six = Array.from({ length: 6 }, () => ({ onExitCode: '1', action: 'RETRY' }) as EvaluateOnExit);
    expect(retryStrategyProblems(strategy(3, six))).toEqual(['retryStrategy.evaluateOnExit has 6 rules; at most 5 are allowed']);
  });

  it('refuses patterns AWS refuses', () => {
    const bad: EvaluateOnExit[] = [
      { onExitCode: '1a', action: 'RETRY' },
      { onExitCode: '*1', action: 'RETRY' },
      { onStatusReason: 'Host-EC2*', action: 'RETRY' },
      { onReason: 'a*b', action: 'RETRY' },
      { onReason: 'x'.repeat(513), action: 'RETRY' },
    ];
    const problems = retryStrategyProblems(strategy(3, bad));
    expect(problems).toHaveLength(5);
    expect(problems[0]).toMatch(/evaluateOnExit\[0\]\.onExitCode "1a" must be 1-512 digits/);
    expect(problems[2]).toMatch(/evaluateOnExit\[2\]\.onStatusReason/);
    expect(retryStrategyProblems(strategy(3, [{ onExitCode: '', action: 'RETRY' }]))).toHaveLength(1);
    expect(retryStrategyProblems(strategy(3, [{ onReason: 'Reason: 1.2\twith tab', action: 'EXIT' }]))).toEqual([]);
  });

  it('refuses an action other than RETRY or EXIT', () => {
    expect(retryStrategyProblems(strategy(3, [{ action: 'FAIL' as 'EXIT' }]))[0]).toMatch(/action must be RETRY or EXIT, got "FAIL"/);
  });
});
