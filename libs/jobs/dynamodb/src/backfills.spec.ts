import { PutCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { DEFAULT_TENANT, IDEMPOTENCY_KEY_RETENTION_SECONDS, PROCESSED_EVENT_RETENTION_SECONDS, type Report, type Run } from '@nightshift/jobs-domain';
import { beforeEach, describe, expect, it } from 'vitest';
// Builders of the conformance suite, test-only and deliberately not in jobs-domain's public index.
// eslint-disable-next-line @nx/enforce-module-boundaries
import { aReport, aRun, aRunWithSteps, at } from '../../domain/src/testing/job-store.contract.js';
import { DynamoDbJobStore } from './dynamodb-job-store.js';
import { TTL_ATTRIBUTE } from './keys.js';
import { embeddedTables } from './testing/embedded-tables.js';

/*
 * The one-off migrations of tables written by earlier versions of the store. "Old" items are
 * written here directly, in the shape the store wrote before the per-tenant indexes and expiry.
 */

const db = embeddedTables('migrate');

describe('DynamoDbJobStore migrations', () => {
  let tableName: string;
  let store: DynamoDbJobStore;
  const NOW = new Date('2024-06-01T00:00:00.000Z');

  beforeEach(async () => {
    tableName = await db.freshTable();
    store = new DynamoDbJobStore(db.client, { tableName, clock: { now: () => NOW } });
  });

  const put = (item: Record<string, unknown>) => db.client.send(new PutCommand({ TableName: tableName, Item: item }));

  /** A run as stored before the per-tenant indexes: its item and its RUNS pointer, nothing more. */
  async function putOldRun(run: Run): Promise<void> {
    await put({ ...run, PK: `RUN#${run.runId}`, SK: 'RUN', outbox: {}, _entity: 'run', _complete: true });
    await put({ PK: 'RUNS', SK: `${run.createdAt}#${run.runId}`, _entity: 'runPointer', runId: run.runId });
  }

  /** A report as stored before the per-tenant indexes: its record, its REPORTS copy and its run's copy. */
  async function putOldReport(report: Report): Promise<void> {
    await put({ ...report, PK: `REPORT#${report.reportId}`, SK: 'REPORT', _entity: 'report' });
    await put({ ...report, PK: 'REPORTS', SK: `${report.publishedAt}#${report.reportId}`, _entity: 'reportCopy' });
    await put({ ...report, PK: `RUN#${report.runId}`, SK: `REPORT#${report.publishedAt}#${report.reportId}`, _entity: 'reportCopy' });
  }

  async function wholeTable(): Promise<Array<Record<string, unknown>>> {
    const items: Array<Record<string, unknown>> = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await db.client.send(new ScanCommand({ TableName: tableName, ExclusiveStartKey: startKey, ConsistentRead: true }));
      items.push(...(page.Items ?? []));
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return items.sort((a, b) => `${String(a.PK)}|${String(a.SK)}`.localeCompare(`${String(b.PK)}|${String(b.SK)}`));
  }

  describe('backfillTenantIndexes', () => {
    it("writes the tenant index entries old runs and reports lack, so a tenant's listing finds them; a second run changes nothing", async () => {
      // More old runs than one page of the RUNS partition the backfill reads.
      const old = Array.from({ length: 105 }, (_, i) => aRun({ runId: `old-${String(i).padStart(3, '0')}`, createdAt: at(i) }));
      for (const run of old) await putOldRun(run);
      const acmeRun = aRun({ runId: 'old-acme', tenant: 'acme', createdAt: at(200) });
      await putOldRun(acmeRun);
      const report = aReport({ reportId: 'old-report', runId: 'old-000', publishedAt: at(300) });
      const acmeReport = aReport({ reportId: 'old-acme-report', runId: 'old-acme', tenant: 'acme', publishedAt: at(301) });
      await putOldReport(report);
      await putOldReport(acmeReport);
      // A run stored since: already indexed, and not indexed twice.
      const { run: current, steps } = aRunWithSteps('new-acme', { alpha: 1 }, { tenant: 'acme', createdAt: at(400) });
      await store.createRun(current, steps);

      expect((await store.listRuns({ tenant: DEFAULT_TENANT })).items).toEqual([]);
      expect((await store.listRuns({ tenant: 'acme' })).items.map((r) => r.runId)).toEqual(['new-acme']);
      expect((await store.listReports({ tenant: 'acme' })).items).toEqual([]);

      expect(await store.backfillTenantIndexes()).toEqual({ skipped: false, written: 108 });

      const defaults = await store.listRuns({ tenant: DEFAULT_TENANT, limit: 500 });
      expect(defaults.items.map((r) => r.runId)).toEqual(old.map((r) => r.runId).reverse());
      expect((await store.listRuns({ tenant: 'acme' })).items).toEqual([current, acmeRun]);
      expect((await store.listReports({ tenant: DEFAULT_TENANT })).items).toEqual([report]);
      expect((await store.listReports({ tenant: 'acme' })).items).toEqual([acmeReport]);
      expect((await store.listRuns({ tenant: 'globex' })).items).toEqual([]);

      const after = await wholeTable();
      // Recorded as done: the next start reads one item and goes on.
      expect(await store.backfillTenantIndexes()).toEqual({ skipped: true, written: 0 });
      // Walked again on purpose, it finds nothing missing and writes nothing.
      expect(await store.backfillTenantIndexes({ force: true })).toEqual({ skipped: false, written: 0 });
      expect(await wholeTable()).toEqual(after);
    });

    it('has nothing to do on an empty table, and says so once', async () => {
      expect(await store.backfillTenantIndexes()).toEqual({ skipped: false, written: 0 });
      expect(await store.backfillTenantIndexes()).toEqual({ skipped: true, written: 0 });
    });
  });

  describe('backfillExpiry', () => {
    it('gives old processed records and Idempotency-Key bindings their TTL from when they were written, and leaves everything else', async () => {
      const processedAt = '2024-05-02T21:00:00.000Z';
      await put({ PK: 'PROCESSED#planner', SK: 'EVENT#evt-old', _entity: 'processedEvent', consumer: 'planner', eventId: 'evt-old', processedAt });
      await put({ PK: 'IDEMPOTENCY#acme#k-old', SK: 'IDEMPOTENCY', _entity: 'idempotencyKey', bodyHash: 'a'.repeat(64), tenant: 'acme', idempotencyKey: 'k-old', createdAt: processedAt });
      await put({ PK: 'PROCESSED#planner', SK: 'EVENT#evt-garbled', _entity: 'processedEvent', consumer: 'planner', eventId: 'evt-garbled' });
      await store.markProcessed('planner', 'evt-new');
      const { run, steps } = aRunWithSteps('run-1', { alpha: 1 });
      await store.createRun(run, steps);
      const before = await wholeTable();

      expect(await store.backfillExpiry()).toEqual({ skipped: false, written: 3 });

      const after = await wholeTable();
      const ttlOf = (pk: string, sk: string) => after.find((i) => i.PK === pk && i.SK === sk)?.[TTL_ATTRIBUTE];
      const written = Date.parse(processedAt) / 1000;
      expect(ttlOf('PROCESSED#planner', 'EVENT#evt-old')).toBe(written + PROCESSED_EVENT_RETENTION_SECONDS);
      expect(ttlOf('IDEMPOTENCY#acme#k-old', 'IDEMPOTENCY')).toBe(written + IDEMPOTENCY_KEY_RETENTION_SECONDS);
      // Without a readable time, retention counts from the migration.
      expect(ttlOf('PROCESSED#planner', 'EVENT#evt-garbled')).toBe(NOW.getTime() / 1000 + PROCESSED_EVENT_RETENTION_SECONDS);
      // Nothing else changed, apart from the marker.
      const untouched = (items: Array<Record<string, unknown>>) => items.filter((i) => !String(i.SK).startsWith('EVENT#evt-old') && !String(i.SK).startsWith('EVENT#evt-garbled') && i.SK !== 'IDEMPOTENCY' && i.SK !== 'MIGRATION');
      expect(untouched(after)).toEqual(untouched(before));

      expect(await store.backfillExpiry()).toEqual({ skipped: true, written: 0 });
      expect(await store.backfillExpiry({ force: true })).toEqual({ skipped: false, written: 0 });
      expect(await wholeTable()).toEqual(after);
    });
  });
});
