import { readFileSync } from 'node:fs';
import { SERVICE_RULES, type ServiceName } from '@nightshift/contracts';
import { describe, expect, it } from 'vitest';
import { compileEventPattern, validateEventPattern } from './index.js';

const base = { version: '0', id: '1', account: '000000000000', time: '2026-11-20T00:00:00Z', region: 'local', resources: [] };
const batchEvent = JSON.parse(readFileSync(new URL('../../../contracts/src/__fixtures__/batch-job-state-change.aws.json', import.meta.url), 'utf8')) as Record<string, unknown>;

function subscribers(event: unknown): ServiceName[] {
  return (Object.entries(SERVICE_RULES) as Array<[ServiceName, (typeof SERVICE_RULES)[ServiceName]]>)
    .filter(([, rules]) => rules.some((r) => compileEventPattern(r.eventPattern)(event)))
    .map(([name]) => name);
}

describe("the services' rule patterns (declared once in contracts)", () => {
  it('are all valid EventBridge patterns', () => {
    for (const rules of Object.values(SERVICE_RULES)) for (const r of rules) expect(() => validateEventPattern(r.eventPattern)).not.toThrow();
  });

  it('route each event to the services that consume it, and only those', () => {
    expect(subscribers({ ...base, source: 'com.acme.oms', 'detail-type': 'Dataset Landed', detail: {} })).toEqual(['ingestion']);
    // nightshift does not consume its own namespace's Dataset Landed (loop guard).
    expect(subscribers({ ...base, source: 'nightshift.ingestion', 'detail-type': 'Dataset Landed', detail: {} })).toEqual([]);
    expect(subscribers({ ...base, source: 'nightshift.ingestion', 'detail-type': 'Dataset Registered', detail: {} })).toEqual(['planner']);
    expect(subscribers({ ...base, source: 'nightshift.api', 'detail-type': 'Run Requested', detail: {} })).toEqual(['planner']);
    // Finished runs: reporting (reports), and the planner (chained pipelines, backfills).
    expect(subscribers({ ...base, source: 'nightshift.planner', 'detail-type': 'Run Succeeded', detail: {} })).toEqual(['planner', 'reporting']);
    expect(subscribers({ ...base, source: 'nightshift.planner', 'detail-type': 'Run Failed', detail: {} })).toEqual(['planner', 'reporting']);
    expect(subscribers({ ...base, source: 'nightshift.api', 'detail-type': 'Step Approval Decided', detail: {} })).toEqual(['planner']);
    expect(subscribers({ ...base, source: 'com.acme.oms', 'detail-type': 'Step Approval Decided', detail: {} })).toEqual([]);
    // Notifications: rejected landings and the bus's dead-letter announcements reach reporting only.
    expect(subscribers({ ...base, source: 'nightshift.ingestion', 'detail-type': 'Dataset Rejected', detail: {} })).toEqual(['reporting']);
    expect(subscribers({ ...base, source: 'nightshift.bus', 'detail-type': 'Message Dead-Lettered', detail: {} })).toEqual(['reporting']);
    expect(subscribers({ ...base, source: 'com.acme.oms', 'detail-type': 'Message Dead-Lettered', detail: {} })).toEqual([]);
  });

  it('route backfill requests and cancels from the API to the planner, and no one else\'s', () => {
    for (const type of ['Backfill Requested', 'Backfill Cancel Requested']) {
      expect(subscribers({ ...base, source: 'nightshift.api', 'detail-type': type, detail: {} })).toEqual(['planner']);
      expect(subscribers({ ...base, source: 'com.acme.oms', 'detail-type': type, detail: {} })).toEqual([]);
    }
    // A backfill's finished runs reach the planner (it moves the backfill on) as well as reporting.
    for (const type of ['Run Succeeded', 'Run Failed']) {
      expect(subscribers({ ...base, source: 'nightshift.planner', 'detail-type': type, detail: { data: { backfillId: 'bf-1' } } })).toEqual(['planner', 'reporting']);
    }
  });

  it("take AWS Batch events only for nightshift's own jobs", () => {
    const detail = batchEvent['detail'] as Record<string, unknown>;
    expect(subscribers(batchEvent)).toEqual([]);
    // The recorded AWS event is RUNNABLE: an intermediate state the planner merges into the next, so not even queued.
    expect(detail['status']).toBe('RUNNABLE');
    expect(subscribers({ ...batchEvent, detail: { ...detail, parameters: { 'nightshift.runId': 'run-1' } } })).toEqual([]);
    for (const status of ['RUNNING', 'SUCCEEDED', 'FAILED']) {
      expect(subscribers({ ...batchEvent, detail: { ...detail, status, parameters: { 'nightshift.runId': 'run-1' } } })).toEqual(['planner']);
    }
    for (const status of ['SUBMITTED', 'PENDING', 'STARTING']) {
      expect(subscribers({ ...batchEvent, detail: { ...detail, status, parameters: { 'nightshift.runId': 'run-1' } } })).toEqual([]);
    }
  });

  it('route cancel requests from the API to the planner', () => {
    expect(subscribers({ ...base, source: 'nightshift.api', 'detail-type': 'Run Cancel Requested', detail: {} })).toEqual(['planner']);
    expect(subscribers({ ...base, source: 'com.acme.oms', 'detail-type': 'Run Cancel Requested', detail: {} })).toEqual([]);
  });

  it('route retry requests from the API to the planner, and no one else\'s', () => {
    expect(subscribers({ ...base, source: 'nightshift.api', 'detail-type': 'Run Retry Requested', detail: {} })).toEqual(['planner']);
    expect(subscribers({ ...base, source: 'com.acme.oms', 'detail-type': 'Run Retry Requested', detail: {} })).toEqual([]);
  });
});
