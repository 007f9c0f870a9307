import { describe, expect, it } from 'vitest';
import { InvalidPipelineError } from '../errors.js';
import { aPipeline, aPipelineInput, aStep } from '../testing/builders.js';
import { definePipeline, MAX_PARAMETER_SETS, parameterSets, pipelineDefinitionSchema, topologicalSteps } from './pipeline-definition.js';

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
    expect(pipeline.steps[0]).toMatchObject({ name: 'tca', dependsOn: [], queue: 'default', attempts: 3 });
  });

  it('rejects duplicate step names', () => {
    const error = rejection(aPipelineInput({ steps: [aStep({ name: 'tca' }), aStep({ name: 'rollup', fanOut: 'single' }), aStep({ name: 'tca' })] }));
    expect(error.pipeline).toBe('nightly-tca');
    expect(error.problems).toEqual(['steps: duplicate step name "tca"']);
    expect(error.retryable).toBe(false);
    expect(error.message).toBe('pipeline nightly-tca is invalid: steps: duplicate step name "tca"');
  });

  it('rejects a dependency on an unknown step, naming the step and the dependency', () => {
    const error = rejection(aPipelineInput({ steps: [aStep(), aStep({ name: 'rollup', fanOut: 'single', dependsOn: ['tca', 'tcaa'] })] }));
    expect(error.problems).toEqual(['steps.rollup.dependsOn: unknown step "tcaa"']);
  });

  it('rejects a step that depends on itself', () => {
    const error = rejection(aPipelineInput({ steps: [aStep({ dependsOn: ['tca'] })] }));
    expect(error.problems).toEqual(['steps.tca.dependsOn: a step cannot depend on itself']);
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
      'steps: duplicate step name "a"',
      'steps.a.dependsOn: a step cannot depend on itself',
      'steps.b.dependsOn: unknown step "ghost"',
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
