import { PutCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { DEFAULT_TENANT, IDEMPOTENCY_KEY_RETENTION_SECONDS, PROCESSED_EVENT_RETENTION_SECONDS, type DatasetVersion, type Report, type Run } from '@nightshift/jobs-domain';
import { beforeEach, describe, expect, it } from 'vitest';
// Builders of the conformance suite, test-only and deliberately not in jobs-domain's public index.
// eslint-disable-next-line @nx/enforce-module-boundaries
import { aDatasetInput, aReport, aRun, aRunWithSteps, at } from '../../domain/src/testing/job-store.contract.js';
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

  describe('backfillListingIndexes', () => {
    /** A version as stored before the listing indexes: its claim and its item, no pointers. */
    async function putOldVersion(version: DatasetVersion): Promise<void> {
      const { dataset, businessDate, version: n, landedEventId } = version;
      await put({ PK: `LANDED#${landedEventId}`, SK: 'LANDED', _entity: 'landedEvent', landedEventId, dataset, businessDate, version: n });
      await put({ ...version, PK: `DATASET#${dataset}@${businessDate}`, SK: `V#${String(n).padStart(10, '0')}`, _entity: 'datasetVersion' });
    }

    /** The copy of an old run's pointer in its tenant's index, as backfillTenantIndexes wrote it before pointers carried attributes. */
    const putOldTenantCopy = (run: Run) => put({ PK: `RUNS#TENANT#${run.tenant ?? DEFAULT_TENANT}`, SK: `${run.createdAt}#${run.runId}`, _entity: 'runPointer', runId: run.runId });

    const version = (dataset: string, n: number, registeredAt: string, tenant?: string): DatasetVersion => ({
      ...aDatasetInput({ dataset, landedEventId: `landed-${dataset}-${n}`, registeredAt, ...(tenant ? { tenant } : {}) }),
      version: n,
      datasetId: `${dataset}@2024-05-02#v${n}`,
    });

    it('lists old versions and finds old runs by their version, giving old pointers what listings filter on; a second run changes nothing', async () => {
      const oldVersions = [version('executions', 1, at(1)), version('executions', 2, at(2), 'acme'), version('quotes', 1, at(3))];
      for (const v of oldVersions) await putOldVersion(v);
      const oldRuns = [
        aRun({ runId: 'old-1', datasetId: oldVersions[0].datasetId, createdAt: at(10) }),
        aRun({ runId: 'old-2', datasetId: oldVersions[1].datasetId, tenant: 'acme', pipeline: 'risk', createdAt: at(11) }),
        aRun({ runId: 'old-3', datasetId: oldVersions[2].datasetId, correlationId: 'corr-3', createdAt: at(12) }),
      ];
      for (const run of oldRuns) await putOldRun(run);
      // old-3's tenant copy was never written (the tenant backfill has not run): nothing to give attributes to.
      for (const run of oldRuns.slice(0, 2)) await putOldTenantCopy(run);
      // Stored since: already indexed, and not indexed twice.
      const { run: current, steps } = aRunWithSteps('new', { alpha: 1 }, { datasetId: oldVersions[0].datasetId, createdAt: at(20) });
      await store.createRun(current, steps);
      const newVersion = await store.registerDatasetVersion(aDatasetInput({ dataset: 'quotes', landedEventId: 'landed-new', registeredAt: at(30) }));

      expect((await store.listDatasetVersions()).items).toEqual([newVersion]);
      // Other filters find old runs already, by reading them; a version's index does not hold them yet.
      expect((await store.listRuns({ pipeline: 'risk' })).items).toEqual([oldRuns[1]]);
      expect((await store.listRuns({ tenant: 'acme', pipeline: 'risk', businessDateFrom: '2024-05-02' })).items).toEqual([oldRuns[1]]);
      expect((await store.listRuns({ correlationId: 'corr-3' })).items).toEqual([oldRuns[2]]);
      expect((await store.listRuns({ pipeline: 'tca', limit: 1 })).items).toEqual([current]);
      expect((await store.listRuns({ datasetId: oldVersions[0].datasetId })).items).toEqual([current]);

      // Two pointers per old version; per old run its version's pointer, and the attributes on its RUNS pointer and on its tenant's copy if it has one.
      expect(await store.backfillListingIndexes()).toEqual({ skipped: false, written: 3 * 2 + 3 + 3 + 2 });

      expect((await store.listDatasetVersions()).items).toEqual([newVersion, ...[...oldVersions].reverse()]);
      expect((await store.listDatasetVersions({ tenant: 'acme' })).items).toEqual([oldVersions[1]]);
      expect((await store.listDatasetVersions({ tenant: DEFAULT_TENANT, dataset: 'quotes' })).items).toEqual([newVersion, oldVersions[2]]);
      expect((await store.listRuns({ datasetId: oldVersions[0].datasetId })).items).toEqual([current, oldRuns[0]]);
      expect((await store.listRuns({ datasetId: oldVersions[1].datasetId, tenant: 'acme' })).items).toEqual([oldRuns[1]]);
      expect((await store.listRuns({ pipeline: 'risk' })).items).toEqual([oldRuns[1]]);
      const pointers = (await wholeTable()).filter((i) => String(i.PK).startsWith('RUNS') && String(i.runId).startsWith('old-'));
      expect(pointers).toHaveLength(3 + 2 + 3);
      for (const pointer of pointers) expect(pointer).toMatchObject({ pipeline: expect.any(String), businessDate: '2024-05-02', tenant: expect.any(String) });

      const after = await wholeTable();
      expect(await store.backfillListingIndexes()).toEqual({ skipped: true, written: 0 });
      expect(await store.backfillListingIndexes({ force: true })).toEqual({ skipped: false, written: 0 });
      expect(await wholeTable()).toEqual(after);

      // The tenant backfill that runs afterwards writes the copy old-3 lacks, with the attributes.
      expect(await store.backfillTenantIndexes()).toEqual({ skipped: false, written: 1 });
      const copy = (await wholeTable()).find((i) => i.PK === `RUNS#TENANT#${DEFAULT_TENANT}` && i.runId === 'old-3');
      expect(copy).toMatchObject({ pipeline: 'tca', correlationId: 'corr-3', datasetId: oldVersions[2].datasetId, tenant: DEFAULT_TENANT });
      expect((await store.listRuns({ tenant: DEFAULT_TENANT, correlationId: 'corr-3' })).items).toEqual([oldRuns[2]]);
    });

    it('has nothing to do on an empty table, and says so once', async () => {
      expect(await store.backfillListingIndexes()).toEqual({ skipped: false, written: 0 });
      expect(await store.backfillListingIndexes()).toEqual({ skipped: true, written: 0 });
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
