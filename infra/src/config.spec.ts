import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InfraConfigError, loadInfraConfig, loadInfraConfigFile, parseInfraConfig } from './config.js';

const EXAMPLE = fileURLToPath(new URL('../config/example.json', import.meta.url));

/** The error `f` throws (fails the test if it throws none or another kind). */
function configError(f: () => unknown): InfraConfigError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(InfraConfigError);
    return e as InfraConfigError;
  }
  throw new Error('expected an InfraConfigError, nothing was thrown');
}

describe('parseInfraConfig', () => {
  it('fills every default from an empty object (and from nothing)', () => {
    const config = parseInfraConfig({});
    expect(config).toEqual(parseInfraConfig(undefined));
    expect(config.prefix).toBe('nightshift');
    expect(config.env).toEqual({});
    expect(config.network).toEqual({ maxAzs: 2, natGateways: 1, vpcEndpoints: true });
    expect(config.compute).toMatchObject({ spot: true, minVcpus: 0, instanceTypes: ['c7i', 'm7i', 'r7i'] });
    expect(config.worker).toEqual({ vcpus: 1, memoryMiB: 2048, attempts: 3, timeoutSeconds: 3600 });
    expect(config.services).toMatchObject({ minTasks: 1, maxTasks: 4 });
    expect(config.api).toEqual({ allowedCidr: '10.0.0.0/8' });
    expect(config.retention.claimCheckDays).toBe(15);
    expect(config.alarms).toEqual({ oldestMessageAgeSeconds: 900 });
  });

  it('keeps what is given and fills the rest of the same section', () => {
    const config = parseInfraConfig({ network: { natGateways: 0 }, alarms: { email: 'ops@example.com' } });
    expect(config.network).toEqual({ maxAzs: 2, natGateways: 0, vpcEndpoints: true });
    expect(config.alarms).toEqual({ email: 'ops@example.com', oldestMessageAgeSeconds: 900 });
  });

  it('refuses an unknown key, naming the section it is in and the key', () => {
    const error = configError(() => parseInfraConfig({ network: { maxAz: 3 } }, 'prod.json'));
    expect(error.message).toContain('prod.json is not a valid nightshift deployment configuration');
    expect(error.message).toContain('network: Unrecognized key: "maxAz"');
  });

  it('refuses an unknown top-level key as a problem of the root', () => {
    expect(configError(() => parseInfraConfig({ alarm: {} })).message).toContain('(root): Unrecognized key: "alarm"');
  });

  it('names the path of each wrong value, all at once', () => {
    const message = configError(() =>
      parseInfraConfig({ prefix: 'Nightshift', env: { account: '42' }, compute: { instanceTypes: [] }, alarms: { oldestMessageAgeSeconds: 5 } }),
    ).message;
    for (const path of ['prefix:', 'env.account:', 'compute.instanceTypes:', 'alarms.oldestMessageAgeSeconds:']) expect(message).toContain(path);
  });
});

describe('loadInfraConfigFile', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'nightshift-infra-config-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads infra/config/example.json, which sets every field but env (it stays environment-agnostic)', () => {
    const config = loadInfraConfigFile(EXAMPLE);
    expect(config.env).toEqual({});
    expect(config.network.natGateways).toBe(1);
    expect(config.api.certificateArn).toMatch(/^arn:aws:acm:/);
    expect(config.alarms.email).toBe('oncall@example.com');
  });

  it('names the file and the wrong path in a bad file', async () => {
    const file = join(dir, 'bad.json');
    await writeFile(file, JSON.stringify({ worker: { memoryMiB: 64 }, services: { cpus: 2 } }));
    const message = configError(() => loadInfraConfigFile(file)).message;
    expect(message).toContain(`${file} is not a valid nightshift deployment configuration`);
    expect(message).toContain('worker.memoryMiB:');
    expect(message).toContain('services: Unrecognized key: "cpus"');
  });

  it('names the file that is not JSON, or not there, keeping the cause', async () => {
    const file = join(dir, 'broken.json');
    await writeFile(file, '{ "prefix": ');
    const broken = configError(() => loadInfraConfigFile(file));
    expect(broken.message).toContain(`cannot read the deployment configuration ${file}`);
    expect(broken.cause).toBeInstanceOf(SyntaxError);
    const missing = join(dir, 'missing.json');
    expect(configError(() => loadInfraConfigFile(missing)).message).toContain(`cannot read the deployment configuration ${missing}: ENOENT`);
  });
});

describe('loadInfraConfig', () => {
  const contextOf = (values: Record<string, unknown>) => (key: string) => values[key];

  it('reads the file the context names, else the defaults; no pipelines directory unless one is given', () => {
    expect(loadInfraConfig({ context: contextOf({ config: EXAMPLE }), env: {} })).toEqual(loadInfraConfigFile(EXAMPLE));
    const defaults = loadInfraConfig({ context: contextOf({}), env: {} });
    expect(defaults).toEqual(parseInfraConfig({}));
    expect(defaults.pipelinesDir).toBeUndefined();
  });

  it('takes pipelinesDir from the context, else NIGHTSHIFT_PIPELINES_DIR, resolved from where cdk runs', () => {
    const env = { NIGHTSHIFT_PIPELINES_DIR: '/srv/pipelines' };
    expect(loadInfraConfig({ context: contextOf({ pipelinesDir: '../pipelines' }), env }).pipelinesDir).toBe(resolve('../pipelines'));
    expect(loadInfraConfig({ context: contextOf({}), env }).pipelinesDir).toBe('/srv/pipelines');
    expect(loadInfraConfig({ context: contextOf({}), env: { NIGHTSHIFT_PIPELINES_DIR: '' } }).pipelinesDir).toBeUndefined();
    expect(loadInfraConfig({ context: contextOf({ config: EXAMPLE, pipelinesDir: 'p' }), env: {} })).toEqual({ ...loadInfraConfigFile(EXAMPLE), pipelinesDir: resolve('p') });
  });

  it('refuses a context value that is not a path, and pipelinesDir in the file (it is not a field of it)', () => {
    expect(configError(() => loadInfraConfig({ context: contextOf({ pipelinesDir: 42 }), env: {} })).message).toBe(
      'the CDK context value pipelinesDir must be a path, got 42',
    );
    expect(configError(() => parseInfraConfig({ pipelinesDir: 'p' })).message).toContain('(root): Unrecognized key: "pipelinesDir"');
  });
});
