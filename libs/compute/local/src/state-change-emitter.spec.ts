import { afterEach, describe, expect, it, vi } from 'vitest';
import { BatchJobStateChange, type BatchJobStateChangeDetail, type BatchJobStatus } from '@nightshift/contracts';
import { StateChangeEmitter, type BatchJobStateChangeEmission } from './state-change-emitter.js';

interface FakeJob {
  jobId: string;
  status: BatchJobStatus;
}

function emitterWith(emit: (events: BatchJobStateChangeEmission[]) => Promise<void>, options: { tries?: number } = {}) {
  const emitter = new StateChangeEmitter<FakeJob>({
    emit,
    snapshot: (job) => ({
      source: BatchJobStateChange.source,
      detailType: BatchJobStateChange.detailType,
      detail: { jobId: job.jobId, jobArn: `arn:${job.jobId}`, status: job.status } as BatchJobStateChangeDetail,
      resources: [`arn:${job.jobId}`],
    }),
    isTerminal: (job) => job.status === 'SUCCEEDED' || job.status === 'FAILED',
    onProgress: () => {},
    baseDelayMs: 1,
    ...options,
  });
  const drained = async () => {
    const deadline = Date.now() + 10_000;
    while (emitter.pending > 0) {
      if (Date.now() > deadline) throw new Error('emitter did not drain within 10 s');
      await new Promise((r) => setTimeout(r, 5));
    }
  };
  return { emitter, drained };
}

const jobs = (n: number): FakeJob[] => Array.from({ length: n }, (_, i) => ({ jobId: `j${i}`, status: 'SUBMITTED' }));

afterEach(() => vi.restoreAllMocks());

describe('StateChangeEmitter', () => {
  it('hands events over in batches of at most 10, in the order the changes happened', async () => {
    const calls: string[][] = [];
    const { emitter, drained } = emitterWith(async (events) => void calls.push(events.map((e) => e.detail.jobId)));
    const all = jobs(25);
    for (const job of all) emitter.changed(job);
    await drained();

    expect(calls.map((c) => c.length)).toEqual([10, 10, 5]);
    expect(calls.flat()).toEqual(all.map((j) => j.jobId));
  });

  it("merges a job's states queued before the older one was handed over, keeping its place", async () => {
    const seen: string[] = [];
    const { emitter, drained } = emitterWith(async (events) => void seen.push(...events.map((e) => `${e.detail.jobId}:${e.detail.status}`)));
    const [a, b] = jobs(2);
    emitter.changed(a);
    emitter.changed(b);
    for (const status of ['PENDING', 'RUNNABLE', 'STARTING'] as const) {
      a.status = status;
      emitter.changed(a);
    }
    await drained();

    expect(seen).toEqual(['j0:STARTING', 'j1:SUBMITTED']);
  });

  it('always emits a terminal state, after the changes queued before it', async () => {
    const seen: string[] = [];
    const { emitter, drained } = emitterWith(async (events) => void seen.push(...events.map((e) => `${e.detail.jobId}:${e.detail.status}`)));
    const [child, parent] = jobs(2);
    emitter.changed(parent);
    emitter.changed(child);
    child.status = 'SUCCEEDED';
    emitter.changed(child);
    parent.status = 'SUCCEEDED';
    emitter.changed(parent);
    await drained();

    // The parent (j1) was queued first, but its end follows the child's.
    expect(seen).toEqual(['j0:SUCCEEDED', 'j1:SUCCEEDED']);
  });

  it('emits a change made while the older one is being emitted as its own event', async () => {
    const seen: string[] = [];
    let release!: () => void;
    const first = new Promise<void>((r) => (release = r));
    const { emitter, drained } = emitterWith(async (events) => {
      seen.push(...events.map((e) => `${e.detail.jobId}:${e.detail.status}`));
      if (seen.length === 1) await first;
    });
    const [a] = jobs(1);
    emitter.changed(a);
    await vi.waitFor(() => expect(seen).toHaveLength(1));
    a.status = 'RUNNABLE';
    emitter.changed(a);
    a.status = 'RUNNING';
    emitter.changed(a);
    release();
    await drained();

    expect(seen).toEqual(['j0:SUBMITTED', 'j0:RUNNING']);
  });

  it('retries a rejected batch with backoff and goes on', async () => {
    let calls = 0;
    const seen: string[] = [];
    const { emitter, drained } = emitterWith(async (events) => {
      calls += 1;
      if (calls <= 2) throw new Error('bus unavailable');
      seen.push(...events.map((e) => e.detail.jobId));
    });
    for (const job of jobs(3)) emitter.changed(job);
    await drained();

    expect(seen).toEqual(['j0', 'j1', 'j2']);
    expect(emitter.undelivered()).toEqual([]);
  });

  it('keeps what it could not emit after every try, says so on stderr, and carries on', async () => {
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const seen: string[] = [];
    const { emitter, drained } = emitterWith(
      async (events) => {
        if (events.some((e) => e.detail.jobId === 'j0')) throw new Error('bus rejects j0');
        seen.push(...events.map((e) => e.detail.jobId));
      },
      { tries: 3 },
    );
    const [j0, j1] = jobs(2);
    emitter.changed(j0);
    await drained();
    emitter.changed(j1);
    await drained();

    expect(seen).toEqual(['j1']);
    expect(emitter.undelivered().map((e) => e.detail.jobId)).toEqual(['j0']);
    const written = stderr.mock.calls.map(([chunk]) => String(chunk)).join('');
    expect(written).toContain('could not emit SUBMITTED of job j0 after 3 tries: bus rejects j0');
    expect(written).toContain('"jobId":"j0"');
  });

  it('keeps only the newest undelivered events', async () => {
    vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const emitter = new StateChangeEmitter<FakeJob>({
      emit: async () => {
        throw new Error('down');
      },
      snapshot: (job) => ({ source: 'aws.batch', detailType: 'Batch Job State Change', detail: { jobId: job.jobId } as BatchJobStateChangeDetail, resources: [] }),
      isTerminal: () => false,
      onProgress: () => {},
      tries: 1,
      undeliveredLimit: 3,
    });
    for (const job of jobs(5)) emitter.changed(job);
    await vi.waitFor(() => expect(emitter.pending).toBe(0), { timeout: 10_000 });
    expect(emitter.undelivered().map((e) => e.detail.jobId)).toEqual(['j2', 'j3', 'j4']);
  });
});
