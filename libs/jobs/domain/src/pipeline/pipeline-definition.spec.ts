import { describe, expect, it } from 'vitest';
import { InvalidPipelineError } from '../errors.js';
import { aPipeline, aPipelineInput, aStep } from '../testing/builders.js';
import {
  commandJobDefinitionName,
  definePipeline,
  evaluateOnExitSchema,
  jobQueueNameSchema,
  MAX_PARAMETER_SETS,
  parameterSets,
  pipelineDefinitionSchema,
  topologicalSteps,
  WORKER_EXIT_RULES,
} from './pipeline-definition.js';

/** Runs `definePipeline` expecting a rejection, and returns the error to inspect. */
function rejection(input: unknown): InvalidPipelineError {
  try {
    definePipeline(input);
  } catch (e) {
    expect(e).toBeInstanceOf(InvalidPipelineError);
    return e as InvalidPipelineError;
  }
  return expect.unreachable('definePipeline accepted an invalid pipeline');
}

describe('definePipeline', () => {
  it('accepts a valid pipeline and applies the defaults', () => {
    const pipeline = definePipeline(aPipelineInput({ requiredTables: undefined, steps: [aStep({ dependsOn: undefined, queue: undefined })] }));
    expect(pipeline.requiredTables).toEqual([]);
    expect(pipeline.steps[0]).toMatchObject({ name: 'tca', dependsOn: [], queue: 'default', attempts: 3, environment: {}, evaluateOnExit: [] });
    expect(pipeline).not.toHaveProperty('timeoutSeconds');
    for (const key of ['command', 'count', 'shareIdentifier', 'schedulingPriority']) expect(pipeline.steps[0]).not.toHaveProperty(key);
  });

  it('rejects duplicate step names', () => {
    const error = rejection(aPipelineInput({ steps: [aStep({ name: 'tca' }), aStep({ name: 'rollup', fanOut: 'single' }), aStep({ name: 'tca' })] }));
    expect(error.pipeline).toBe('nightly-tca');
    expect(error.problems).toEqual(['steps.2.name: duplicate step name "tca"']);
    expect(error.issues).toEqual([{ path: ['steps', 2, 'name'], message: 'duplicate step name "tca"' }]);
    expect(error.retryable).toBe(false);
    expect(error.message).toBe('pipeline nightly-tca is invalid: steps.2.name: duplicate step name "tca"');
  });

  it('rejects a dependency on an unknown step, naming the step and the dependency', () => {
    const error = rejection(aPipelineInput({ steps: [aStep(), aStep({ name: 'rollup', fanOut: 'single', dependsOn: ['tca', 'tcaa'] })] }));
    expect(error.problems).toEqual(['steps.1.dependsOn.1: unknown step "tcaa"']);
    expect(error.issues).toEqual([{ path: ['steps', 1, 'dependsOn', 1], message: 'unknown step "tcaa"' }]);
  });

  it('points at the dependency as written, before duplicates are merged', () => {
    const error = rejection(aPipelineInput({ steps: [aStep(), aStep({ name: 'rollup', fanOut: 'single', dependsOn: ['tca', 'tca', { step: 'tcaa' }] })] }));
    expect(error.problems).toEqual(['steps.1.dependsOn.2: unknown step "tcaa"']);
  });

  it('rejects a step that depends on itself', () => {
    const error = rejection(aPipelineInput({ steps: [aStep({ dependsOn: ['tca'] })] }));
    expect(error.problems).toEqual(['steps.0.dependsOn.0: a step cannot depend on itself']);
  });

  it('reports a dependency cycle with its path', () => {
    const error = rejection(
      aPipelineInput({
        steps: [aStep({ name: 'a', dependsOn: ['b'] }), aStep({ name: 'b', dependsOn: ['c'] }), aStep({ name: 'c', dependsOn: ['a'] })],
      }),
    );
    expect(error.problems).toEqual(['steps: dependency cycle a -> b -> c -> a']);
  });

  it('reports only the cycle, not the steps leading into it', () => {
    const error = rejection(
      aPipelineInput({
        steps: [
          aStep({ name: 'entry', dependsOn: ['a'] }),
          aStep({ name: 'a', dependsOn: ['b'] }),
          aStep({ name: 'b', dependsOn: ['c'] }),
          aStep({ name: 'c', dependsOn: ['a'] }),
        ],
      }),
    );
    expect(error.problems).toEqual(['steps: dependency cycle a -> b -> c -> a']);
  });

  it('lists every structural problem at once', () => {
    const error = rejection(
      aPipelineInput({ steps: [aStep({ name: 'a', dependsOn: ['a'] }), aStep({ name: 'a' }), aStep({ name: 'b', dependsOn: ['ghost'] })] }),
    );
    expect(error.problems).toEqual([
      'steps.1.name: duplicate step name "a"',
      'steps.0.dependsOn.0: a step cannot depend on itself',
      'steps.2.dependsOn.0: unknown step "ghost"',
    ]);
  });

  it('checks the trigger and the schedules even when the steps are wrong', () => {
    const error = rejection(
      aPipelineInput({ trigger: { datasets: [] }, schedules: [{ name: 'nightly', expression: 'cron(0 25 * * ? *)' }], steps: [aStep({ dependsOn: ['ghost'] })] }),
    );
    expect(error.issues.map((i) => i.path.join('.'))).toEqual(['steps.0.dependsOn.0', 'trigger', 'schedules', 'schedules.0.expression']);
  });

  it('reports each unknown key at the key, so a typo can be found where it is written', () => {
    const error = rejection(aPipelineInput({ steps: [aStep({ dependson: ['tca'], retries: 2 } as Partial<ReturnType<typeof aStep>>)] }));
    expect(error.issues).toEqual([
      { path: ['steps', 0, 'dependson'], message: 'unknown key "dependson"' },
      { path: ['steps', 0, 'retries'], message: 'unknown key "retries"' },
    ]);
  });

  it('names the field path of every schema error', () => {
    const error = rejection(
      aPipelineInput({
        name: 'Nightly TCA',
        steps: [aStep(), aStep({ name: 'rollup', fanOut: 'everything' as 'single', vcpus: 0, memoryMiB: 1.5 })],
      }),
    );
    expect(error.pipeline).toBe('Nightly TCA');
    expect(error.problems.map((p) => p.slice(0, p.indexOf(':')))).toEqual(['name', 'steps.1.fanOut', 'steps.1.vcpus', 'steps.1.memoryMiB']);
  });

  it('rejects unknown required tables and an empty step list', () => {
    const error = rejection(aPipelineInput({ requiredTables: ['executions' as 'fills'], steps: [] }));
    expect(error.problems.map((p) => p.slice(0, p.indexOf(':')))).toEqual(['requiredTables.0', 'steps']);
  });

  it('rejects input that is not an object', () => {
    for (const input of [null, undefined, 'nightly-tca', 42]) {
      const error = rejection(input);
      expect(error.pipeline).toBe('<unnamed>');
      expect(error.problems).toHaveLength(1);
      expect(error.problems[0]).toMatch(/^<root>: /);
    }
  });

  it.each([0, 11, -1, 2.5])('rejects %s attempts (AWS Batch allows 1..10)', (attempts) => {
    const error = rejection(aPipelineInput({ steps: [aStep({ attempts })] }));
    expect(error.problems).toHaveLength(1);
    expect(error.problems[0]).toMatch(/^steps\.0\.attempts: /);
  });

  it.each([1, 10])('accepts %s attempts', (attempts) => {
    expect(definePipeline(aPipelineInput({ steps: [aStep({ attempts })] })).steps[0].attempts).toBe(attempts);
  });
});

