import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { validateTableFile } from '@nightshift/analytics';
import { DatasetRegistered, DatasetRejected, type DataProblem, type EventBridgeEvent } from '@nightshift/contracts';
import type { EventPublisher, OutgoingEvent } from '@nightshift/events-domain';
import { DynamoDbJobStore } from '@nightshift/jobs-dynamodb';
// eslint-disable-next-line @nx/enforce-module-boundaries -- the store lib's test fixture (one embedded server per spec file)
import { embeddedTables } from '../../../libs/jobs/dynamodb/src/testing/embedded-tables.js';
import type { ObjectInfo } from '@nightshift/storage-domain';
import { DirectoryObjectStore } from '@nightshift/storage-local';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RegisterLandedDataset } from './register-landed-dataset.js';

/** Keeps what was published, as the bus would deliver it. */
class PublishedEvents implements EventPublisher {
  readonly events: OutgoingEvent[] = [];
  async publish(entries: OutgoingEvent[]): Promise<void> {
    this.events.push(...entries);
  }
  last(): OutgoingEvent {
    return this.events.at(-1)!;
  }
}

const SECRET_LINE = 'root:x:0:0:root:/root:/bin/bash';

const dynamo = embeddedTables('ingest');

describe('RegisterLandedDataset', () => {
  let root: string;
  let outside: string;
  let store: DynamoDbJobStore;
  let objects: DirectoryObjectStore;
  let published: PublishedEvents;
  let ingest: RegisterLandedDataset;
  let landings = 0;
  let tableName: string;

  const landed = (detail: Record<string, unknown>): EventBridgeEvent =>
    ({
      version: '0',
      id: `landed-${++landings}`,
      'detail-type': 'Dataset Landed',
      source: 'com.example.oms',
      account: '000000000000',
      time: '2026-11-20T00:00:00Z',
      region: 'us-east-1',
      resources: [],
      detail,
    }) as EventBridgeEvent;
  const day = (files: Array<Record<string, unknown>>, extra: Record<string, unknown> = {}) => landed({ dataset: 'performance', businessDate: '2026-11-20', files, ...extra });
  const reasonsOf = (e: OutgoingEvent): DataProblem[] => DatasetRejected.detail.parse(e.detail).data.reasons;

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'ns-ingest-'));
    outside = await mkdtemp(join(tmpdir(), 'ns-ingest-outside-'));
    tableName = await dynamo.freshTable();
    store = new DynamoDbJobStore(dynamo.client, { tableName });
    objects = new DirectoryObjectStore(root);
    published = new PublishedEvents();
    ingest = new RegisterLandedDataset(store, objects, published, validateTableFile, { now: () => new Date('2026-11-21T06:00:00Z') });
    await objects.put('landing/cash/returns.csv', 'date,return\n2026-11-19,0.01\n2026-11-20,-0.02\n');
    await objects.put('landing/bench/returns.csv', 'date,return\n2026-11-19,0.00\n2026-11-20,0.01\n');
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
    await rm(outside, { recursive: true, force: true });
  });

  const files = [
    { table: 'returns', key: 'landing/cash/returns.csv', desk: 'cash' },
    { table: 'returns', key: 'landing/bench/returns.csv' },
  ];

  describe('idempotent by content', () => {
    it('answers a second landing of the same content with the registered version, under its registration event id', async () => {
      const first = day(files);
      expect(await ingest.execute(first)).toMatchObject({ kind: 'registered', dataset: { version: 1 } });
      const again = day([...files].reverse());
      const outcome = await ingest.execute(again);

      expect(outcome).toMatchObject({ kind: 'already-registered', dataset: { datasetId: 'performance@2026-11-20#v1' } });
      expect((await store.latestDatasetVersion('performance', '2026-11-20'))?.version).toBe(1);
      const answer = DatasetRegistered.detail.parse(published.last().detail);
      // The planner's run ids derive from the event id: the original's, so it starts nothing new.
      expect(answer.metadata).toMatchObject({ eventId: `dataset-registered-${first.id}`, correlationId: again.id });
      expect(answer.data).toMatchObject({ datasetId: 'performance@2026-11-20#v1', version: 1, alreadyRegistered: true });
      // A redelivery of the second landing is a duplicate, nothing more.
      expect(await ingest.execute(again)).toEqual({ kind: 'duplicate' });
    });

    it('recognises the content of an older version, not only the latest', async () => {
      await ingest.execute(day(files));
      await objects.put('landing/cash/returns.csv', 'date,return\n2026-11-19,0.02\n');
      expect(await ingest.execute(day(files))).toMatchObject({ kind: 'registered', dataset: { version: 2 } });
      await objects.put('landing/cash/returns.csv', 'date,return\n2026-11-19,0.01\n2026-11-20,-0.02\n');
      expect(await ingest.execute(day(files))).toMatchObject({ kind: 'already-registered', dataset: { version: 1 } });
    });

    it("keeps content idempotency per tenant: another tenant's identical landing is a version of its own", async () => {
      const acme = await ingest.execute(day(files, { tenant: 'acme' }));
      expect(acme).toMatchObject({ kind: 'registered', dataset: { version: 1, tenant: 'acme' } });
      const globex = await ingest.execute(day([...files].reverse(), { tenant: 'globex' }));
      expect(globex).toMatchObject({ kind: 'registered', dataset: { version: 2, tenant: 'globex' } });
      const registered = DatasetRegistered.detail.parse(published.last().detail);
      expect(registered.metadata.tenant).toBe('globex');
      expect(registered.data.alreadyRegistered).toBeUndefined();

      // Each tenant's repeat is answered with its own version, never the other's.
      expect(await ingest.execute(day(files, { tenant: 'acme' }))).toMatchObject({ kind: 'already-registered', dataset: { version: 1, tenant: 'acme' } });
      expect(DatasetRegistered.detail.parse(published.last().detail).metadata.tenant).toBe('acme');
      expect(await ingest.execute(day(files, { tenant: 'globex' }))).toMatchObject({ kind: 'already-registered', dataset: { version: 2, tenant: 'globex' } });
      // A landing without a tenant is the default tenant's: new to it too.
      const untenanted = await ingest.execute(day(files));
      expect(untenanted).toMatchObject({ kind: 'registered', dataset: { version: 3 } });
      expect(untenanted.kind === 'registered' ? untenanted.dataset : undefined).not.toHaveProperty('tenant');
      expect(await store.getDatasetVersion('performance@2026-11-20#v2')).toMatchObject({ tenant: 'globex' });
    });

    it('registers a new version when the content differs or the landing asks for force', async () => {
      await ingest.execute(day(files));
      expect(await ingest.execute(day(files, { force: true }))).toMatchObject({ kind: 'registered', dataset: { version: 2 } });
      expect(DatasetRegistered.detail.parse(published.last().detail).data.alreadyRegistered).toBeUndefined();
      // Same bytes under another desk is other content.
      expect(await ingest.execute(day([{ ...files[0], desk: 'macro' }, files[1]]))).toMatchObject({ kind: 'registered', dataset: { version: 3 } });
    });
  });

  describe('every outcome is recorded, so the sender can ask for it', () => {
    /** A publisher that fails its next publish, as if the process died there, then publishes again. */
    class CrashingOnce extends PublishedEvents {
      crashNext = true;
      override async publish(entries: OutgoingEvent[]): Promise<void> {
        if (this.crashNext) {
          this.crashNext = false;
          throw new Error('simulated crash before the publish');
        }
        await super.publish(entries);
      }
    }

    /** Every item of the store's table but the processed-event records, to show a redelivery writes nothing else. */
    async function tableItems(): Promise<Array<Record<string, unknown>>> {
      const items: Array<Record<string, unknown>> = [];
      let startKey: Record<string, unknown> | undefined;
      do {
        const page = await dynamo.client.send(new ScanCommand({ TableName: tableName, ExclusiveStartKey: startKey, ConsistentRead: true }));
        items.push(...(page.Items ?? []));
        startKey = page.LastEvaluatedKey;
      } while (startKey);
      return items.filter((i) => !String(i.PK).startsWith('PROCESSED#')).sort((a, b) => `${String(a.PK)}|${String(a.SK)}`.localeCompare(`${String(b.PK)}|${String(b.SK)}`));
    }

    it("records a rejected landing's reasons and tenant, readable by getLanding", async () => {
      const event = day([{ table: 'returns', key: 'landing/missing/returns.csv', desk: 'cash' }], { tenant: 'acme' });
      expect((await ingest.execute(event)).kind).toBe('rejected');

      const reasons = reasonsOf(published.last());
      expect(reasons).toEqual([{ path: 'detail.files.0.key', file: 'landing/missing/returns.csv', message: 'file not found in the object store' }]);
      expect(await store.getLanding(event.id)).toEqual({
        landedEventId: event.id,
        tenant: 'acme',
        status: 'REJECTED',
        reasons,
        dataset: 'performance',
        businessDate: '2026-11-20',
        at: '2026-11-21T06:00:00.000Z',
      });
      expect(DatasetRejected.detail.parse(published.last().detail).metadata.tenant).toBe('acme');
    });

    it('records the tenant and whatever could be read of a landing that breaks the contract', async () => {
      const event = landed({ dataset: 'performance', businessDate: 'yesterday', files: [], tenant: 'acme' });
      expect((await ingest.execute(event)).kind).toBe('rejected');

      const outcome = await store.getLanding(event.id);
      expect(outcome).toMatchObject({ status: 'REJECTED', tenant: 'acme', dataset: 'performance', businessDate: 'yesterday', reasons: reasonsOf(published.last()) });
      expect(DatasetRejected.detail.parse(published.last().detail).metadata.tenant).toBe('acme');
      const anonymous = landed({ files: 'none' });
      await ingest.execute(anonymous);
      expect(await store.getLanding(anonymous.id)).not.toHaveProperty('tenant');
    });

    it('names the version an accepted landing registered', async () => {
      const event = day(files, { tenant: 'acme' });
      expect(await ingest.execute(event)).toMatchObject({ kind: 'registered', dataset: { datasetId: 'performance@2026-11-20#v1' } });
      expect(await store.getLanding(event.id)).toEqual({ landedEventId: event.id, tenant: 'acme', status: 'ACCEPTED', datasetId: 'performance@2026-11-20#v1', at: '2026-11-21T06:00:00.000Z' });
    });

    it('names the existing version for a landing answered as already registered', async () => {
      await ingest.execute(day(files, { tenant: 'acme' }));
      const again = day([...files].reverse(), { tenant: 'acme' });
      expect((await ingest.execute(again)).kind).toBe('already-registered');
      expect(await store.getLanding(again.id)).toEqual({
        landedEventId: again.id,
        tenant: 'acme',
        status: 'ACCEPTED',
        datasetId: 'performance@2026-11-20#v1',
        at: '2026-11-21T06:00:00.000Z',
        alreadyRegistered: true,
      });
    });

    it('carries out a recorded rejection on a redelivery, without deciding anew or writing anything new', async () => {
      const crashing = new CrashingOnce();
      const crashed = new RegisterLandedDataset(store, objects, crashing, validateTableFile, { now: () => new Date('2026-11-21T06:00:00Z') });
      const event = day([{ table: 'returns', key: 'landing/late/returns.csv' }], { tenant: 'acme' });
      await expect(crashed.execute(event)).rejects.toThrow(/simulated crash/);
      const recorded = await store.getLanding(event.id);
      expect(recorded).toMatchObject({ status: 'REJECTED' });
      const before = await tableItems();

      // The file arrives before the redelivery: the landing was rejected, and stays so.
      await objects.put('landing/late/returns.csv', 'date,return\n2026-11-19,0.01\n');
      const redelivered = await crashed.execute(event);
      expect(redelivered).toEqual({ kind: 'rejected', reasons: recorded?.status === 'REJECTED' ? recorded.reasons : [] });
      expect(crashing.last().detailType).toBe(DatasetRejected.detailType);
      expect(DatasetRejected.detail.parse(crashing.last().detail).metadata).toMatchObject({ eventId: `dataset-rejected-${event.id}`, tenant: 'acme' });
      expect(await tableItems()).toEqual(before);
      expect(await crashed.execute(event)).toEqual({ kind: 'duplicate' });
    });

    it('carries out a recorded "already registered" answer on a redelivery, even if the files changed since', async () => {
      await ingest.execute(day(files));
      const crashing = new CrashingOnce();
      const crashed = new RegisterLandedDataset(store, objects, crashing, validateTableFile, { now: () => new Date('2026-11-21T07:00:00Z') });
      const again = day(files);
      await expect(crashed.execute(again)).rejects.toThrow(/simulated crash/);
      const before = await tableItems();

      await objects.put('landing/cash/returns.csv', 'date,return\n2026-11-19,0.05\n');
      expect(await crashed.execute(again)).toMatchObject({ kind: 'already-registered', dataset: { version: 1 } });
      expect(DatasetRegistered.detail.parse(crashing.last().detail).data).toMatchObject({ datasetId: 'performance@2026-11-20#v1', alreadyRegistered: true });
      expect(await tableItems()).toEqual(before);
      expect(await store.getLanding(again.id)).toMatchObject({ status: 'ACCEPTED', alreadyRegistered: true, at: '2026-11-21T07:00:00.000Z' });
    });

    it("writes a registered version's manifest on the redelivery after a crash before it", async () => {
      let crashNext = true;
      const manifests = new (class extends DirectoryObjectStore {
        override async put(key: string, body: Uint8Array | string): Promise<ObjectInfo> {
          if (key.endsWith('/manifest.json') && crashNext) {
            crashNext = false;
            throw new Error('simulated crash before the manifest');
          }
          return super.put(key, body);
        }
      })(root);
      const crashed = new RegisterLandedDataset(store, manifests, published, validateTableFile, { now: () => new Date('2026-11-21T06:00:00Z') });
      const event = day(files);
      await expect(crashed.execute(event)).rejects.toThrow(/simulated crash/);
      expect(published.events).toEqual([]);

      const outcome = await crashed.execute(event);
      expect(outcome).toMatchObject({ kind: 'registered', dataset: { version: 1 } });
      const dataset = outcome.kind === 'registered' ? outcome.dataset : undefined;
      expect(await objects.head(dataset!.manifestKey)).toBeDefined();
      expect(DatasetRegistered.detail.parse(published.last().detail).metadata.eventId).toBe(`dataset-registered-${event.id}`);
      expect(DatasetRegistered.detail.parse(published.last().detail).data.alreadyRegistered).toBeUndefined();
    });
  });

  describe('bad keys and names are Dataset Rejected with the reason', () => {
    it.each(['landing//x.csv', 'landing/./x', 'landing\\..\\x'])('rejects the key %j at the contract', async (key) => {
      const outcome = await ingest.execute(day([{ table: 'returns', key }]));
      expect(outcome.kind).toBe('rejected');
      expect(published.last().detailType).toBe(DatasetRejected.detailType);
      expect(reasonsOf(published.last())).toEqual([{ path: 'detail.files.0.key', message: expect.stringMatching(/^not a valid object key: /) }]);
    });

    it.each(['../../x', 'a/b'])('rejects the desk %j at the contract', async (desk) => {
      expect((await ingest.execute(day([{ table: 'returns', key: 'landing/cash/returns.csv', desk }]))).kind).toBe('rejected');
      expect(reasonsOf(published.last())).toContainEqual({ path: 'detail.files.0.desk', message: expect.stringMatching(/^must /) });
    });

    it('rejects a key that is a symbolic link out of the store, without following it or quoting the target', async () => {
      await writeFile(join(outside, 'passwd'), `${SECRET_LINE}\n`);
      await mkdir(join(root, 'landing', 'evil'), { recursive: true });
      await symlink(join(outside, 'passwd'), join(root, 'landing', 'evil', 'returns.csv'));
      const outcome = await ingest.execute(day([{ table: 'returns', key: 'landing/evil/returns.csv' }]));
      expect(outcome.kind).toBe('rejected');
      expect(reasonsOf(published.last())).toEqual([
        { path: 'detail.files.0.key', file: 'landing/evil/returns.csv', message: "the object store refuses the key: leads out of the store's root through a symbolic link" },
      ]);
      expect(JSON.stringify(published.events)).not.toContain('root:x');
      expect(JSON.stringify(published.events)).not.toContain(outside);
    });
  });

  describe('market data split by symbol', () => {
    const QUOTES = 'ts,symbol,bid,ask,bid_size,ask_size\n';
    const quote = (symbol: string, minute: number) => `2026-11-20 10:${String(minute).padStart(2, '0')}:00,${symbol},10.00,10.02,100,200\n`;

    it("registers one file per symbol, and rejects a row of another symbol in a symbol's file with its line", async () => {
      await objects.put('landing/q/quotes/business_date=2026-11-20/symbol=AAA/part-0.csv', QUOTES + quote('AAA', 1) + quote('AAA', 2));
      await objects.put('landing/q/quotes/business_date=2026-11-20/symbol=BBB/part-0.csv', QUOTES + quote('BBB', 1) + quote('AAA', 2));
      const good = { table: 'quotes', key: 'landing/q/quotes/business_date=2026-11-20/symbol=AAA/part-0.csv' };
      const bad = { table: 'quotes', key: 'landing/q/quotes/business_date=2026-11-20/symbol=BBB/part-0.csv' };
      expect(await ingest.execute(day([good]))).toMatchObject({ kind: 'registered', dataset: { rowCount: 2 } });
      expect((await ingest.execute(day([good, bad]))).kind).toBe('rejected');
      expect(reasonsOf(published.last())).toEqual([{ file: bad.key, line: 3, column: 'symbol', message: "symbol must be BBB: the file is that symbol's part (its symbol= directory)" }]);
      // A file of several symbols (no symbol= directory) may hold any.
      await objects.put('landing/q/quotes/business_date=2026-11-20/part-0.csv', QUOTES + quote('BBB', 1) + quote('AAA', 2));
      expect(await ingest.execute(day([{ table: 'quotes', key: 'landing/q/quotes/business_date=2026-11-20/part-0.csv' }]))).toMatchObject({ kind: 'registered' });
    });
  });

  describe('rejection reasons never quote file content', () => {
    it('names file, line and column, not the values or an unknown header', async () => {
      await objects.put('landing/bad/returns.csv', `${SECRET_LINE}\n`);
      await objects.put('landing/bad2/returns.csv', 'date,return\n2026-11-19,hunter2\nnot-a-date,0.1\n');
      const outcome = await ingest.execute(
        day([
          { table: 'returns', key: 'landing/bad/returns.csv' },
          { table: 'returns', key: 'landing/bad2/returns.csv' },
        ]),
      );
      expect(outcome.kind).toBe('rejected');
      const reasons = reasonsOf(published.last());
      const text = JSON.stringify(reasons);
      for (const secret of ['root:x', '/bin/bash', 'hunter2', 'not-a-date']) expect(text).not.toContain(secret);
      expect(reasons).toContainEqual({ file: 'landing/bad/returns.csv', line: 1, column: 'date', message: 'missing required column "date"' });
      expect(reasons).toContainEqual(expect.objectContaining({ file: 'landing/bad/returns.csv', line: 1, message: expect.stringMatching(/^unexpected column at position \d+ \(the table's columns: /) }));
      expect(reasons).toContainEqual({ file: 'landing/bad2/returns.csv', line: 2, column: 'return', message: 'not a valid DOUBLE' });
      expect(reasons).toContainEqual({ file: 'landing/bad2/returns.csv', line: 3, column: 'date', message: 'not a valid DATE' });
    });
  });
});

