import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BUILT_IN_PIPELINES, NIGHTLY_TCA } from '@nightshift/jobs-domain';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InvalidPipelineFilesError, type PipelineFileProblem } from './errors.js';
import { deployedPipelines, loadPipelineFiles } from './pipeline-files.js';

/*
 * loadPipelineFiles against real files in a temporary directory: what the loader adds to
 * parsePipelineFiles (jobs-domain, pipeline-files.spec.ts, which covers what a file may say and how
 * each refusal reads): which files it reads and in which order, a missing directory, and that
 * problems name each file by its path in the directory.
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

/** A pipeline file of one step, valid but for `dependsOn` (line 8, column 17) if given. */
const pipelineFile = (name: string, dependsOn: string[] = []) =>
  `name: ${name}\ndescription: test\ntrigger:\n  datasets: [executions]\nsteps:\n  - name: a\n    command: ["true"]\n    dependsOn: [${dependsOn.join(', ')}]\n`;

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

describe('loadPipelineFiles: which files', () => {
  it('reads .yaml, .yml and .json files in name order; ignores other files and subdirectories', async () => {
    await write('c.json', JSON.stringify({ name: 'from-json', description: 'test', trigger: { datasets: ['executions'] }, steps: [{ name: 'a', command: ['true'] }] }));
    await write('a.yml', pipelineFile('from-yml'));
    await write('b.yaml', pipelineFile('from-yaml'));
    await write('README.md', '# not a pipeline');
    await write('notes.txt', 'name: nope');
    await mkdir(join(dir, 'more.yaml'));
    await mkdir(join(dir, 'nested'));
    await writeFile(join(dir, 'nested', 'x.yaml'), 'not: [valid');
    expect(load().map((p) => p.name)).toEqual(['from-yml', 'from-yaml', 'from-json']);
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
});

describe('loadPipelineFiles: refusals name the file by its path in the directory', () => {
  it('a problem, at its file, path and line, under the directory', async () => {
    await write('bad-dep.yaml', pipelineFile('bad-dep', ['b']));
    const error = refusal();
    const file = join(dir, 'bad-dep.yaml');
    expect(error.problems).toEqual([{ file, path: 'steps.0.dependsOn.0', line: 8, column: 17, message: 'unknown step "b"' }]);
    expect(error.message).toBe(`invalid pipeline files in ${dir} (1 problem):\n  ${file}: steps.0.dependsOn.0 (line 8, col 17): unknown step "b"`);
  });

  it('a trigger naming no pipeline of the directory', async () => {
    await write('b.json', JSON.stringify({ name: 'follow-up', description: 'test', trigger: { pipelines: ['ghost'] }, steps: [{ name: 'a', command: ['true'] }] }));
    expect(refusal().problems.map((p) => p.message)).toEqual([
      `unknown pipeline "ghost" (neither built in nor defined in a file of ${dir})`,
    ]);
  });

  it('every problem of every file at once, in name order; a dangling link is no file', async () => {
    await write('a.yaml', pipelineFile('a', ['b']));
    await symlink(join(dir, 'gone.txt'), join(dir, 'b-dangling.yaml'));
    await write('c.yaml', 'name: [unclosed\n');
    await write('d.yaml', pipelineFile('nightly-tca'));
    const error = refusal();
    const where = (p: PipelineFileProblem) => `${p.file.slice(dir.length + 1)} ${p.path}`;
    // The dangling link is skipped, as a subdirectory is: only files (or links to files) are read.
    expect(error.problems.map(where)).toEqual(['a.yaml steps.0.dependsOn.0', 'c.yaml ', 'd.yaml name']);
    const lines = error.message.split('\n');
    expect(lines[0]).toBe(`invalid pipeline files in ${dir} (3 problems):`);
    expect(lines[2]).toMatch(/^ {2}\S+c\.yaml \(line \d+, col \d+\): YAML syntax error: /);
  });
});

describe('deployedPipelines', () => {
  it("is the built-in pipelines, then the configured directory's, then those given in code", async () => {
    await write('tca-extra.yaml', pipelineFile('tca-extra'));
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
    await write('tca-extra.yaml', pipelineFile('tca-extra'));
    expect(() => deployedPipelines({ pipelinesDir: dir }, [{ ...NIGHTLY_TCA, name: 'tca-extra' }])).toThrow(
      InvalidPipelineFilesError,
    );
  });
});
