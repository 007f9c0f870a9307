import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BUILT_IN_PIPELINES, NIGHTLY_TCA } from '@nightshift/jobs-domain';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InvalidPipelineFilesError, type PipelineFileProblem } from './errors.js';
import { deployedPipelines, loadPipelineFiles } from './pipeline-files.js';

/*
 * loadPipelineFiles against real files in a temporary directory: which files it reads, and that
 * their problems name them by path. Line numbers in the expectations are those of the fixtures
 * below: keep the fixtures' layout when editing them.
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

describe('loadPipelineFiles: refusals name the file by its path in the directory', () => {
  // What each refusal says is parsePipelineFiles' (jobs-domain, pipeline-files.spec.ts): here, that
  // the files read reach it with their paths, and every file's problems come at once, in name order.
  it('an unknown dependency, at its file, path and line', async () => {
    await write('tca-extra.yaml', TCA_EXTRA.replace('      - tca\n', '      - tcaa\n'));
    const error = refusal();
    const file = join(dir, 'tca-extra.yaml');
    expect(error.problems).toEqual([
      { file, path: 'steps.1.dependsOn.0', line: 16, column: 9, message: 'unknown step "tcaa"' },
    ]);
    expect(error.message).toBe(
      `invalid pipeline files in ${dir} (1 problem):\n  ${file}: steps.1.dependsOn.0 (line 16, col 9): unknown step "tcaa"`,
    );
    expect(error.retryable).toBe(false);
  });

  it('a trigger naming no pipeline of the directory', async () => {
    await write('b.json', JSON.stringify({ ...FOLLOW_UP, trigger: { pipelines: ['ghost'] } }));
    expect(refusal().problems.map((p) => p.message)).toEqual([
      `unknown pipeline "ghost" (neither built in nor defined in a file of ${dir})`,
    ]);
  });

  it('every problem of every file at once, in name order; a dangling link is no file', async () => {
    await write('a.yaml', TCA_EXTRA.replace('cron(30 22', 'cron(30 25'));
    await symlink(join(dir, 'gone.txt'), join(dir, 'b-dangling.yaml'));
    await write('c.yaml', 'name: [unclosed\n');
    await write('d.yaml', TCA_EXTRA.replace('name: tca-extra', 'name: desk-risk'));
    const error = refusal();
    const where = (p: PipelineFileProblem) => `${p.file.slice(dir.length + 1)} ${p.path}`;
    // The dangling link is skipped, as a subdirectory is: only files (or links to files) are read.
    expect(error.problems.map(where)).toEqual(['a.yaml schedules.0.expression', 'c.yaml ', 'd.yaml name']);
    const lines = error.message.split('\n');
    expect(lines[0]).toBe(`invalid pipeline files in ${dir} (3 problems):`);
    expect(lines[2]).toMatch(/^ {2}\S+c\.yaml \(line \d+, col \d+\): YAML syntax error: /);
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
