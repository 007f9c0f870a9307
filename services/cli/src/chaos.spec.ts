import { describe, expect, it } from 'vitest';
import type { ChaosFacts } from './chaos-protocol.js';
import { assertChaosChecks, chaosChecks, type ChaosRunSummary, killPlan, runChaos } from './chaos.js';
import { ChaosCheckFailedError } from './errors.js';

const TASKS = 24;

/** What a clean run of TASKS tasks leaves; each case below spoils one part of it. */
function cleanFacts(): ChaosFacts {
  return {
    runs: [{ runId: 'run-1', status: 'SUCCEEDED', tasksTotal: TASKS, succeeded: TASKS, failed: 0, outboxPending: 0, reportId: 'report-1' }],
    steps: { succeeded: TASKS, failed: 0 },
    tasks: { total: TASKS, succeeded: TASKS, notSucceeded: [], withSeveralSuccesses: [], attempts: TASKS },
    outputs: { entries: TASKS, distinctTasks: TASKS },
    terminal: [
      { runId: 'run-1', detailType: 'Run Succeeded', events: 1, deliveries: 1 },
      { runId: 'run-1', detailType: 'Report Published', events: 1, deliveries: 1 },
    ],
    report: { pipeline: 'chaos-backtest', sections: { sweep: [{ rank: 1, sharpe: 1.5 }] } },
  };
}

const summary: ChaosRunSummary = { home: '/tmp/x', seconds: 10, attempts: TASKS, kills: [{ at_s: 1, target: 'host', finished_tasks: 3, pid: 42 }], orphans: [] };

const failedChecks = (facts: ChaosFacts, run: ChaosRunSummary = summary): string[] =>
  chaosChecks({ tasks: TASKS }, cleanFacts(), facts, run)
    .filter((c) => !c.ok)
    .map((c) => c.name);

describe('chaos checks', () => {
  it('pass on a clean run', () => {
    expect(failedChecks(cleanFacts())).toEqual([]);
  });

  it('fail on a lost task, a result committed twice, a second terminal event, another report or an orphan', () => {
    const lost = cleanFacts();
    lost.tasks = { ...lost.tasks, succeeded: TASKS - 1, notSucceeded: ['sweep#p1 RUNNING'] };
    expect(failedChecks(lost)).toEqual(['0 tasks lost']);

    const doubleCounted = cleanFacts();
    doubleCounted.steps = { succeeded: TASKS + 1, failed: 0 };
    expect(failedChecks(doubleCounted)).toEqual(['0 tasks lost']);

    const twice = cleanFacts();
    twice.tasks = { ...twice.tasks, withSeveralSuccesses: ['sweep#p3'] };
    expect(failedChecks(twice)).toEqual(['0 duplicate results committed']);

    const listedTwice = cleanFacts();
    listedTwice.outputs = { entries: TASKS + 1, distinctTasks: TASKS };
    expect(failedChecks(listedTwice)).toEqual(['0 duplicate results committed']);

    const secondEvent = cleanFacts();
    secondEvent.terminal[0] = { ...secondEvent.terminal[0]!, events: 2, deliveries: 2 };
    expect(failedChecks(secondEvent)).toEqual(['exactly one terminal event per run']);

    // A redelivered copy of the one event is not a second event.
    const redelivered = cleanFacts();
    redelivered.terminal[0] = { ...redelivered.terminal[0]!, deliveries: 3 };
    expect(failedChecks(redelivered)).toEqual([]);

    const otherReport = cleanFacts();
    otherReport.report = { pipeline: 'chaos-backtest', sections: { sweep: [{ rank: 1, sharpe: 1.25 }] } };
    expect(failedChecks(otherReport)).toEqual(['report equal to the undisturbed run']);

    const twoRuns = cleanFacts();
    twoRuns.runs.push({ ...twoRuns.runs[0]!, runId: 'run-2' });
    expect(failedChecks(twoRuns)).toEqual(['one run']);

    expect(failedChecks(cleanFacts(), { ...summary, orphans: [4242] })).toEqual(['no process outlives its host']);
  });

  it('names every failed check in the error', () => {
    const lost = cleanFacts();
    lost.tasks = { ...lost.tasks, succeeded: 0 };
    const checks = chaosChecks({ tasks: TASKS }, cleanFacts(), lost, summary);
    expect(() => assertChaosChecks({ options: { tasks: TASKS, hostKills: 1, workerKills: 0, seed: 1, vcpus: 2 }, undisturbed: summary, disturbed: summary, checks })).toThrow(
      new ChaosCheckFailedError(`chaos: 0 tasks lost: 0/${TASKS} task records SUCCEEDED, step counts ${TASKS} succeeded / 0 failed`),
    );
  });
});

describe('kill plan', () => {
  it('is the same for the same seed, has every kill, and spreads them over about the undisturbed run', () => {
    const a = killPlan({ hostKills: 20, workerKills: 10, seed: 7 }, 100);
    expect(killPlan({ hostKills: 20, workerKills: 10, seed: 7 }, 100)).toEqual(a);
    expect(killPlan({ hostKills: 20, workerKills: 10, seed: 8 }, 100)).not.toEqual(a);
    expect(a.filter((k) => k.target === 'host')).toHaveLength(20);
    expect(a.filter((k) => k.target === 'worker')).toHaveLength(10);
    const total = a.reduce((ms, k) => ms + k.afterMs, 0);
    expect(total).toBeGreaterThan(30_000);
    expect(total).toBeLessThan(160_000);
    expect(a.every((k) => k.pick >= 0 && k.pick < 1)).toBe(true);
  });
});

describe('a short chaos run (npm run chaos runs 1,000 tasks and 20 host kills)', () => {
  // Forks the built host (services/cli/dist/chaos-host.js): `npm test` builds before vitest runs.
  it(`loses no task of ${TASKS}, commits none twice and publishes one report, equal to the undisturbed run's, through host and worker kills`, { timeout: 600_000 }, async () => {
    const result = await runChaos({ tasks: TASKS, hostKills: 3, workerKills: 2, seed: 3, vcpus: 2 });
    expect(result.checks.filter((c) => !c.ok)).toEqual([]);
    expect(result.disturbed.kills.filter((k) => k.target !== 'worker').length).toBeGreaterThanOrEqual(3);
    expect(result.checks.map((c) => c.name)).toContain('report equal to the undisturbed run');
  });
});
