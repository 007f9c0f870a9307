import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BUILT_IN_PIPELINES, NIGHTLY_TCA } from '@nightshift/jobs-domain';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InvalidPipelineFilesError, type PipelineFileProblem } from './errors.js';
import { deployedPipelines, loadPipelineFiles } from './pipeline-files.js';

/*
 * loadPipelineFiles against real files in a temporary directory. Line numbers in the expectations
 * are those of the fixtures below: keep the fixtures' layout when editing them.
 */

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ns-pipeline-files-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const write = (name: string, text: string) => writeFile(join(dir, name), text);
const load = () => loadPipelineFiles(dir, { builtIn: BUILT_IN_PIPELINES, required: true });

/** Runs the loader expecting a refusal, and returns the error to inspect. */
function refusal(): InvalidPipelineFilesError {
  try {
    load();
  } catch (e) {
    expect(e).toBeInstanceOf(InvalidPipelineFilesError);
    return e as InvalidPipelineFilesError;
  }
  return expect.unreachable('loadPipelineFiles accepted invalid files');
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

describe('loadPipelineFiles: valid files', () => {
  it('loads a YAML and a JSON file, in name order, with the defaults applied', async () => {
    await write('b-follow-up.json', JSON.stringify(FOLLOW_UP, null, 2));
    await write('a-tca-extra.yaml', TCA_EXTRA);
    const pipelines = load();
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
    expect(pipelines[1]!.trigger).toEqual({ datasets: [], pipelines: ['nightly-tca'] });
  });

  it('reads .yml too, and ignores other files and subdirectories', async () => {
    await write('tca-extra.yml', TCA_EXTRA);
    await write('README.md', '# not a pipeline');
    await write('notes.txt', 'name: nope');
    await mkdir(join(dir, 'more.yaml'));
    await mkdir(join(dir, 'nested'));
    await writeFile(join(dir, 'nested', 'x.yaml'), 'not: [valid');
    expect(load().map((p) => p.name)).toEqual(['tca-extra']);
  });

  it('loads nothing from an empty directory', () => {
    expect(load()).toEqual([]);
  });

  it('refuses a missing directory that was configured, naming it; accepts one that was not', () => {
    const missing = join(dir, 'nope');
    try {
      loadPipelineFiles(missing, { builtIn: BUILT_IN_PIPELINES, required: true });
      expect.unreachable('a missing required directory was accepted');
    } catch (e) {
      expect(e).toBeInstanceOf(InvalidPipelineFilesError);
      expect((e as InvalidPipelineFilesError).problems).toEqual([
        { file: missing, path: '', message: 'cannot read the pipelines directory: no such directory' },
      ]);
      expect((e as Error).message).toContain(missing);
    }
    expect(loadPipelineFiles(missing, { builtIn: BUILT_IN_PIPELINES, required: false })).toEqual([]);
  });

  it('lets a file chain after another file', async () => {
    await write('a.yaml', TCA_EXTRA);
    await write('b.json', JSON.stringify({ ...FOLLOW_UP, trigger: { pipelines: ['tca-extra'] } }));
    expect(load().map((p) => p.trigger.pipelines)).toEqual([[], ['tca-extra']]);
  });
});

describe('loadPipelineFiles: refusals name the file, the path and the line', () => {
  it('an unknown dependency', async () => {
    await write('tca-extra.yaml', TCA_EXTRA.replace('      - tca\n', '      - tcaa\n'));
    const error = refusal();
    const file = join(dir, 'tca-extra.yaml');
    expect(error.problems).toEqual([
      { file, path: 'steps.1.dependsOn.0', line: 16, column: 9, message: 'unknown step "tcaa"' },
    ]);
    expect(error.message).toContain(`${file}: steps.1.dependsOn.0 (line 16, col 9): unknown step "tcaa"`);
    expect(error.retryable).toBe(false);
  });

  it('a bad schedule expression', async () => {
    await write('tca-extra.yaml', TCA_EXTRA.replace('cron(30 22 ? * MON-FRI *)', 'cron(30 25 ? * MON-FRI *)'));
    const [problem, ...rest] = refusal().problems;
    expect(rest).toEqual([]);
    expect(problem).toMatchObject({ path: 'schedules.0.expression', line: 7, column: 17 });
    expect(problem!.message).toMatch(/hours/);
  });

  it('an unknown key (a typo), at the key', async () => {
    await write('tca-extra.yaml', TCA_EXTRA.replace('    dependsOn:\n', '    dependson:\n'));
    expect(refusal().problems).toEqual([
      {
        file: join(dir, 'tca-extra.yaml'),
        path: 'steps.1.dependson',
        line: 15,
        column: 5,
        message: 'unknown key "dependson"',
      },
    ]);
  });

  it('a missing field, at the mapping that lacks it', async () => {
    await write('tca-extra.yaml', TCA_EXTRA.replace('    analytic: tca\n', ''));
    expect(refusal().problems).toEqual([
      {
        file: join(dir, 'tca-extra.yaml'),
        path: 'steps.0.analytic',
        line: 10,
        column: 5,
        message: 'give exactly one of analytic, command, wait or approval',
      },
    ]);
  });

  it('a YAML syntax error', async () => {
    await write('broken.yaml', 'name: broken\nsteps:\n  - name: a\n    dependsOn: [b\n');
    const [problem, ...rest] = refusal().problems;
    expect(rest).toEqual([]);
    expect(problem).toMatchObject({ file: join(dir, 'broken.yaml'), path: '', line: 5, column: 1 });
    expect(problem!.message).toMatch(/^YAML syntax error: /);
  });

  it('a JSON syntax error, with its line', async () => {
    await write('broken.json', '{\n  "name": "broken",\n  "steps": [\n}\n');
    const [problem] = refusal().problems;
    expect(problem).toMatchObject({ file: join(dir, 'broken.json'), path: '', line: 4 });
  });

  it('a file that is not one mapping', async () => {
    await write('a-list.yaml', '- name: a\n- name: b\n');
    await write('b-empty.yml', '# nothing yet\n');
    await write('c-two.yaml', `${TCA_EXTRA}---\n${TCA_EXTRA}`);
    const problems = refusal().problems;
    expect(problems.map((p) => [p.file, p.message.split(':')[0]])).toEqual([
      [join(dir, 'a-list.yaml'), 'found a list'],
      [join(dir, 'b-empty.yml'), 'the file is empty'],
      [join(dir, 'c-two.yaml'), 'holds several YAML documents'],
    ]);
    expect(problems[2]!.line).toBe(17);
  });

  it('a name taken by a built-in pipeline', async () => {
    await write('mine.yaml', TCA_EXTRA.replace('name: tca-extra', 'name: nightly-tca'));
    expect(refusal().problems).toEqual([
      {
        file: join(dir, 'mine.yaml'),
        path: 'name',
        line: 1,
        column: 7,
        message: 'pipeline "nightly-tca" is a built-in pipeline: give this one another name',
      },
    ]);
  });

  it('a name taken by another file, naming both', async () => {
    await write('a.yaml', TCA_EXTRA);
    await write('b.json', JSON.stringify({ ...FOLLOW_UP, name: 'tca-extra' }));
    const [problem, ...rest] = refusal().problems;
    expect(rest).toEqual([]);
    expect(problem).toMatchObject({ file: join(dir, 'b.json'), path: 'name', line: 1 });
    expect(problem!.message).toBe(`pipeline "tca-extra" is also defined in ${join(dir, 'a.yaml')}`);
  });

  it('a trigger naming no known pipeline', async () => {
    await write(
      'follow-up.yaml',
      'name: follow-up\ndescription: after\ntrigger:\n  pipelines:\n    - nightly-tca\n    - nightly-tcaa\nsteps:\n  - name: a\n    command: ["true"]\n',
    );
    const [problem, ...rest] = refusal().problems;
    expect(rest).toEqual([]);
    expect(problem).toMatchObject({ path: 'trigger.pipelines.1', line: 6, column: 7 });
    expect(problem!.message).toMatch(/^unknown pipeline "nightly-tcaa"/);
  });

  it('chains that form a cycle', async () => {
    const chained = (name: string, after: string) =>
      `name: ${name}\ndescription: chained\ntrigger:\n  pipelines: [${after}]\nsteps:\n  - name: a\n    command: ["true"]\n`;
    await write('a.yaml', chained('a', 'c'));
    await write('b.yaml', chained('b', 'a'));
    await write('c.yaml', chained('c', 'b'));
    await write('d.yaml', chained('d', 'a'));
    expect(refusal().problems).toEqual([
      {
        file: join(dir, 'a.yaml'),
        path: 'trigger.pipelines.0',
        line: 4,
        column: 15,
        message: 'chaining cycle a -> b -> c -> a: each run would start the next, forever',
      },
    ]);
  });

  it('every problem of every file at once, one per line of the message', async () => {
    await write('a.yaml', TCA_EXTRA.replace('      - tca\n', '      - tcaa\n').replace('cron(30 22', 'cron(30 25'));
    await write('b.yaml', 'name: [unclosed\n');
    await write(
      'c.json',
      JSON.stringify({
        ...FOLLOW_UP,
        trigger: { pipelines: ['ghost'] },
        steps: [{ name: 'notify', command: ['true'], vcpus: 0 }],
      }),
    );
    await write('d.yaml', TCA_EXTRA.replace('name: tca-extra', 'name: desk-risk'));
    const error = refusal();
    const where = (p: PipelineFileProblem) => `${p.file.slice(dir.length + 1)} ${p.path}`;
    expect(error.problems.map(where)).toEqual([
      'a.yaml steps.1.dependsOn.0',
      'a.yaml schedules.0.expression',
      'b.yaml ',
      'c.json steps.0.vcpus',
      'c.json trigger.pipelines.0',
      'd.yaml name',
    ]);
    const lines = error.message.split('\n');
    expect(lines[0]).toBe(`invalid pipeline files in ${dir} (6 problems):`);
    expect(lines.slice(1)).toHaveLength(6);
    expect(lines[3]).toMatch(/^ {2}\S+b\.yaml \(line \d+, col \d+\): YAML syntax error: /);
  });
});

describe('deployedPipelines', () => {
  it("is the built-in pipelines, then the configured directory's, then those given in code", async () => {
    await write('tca-extra.yaml', TCA_EXTRA);
    const extra = { ...NIGHTLY_TCA, name: 'in-code' };
    expect(deployedPipelines({}, [extra]).map((p) => p.name)).toEqual([
      ...BUILT_IN_PIPELINES.map((p) => p.name),
      'in-code',
    ]);
    expect(deployedPipelines({ pipelinesDir: dir }, [extra]).map((p) => p.name)).toEqual([
      ...BUILT_IN_PIPELINES.map((p) => p.name),
      'tca-extra',
      'in-code',
    ]);
  });

  it('refuses a file that takes the name of a pipeline given in code', async () => {
    await write('tca-extra.yaml', TCA_EXTRA);
    expect(() => deployedPipelines({ pipelinesDir: dir }, [{ ...NIGHTLY_TCA, name: 'tca-extra' }])).toThrow(
      InvalidPipelineFilesError,
    );
  });
});