describe('parameter sweeps (fanOut "parameters")', () => {
  const sweep = (overrides: Parameters<typeof aStep>[0] = {}) =>
    aPipelineInput({ requiredTables: ['prices'], steps: [aStep({ name: 'sweep', analytic: 'backtest', fanOut: 'parameters', ...overrides })] });

  it('requires a grid, naming the field', () => {
    expect(rejection(sweep()).problems).toEqual(['steps.0.parameters: required for fanOut "parameters"']);
  });

  it('refuses a grid on a step of another fan-out kind', () => {
    const error = rejection(aPipelineInput({ steps: [aStep(), aStep({ name: 'rollup', fanOut: 'single', parameters: { fast: [5] } })] }));
    expect(error.problems).toEqual(['steps.1.parameters: only a step with fanOut "parameters" takes a parameter grid']);
  });

  it('rejects an empty grid, a parameter without values and repeated values, naming each field', () => {
    expect(rejection(sweep({ parameters: {} })).problems).toEqual(['steps.0.parameters: needs at least one parameter']);
    const error = rejection(sweep({ parameters: { fast: [], slow: [50, 50], costBps: [1] } }));
    expect(error.problems).toEqual(['steps.0.parameters.fast: every parameter needs at least one value', 'steps.0.parameters.slow: values must be distinct']);
  });

  it('rejects values that are neither numbers nor booleans', () => {
    const error = rejection(sweep({ parameters: { fast: [5, 'ten' as unknown as number] } }));
    expect(error.problems).toHaveLength(1);
    expect(error.problems[0]).toMatch(/^steps\.0\.parameters\.fast\.1: /);
  });

  it(`allows at most ${MAX_PARAMETER_SETS} parameter sets, as one AWS Batch array job`, () => {
    const values = (n: number) => Array.from({ length: n }, (_, i) => i + 1);
    expect(definePipeline(sweep({ parameters: { a: values(100), b: values(100) } })).steps[0].parameters).toBeDefined();
    expect(rejection(sweep({ parameters: { a: values(100), b: values(100), c: [true, false] } })).problems).toEqual([
      'steps.0.parameters: 20000 parameter sets, at most 10000 (one array job)',
    ]);
  });

  it('expands the grid as nested loops in key order, the first parameter slowest', () => {
    const [step] = definePipeline(sweep({ parameters: { fast: [5, 10], slow: [50, 100], allowShort: [false, true] } })).steps;
    const sets = parameterSets(step);
    expect(sets).toHaveLength(8);
    expect(sets.slice(0, 3)).toEqual([
      { fast: 5, slow: 50, allowShort: false },
      { fast: 5, slow: 50, allowShort: true },
      { fast: 5, slow: 100, allowShort: false },
    ]);
    expect(sets[7]).toEqual({ fast: 10, slow: 100, allowShort: true });
    expect(new Set(sets.map((s) => JSON.stringify(s))).size).toBe(8);
  });

  it('has no parameter sets for the other fan-out kinds', () => {
    expect(parameterSets(aPipeline().steps[0])).toEqual([]);
  });
});

