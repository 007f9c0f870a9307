import { describe, expect, it } from 'vitest';
import { InvalidPipelineFilesError, type PipelineFileProblem } from '../errors.js';
import { isPipelineFileName, parsePipelineFiles, type PipelineFileText } from './pipeline-files.js';
import { BUILT_IN_PIPELINES } from './pipelines.js';

/*
 * parsePipelineFiles on file texts. Line numbers in the expectations are those of the fixtures
 * below: keep the fixtures' layout when editing them.
 */

const parse = (...files: PipelineFileText[]) => parsePipelineFiles(files, { builtIn: BUILT_IN_PIPELINES, dir: 'pipelines' });

/** Parses expecting a refusal, and returns the error to inspect. */
function refusal(...files: PipelineFileText[]): InvalidPipelineFilesError {
  try {
    parse(...files);
  } catch (e) {
    expect(e).toBeInstanceOf(InvalidPipelineFilesError);
    return e as InvalidPipelineFilesError;
  }
  return expect.unreachable('parsePipelineFiles accepted invalid files');
}

/** A valid pipeline: line 16 is the rollup's dependency, line 7 the schedule's expression. */
const TCA_EXTRA = `name: tca-extra
description: Extra roll-ups of the nightly TCA.
trigger:
  datasets: [executions]
schedules:
  - name: nightly
    expression: cron(30 22 ? * MON-FRI *)
    timezone: America/New_York
steps:
  - name: tca
    analytic: tca
    fanOut: partitions
  - name: rollup
    command: ["true"]
    dependsOn:
      - tca
`;

const FOLLOW_UP = {
  name: 'tca-follow-up',
  description: 'Runs after each nightly TCA.',
  trigger: { pipelines: ['nightly-tca'] },
  steps: [{ name: 'notify', command: ['true'] }],
};

const file = (name: string, text: string): PipelineFileText => ({ name, text });

describe('parsePipelineFiles: valid files', () => {
  it('parses YAML and JSON, in the order given, with the defaults applied', () => {
    const pipelines = parse(file('a-tca-extra.yaml', TCA_EXTRA), file('b-follow-up.json', JSON.stringify(FOLLOW_UP, null, 2)));
    expect(pipelines.map((p) => p.name)).toEqual(['tca-extra', 'tca-follow-up']);
    expect(pipelines[0]!.schedules[0]).toMatchObject({
      expression: 'cron(30 22 ? * MON-FRI *)',
      timezone: 'America/New_York',
      businessDate: 'previous',
    });
    expect(pipelines[0]!.steps[1]).toMatchObject({
      name: 'rollup',
      command: ['true'],
      dependsOn: ['tca'],
      attempts: 1,
      queue: 'default',
    });
    expect(pipelines[1]!.trigger).toEqual({ datasets: [], onLanding: true, pipelines: ['nightly-tca'] });
  });

  it('parses no files into no pipelines', () => {
    expect(parse()).toEqual([]);
  });

  it('lets a file chain after another file', () => {
    const pipelines = parse(file('a.yaml', TCA_EXTRA), file('b.json', JSON.stringify({ ...FOLLOW_UP, trigger: { pipelines: ['tca-extra'] } })));
    expect(pipelines.map((p) => p.trigger.pipelines)).toEqual([[], ['tca-extra']]);
  });

  it('knows pipeline files by extension: .yaml, .yml and .json', () => {
    expect(['a.yaml', 'a.yml', 'a.json', 'README.md', 'notes.txt', 'a.yaml.bak'].filter(isPipelineFileName)).toEqual(['a.yaml', 'a.yml', 'a.json']);
  });
});

