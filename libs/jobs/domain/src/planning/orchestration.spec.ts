import { describe, expect, it } from 'vitest';
import type { StepExecution, StepStatus } from '../model/types.js';
import { definePipeline, type PipelineDefinitionInput } from '../pipeline/pipeline-definition.js';
import { evaluateCondition, valueAt, waitEnds } from '../pipeline/step-condition.js';
import { judgeRun } from '../state/run-state-machine.js';
import { aStepExecution } from '../testing/builders.js';
import { nextSteps } from './planner.js';

/*
 * The orchestration rules of pipelines users write, as pure functions: which steps may start
 * (ALL and N_TO_N dependencies, conditions), which can never run (a skipped dependency), what
 * starts once a step failed (its handler only), and the run's verdict with handlers and skips.
 */

type Steps = PipelineDefinitionInput['steps'];
const job = { command: ['true'], vcpus: 1, memoryMiB: 128 };

function pipeline(steps: Steps) {
  return definePipeline({ name: 'p', description: 'test', trigger: { datasets: ['d'] }, steps });
}

/** Step executions in the given states (others PENDING), with a job id for submitted ones. */
function execs(names: string[], states: Record<string, StepStatus> = {}): StepExecution[] {
  return names.map((step) => {
    const status = states[step] ?? 'PENDING';
    return aStepExecution({ step, status, ...(status === 'SUBMITTED' ? { jobId: `job-${step}` } : {}) });
  });
}

const ready = (p: ReturnType<typeof pipeline>, s: StepExecution[]) => nextSteps(p, s).ready.map((d) => d.name);

describe('nextSteps', () => {
  const fan = pipeline([
    { name: 'a', ...job, fanOut: 'count', count: 3 },
    { name: 'b', ...job, fanOut: 'count', count: 3, dependsOn: [{ step: 'a', type: 'N_TO_N' }] },
    { name: 'c', ...job, dependsOn: ['b'] },
  ]);

  it('starts an N_TO_N step as soon as its twin has a job, and an ALL step only after success', () => {
    expect(ready(fan, execs(['a', 'b', 'c']))).toEqual(['a']);
    expect(ready(fan, execs(['a', 'b', 'c'], { a: 'SUBMITTED' }))).toEqual(['b']);
    expect(ready(fan, execs(['a', 'b', 'c'], { a: 'SUBMITTED', b: 'SUBMITTED' }))).toEqual([]);
    expect(ready(fan, execs(['a', 'b', 'c'], { a: 'SUCCEEDED', b: 'SUCCEEDED' }))).toEqual(['c']);
  });

  it('takes any number of ALL dependencies', () => {
    const many = Array.from({ length: 60 }, (_, i) => ({ name: `s${i}`, ...job }));
    const join = pipeline([...many, { name: 'join', ...job, dependsOn: many.map((s) => s.name) }]);
    const names = [...many.map((s) => s.name), 'join'];
    const allButOne = Object.fromEntries(many.slice(1).map((s) => [s.name, 'SUCCEEDED' as const]));
    expect(ready(join, execs(names, allButOne))).toEqual(['s0']);
    expect(ready(join, execs(names, { ...allButOne, s0: 'SUCCEEDED' }))).toEqual(['join']);
  });

  it('waits for the step a condition reads, and skips the steps after a skipped one', () => {
    const choice = pipeline([
      { name: 'measure', ...job },
      { name: 'publish', ...job, dependsOn: ['measure'], when: { step: 'measure', path: 'orders', greaterThan: 0 } },
      { name: 'notify', ...job, dependsOn: ['publish'] },
    ]);
    expect(ready(choice, execs(['measure', 'publish', 'notify'], { measure: 'SUCCEEDED' }))).toEqual(['publish']);
    const after = nextSteps(choice, execs(['measure', 'publish', 'notify'], { measure: 'SUCCEEDED', publish: 'SKIPPED' }));
    expect(after.ready).toEqual([]);
    expect(after.skip.map((s) => [s.step.name, s.reason])).toEqual([['notify', 'skipped: step publish was skipped']]);
  });

  it('once a step failed, starts only the handlers of failed steps', () => {
    const caught = pipeline([
      { name: 'work', ...job, onFailure: 'cleanup' },
      { name: 'other', ...job },
      { name: 'cleanup', ...job },
    ]);
    expect(ready(caught, execs(['work', 'other', 'cleanup']))).toEqual(['work', 'other']);
    expect(ready(caught, execs(['work', 'other', 'cleanup'], { work: 'FAILED' }))).toEqual(['cleanup']);
    expect(ready(caught, execs(['work', 'other', 'cleanup'], { other: 'FAILED' }))).toEqual([]);
  });
});

