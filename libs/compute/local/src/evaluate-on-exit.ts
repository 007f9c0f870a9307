import type { EvaluateOnExit, RetryStrategy } from '@nightshift/jobs-domain';

/**
 * AWS Batch's retry rules, kept free of processes so they can be tested on their own.
 *
 * - https://docs.aws.amazon.com/batch/latest/APIReference/API_EvaluateOnExit.html: each present
 *   condition is a pattern matched against the attempt (exact, or a prefix when it ends in `*`);
 *   `action` RETRY or EXIT, not case sensitive.
 * - https://docs.aws.amazon.com/batch/latest/userguide/job_retries.html: 1..10 attempts, up to 5
 *   rules; when none matches, the job is retried (while attempts remain).
 */

/** What a failed attempt reports, as the rules see it. */
export interface AttemptExit {
  /** Absent when the process never ran (it could not be started). */
  exitCode?: number;
  /** The attempt's `statusReason` (`Essential container in task exited`, `Task failed to start`, ...). */
  statusReason: string;
  /** The container's `reason` (`CannotStartContainerError: ...`, `Process exited on SIGKILL`), if any. */
  reason?: string;
}

export type RetryDecision =
  | { action: 'RETRY' }
  /** `rule` is the index of the EXIT rule that matched; absent when the attempts were used up. */
  | { action: 'EXIT'; rule?: number };

const MAX_RULES = 5;
const MAX_PATTERN = 512;
// Decimal digits, optionally ending in `*`.
const EXIT_CODE_PATTERN = /^[0-9]*\*?$/;
// Letters, digits, periods, colons and white space, optionally ending in `*`.
const REASON_PATTERN = /^[A-Za-z0-9.:\s]*\*?$/;

/** Every way `strategy` breaks AWS Batch's rules; empty when it is valid. */
export function retryStrategyProblems(strategy: RetryStrategy | undefined): string[] {
  if (strategy === undefined || strategy === null || typeof strategy !== 'object') return ['retryStrategy is required'];
  const problems: string[] = [];
  if (!(Number.isInteger(strategy.attempts) && strategy.attempts >= 1 && strategy.attempts <= 10)) {
    problems.push(`retryStrategy.attempts must be an integer in 1..10, got ${strategy.attempts}`);
  }
  const rules = strategy.evaluateOnExit;
  if (rules === undefined) return problems;
  if (!Array.isArray(rules)) return [...problems, 'retryStrategy.evaluateOnExit must be an array'];
  if (rules.length > MAX_RULES) problems.push(`retryStrategy.evaluateOnExit has ${rules.length} rules; at most ${MAX_RULES} are allowed`);
  rules.forEach((rule: EvaluateOnExit, i) => {
    const at = `retryStrategy.evaluateOnExit[${i}]`;
    if (typeof rule?.action !== 'string' || !['RETRY', 'EXIT'].includes(rule.action.toUpperCase())) {
      problems.push(`${at}.action must be RETRY or EXIT, got ${JSON.stringify(rule?.action)}`);
    }
    const check = (field: 'onExitCode' | 'onStatusReason' | 'onReason', allowed: RegExp, what: string) => {
      const pattern = rule?.[field];
      if (pattern === undefined) return;
      if (typeof pattern !== 'string' || pattern.length === 0 || pattern.length > MAX_PATTERN || !allowed.test(pattern)) {
        problems.push(`${at}.${field} ${JSON.stringify(pattern)} must be 1-${MAX_PATTERN} ${what}, optionally ending in *`);
      }
    };
    check('onExitCode', EXIT_CODE_PATTERN, 'digits');
    check('onStatusReason', REASON_PATTERN, 'letters, digits, periods, colons or white space');
    check('onReason', REASON_PATTERN, 'letters, digits, periods, colons or white space');
  });
  return problems;
}

/**
 * AWS's pattern: an exact match, or, when the pattern ends in `*`, a match of everything before it
 * as a prefix (`*` alone matches any value). A value that is absent matches no pattern: an attempt
 * with no exit code is not matched by `onExitCode: "*"`.
 */
export function matchesPattern(pattern: string, value: string | undefined): boolean {
  if (value === undefined) return false;
  return pattern.endsWith('*') ? value.startsWith(pattern.slice(0, -1)) : value === pattern;
}

/** Whether every condition present in `rule` matches the attempt. A rule with none matches every attempt. */
export function ruleMatches(rule: EvaluateOnExit, exit: AttemptExit): boolean {
  if (rule.onExitCode !== undefined && !matchesPattern(rule.onExitCode, exit.exitCode === undefined ? undefined : String(exit.exitCode))) return false;
  if (rule.onStatusReason !== undefined && !matchesPattern(rule.onStatusReason, exit.statusReason)) return false;
  if (rule.onReason !== undefined && !matchesPattern(rule.onReason, exit.reason)) return false;
  return true;
}

/**
 * What to do after a failed attempt, `attemptsMade` attempts in: the first rule that matches
 * decides (EXIT fails the job now; RETRY retries it if attempts remain); with no matching rule the
 * job is retried while attempts remain.
 */
export function decideRetry(strategy: RetryStrategy, exit: AttemptExit, attemptsMade: number): RetryDecision {
  const rules = strategy.evaluateOnExit ?? [];
  const index = rules.findIndex((rule) => ruleMatches(rule, exit));
  if (index >= 0 && rules[index].action.toUpperCase() === 'EXIT') return { action: 'EXIT', rule: index };
  return attemptsMade < strategy.attempts ? { action: 'RETRY' } : { action: 'EXIT' };
}
