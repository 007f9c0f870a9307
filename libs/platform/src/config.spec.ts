import { z } from 'zod';
import { describe, expect, it } from 'vitest';
import { checkDeployment, ConfigError, DEPLOYMENT_ENV_NAMES, deploymentEnv, deploymentFields, parseConfig } from './config.js';

/** The deployment fields as a service spreads them into its own schema. */
const schema = z.object(deploymentFields).superRefine(checkDeployment);
const load = (env: NodeJS.ProcessEnv) => parseConfig(schema, deploymentEnv(env), DEPLOYMENT_ENV_NAMES, 'test');
const problem = (env: NodeJS.ProcessEnv): string => {
  try {
    load(env);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as Error).message;
  }
  throw new Error('expected a ConfigError');
};

describe('deployment configuration: buckets', () => {
  const aws = { NIGHTSHIFT_MODE: 'aws', NIGHTSHIFT_BUCKET: 'ns-results' };

  it('reads the landing and claim-check buckets from their own variables', () => {
    expect(load({ ...aws, NIGHTSHIFT_LANDING_BUCKET: 'ns-landing', NIGHTSHIFT_CLAIM_CHECK_BUCKET: 'ns-claim-checks' })).toMatchObject({
      bucket: 'ns-results',
      landingBucket: 'ns-landing',
      claimCheckBucket: 'ns-claim-checks',
    });
  });

  it('leaves them unset (every key in NIGHTSHIFT_BUCKET) when absent or empty', () => {
    const config = load({ ...aws, NIGHTSHIFT_LANDING_BUCKET: '' });
    expect(config.bucket).toBe('ns-results');
    expect(config.landingBucket).toBeUndefined();
    expect(config.claimCheckBucket).toBeUndefined();
  });

  it('names the variable of a bucket name S3 cannot have', () => {
    const message = problem({ ...aws, NIGHTSHIFT_LANDING_BUCKET: 'ab', NIGHTSHIFT_CLAIM_CHECK_BUCKET: 'x'.repeat(64) });
    expect(message).toMatch(/^invalid test configuration: /);
    expect(message).toContain('NIGHTSHIFT_LANDING_BUCKET: ');
    expect(message).toContain('NIGHTSHIFT_CLAIM_CHECK_BUCKET: ');
    expect(message).not.toContain('NIGHTSHIFT_BUCKET:');
  });

  it('still requires NIGHTSHIFT_BUCKET in aws mode, whatever other bucket is set', () => {
    expect(problem({ NIGHTSHIFT_MODE: 'aws', NIGHTSHIFT_LANDING_BUCKET: 'ns-landing' })).toContain('NIGHTSHIFT_BUCKET: required in aws mode');
  });

  it('ignores them in local mode, which keeps one directory', () => {
    expect(load({ NIGHTSHIFT_OBJECT_STORE_DIR: '/tmp/o', NIGHTSHIFT_LANDING_BUCKET: 'ns-landing' })).toMatchObject({ mode: 'local', objectStoreDir: '/tmp/o' });
  });
});

describe('deployment configuration: pipelines directory', () => {
  it('reads NIGHTSHIFT_PIPELINES_DIR, unset when absent or empty', () => {
    const local = { NIGHTSHIFT_OBJECT_STORE_DIR: '/tmp/o' };
    expect(load({ ...local, NIGHTSHIFT_PIPELINES_DIR: '/etc/nightshift/pipelines' }).pipelinesDir).toBe('/etc/nightshift/pipelines');
    expect(load({ ...local, NIGHTSHIFT_PIPELINES_DIR: '' }).pipelinesDir).toBeUndefined();
    expect(DEPLOYMENT_ENV_NAMES['pipelinesDir']).toBe('NIGHTSHIFT_PIPELINES_DIR');
  });
});
