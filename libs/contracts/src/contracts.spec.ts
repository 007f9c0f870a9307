import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  BatchJobStateChange,
  DatasetLanded,
  DatasetRegistered,
  envelope,
  EVENT_CATALOG,
  eventBridgeEnvelopeSchema,
  issuesToProblems,
  objectKeyProblem,
  partitionNameProblem,
  RunRequested,
  RunRetryRequested,
  SERVICE_RULES,
  traceparentOf,
} from './index.js';

const awsBatchEvent = JSON.parse(readFileSync(new URL('./__fixtures__/batch-job-state-change.aws.json', import.meta.url), 'utf8')) as {
  detail: unknown;
};

describe('event contracts', () => {
  it("accepts AWS Batch's own documented state-change event, envelope and detail", () => {
    expect(eventBridgeEnvelopeSchema.safeParse(awsBatchEvent).success).toBe(true);
    const detail = BatchJobStateChange.detail.parse(awsBatchEvent.detail);
    expect(detail.status).toBe('RUNNABLE');
    // Unknown AWS fields are kept, not stripped.
    expect((detail.container as Record<string, unknown>)['secrets']).toEqual([]);
  });

  it('rejects a Batch status AWS does not have', () => {
    const bad = { ...(awsBatchEvent.detail as object), status: 'DONE' };
    expect(BatchJobStateChange.detail.safeParse(bad).success).toBe(false);
  });

  it('takes Dataset Landed in the plain form an upstream system sends, and names bad fields by path', () => {
    const ok = DatasetLanded.detail.safeParse({ dataset: 'executions', businessDate: '2026-11-20', files: [{ table: 'fills', key: 'a/b.csv', desk: 'cash' }] });
    expect(ok.success).toBe(true);
    const bad = DatasetLanded.detail.safeParse({ dataset: 'Executions!', businessDate: '2026-02-30', files: [{ table: 'positions', key: '../x' }] });
    expect(bad.success).toBe(false);
    const paths = issuesToProblems(bad.error!.issues).map((p) => p.path);
    expect(paths).toEqual(expect.arrayContaining(['detail.dataset', 'detail.businessDate', 'detail.files.0.table', 'detail.files.0.key']));
  });

  it.each(['landing//x.csv', 'landing/./x', 'landing\\..\\x', 'landing/x/', '/abs', 'a/../b', 'a\u0000b'])(
    'refuses the key %j at the contract with the object store\'s own reason',
    (key) => {
      const parsed = DatasetLanded.detail.safeParse({ dataset: 'executions', businessDate: '2026-11-20', files: [{ table: 'fills', key }] });
      expect(parsed.success).toBe(false);
      expect(issuesToProblems(parsed.error!.issues)).toEqual([{ path: 'detail.files.0.key', message: `not a valid object key: ${objectKeyProblem(key)}` }]);
    },
  );

  it.each(['../../x', 'a/b', 'A', '-x', 'a..b', '', 'x'.repeat(64)])('refuses the desk name %j at the contract with the one partition rule', (desk) => {
    expect(partitionNameProblem(desk)).toBeDefined();
    const parsed = DatasetLanded.detail.safeParse({ dataset: 'executions', businessDate: '2026-11-20', files: [{ table: 'fills', key: 'a.csv', desk }] });
    expect(parsed.success).toBe(false);
    expect(issuesToProblems(parsed.error!.issues)).toContainEqual({ path: 'detail.files.0.desk', message: partitionNameProblem(desk) });
  });

  it.each(['cash', 'us-program', 'eu.macro_2', '0', 'x'.repeat(63)])('accepts the desk name %j', (desk) => {
    expect(partitionNameProblem(desk)).toBeUndefined();
    expect(DatasetLanded.detail.safeParse({ dataset: 'executions', businessDate: '2026-11-20', files: [{ table: 'fills', key: 'a.csv', desk }] }).success).toBe(true);
  });

  it("wraps nightshift's own events in the metadata envelope", () => {
    const detail = envelope(
      { datasetId: 'd', dataset: 'executions', businessDate: '2026-11-20', version: 1, files: [], rowCount: 0, partitions: [], manifestKey: 'm.json' },
      { eventId: 'e1', correlationId: 'c1', occurredAt: new Date('2026-11-20T00:00:00Z') },
    );
    expect(DatasetRegistered.detail.parse(detail).metadata).toEqual({ eventId: 'e1', correlationId: 'c1', occurredAt: '2026-11-20T00:00:00.000Z' });
    expect(DatasetRegistered.detail.safeParse({ ...detail, metadata: { ...detail.metadata, traceparent: 'nope' } }).success).toBe(false);
  });

  it('finds trace context in metadata, in a plain upstream detail, and in a Batch job environment', () => {
    const tp = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    expect(traceparentOf({ detail: { metadata: { traceparent: tp } } })).toBe(tp);
    expect(traceparentOf({ detail: { traceparent: tp } })).toBe(tp);
    expect(traceparentOf({ detail: { container: { environment: [{ name: 'A', value: 'b' }, { name: 'TRACEPARENT', value: tp }] } } })).toBe(tp);
    expect(traceparentOf({ detail: {} })).toBeUndefined();
  });

  it('catalogs every event once, with its producer and consumers', () => {
    expect(Object.keys(EVENT_CATALOG).sort()).toEqual(
      [
        'Backfill Cancel Requested',
        'Backfill Requested',
        'Batch Job State Change',
        'Dataset Landed',
        'Dataset Registered',
        'Dataset Rejected',
        'Message Dead-Lettered',
        'Report Published',
        'Run Cancel Requested',
        'Run Failed',
        'Run Requested',
        'Run Retry Requested',
        'Run Succeeded',
        'Step Approval Decided',
      ].sort(),
    );
    for (const [type, c] of Object.entries(EVENT_CATALOG)) expect(c.detailType).toBe(type);
  });

  it('takes Run Requested with a business date, or as a schedule\'s fire without one, and names businessDate when it has neither', () => {
    const meta = { eventId: 'r1', correlationId: 'r1', occurredAt: new Date('2026-12-24T07:00:00Z') };
    expect(RunRequested.detail.parse(envelope({ pipeline: 'nightly-tca', businessDate: '2026-12-23', requestedBy: 'ops' }, meta)).data.businessDate).toBe('2026-12-23');
    const fire = { pipeline: 'nightly-tca', requestedBy: 'arn:aws:scheduler:eu-west-1:111111111111:schedule/ns/nightly-tca-nightly', schedule: { name: 'nightly', scheduledTime: '2026-12-24T07:00:00Z' } };
    expect(RunRequested.detail.parse(envelope(fire, meta)).data).toEqual(fire);
    const neither = RunRequested.detail.safeParse(envelope({ pipeline: 'nightly-tca', requestedBy: 'ops' }, meta));
    expect(issuesToProblems(neither.error!.issues)).toEqual([{ path: 'detail.data.businessDate', message: expect.stringContaining('businessDate is required') }]);
    const badFire = RunRequested.detail.safeParse(envelope({ ...fire, schedule: { name: 'nightly', scheduledTime: 'Thursday' } }, meta));
    expect(issuesToProblems(badFire.error!.issues).map((p) => p.path)).toEqual(['detail.data.schedule.scheduledTime']);
  });

  it('takes Run Retry Requested from the API, enveloped, with an optional reason, for the planner alone', () => {
    const meta = { eventId: 'retry-1', correlationId: 'c1', occurredAt: new Date('2026-11-20T00:00:00Z') };
    expect(RunRetryRequested.detail.parse(envelope({ runId: 'run-1', requestedBy: 'ops@example.com' }, meta)).data).toEqual({ runId: 'run-1', requestedBy: 'ops@example.com' });
    expect(RunRetryRequested.detail.parse(envelope({ runId: 'run-1', requestedBy: 'ops', reason: 'vendor file fixed' }, meta)).data.reason).toBe('vendor file fixed');
    const bad = RunRetryRequested.detail.safeParse(envelope({ runId: '', requestedBy: 'ops', reason: '' }, meta));
    expect(issuesToProblems(bad.error!.issues).map((p) => p.path).sort()).toEqual(['detail.data.reason', 'detail.data.runId']);
    expect(EVENT_CATALOG['Run Retry Requested']).toMatchObject({ source: 'nightshift.api', producer: 'api', consumers: ['planner'], enveloped: true });
    const rules = Object.entries(SERVICE_RULES).filter(([, rs]) => rs.some((r) => (r.eventPattern['detail-type'] as string[]).includes('Run Retry Requested')));
    expect(rules.map(([service]) => service)).toEqual(['planner']);
  });
});

describe('docs/events.md', () => {
  it('is generated from the catalog and up to date (npm run docs:events)', async () => {
    const { renderEventCatalogMarkdown } = await import('./catalog-doc.js');
    const onDisk = readFileSync(new URL('../../../docs/events.md', import.meta.url), 'utf8');
    expect(onDisk).toBe(renderEventCatalogMarkdown());
  });
});
