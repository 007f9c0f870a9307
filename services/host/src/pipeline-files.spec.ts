import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvalidPipelineFilesError } from '@nightshift/platform';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startEmbeddedPlatform, type EmbeddedPlatform } from './embedded-platform.js';
import { serviceEntrypoint } from './service-processes.js';

/*
 * The embedded platform with a directory of pipeline files (NIGHTSHIFT_PIPELINES_DIR): read once,
 * before anything starts; a good file's pipeline is one the API describes and the planner runs.
 */

const GOOD = `name: tca-extra
description: Extra roll-ups of the nightly TCA.
trigger:
  datasets: [executions]
steps:
  - name: tca
    analytic: tca
    fanOut: partitions
  - name: rollup
    command: ["true"]
    dependsOn: [tca]
`;

let root: string;
let pipelinesDir: string;
let platform: EmbeddedPlatform | undefined;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'ns-host-pipeline-files-'));
  pipelinesDir = join(root, 'pipelines');
  await mkdir(pipelinesDir);
});

afterEach(async () => {
  await platform?.stop();
  platform = undefined;
  await rm(root, { recursive: true, force: true });
});

const start = () =>
  startEmbeddedPlatform({
    home: join(root, 'home'),
    apiPort: 0,
    eventsPort: 0,
    vcpus: 1,
    memoryMiB: 1024,
    pipelinesDir,
  });

describe('embedded platform: pipeline files', () => {
  it('refuses to start on a bad file, naming the file and the path, before anything starts', async () => {
    await writeFile(join(pipelinesDir, 'tca-extra.yaml'), GOOD.replace('dependsOn: [tca]', 'dependsOn: [tcaa]'));
    const error = await start().then(
      (p) => {
        platform = p;
        return expect.unreachable('the platform started with a bad pipeline file');
      },
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(InvalidPipelineFilesError);
    expect((error as InvalidPipelineFilesError).problems).toEqual([
      {
        file: join(pipelinesDir, 'tca-extra.yaml'),
        path: 'steps.1.dependsOn.0',
        line: 11,
        column: 17,
        message: 'unknown step "tcaa"',
      },
    ]);
    expect((error as Error).message).toContain(
      `${join(pipelinesDir, 'tca-extra.yaml')}: steps.1.dependsOn.0 (line 11, col 17): unknown step "tcaa"`,
    );
    // Nothing else happened: not even the home directory was made.
    expect(existsSync(join(root, 'home'))).toBe(false);
  });

  it("serves a good file's pipeline beside the built-in ones", async () => {
    await writeFile(join(pipelinesDir, 'tca-extra.yaml'), GOOD);
    platform = await start();
    const headers = { authorization: `Bearer ${platform.apiKey}` };
    const res = await fetch(`${platform.apiUrl}/pipelines/tca-extra`, { headers });
    expect(res.status).toBe(200);
    const body = (await res.json()) as {
      name: string;
      trigger: unknown;
      steps: Array<{ name: string; dependsOn: string[] }>;
    };
    expect(body).toMatchObject({ name: 'tca-extra', trigger: { datasets: ['executions'], pipelines: [] } });
    expect(body.steps.map((s) => [s.name, s.dependsOn])).toEqual([
      ['tca', []],
      ['rollup', ['tca']],
    ]);
    expect((await fetch(`${platform.apiUrl}/pipelines/nightly-tca`, { headers })).status).toBe(200);
    // A registered executions dataset starts it, as it starts the built-in ones.
    expect(platform.pipelinesFor('executions')).toContain('tca-extra');
  });

  it('gives the split services the directory: reporting, a process of its own, serves the pipeline', async () => {
    await writeFile(join(pipelinesDir, 'tca-extra.yaml'), GOOD);
    platform = await startEmbeddedPlatform({
      home: join(root, 'home'),
      apiPort: 0,
      eventsPort: 0,
      vcpus: 1,
      memoryMiB: 1024,
      topology: 'split',
      pipelinesDir,
    });
    const res = await fetch(`${platform.apiUrl}/pipelines/tca-extra`, {
      headers: { authorization: `Bearer ${platform.apiKey}` },
    });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { name: string }).name).toBe('tca-extra');
    expect(platform.pipelinesFor('executions')).toContain('tca-extra');
  });
});

describe('a service process of its own with a bad pipeline file', () => {
  it('exits 2 at boot, printing each problem without a stack trace', async () => {
    await writeFile(join(pipelinesDir, 'tca-extra.yaml'), GOOD.replace('dependsOn: [tca]', 'dependsOn: [tcaa]'));
    const env = {
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      NIGHTSHIFT_MODE: 'aws',
      NIGHTSHIFT_BUCKET: 'b-1',
      AWS_REGION: 'us-east-1',
      NIGHTSHIFT_PIPELINES_DIR: pipelinesDir,
    };
    const child = spawn(process.execPath, [serviceEntrypoint('planner')], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    const code = await new Promise<number | null>((resolve, reject) => {
      child.once('error', reject);
      child.once('close', resolve);
    });
    expect(code).toBe(2);
    expect(stderr).toContain(
      `${join(pipelinesDir, 'tca-extra.yaml')}: steps.1.dependsOn.0 (line 11, col 17): unknown step "tcaa"`,
    );
    expect(stderr).not.toMatch(/\n\s+at /);
  });
});
