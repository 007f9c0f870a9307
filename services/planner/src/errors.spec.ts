import { ComputeSubmissionError, DatasetLacksTablesError } from '@nightshift/jobs-domain';
import { describe, expect, it } from 'vitest';
import { PipelinesNotStartedError } from './errors.js';

describe('PipelinesNotStartedError', () => {
  const lacks = new DatasetLacksTablesError('desk-risk', 'executions@2026-11-20#v1', ['no prices file (shared or per desk)']);

  it('names the dataset and each pipeline that did not start, with its reason', () => {
    const error = new PipelinesNotStartedError('executions@2026-11-20#v1', [
      { pipeline: 'desk-risk', error: lacks },
      { pipeline: 'nightly-tca', error: new ComputeSubmissionError('job queue default is disabled', false) },
    ]);
    expect(error.message).toBe(
      'dataset executions@2026-11-20#v1: pipeline desk-risk not started: dataset executions@2026-11-20#v1 cannot feed pipeline desk-risk: no prices file (shared or per desk); ' +
        'pipeline nightly-tca not started: job queue default is disabled',
    );
    expect(error.cause).toBe(lacks);
  });

  it('is retried when any cause may pass on a redelivery, dead-lettered when none can', () => {
    const permanent = new ComputeSubmissionError('bad job definition', false);
    expect(new PipelinesNotStartedError('d', [{ pipeline: 'a', error: permanent }]).retryable).toBe(false);
    expect(new PipelinesNotStartedError('d', [{ pipeline: 'a', error: permanent }, { pipeline: 'b', error: new ComputeSubmissionError('throttled', true) }]).retryable).toBe(true);
    // An error that does not say is treated as transient, as the bus treats it.
    expect(new PipelinesNotStartedError('d', [{ pipeline: 'a', error: new TypeError('socket hang up') }]).retryable).toBe(true);
  });
});
