import type { Attempt, PipelineStep, Run, RunStatus, Task } from './types.js';

/*
 * What the pages draw, computed from API answers: pure functions, unit-tested beside this file.
 */

/** One node of a step DAG: its column (depth along dependsOn) and its row within the column. */
export interface DagNode {
  name: string;
  layer: number;
  row: number;
}

export interface DagLayout {
  nodes: DagNode[];
  edges: Array<{ from: string; to: string; kind: 'dependsOn' | 'onFailure' }>;
  layers: number;
  rows: number;
}

/**
 * Layers the steps by depth: a step sits one column right of its deepest dependency (an onFailure
 * handler one right of the step it handles). Steps keep their definition order within a column.
 * A dependency on an unknown step is ignored (the API validated the pipeline; a stale view must still draw).
 */
export function layoutDag(steps: readonly Pick<PipelineStep, 'name' | 'dependsOn' | 'onFailure'>[]): DagLayout {
  const byName = new Map(steps.map((s) => [s.name, s]));
  const handlerOf = new Map<string, string>();
  for (const s of steps) if (s.onFailure && byName.has(s.onFailure)) handlerOf.set(s.onFailure, s.name);
  const depth = new Map<string, number>();
  const visiting = new Set<string>();
  const depthOf = (name: string): number => {
    const known = depth.get(name);
    if (known !== undefined) return known;
    // A cycle cannot be defined (the pipeline schema refuses it); draw it flat rather than recurse forever.
    if (visiting.has(name)) return 0;
    visiting.add(name);
    const step = byName.get(name)!;
    const parents = step.dependsOn.filter((d) => byName.has(d));
    const handled = handlerOf.get(name);
    if (handled) parents.push(handled);
    const d = parents.length === 0 ? 0 : Math.max(...parents.map(depthOf)) + 1;
    visiting.delete(name);
    depth.set(name, d);
    return d;
  };
  const rowsInLayer: number[] = [];
  const nodes = steps.map((s) => {
    const layer = depthOf(s.name);
    const row = rowsInLayer[layer] ?? 0;
    rowsInLayer[layer] = row + 1;
    return { name: s.name, layer, row };
  });
  const edges: DagLayout['edges'] = [];
  for (const s of steps) {
    for (const d of s.dependsOn) if (byName.has(d)) edges.push({ from: d, to: s.name, kind: 'dependsOn' });
    if (s.onFailure && byName.has(s.onFailure)) edges.push({ from: s.name, to: s.onFailure, kind: 'onFailure' });
  }
  return { nodes, edges, layers: rowsInLayer.length, rows: Math.max(1, ...rowsInLayer.map((n) => n ?? 0)) };
}

/** One bar of the Gantt chart: an attempt of a task, from its start to its stop (or now, while it runs). */
export interface GanttBar {
  attempt: number;
  start: number;
  end: number;
  /** Still running: the bar ends at `now`. */
  open: boolean;
  outcome: 'succeeded' | 'failed' | 'running';
}

export interface GanttRow {
  taskId: string;
  step: string;
  bars: GanttBar[];
}

export interface Gantt {
  rows: GanttRow[];
  start: number;
  end: number;
}

/**
 * The tasks' attempts on one time axis: a row per task that has started, in order of its first
 * start; a bar per attempt with a start. An attempt without a stop ends at `now` if it is the task's
 * last and the task is not finished, else at the next attempt's start (its stop was not recorded).
 */
export function ganttOf(tasks: readonly Task[], now: number): Gantt {
  const rows: GanttRow[] = [];
  for (const task of tasks) {
    const attempts: Attempt[] = task.attempts.length > 0 ? task.attempts : task.startedAt ? [{ attempt: 1, startedAt: task.startedAt, ...(task.stoppedAt ? { stoppedAt: task.stoppedAt } : {}), ...(task.exitCode !== undefined ? { exitCode: task.exitCode } : {}) }] : [];
    const finished = task.status === 'SUCCEEDED' || task.status === 'FAILED';
    const bars: GanttBar[] = [];
    attempts.forEach((a, i) => {
      if (!a.startedAt) return;
      const start = Date.parse(a.startedAt);
      const last = i === attempts.length - 1;
      const next = attempts[i + 1]?.startedAt;
      const open = !a.stoppedAt && last && !finished;
      const end = a.stoppedAt ? Date.parse(a.stoppedAt) : open ? now : next ? Date.parse(next) : task.stoppedAt ? Date.parse(task.stoppedAt) : start;
      const outcome = open ? 'running' : a.exitCode === 0 || (last && task.status === 'SUCCEEDED') ? 'succeeded' : 'failed';
      bars.push({ attempt: a.attempt, start, end: Math.max(start, end), open, outcome });
    });
    if (bars.length > 0) rows.push({ taskId: task.taskId, step: task.step, bars });
  }
  rows.sort((a, b) => a.bars[0]!.start - b.bars[0]!.start || a.taskId.localeCompare(b.taskId));
  const start = Math.min(...rows.flatMap((r) => r.bars.map((b) => b.start)));
  const end = Math.max(...rows.flatMap((r) => r.bars.map((b) => b.end)));
  return rows.length === 0 ? { rows, start: now, end: now } : { rows, start, end: Math.max(end, start + 1) };
}

/** A cell of the partition matrix: the latest run of a pipeline for a business date, and how many there were. */
export interface MatrixCell {
  status: RunStatus;
  runId: string;
  runs: number;
}

export interface PartitionMatrix {
  pipelines: string[];
  /** Newest first. */
  dates: string[];
  cells: Map<string, MatrixCell>;
}

export const cellKey = (pipeline: string, date: string): string => `${pipeline}\u0000${date}`;

/**
 * Pipelines x business dates from a list of runs: each cell holds the outcome of the latest run
 * (by creation) of that pipeline and date, so a failed day that was re-run and succeeded shows as
 * succeeded. Pipelines that have no run in the list still get a row (`pipelines`), so one that never
 * ran is visible; dates are those any run covers, at most `maxDates`, newest first.
 */
export function partitionMatrix(runs: readonly Run[], pipelines: readonly string[], maxDates: number): PartitionMatrix {
  const cells = new Map<string, MatrixCell>();
  const latest = new Map<string, string>();
  for (const run of runs) {
    const key = cellKey(run.pipeline, run.businessDate);
    const cell = cells.get(key);
    if (!cell) {
      cells.set(key, { status: run.status, runId: run.runId, runs: 1 });
      latest.set(key, run.createdAt);
      continue;
    }
    cell.runs += 1;
    if (run.createdAt > latest.get(key)!) {
      cell.status = run.status;
      cell.runId = run.runId;
      latest.set(key, run.createdAt);
    }
  }
  const dates = [...new Set(runs.map((r) => r.businessDate))].sort().reverse().slice(0, maxDates);
  const names = [...new Set([...pipelines, ...runs.map((r) => r.pipeline)])].sort();
  return { pipelines: names, dates, cells };
}

/** A duration for people: 850 ms, 12.3 s, 4 min 05 s, 2 h 03 min. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '';
  if (ms < 1_000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1_000).toFixed(1)} s`;
  const s = Math.round(ms / 1_000);
  if (s < 3_600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
  return `${Math.floor(s / 3_600)} h ${String(Math.floor((s % 3_600) / 60)).padStart(2, '0')} min`;
}