describe('judgeRun with handlers and skips', () => {
  const caught = pipeline([
    { name: 'work', ...job, onFailure: 'cleanup' },
    { name: 'cleanup', ...job },
    { name: 'maybe', ...job, dependsOn: ['work'], when: { step: 'work', path: 'go', equals: true } },
  ]);
  const names = ['work', 'cleanup', 'maybe'];

  it('succeeds with skipped steps and an unneeded handler', () => {
    expect(judgeRun(execs(names, { work: 'SUCCEEDED', maybe: 'SKIPPED' }), caught)).toEqual({ status: 'SUCCEEDED' });
  });

  it('stays open while the handler of a failed step runs, then fails with the failed step\'s reason', () => {
    const failed = (cleanup: StepStatus, reason?: string) =>
      execs(names, { cleanup }).map((s) => (s.step === 'work' ? { ...s, status: 'FAILED' as const, reason: 'task work#all failed' } : s.step === 'cleanup' && reason ? { ...s, reason } : s));
    expect(judgeRun(failed('PENDING'), caught)).toEqual({ status: 'RUNNING' });
    expect(judgeRun(failed('SUBMITTED'), caught)).toEqual({ status: 'RUNNING' });
    expect(judgeRun(failed('SUCCEEDED'), caught)).toMatchObject({ status: 'FAILED', reason: 'task work#all failed' });
    expect(judgeRun(failed('FAILED', 'cleanup crashed'), caught)).toMatchObject({ status: 'FAILED', reason: 'task work#all failed; onFailure step cleanup failed too: cleanup crashed' });
  });

  it('without the pipeline, counts every step (as before handlers existed)', () => {
    expect(judgeRun(execs(['a', 'b'], { a: 'SUCCEEDED', b: 'SUCCEEDED' }))).toEqual({ status: 'SUCCEEDED' });
    expect(judgeRun(execs(['a', 'b'], { a: 'SUCCEEDED' }))).toEqual({ status: 'RUNNING' });
  });
});

describe('conditions', () => {
  const when = (c: Record<string, unknown>) => ({ step: 'measure', path: 'headline.orders', ...c }) as Parameters<typeof evaluateCondition>[0];

  it('compares numbers, strings and booleans strictly, and says what it saw', () => {
    const result = { headline: { orders: 12, desk: 'cash', ok: true } };
    expect(evaluateCondition(when({ greaterThan: 10 }), result)).toEqual({ holds: true, explanation: 'measure headline.orders greaterThan 10: the value is 12, so the condition holds' });
    expect(evaluateCondition(when({ lessThanOrEquals: 11 }), result).holds).toBe(false);
    expect(evaluateCondition(when({ equals: '12' }), result).holds).toBe(false);
    expect(evaluateCondition(when({ path: 'headline.desk', equals: 'cash' }), result).holds).toBe(true);
    expect(evaluateCondition(when({ path: '$.headline.ok', equals: true }), result).holds).toBe(true);
    expect(evaluateCondition(when({ path: 'headline.desk', greaterThan: 1 }), result).holds).toBe(false);
  });

  it('reads a missing path as absent', () => {
    expect(evaluateCondition(when({ path: 'headline.nope', exists: false }), { headline: {} })).toMatchObject({ holds: true });
    expect(evaluateCondition(when({ exists: true }), null)).toMatchObject({ holds: false, explanation: expect.stringContaining('the value is absent') });
    expect(valueAt({ rows: [{ desk: 'a' }, { desk: 'b' }] }, 'rows.1.desk')).toBe('b');
    expect(valueAt({ rows: [] }, 'rows.x')).toBeUndefined();
  });

  it('refuses a condition with no operator or two', () => {
    expect(() => pipeline([{ name: 'm', ...job }, { name: 'x', ...job, dependsOn: ['m'], when: { step: 'm', path: 'a' } as never }])).toThrow(/when: needs exactly one of equals/);
    expect(() => pipeline([{ name: 'm', ...job }, { name: 'x', ...job, dependsOn: ['m'], when: { step: 'm', path: 'a', equals: 1, exists: true } }])).toThrow(/needs exactly one/);
  });
});

