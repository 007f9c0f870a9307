import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BUILT_IN_PIPELINES, InvalidPipelineFilesError } from '@nightshift/jobs-domain';
import { deployedPipelines, readPipelineFiles } from './pipelines.js';

/* The CDK app's pipelines against real files in a temporary directory (how they parse: jobs-domain's spec). */

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nightshift-infra-pipelines-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const ARCHIVE = `name: fills-archive
description: Archives the fills.
trigger:
  datasets: [executions]
schedules:
  - name: nightly
    expression: cron(0 23 ? * MON-FRI *)
steps:
  - name: archive
    command: [archive-fills]
    image: public.ecr.aws/docker/library/alpine:3.20
`;

describe('deployedPipelines', () => {
  it('is the built-in pipelines without a pipelines directory', () => {
    expect(deployedPipelines({})).toEqual(BUILT_IN_PIPELINES);
  });

  it("is the built-in pipelines, then the directory's, as the services load them", async () => {
    await writeFile(join(dir, 'fills-archive.yaml'), ARCHIVE);
    const pipelines = deployedPipelines({ pipelinesDir: dir });
    expect(pipelines.map((p) => p.name)).toEqual([...BUILT_IN_PIPELINES.map((p) => p.name), 'fills-archive']);
    expect(pipelines.at(-1)!.schedules[0]).toMatchObject({ name: 'nightly', expression: 'cron(0 23 ? * MON-FRI *)' });
    expect(pipelines.at(-1)!.steps[0]).toMatchObject({ command: ['archive-fills'], image: 'public.ecr.aws/docker/library/alpine:3.20' });
  });

  it('refuses a bad file with the loader\'s message: its path, the path in it and the line', async () => {
    const file = join(dir, 'fills-archive.yaml');
    await writeFile(file, ARCHIVE.replace('cron(0 23', 'cron(0 25'));
    try {
      deployedPipelines({ pipelinesDir: dir });
      expect.unreachable('a bad file was deployed');
    } catch (e) {
      expect(e).toBeInstanceOf(InvalidPipelineFilesError);
      expect((e as Error).message).toMatch(new RegExp(`^invalid pipeline files in ${dir} \\(1 problem\\):\\n  ${file}: schedules\\.0\\.expression \\(line 7, col 17\\): `));
    }
  });

  it('refuses a directory that is not there, naming it', () => {
    const missing = join(dir, 'nope');
    expect(() => deployedPipelines({ pipelinesDir: missing })).toThrow(`invalid pipeline files in ${missing} (1 problem):\n  ${missing}: cannot read the pipelines directory: no such directory`);
  });
});

describe('readPipelineFiles', () => {
  it("reads the .yaml, .yml and .json files and links to files, in name order, by path; nothing else", async () => {
    await writeFile(join(dir, 'b.yml'), 'b');
    await writeFile(join(dir, 'a.json'), 'a');
    await writeFile(join(dir, 'README.md'), '# not a pipeline');
    await mkdir(join(dir, 'c.yaml'));
    await symlink(join(dir, 'a.json'), join(dir, 'd.yaml'));
    await symlink(join(dir, 'gone'), join(dir, 'e.yaml'));
    expect(readPipelineFiles(dir)).toEqual([
      { name: join(dir, 'a.json'), text: 'a' },
      { name: join(dir, 'b.yml'), text: 'b' },
      { name: join(dir, 'd.yaml'), text: 'a' },
    ]);
  });
});