/** The field path of each problem: what comes before the first ": ". */
const paths = (error: InvalidPipelineError) => error.problems.map((p) => p.slice(0, p.indexOf(': ')));

describe('analytic or command', () => {
  it('accepts a step that runs a command instead of an analytic, with its own environment', () => {
    const [step] = definePipeline(
      aPipelineInput({ steps: [aStep({ name: 'noop', analytic: undefined, command: ['true'], environment: { NOOP_SLEEP_MS: '0', _TRACE: '1' } })] }),
    ).steps;
    expect(step).toMatchObject({ name: 'noop', command: ['true'], environment: { NOOP_SLEEP_MS: '0', _TRACE: '1' } });
    expect(step.analytic).toBeUndefined();
  });

  it('refuses a step with both, or neither, naming the step', () => {
    const both = rejection(aPipelineInput({ steps: [aStep(), aStep({ name: 'noop', fanOut: 'single', command: ['true'] })] }));
    expect(both.problems).toEqual(['steps.1.analytic: give exactly one of analytic, command, wait or approval']);
    const neither = rejection(aPipelineInput({ steps: [aStep({ analytic: undefined })] }));
    expect(neither.problems).toEqual(['steps.0.analytic: give exactly one of analytic, command, wait or approval']);
  });

  it('refuses an empty command or an empty argument, naming the field', () => {
    expect(paths(rejection(aPipelineInput({ steps: [aStep({ analytic: undefined, command: [] })] })))).toEqual(['steps.0.command']);
    expect(paths(rejection(aPipelineInput({ steps: [aStep({ analytic: undefined, command: ['run', ''] })] })))).toEqual(['steps.0.command.1']);
  });

  it('refuses an environment variable name that is not one, naming it', () => {
    const error = rejection(aPipelineInput({ steps: [aStep({ environment: { GOOD_1: 'x', '1BAD': 'y' } })] }));
    expect(paths(error)).toEqual(['steps.0.environment.1BAD']);
  });
});