describe('waitEnds', () => {
  it('adds seconds, or finds the next wall-clock time in the zone', () => {
    const now = new Date('2026-11-30T12:00:00Z');
    expect(waitEnds({ seconds: 90 }, now).toISOString()).toBe('2026-11-30T12:01:30.000Z');
    // 06:30 in New York (UTC-5 in winter) has passed today at 12:00 UTC (07:00 there): tomorrow's.
    expect(waitEnds({ until: '06:30', timezone: 'America/New_York' }, now).toISOString()).toBe('2026-12-01T11:30:00.000Z');
    expect(waitEnds({ until: '18:00', timezone: 'Europe/London' }, now).toISOString()).toBe('2026-11-30T18:00:00.000Z');
  });
});

describe('definePipeline: orchestration rules', () => {
  const problems = (steps: Steps) => {
    try {
      pipeline(steps);
    } catch (e) {
      return (e as { problems: string[] }).problems;
    }
    return [];
  };

  it('refuses N_TO_N between steps that do not pair child by child', () => {
    expect(problems([{ name: 'a', ...job, fanOut: 'count', count: 3 }, { name: 'b', ...job, fanOut: 'count', count: 4, dependsOn: [{ step: 'a', type: 'N_TO_N' }] }])).toEqual([
      expect.stringMatching(/^steps\.1\.dependsOn: N_TO_N on "a" needs the same fan-out/),
    ]);
    expect(problems([{ name: 'a', approval: { timeoutSeconds: 60 } }, { name: 'b', ...job, dependsOn: [{ step: 'a', type: 'N_TO_N' }] }])).toEqual([
      expect.stringMatching(/^steps\.1\.dependsOn: N_TO_N on "a" needs two steps that run jobs/),
    ]);
  });

  it('refuses a wait in an unknown time zone, and job fields on a wait or an approval', () => {
    expect(problems([{ name: 'w', wait: { until: '06:00', timezone: 'Europe/Londres' } }])).toEqual(['steps.0.wait.timezone: is not a known IANA time zone']);
    expect(problems([{ name: 'a', approval: { timeoutSeconds: 60 }, environment: { X: '1' }, evaluateOnExit: [{ onExitCode: '3', action: 'EXIT' }] }])).toEqual([
      'steps.0.environment: a approval step runs no job: it takes no environment',
      'steps.0.evaluateOnExit: a approval step runs no job: it takes no evaluateOnExit',
    ]);
    expect(problems([{ name: 'w', wait: { seconds: 5 }, fanOut: 'partitions' }])).toEqual(['steps.0.fanOut: a wait step is single']);
  });

  it('refuses a condition on a step that is not upstream, and handlers with dependencies or dependents', () => {
    expect(problems([{ name: 'a', ...job }, { name: 'b', ...job, when: { step: 'a', path: 'x', exists: true } }])).toEqual([
      expect.stringMatching(/^steps\.1\.when\.step: "a" must be a step this one depends on/),
    ]);
    expect(
      problems([
        { name: 'a', ...job, onFailure: 'h' },
        { name: 'h', ...job, dependsOn: ['a'] },
      ]),
    ).toContainEqual(expect.stringMatching(/^steps\.1\.dependsOn: "h" is an onFailure step: it runs when a step it handles fails/));
    expect(problems([{ name: 'a', ...job, onFailure: 'h' }, { name: 'h', ...job }, { name: 'c', ...job, dependsOn: ['h'] }])).toEqual([
      expect.stringMatching(/^steps\.2\.dependsOn: "h" is an onFailure step \(it runs only on failure\)/),
    ]);
  });
});
