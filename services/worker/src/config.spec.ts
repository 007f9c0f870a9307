import { describe, expect, it } from 'vitest';
import { loadWorkerConfig } from './config.js';
import { WorkerUsageError } from './errors.js';

describe('worker configuration', () => {
  it('takes the array index from AWS Batch, or from a single-job resubmission', () => {
    const base = { NIGHTSHIFT_MANIFEST_KEY: 'runs/r/tca/manifest.json', NIGHTSHIFT_OBJECT_STORE_DIR: '/tmp/o' };
    expect(loadWorkerConfig({ ...base, AWS_BATCH_JOB_ARRAY_INDEX: '3', AWS_BATCH_JOB_ATTEMPT: '2' })).toMatchObject({ arrayIndex: 3, attempt: 2 });
    expect(loadWorkerConfig({ ...base, NIGHTSHIFT_ARRAY_INDEX: '1', AWS_BATCH_JOB_ARRAY_INDEX: '3' }).arrayIndex).toBe(1);
    expect(loadWorkerConfig(base)).toMatchObject({ arrayIndex: 0, attempt: 1, jobId: 'local' });
  });

  it('names the environment variable that is missing or wrong, and is not retryable', () => {
    let error: unknown;
    try {
      loadWorkerConfig({ NIGHTSHIFT_OBJECT_STORE_DIR: '/tmp/o', AWS_BATCH_JOB_ARRAY_INDEX: 'x' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(WorkerUsageError);
    expect((error as WorkerUsageError).retryable).toBe(false);
    expect((error as Error).message).toContain('NIGHTSHIFT_MANIFEST_KEY');
    expect((error as Error).message).toContain('AWS_BATCH_JOB_ARRAY_INDEX');
  });

  it('reads the landing and claim-check buckets, each unset (NIGHTSHIFT_BUCKET) when absent or empty', () => {
    const aws = { NIGHTSHIFT_MODE: 'aws', NIGHTSHIFT_MANIFEST_KEY: 'runs/r/tca/manifest.json', NIGHTSHIFT_BUCKET: 'ns-results' };
    expect(loadWorkerConfig({ ...aws, NIGHTSHIFT_LANDING_BUCKET: 'ns-landing', NIGHTSHIFT_CLAIM_CHECK_BUCKET: 'ns-claim-checks' })).toMatchObject({
      bucket: 'ns-results',
      landingBucket: 'ns-landing',
      claimCheckBucket: 'ns-claim-checks',
    });
    const defaults = loadWorkerConfig({ ...aws, NIGHTSHIFT_CLAIM_CHECK_BUCKET: '' });
    expect(defaults.landingBucket).toBeUndefined();
    expect(defaults.claimCheckBucket).toBeUndefined();
  });

  it('names the variable of a bucket name S3 cannot have', () => {
    const env = { NIGHTSHIFT_MODE: 'aws', NIGHTSHIFT_MANIFEST_KEY: 'm.json', NIGHTSHIFT_BUCKET: 'ns-results', NIGHTSHIFT_LANDING_BUCKET: 'ab', NIGHTSHIFT_CLAIM_CHECK_BUCKET: 'x'.repeat(64) };
    expect(() => loadWorkerConfig(env)).toThrow(WorkerUsageError);
    expect(() => loadWorkerConfig(env)).toThrow(/NIGHTSHIFT_LANDING_BUCKET: .*; NIGHTSHIFT_CLAIM_CHECK_BUCKET: /);
  });
});
