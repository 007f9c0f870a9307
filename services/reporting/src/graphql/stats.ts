import type { RunStatus, Task } from '@nightshift/jobs-domain';

/*
 * Run statistics, computed from what the API reads (pure, so they are tested apart from it):
 * runs by status per pipeline and business day, duration percentiles per pipeline, vCPU-seconds
 * per run.
 */

/** What the statistics need of a run. */
export interface RunFigures {
  runId: string;
  pipeline: string;
  businessDate: string;
  status: RunStatus;
  startedAt?: string;
  finishedAt?: string;
}

export interface StatusCount {
  pipeline: string;
  businessDate: string;
  status: RunStatus;
  count: number;
}

export interface Percentiles {
  pipeline: string;
  runs: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
}

const byText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** Runs counted by pipeline, business day and status; sorted by those. */
export function runsByStatus(runs: readonly RunFigures[]): StatusCount[] {
  const counts = new Map<string, StatusCount>();
  for (const run of runs) {
    const key = JSON.stringify([run.pipeline, run.businessDate, run.status]);
    const entry = counts.get(key);
    if (entry) entry.count++;
    else counts.set(key, { pipeline: run.pipeline, businessDate: run.businessDate, status: run.status, count: 1 });
  }
  return [...counts.values()].sort((a, b) => byText(a.pipeline, b.pipeline) || byText(a.businessDate, b.businessDate) || byText(a.status, b.status));
}

/** The `p`th percentile (0 < p <= 100) of ascending `sorted`, by nearest rank: the smallest value with at least p% of the values at or below it. */
export function nearestRank(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) throw new RangeError('no values');
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1]!;
}

/** p50/p90/p99 of each pipeline's finished runs' durations (start to finish); runs that never started or have not finished are not counted. */
export function durationPercentiles(runs: readonly RunFigures[]): Percentiles[] {
  const durations = new Map<string, number[]>();
  for (const run of runs) {
    if ((run.status !== 'SUCCEEDED' && run.status !== 'FAILED') || !run.startedAt || !run.finishedAt) continue;
    const ms = Date.parse(run.finishedAt) - Date.parse(run.startedAt);
    if (!Number.isFinite(ms) || ms < 0) continue;
    const list = durations.get(run.pipeline);
    if (list) list.push(ms);
    else durations.set(run.pipeline, [ms]);
  }
  return [...durations.entries()]
    .sort(([a], [b]) => byText(a, b))
    .map(([pipeline, list]) => {
      const sorted = list.sort((a, b) => a - b);
      return { pipeline, runs: sorted.length, p50Ms: nearestRank(sorted, 50), p90Ms: nearestRank(sorted, 90), p99Ms: nearestRank(sorted, 99) };
    });
}

/**
 * vCPU-seconds of a run's tasks: the sum over every attempt that started and stopped of
 * (stoppedAt - startedAt) x the vCPUs of its task's step (`vcpusOf`; a step it does not know counts
 * 0). Milliseconds precision.
 */
export function vcpuSeconds(tasks: readonly Pick<Task, 'step' | 'attempts'>[], vcpusOf: (step: string) => number | undefined): number {
  let total = 0;
  for (const task of tasks) {
    const vcpus = vcpusOf(task.step) ?? 0;
    for (const attempt of task.attempts) {
      if (!attempt.startedAt || !attempt.stoppedAt) continue;
      const ms = Date.parse(attempt.stoppedAt) - Date.parse(attempt.startedAt);
      if (Number.isFinite(ms) && ms > 0) total += (ms / 1000) * vcpus;
    }
  }
  return Math.round(total * 1000) / 1000;
}