describe('parsePipelineFiles: refusals name the file, the path and the line', () => {
  it('an unknown dependency', () => {
    const error = refusal(file('pipelines/tca-extra.yaml', TCA_EXTRA.replace('      - tca\n', '      - tcaa\n')));
    expect(error.problems).toEqual([
      { file: 'pipelines/tca-extra.yaml', path: 'steps.1.dependsOn.0', line: 16, column: 9, message: 'unknown step "tcaa"' },
    ]);
    expect(error.message).toBe(
      'invalid pipeline files in pipelines (1 problem):\n  pipelines/tca-extra.yaml: steps.1.dependsOn.0 (line 16, col 9): unknown step "tcaa"',
    );
    expect(error.retryable).toBe(false);
    expect(error.dir).toBe('pipelines');
  });

  it('names no directory when none was given', () => {
    try {
      parsePipelineFiles([file('tca-extra.yaml', TCA_EXTRA.replace('name: tca-extra', 'name: nightly-tca'))], { builtIn: BUILT_IN_PIPELINES });
      expect.unreachable('a built-in name was accepted');
    } catch (e) {
      expect((e as InvalidPipelineFilesError).dir).toBeUndefined();
      expect((e as Error).message.split('\n')[0]).toBe('invalid pipeline files (1 problem):');
    }
  });

  it('a bad schedule expression', () => {
    const [problem, ...rest] = refusal(file('tca-extra.yaml', TCA_EXTRA.replace('cron(30 22 ? * MON-FRI *)', 'cron(30 25 ? * MON-FRI *)'))).problems;
    expect(rest).toEqual([]);
    expect(problem).toMatchObject({ path: 'schedules.0.expression', line: 7, column: 17 });
    expect(problem!.message).toMatch(/hours/);
  });

  it('an unknown key (a typo), at the key', () => {
    expect(refusal(file('tca-extra.yaml', TCA_EXTRA.replace('    dependsOn:\n', '    dependson:\n'))).problems).toEqual([
      { file: 'tca-extra.yaml', path: 'steps.1.dependson', line: 15, column: 5, message: 'unknown key "dependson"' },
    ]);
  });

  it('a missing field, at the mapping that lacks it', () => {
    expect(refusal(file('tca-extra.yaml', TCA_EXTRA.replace('    analytic: tca\n', ''))).problems).toEqual([
      {
        file: 'tca-extra.yaml',
        path: 'steps.0.analytic',
        line: 10,
        column: 5,
        message: 'give exactly one of analytic, command, wait or approval',
      },
    ]);
  });

  it('a YAML syntax error', () => {
    const [problem, ...rest] = refusal(file('broken.yaml', 'name: broken\nsteps:\n  - name: a\n    dependsOn: [b\n')).problems;
    expect(rest).toEqual([]);
    expect(problem).toMatchObject({ file: 'broken.yaml', path: '', line: 5, column: 1 });
    expect(problem!.message).toMatch(/^YAML syntax error: /);
  });

  it('a JSON syntax error, with its line', () => {
    const [problem] = refusal(file('broken.json', '{\n  "name": "broken",\n  "steps": [\n}\n')).problems;
    expect(problem).toMatchObject({ file: 'broken.json', path: '', line: 4 });
  });

  it('a file that is not one mapping', () => {
    const problems = refusal(
      file('a-list.yaml', '- name: a\n- name: b\n'),
      file('b-empty.yml', '# nothing yet\n'),
      file('c-two.yaml', `${TCA_EXTRA}---\n${TCA_EXTRA}`),
    ).problems;
    expect(problems.map((p) => [p.file, p.message.split(':')[0]])).toEqual([
      ['a-list.yaml', 'found a list'],
      ['b-empty.yml', 'the file is empty'],
      ['c-two.yaml', 'holds several YAML documents'],
    ]);
    expect(problems[2]!.line).toBe(17);
  });

  it('a name taken by a built-in pipeline', () => {
    expect(refusal(file('mine.yaml', TCA_EXTRA.replace('name: tca-extra', 'name: nightly-tca'))).problems).toEqual([
      {
        file: 'mine.yaml',
        path: 'name',
        line: 1,
        column: 7,
        message: 'pipeline "nightly-tca" is a built-in pipeline: give this one another name',
      },
    ]);
  });

  it('a name taken by another file, naming both', () => {
    const [problem, ...rest] = refusal(file('a.yaml', TCA_EXTRA), file('b.json', JSON.stringify({ ...FOLLOW_UP, name: 'tca-extra' }))).problems;
    expect(rest).toEqual([]);
    expect(problem).toMatchObject({ file: 'b.json', path: 'name', line: 1 });
    expect(problem!.message).toBe('pipeline "tca-extra" is also defined in a.yaml');
  });

  it('a trigger naming no known pipeline', () => {
    const [problem, ...rest] = refusal(
      file(
        'follow-up.yaml',
        'name: follow-up\ndescription: after\ntrigger:\n  pipelines:\n    - nightly-tca\n    - nightly-tcaa\nsteps:\n  - name: a\n    command: ["true"]\n',
      ),
    ).problems;
    expect(rest).toEqual([]);
    expect(problem).toMatchObject({ path: 'trigger.pipelines.1', line: 6, column: 7 });
    expect(problem!.message).toBe('unknown pipeline "nightly-tcaa" (neither built in nor defined in a file of pipelines)');
  });

  it('chains that form a cycle', () => {
    const chained = (name: string, after: string) =>
      file(`${name}.yaml`, `name: ${name}\ndescription: chained\ntrigger:\n  pipelines: [${after}]\nsteps:\n  - name: a\n    command: ["true"]\n`);
    expect(refusal(chained('a', 'c'), chained('b', 'a'), chained('c', 'b'), chained('d', 'a')).problems).toEqual([
      {
        file: 'a.yaml',
        path: 'trigger.pipelines.0',
        line: 4,
        column: 15,
        message: 'chaining cycle a -> b -> c -> a: each run would start the next, forever',
      },
    ]);
  });

  it('every problem of every file at once, file by file, one per line of the message', () => {
    const error = refusal(
      file('a.yaml', TCA_EXTRA.replace('      - tca\n', '      - tcaa\n').replace('cron(30 22', 'cron(30 25')),
      file('b.yaml', 'name: [unclosed\n'),
      file(
        'c.json',
        JSON.stringify({
          ...FOLLOW_UP,
          trigger: { pipelines: ['ghost'] },
          steps: [{ name: 'notify', command: ['true'], vcpus: 0 }],
        }),
      ),
      file('d.yaml', TCA_EXTRA.replace('name: tca-extra', 'name: desk-risk')),
    );
    const where = (p: PipelineFileProblem) => `${p.file} ${p.path}`;
    expect(error.problems.map(where)).toEqual([
      'a.yaml steps.1.dependsOn.0',
      'a.yaml schedules.0.expression',
      'b.yaml ',
      'c.json steps.0.vcpus',
      'c.json trigger.pipelines.0',
      'd.yaml name',
    ]);
    const lines = error.message.split('\n');
    expect(lines[0]).toBe('invalid pipeline files in pipelines (6 problems):');
    expect(lines.slice(1)).toHaveLength(6);
    expect(lines[3]).toMatch(/^ {2}b\.yaml \(line \d+, col \d+\): YAML syntax error: /);
  });
});
