import { readFileSync } from 'node:fs';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { BatchJobStateChange, type BatchJobStateChangeDetail } from '@nightshift/contracts';
import { StaleStateError, type JobStore, type Run } from '@nightshift/jobs-domain';
import { createDocumentClient, createTable, DynamoDbJobStore, startEmbeddedDynamoDb, type EmbeddedDynamoDb } from '@nightshift/jobs-dynamodb';
import type { FinishedTask, PlatformMetrics } from '@nightshift/observability';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { finishedTaskOf, withRunMetrics } from './planner-metrics.js';

/** Keeps what is recorded, as the metrics pipeline would. */
class RecordingMetrics implements PlatformMetrics {
  readonly started: string[] = [];
  readonly finished: string[] = [];
  readonly tasks: FinishedTask[] = [];
  runStarted(pipeline: string): void {
    this.started.push(pipeline);
  }
  runFinished(pipeline: string, status: 'SUCCEEDED' | 'FAILED'): void {
    this.finished.push(`${pipeline} ${status}`);
  }
  taskFinished(task: FinishedTask): void {
    this.tasks.push(task);
  }
  eventPublished(): void {}
  eventConsumed(): void {}
  observeQueues(): () => void {
    return () => undefined;
  }
}

/** AWS's own example event (the AWS Batch User Guide's), as the planner receives it. */
const AWS_EXAMPLE = BatchJobStateChange.detail.parse(
  (JSON.parse(readFileSync(new URL('../../../libs/contracts/src/__fixtures__/batch-job-state-change.aws.json', import.meta.url), 'utf8')) as { detail: unknown }).detail,
);

describe('a finished task, from its job state change', () => {
  it('sums the attempts\' run time, waits from submission to the first start, and reads the VCPU requirement', () => {
    const createdAt = AWS_EXAMPLE.createdAt;
    const detail: BatchJobStateChangeDetail = {
      ...AWS_EXAMPLE,
      status: 'SUCCEEDED',
      attempts: [
        { startedAt: createdAt + 4_000, stoppedAt: createdAt + 6_000, container: { exitCode: 1 } },
        { startedAt: createdAt + 9_000, stoppedAt: createdAt + 12_500, container: { exitCode: 0 } },
      ],
      startedAt: createdAt + 9_000,
      stoppedAt: createdAt + 12_500,
    };
    expect(finishedTaskOf('nightly-tca', 'tca', detail)).toEqual({
      pipeline: 'nightly-tca',
      step: 'tca',
      status: 'SUCCEEDED',
      durationS: 5.5,
      runnableWaitS: 4,
      vcpus: 2,
    });
  });

  it('is undefined while the job has not ended; a job that never started has no wait and no run time', () => {
    expect(finishedTaskOf('nightly-tca', 'tca', AWS_EXAMPLE)).toBeUndefined();
    const cancelled = finishedTaskOf('nightly-tca', 'tca', { ...AWS_EXAMPLE, status: 'FAILED', statusReason: 'cancelled' });
    expect(cancelled).toEqual({ pipeline: 'nightly-tca', step: 'tca', status: 'FAILED', durationS: 0, vcpus: 2 });
  });
});

describe('run metrics counted by the store writes that win', () => {
  let dynamo: EmbeddedDynamoDb;
  let client: DynamoDBDocumentClient;
  let store: DynamoDbJobStore;

  beforeAll(async () => {
    dynamo = await startEmbeddedDynamoDb();
    client = createDocumentClient({ endpoint: dynamo.endpoint });
    await createTable(client, 'planner-metrics');
    store = new DynamoDbJobStore(client, { tableName: 'planner-metrics' });
  });
  afterAll(async () => {
    client.destroy();
    await dynamo.close();
  });

  const at = '2026-11-27T06:00:00.000Z';
  const aRun = (runId: string, overrides: Partial<Run> = {}): Run => ({
    runId,
    pipeline: 'nightly-tca',
    businessDate: '2026-11-27',
    datasetId: 'executions@2026-11-27#v1',
    status: 'PENDING',
    correlationId: `c-${runId}`,
    tasksTotal: 0,
    createdAt: at,
    updatedAt: at,
    ...overrides,
  });

  it('counts a start once (a racing write that loses is not counted) and each end once', async () => {
    const metrics = new RecordingMetrics();
    const metered: JobStore = withRunMetrics(store, metrics);
    expect(await metered.createRun(aRun('run-a'), [])).toBe(true);
    expect(await metered.createRun(aRun('run-a'), [])).toBe(false);
    expect(metrics.started).toEqual([]);

    await metered.transitionRun('run-a', 'PENDING', { status: 'RUNNING', startedAt: at, updatedAt: at });
    await expect(metered.transitionRun('run-a', 'PENDING', { status: 'RUNNING', startedAt: at, updatedAt: at })).rejects.toBeInstanceOf(StaleStateError);
    expect(metrics.started).toEqual(['nightly-tca']);

    await metered.transitionRun('run-a', 'RUNNING', { status: 'SUCCEEDED', finishedAt: at, updatedAt: at });
    await expect(metered.transitionRun('run-a', 'RUNNING', { status: 'FAILED', finishedAt: at, updatedAt: at })).rejects.toBeInstanceOf(StaleStateError);
    expect(metrics.finished).toEqual(['nightly-tca SUCCEEDED']);
    // Every other call reaches the store as it is.
    expect((await metered.getRun('run-a'))?.status).toBe('SUCCEEDED');
  });

  it('counts a run recorded as failed (it could not be planned) as failed only, and a retry that reopens it as a start', async () => {
    const metrics = new RecordingMetrics();
    const metered = withRunMetrics(store, metrics);
    await metered.createRun(aRun('run-b', { pipeline: 'desk-risk', status: 'FAILED', finishedAt: at, reason: 'no prices' }), []);
    expect(metrics.finished).toEqual(['desk-risk FAILED']);
    expect(metrics.started).toEqual([]);

    const retry = { retryEventId: 'retry-1', retriedAt: '2026-11-27T07:00:00.000Z', updatedAt: '2026-11-27T07:00:00.000Z' };
    await metered.retryRun('run-b', 1, retry);
    // A redelivered retry request finds the run reopened by it: not a second start.
    await metered.retryRun('run-b', 1, { ...retry, retriedAt: '2026-11-27T07:00:05.000Z', updatedAt: '2026-11-27T07:00:05.000Z' });
    expect(metrics.started).toEqual(['desk-risk']);
  });
});
