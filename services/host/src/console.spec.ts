import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DatasetRejected, NightshiftSource } from '@nightshift/contracts';
import { LocalEventBus } from '@nightshift/events-local';
import { CONSOLE_QUEUE, CONSOLE_RULES, flowSummary, purgeConsoleQueue, reportLines, type FlowOutcome } from './console.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nightshift-console-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function aRejection(i: number) {
  return {
    Source: NightshiftSource.ingestion,
    DetailType: DatasetRejected.detailType,
    Detail: JSON.stringify({ metadata: { eventId: `e-${i}`, correlationId: `c-${i}`, occurredAt: '2024-05-02T01:00:00.000Z' }, data: {} }),
  };
}

describe('purgeConsoleQueue', () => {
  it("drops what an earlier life left in the console's queue, so it is not reloaded at every start", async () => {
    const rules = { [CONSOLE_QUEUE]: CONSOLE_RULES };
    let bus = await LocalEventBus.open({ dir, rules });
    // Outcomes published while the host served with nobody following them.
    for (let i = 0; i < 5; i++) expect((await bus.putEvents([aRejection(i)])).FailedEntryCount).toBe(0);
    expect(bus.stats(CONSOLE_QUEUE).visible).toBe(5);
    await bus.close();

    bus = await LocalEventBus.open({ dir, rules });
    try {
      expect(await purgeConsoleQueue(bus)).toBe(5);
      expect(bus.stats(CONSOLE_QUEUE)).toEqual({ visible: 0, inFlight: 0, deadLetters: 0 });
      expect(await readdir(join(dir, 'queues', CONSOLE_QUEUE))).toEqual([]);
      // What this life publishes is shown as before.
      await bus.putEvents([aRejection(9)]);
      expect(await bus.receive(CONSOLE_QUEUE, 10)).toHaveLength(1);
    } finally {
      await bus.close();
    }
  });
});

const metadata = { eventId: 'e-1', correlationId: 'c-1', occurredAt: '2026-11-28T01:00:00.000Z' };
const aReport = (pipeline: string, headline: Record<string, number | string | null>): FlowOutcome => ({
  kind: 'report',
  detail: { metadata, data: { reportId: `report-${pipeline}`, runId: `run-${pipeline}`, pipeline, businessDate: '2026-11-27', key: `reports/2026-11-27/report-${pipeline}.json`, headline } },
});
const aFailure: FlowOutcome = {
  kind: 'failed',
  detail: { metadata, data: { runId: 'run-desk-risk', pipeline: 'desk-risk', businessDate: '2026-11-27', reason: 'no prices', finishedAt: '2026-11-28T01:02:00.000Z' } },
};

describe('what the terminal shows of a flow', () => {
  it('ends with one summary line: runs, reports, failures, rejections, elapsed', () => {
    expect(flowSummary({ outcomes: [aReport('nightly-tca', {}), aReport('execution-report', {}), aFailure] }, 41_234)).toBe(
      'done: 3 runs (2 succeeded, 1 failed), 2 reports, 0 rejected in 41.2 s',
    );
    expect(flowSummary({ outcomes: [aReport('nightly-tca', {})] }, 900)).toBe('done: 1 run (1 succeeded, 0 failed), 1 report, 0 rejected in 0.9 s');
    expect(flowSummary(undefined, 2_000)).toBe('done: 0 runs (0 succeeded, 0 failed), 0 reports, 0 rejected in 2.0 s');
  });

  it("shows a report's figures with their units and its file, and its API links only while they are served", () => {
    const report = aReport('nightly-tca', { orders: 200, arrival_slippage_bps: 8.634, notional: 176614486.2 });
    if (report.kind !== 'report') throw new Error('a report');
    const file = '/h/objects/reports/2026-11-27/report-nightly-tca.json';
    expect(reportLines(report.detail, { file })).toEqual([
      'Report Published report-nightly-tca (nightly-tca, 2026-11-27)',
      `  ${'orders'.padEnd(30)} 200 orders`,
      `  ${'arrival_slippage_bps'.padEnd(30)} 8.63 bps`,
      `  ${'notional'.padEnd(30)} 176,614,486 ccy`,
      `  file:   ${file}`,
    ]);
    // A report that names its currency shows it beside money.
    const inEuro = { ...report.detail, data: { ...report.detail.data, currency: 'EUR' } };
    expect(reportLines(inEuro, { file })[3]).toBe(`  ${'notional'.padEnd(30)} 176,614,486 EUR`);
    expect(reportLines(report.detail, { file, apiUrl: 'http://127.0.0.1:3000' }).slice(-2)).toEqual([
      '  report: http://127.0.0.1:3000/reports/report-nightly-tca',
      '  run:    http://127.0.0.1:3000/runs/run-nightly-tca',
    ]);
  });
});