describe('analytic options', () => {
  const perf = (options: unknown, more: Record<string, unknown> = {}) =>
    aPipelineInput({ name: 'market-performance', steps: [aStep({ name: 'perf', analytic: 'performance', options: options as Record<string, unknown>, ...more })] });

  it('accepts one or more periods for a performance step, in the order given', () => {
    expect(definePipeline(perf({ periods: ['daily', 'weekly', 'monthly'] })).steps[0]!.options).toEqual({ periods: ['daily', 'weekly', 'monthly'] });
    expect(definePipeline(perf({ periods: ['monthly'] })).steps[0]!.options).toEqual({ periods: ['monthly'] });
  });

  it('defaults the periods to daily when a performance step gives options without them, and leaves a step without options alone', () => {
    expect(definePipeline(perf({})).steps[0]!.options).toEqual({ periods: ['daily'] });
    expect(definePipeline(perf(undefined)).steps[0]).not.toHaveProperty('options');
  });

  it('parses its own output again to the same options', () => {
    const once = definePipeline(perf({ periods: ['weekly', 'daily'] }));
    expect(definePipeline(once).steps[0]!.options).toEqual({ periods: ['weekly', 'daily'] });
  });

  it('refuses an unknown period, naming the pipeline, the step, the analytic and the field', () => {
    const error = rejection(perf({ periods: ['daily', 'hourly'] }));
    expect(error.pipeline).toBe('market-performance');
    expect(error.problems).toEqual(['steps.0.options.periods.1: must be one of daily, weekly, monthly (step "perf", analytic "performance")']);
    expect(error.message).toContain('pipeline market-performance is invalid');
  });

  it('refuses no period and a repeated period', () => {
    expect(rejection(perf({ periods: [] })).problems).toEqual(['steps.0.options.periods: needs at least one period (step "perf", analytic "performance")']);
    expect(rejection(perf({ periods: ['weekly', 'weekly'] })).problems).toEqual(['steps.0.options.periods: periods must be distinct (step "perf", analytic "performance")']);
  });

  it('refuses an unknown option at its key, saying what the analytic takes', () => {
    const error = rejection(perf({ periods: ['daily'], riskfree: 0.01 }));
    expect(error.problems).toEqual(['steps.0.options.riskfree: unknown option "riskfree" (the analytic takes periods) (step "perf", analytic "performance")']);
  });

  it('refuses options on an analytic that takes none, and on a step that runs no analytic', () => {
    const tca = rejection(aPipelineInput({ steps: [aStep({ options: { periods: ['daily'] } })] }));
    expect(tca.problems).toEqual(['steps.0.options: the analytic takes no options (step "tca", analytic "tca")']);
    const command = rejection(aPipelineInput({ steps: [aStep({ name: 'noop', analytic: undefined, command: ['true'], options: {} })] }));
    expect(command.problems).toEqual(['steps.0.options: only an analytic step takes options (step "noop")']);
  });
});

describe('queue', () => {
  const withQueue = (queue: string) => aPipelineInput({ steps: [aStep(), aStep({ name: 'rollup', fanOut: 'single', dependsOn: ['tca'], queue })] });

  it.each(['default', 'nightshift-high_prio', 'Q1', '0-spot', 'q'.repeat(128)])('accepts the AWS Batch job queue name %s', (queue) => {
    expect(definePipeline(withQueue(queue)).steps[1].queue).toBe(queue);
  });

  it('refuses "my queue", naming the field and the rule', () => {
    expect(rejection(withQueue('my queue')).problems).toEqual([
      'steps.1.queue: must be 1-128 letters, digits, "-" or "_", starting with a letter or digit (AWS Batch job queue names)',
    ]);
  });

  it.each(['', '-spot', '_spot', 'q'.repeat(129), 'arn:aws:batch:eu-west-1:123456789012:job-queue/nightly', 'nightly.spot'])(
    'refuses the queue name "%s"',
    (queue) => {
      expect(paths(rejection(withQueue(queue)))).toEqual(['steps.1.queue']);
      expect(jobQueueNameSchema.safeParse(queue).success).toBe(false);
    },
  );
});

