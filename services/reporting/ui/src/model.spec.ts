import { describe, expect, it } from 'vitest';
import { cellKey, formatDuration, ganttOf, layoutDag, partitionMatrix } from './model.js';
import type { Run, Task } from './types.js';

const aRun = (over: Partial<Run>): Run => ({
  runId: 'run-1',
  pipeline: 'nightly-tca',
  businessDate: '2026-11-20',
  datasetId: 'executions@2026-11-20#v1',
  status: 'SUCCEEDED',
  correlationId: 'c',
  tasksTotal: 1,
  createdAt: '2026-11-21T01:00:00.000Z',
  updatedAt: '2026-11-21T01:00:00.000Z',
  ...over,
});

const aTask = (over: Partial<Task>): Task => ({ taskId: 'tca#cash', step: 'tca', partition: 'cash', status: 'SUCCEEDED', attempts: [], createdAt: '2026-11-21T01:00:00.000Z', ...over });

describe('layoutDag', () => {
  it('puts each step one column right of its deepest dependency, and an onFailure handler right of its step', () => {
    const layout = layoutDag([
      { name: 'prepare', dependsOn: [] },
      { name: 'a', dependsOn: ['prepare'], onFailure: 'cleanup' },
      { name: 'b', dependsOn: ['prepare'] },
      { name: 'join', dependsOn: ['a', 'b', 'prepare'] },
      { name: 'cleanup', dependsOn: [] },
    ]);
    expect(Object.fromEntries(layout.nodes.map((n) => [n.name, [n.layer, n.row]]))).toEqual({ prepare: [0, 0], a: [1, 0], b: [1, 1], join: [2, 0], cleanup: [2, 1] });
    expect(layout.layers).toBe(3);
    expect(layout.rows).toBe(2);
    expect(layout.edges).toContainEqual({ from: 'a', to: 'cleanup', kind: 'onFailure' });
    expect(layout.edges.filter((e) => e.to === 'join')).toHaveLength(3);
  });

  it('ignores a dependency on a step it does not know', () => {
    expect(layoutDag([{ name: 'only', dependsOn: ['gone'] }])).toEqual({ nodes: [{ name: 'only', layer: 0, row: 0 }], edges: [], layers: 1, rows: 1 });
  });
});

describe('ganttOf', () => {
  const t = (s: number) => new Date(Date.UTC(2026, 10, 21, 1, 0, s)).toISOString();

  it('draws a bar per attempt, the failed one red, the last one to its stop, rows in order of first start', () => {
    const gantt = ganttOf(
      [
        aTask({ taskId: 'tca#program', startedAt: t(5), stoppedAt: t(9), attempts: [{ attempt: 1, startedAt: t(5), stoppedAt: t(9), exitCode: 0 }] }),
        aTask({ taskId: 'tca#cash', attempts: [{ attempt: 1, startedAt: t(0), stoppedAt: t(2), exitCode: 1 }, { attempt: 2, startedAt: t(3), stoppedAt: t(6), exitCode: 0 }] }),
        aTask({ taskId: 'tca#futures', status: 'RUNNABLE', attempts: [] }),
      ],
      Date.parse(t(30)),
    );
    expect(gantt.rows.map((r) => r.taskId)).toEqual(['tca#cash', 'tca#program']);
    expect(gantt.rows[0]!.bars.map((b) => [b.attempt, b.outcome, (b.end - b.start) / 1000])).toEqual([
      [1, 'failed', 2],
      [2, 'succeeded', 3],
    ]);
    expect([gantt.start, gantt.end]).toEqual([Date.parse(t(0)), Date.parse(t(9))]);
  });

  it('runs a started attempt without a stop up to now while its task runs', () => {
    const gantt = ganttOf([aTask({ status: 'RUNNING', attempts: [{ attempt: 1, startedAt: t(0) }] })], Date.parse(t(12)));
    expect(gantt.rows[0]!.bars).toEqual([{ attempt: 1, start: Date.parse(t(0)), end: Date.parse(t(12)), open: true, outcome: 'running' }]);
  });

  it('has no rows, and a zero span at now, before any task starts', () => {
    expect(ganttOf([aTask({ status: 'PENDING' })], 1_000)).toEqual({ rows: [], start: 1_000, end: 1_000 });
  });
});

describe('partitionMatrix', () => {
  it('shows the latest run of each pipeline and date, newest dates first, and pipelines that never ran', () => {
    const matrix = partitionMatrix(
      [
        aRun({ runId: 'r2', status: 'SUCCEEDED', createdAt: '2026-11-21T03:00:00.000Z' }),
        aRun({ runId: 'r1', status: 'FAILED', createdAt: '2026-11-21T01:00:00.000Z' }),
        aRun({ runId: 'r3', pipeline: 'desk-risk', businessDate: '2026-11-19', status: 'RUNNING' }),
      ],
      ['nightly-tca', 'desk-risk', 'backtest-sweep'],
      30,
    );
    expect(matrix.dates).toEqual(['2026-11-20', '2026-11-19']);
    expect(matrix.pipelines).toEqual(['backtest-sweep', 'desk-risk', 'nightly-tca']);
    expect(matrix.cells.get(cellKey('nightly-tca', '2026-11-20'))).toEqual({ status: 'SUCCEEDED', runId: 'r2', runs: 2 });
    expect(matrix.cells.get(cellKey('desk-risk', '2026-11-19'))?.status).toBe('RUNNING');
    expect(matrix.cells.has(cellKey('backtest-sweep', '2026-11-20'))).toBe(false);
  });

  it('keeps the newest maxDates dates', () => {
    const runs = ['2026-11-16', '2026-11-17', '2026-11-18'].map((d, i) => aRun({ runId: `r${i}`, businessDate: d }));
    expect(partitionMatrix(runs, [], 2).dates).toEqual(['2026-11-18', '2026-11-17']);
  });
});

describe('formatDuration', () => {
  it('reads as people say it', () => {
    expect([850, 12_340, 245_000, 7_380_000].map(formatDuration)).toEqual(['850 ms', '12.3 s', '4 min 05 s', '2 h 03 min']);
  });
});
