import { describe, expect, it } from 'vitest';
import { durationPercentiles, nearestRank, runsByStatus, vcpuSeconds, type RunFigures } from './stats.js';

const run = (runId: string, overrides: Partial<RunFigures> = {}): RunFigures => ({ runId, pipeline: 'nightly-tca', businessDate: '2024-05-02', status: 'SUCCEEDED', ...overrides });
const finished = (runId: string, pipeline: string, minutes: number): RunFigures =>
  run(runId, { pipeline, startedAt: '2024-05-02T06:00:00.000Z', finishedAt: new Date(Date.parse('2024-05-02T06:00:00.000Z') + minutes * 60_000).toISOString() });

describe('run statistics', () => {
  it('counts runs by pipeline, business day and status, sorted by those', () => {
    const runs = [run('a'), run('b', { status: 'FAILED' }), run('c'), run('d', { businessDate: '2024-05-01' }), run('e', { pipeline: 'desk-risk', status: 'RUNNING' })];
    expect(runsByStatus(runs)).toEqual([
      { pipeline: 'desk-risk', businessDate: '2024-05-02', status: 'RUNNING', count: 1 },
      { pipeline: 'nightly-tca', businessDate: '2024-05-01', status: 'SUCCEEDED', count: 1 },
      { pipeline: 'nightly-tca', businessDate: '2024-05-02', status: 'FAILED', count: 1 },
      { pipeline: 'nightly-tca', businessDate: '2024-05-02', status: 'SUCCEEDED', count: 2 },
    ]);
    expect(runsByStatus([])).toEqual([]);
  });

  it('takes percentiles by nearest rank', () => {
    const ten = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
    expect([50, 90, 99, 100].map((p) => nearestRank(ten, p))).toEqual([5, 9, 10, 10]);
    expect(nearestRank([7], 50)).toBe(7);
    expect(() => nearestRank([], 50)).toThrow(RangeError);
  });

  it("gives each pipeline's p50/p90/p99 of its finished runs, leaving out runs not started or not finished", () => {
    const runs = [
      ...Array.from({ length: 10 }, (_, i) => finished(`t${i}`, 'nightly-tca', i + 1)),
      { ...finished('f', 'desk-risk', 30), status: 'FAILED' as const },
      run('running', { pipeline: 'desk-risk', status: 'RUNNING', startedAt: '2024-05-02T06:00:00.000Z' }),
      run('never-started', { pipeline: 'desk-risk', status: 'FAILED', finishedAt: '2024-05-02T06:00:00.000Z' }),
    ];
    expect(durationPercentiles(runs)).toEqual([
      { pipeline: 'desk-risk', runs: 1, p50Ms: 1_800_000, p90Ms: 1_800_000, p99Ms: 1_800_000 },
      { pipeline: 'nightly-tca', runs: 10, p50Ms: 300_000, p90Ms: 540_000, p99Ms: 600_000 },
    ]);
  });

  it("sums (stoppedAt - startedAt) x the step's vCPUs over every attempt that started and stopped", () => {
    const attempt = (start: number, stop?: number) => ({ attempt: 1, startedAt: new Date(start * 1000).toISOString(), ...(stop !== undefined ? { stoppedAt: new Date(stop * 1000).toISOString() } : {}) });
    const tasks = [
      { step: 'big', attempts: [attempt(0, 10), attempt(20, 25)] },
      { step: 'small', attempts: [attempt(0, 4)] },
      { step: 'small', attempts: [attempt(0)] },
      { step: 'unknown', attempts: [attempt(0, 100)] },
      { step: 'big', attempts: [{ attempt: 1 }] },
    ];
    expect(vcpuSeconds(tasks, (step) => ({ big: 2, small: 0.25 })[step])).toBe(15 * 2 + 4 * 0.25);
    expect(vcpuSeconds([], () => 1)).toBe(0);
  });
});