describe('evaluateOnExit', () => {
  /** A rule as written in a definition, valid or not. */
  type Rule = Record<string, string>;
  type Rules = NonNullable<Parameters<typeof aStep>[0]>['evaluateOnExit'];
  const withRules = (rules: Rule[]) => aPipelineInput({ steps: [aStep({ evaluateOnExit: rules as Rules })] });

  it('accepts exact and prefix patterns on exit code, status reason and container reason, and both cases of the action', () => {
    const rules: Rule[] = [
      { onExitCode: '137', action: 'RETRY' },
      { onExitCode: '1*', onStatusReason: 'Host EC2*', action: 'retry' },
      { onReason: 'CannotPullContainerError: pull access denied*', action: 'EXIT' },
      { onStatusReason: 'Essential container in task exited', onReason: 'OutOfMemoryError: Container killed due to memory usage', action: 'exit' },
    ];
    expect(definePipeline(withRules(rules)).steps[0].evaluateOnExit).toEqual(rules);
    expect(definePipeline(withRules([{ onExitCode: '*', action: 'RETRY' }])).steps[0].evaluateOnExit).toHaveLength(1);
  });

  it.each([
    ['onExitCode', 'abc'],
    ['onExitCode', '1*3'],
    ['onExitCode', '-1'],
    ['onExitCode', ''],
    ['onExitCode', '1'.repeat(513)],
    ['onStatusReason', 'a*b'],
    ['onStatusReason', 'Out-of-memory'],
    ['onReason', 'CannotStartContainerError (x)'],
    ['onReason', ''],
  ])('refuses %s "%s", naming the rule and field', (field, pattern) => {
    expect(paths(rejection(withRules([{ onExitCode: '1', action: 'EXIT' }, { [field]: pattern, action: 'EXIT' }])))).toEqual([
      `steps.0.evaluateOnExit.1.${field}`,
    ]);
  });

  it('names the pattern rules in its messages', () => {
    expect(rejection(withRules([{ onExitCode: 'x', action: 'EXIT' }])).problems).toEqual(['steps.0.evaluateOnExit.0.onExitCode: must be digits, optionally ending in "*"']);
    expect(rejection(withRules([{ onReason: 'a-b', action: 'EXIT' }])).problems).toEqual([
      'steps.0.evaluateOnExit.0.onReason: must be letters, digits, ".", ":" and white space, optionally ending in "*"',
    ]);
  });

  it.each(['Retry', 'ABORT', ''])('refuses the action "%s"', (action) => {
    expect(paths(rejection(withRules([{ onExitCode: '1', action }])))).toEqual(['steps.0.evaluateOnExit.0.action']);
  });

  it('refuses a rule without a condition', () => {
    expect(rejection(withRules([{ action: 'EXIT' }])).problems).toEqual(['steps.0.evaluateOnExit.0: needs onExitCode, onStatusReason or onReason']);
  });

  it('refuses a field AWS Batch does not know', () => {
    expect(rejection(withRules([{ onExitCode: '1', onCode: '2', action: 'EXIT' }])).problems).toEqual(['steps.0.evaluateOnExit.0.onCode: unknown key "onCode"']);
  });

  it("allows at most 4 rules per step: AWS allows 5 and the worker's exit-code-2 rule takes one", () => {
    const rule = { onExitCode: '1', action: 'EXIT' };
    expect(definePipeline(withRules([rule, rule, rule, rule])).steps[0].evaluateOnExit).toHaveLength(4);
    expect(rejection(withRules([rule, rule, rule, rule, rule])).problems).toEqual([
      "steps.0.evaluateOnExit: at most 4 rules: AWS allows 5 and the worker's exit-code-2 rule takes one",
    ]);
  });

  it("makes the worker's exit code 2 (bad input) fail the job at once, as a valid rule", () => {
    expect(WORKER_EXIT_RULES).toEqual([{ onExitCode: '2', action: 'EXIT' }]);
    for (const rule of WORKER_EXIT_RULES) expect(evaluateOnExitSchema.parse(rule)).toEqual(rule);
  });
});

describe('fair share', () => {
  it('accepts a share identifier of letters and digits and a priority of 0..9999', () => {
    const steps = definePipeline(
      aPipelineInput({ steps: [aStep({ shareIdentifier: 'apac', schedulingPriority: 0 }), aStep({ name: 'b', shareIdentifier: 'Desk42', schedulingPriority: 9999 })] }),
    ).steps;
    expect(steps.map((s) => [s.shareIdentifier, s.schedulingPriority])).toEqual([
      ['apac', 0],
      ['Desk42', 9999],
    ]);
  });

  it('refuses other share identifiers, naming the field and the rule', () => {
    expect(rejection(aPipelineInput({ steps: [aStep({ shareIdentifier: 'apac-cash' })] })).problems).toEqual([
      'steps.0.shareIdentifier: must be 1-255 letters or digits (AWS Batch share identifiers)',
    ]);
    expect(paths(rejection(aPipelineInput({ steps: [aStep({ shareIdentifier: '' }), aStep({ name: 'b', shareIdentifier: 'a'.repeat(256) })] })))).toEqual([
      'steps.0.shareIdentifier',
      'steps.1.shareIdentifier',
    ]);
  });

  it('refuses a priority outside 0..9999 or not whole, naming each step', () => {
    const error = rejection(
      aPipelineInput({
        steps: [aStep({ schedulingPriority: -1 }), aStep({ name: 'b', schedulingPriority: 10_000 }), aStep({ name: 'c', schedulingPriority: 1.5 })],
      }),
    );
    expect(paths(error)).toEqual(['steps.0.schedulingPriority', 'steps.1.schedulingPriority', 'steps.2.schedulingPriority']);
  });
});

describe('fanOut "count"', () => {
  const countStep = (overrides: Parameters<typeof aStep>[0] = {}) => aPipelineInput({ steps: [aStep({ name: 'noop', analytic: undefined, command: ['true'], fanOut: 'count', ...overrides })] });

  it.each([1, 10_000])('accepts a count of %s (AWS Batch array jobs go to 10,000)', (count) => {
    const [step] = definePipeline(countStep({ count })).steps;
    expect(step.count).toBe(count);
    expect(parameterSets(step)).toEqual([]);
  });

  it('requires a count, naming the field', () => {
    expect(rejection(countStep()).problems).toEqual(['steps.0.count: required for fanOut "count"']);
  });

  it('refuses a count on a step of another fan-out kind, naming the step', () => {
    expect(rejection(aPipelineInput({ steps: [aStep(), aStep({ name: 'rollup', fanOut: 'single', count: 3 })] })).problems).toEqual([
      'steps.1.count: only a step with fanOut "count" takes a count',
    ]);
  });

  it.each([0, 10_001, 2.5, -1])('refuses a count of %s', (count) => {
    expect(paths(rejection(countStep({ count })))).toEqual(['steps.0.count']);
  });
});

describe('pipeline timeoutSeconds', () => {
  it.each([60, 30 * 24 * 3600])('accepts %s seconds', (timeoutSeconds) => {
    expect(definePipeline(aPipelineInput({ timeoutSeconds })).timeoutSeconds).toBe(timeoutSeconds);
  });

  it.each([0, -60, 2.5, 30 * 24 * 3600 + 1])('refuses %s seconds, naming the field', (timeoutSeconds) => {
    expect(paths(rejection(aPipelineInput({ timeoutSeconds })))).toEqual(['timeoutSeconds']);
  });
});

describe('topologicalSteps', () => {
  const names = (pipeline: ReturnType<typeof aPipeline>) => topologicalSteps(pipeline).map((s) => s.name);

  it('orders a fan-out DAG with its root first and siblings in declaration order', () => {
    const pipeline = aPipeline({
      steps: [aStep({ name: 'a' }), aStep({ name: 'b', dependsOn: ['a'] }), aStep({ name: 'c', dependsOn: ['a'] })],
    });
    expect(names(pipeline)).toEqual(['a', 'b', 'c']);
  });

  it('puts every step after its dependencies whatever the declaration order', () => {
    const pipeline = aPipeline({
      steps: [
        aStep({ name: 'report', fanOut: 'single', dependsOn: ['rollup', 'venues'] }),
        aStep({ name: 'rollup', fanOut: 'single', dependsOn: ['tca'] }),
        aStep({ name: 'venues', dependsOn: ['tca'] }),
        aStep({ name: 'tca' }),
      ],
    });
    const order = names(pipeline);
    expect(order).toEqual(['tca', 'rollup', 'venues', 'report']);
    for (const step of pipeline.steps) {
      for (const dep of step.dependsOn) expect(order.indexOf(dep)).toBeLessThan(order.indexOf(step.name));
    }
  });

  it('refuses (instead of looping forever) a cyclic definition that bypassed definePipeline', () => {
    const cyclic = pipelineDefinitionSchema.parse(aPipelineInput({ steps: [aStep({ name: 'a', dependsOn: ['b'] }), aStep({ name: 'b', dependsOn: ['a'] })] }));
    expect(() => topologicalSteps(cyclic)).toThrow(InvalidPipelineError);
    const unknownDep = pipelineDefinitionSchema.parse(aPipelineInput({ steps: [aStep({ name: 'a', dependsOn: ['ghost'] })] }));
    expect(() => topologicalSteps(unknownDep)).toThrow(InvalidPipelineError);
  });
});

describe('commandJobDefinitionName', () => {
  it("is nightshift-<pipeline>-<step>, cut to AWS Batch's 128 characters", () => {
    expect(commandJobDefinitionName('fills-export', 'seal')).toBe('nightshift-fills-export-seal');
    const long = commandJobDefinitionName(`p${'x'.repeat(62)}`, `s${'y'.repeat(62)}`);
    expect(long).toHaveLength(128);
    expect(long.startsWith(`nightshift-p${'x'.repeat(62)}-s`)).toBe(true);
  });
});
