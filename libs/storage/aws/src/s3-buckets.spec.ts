import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import {
  InvalidObjectKeyError,
  ObjectNotFoundError,
  PrefixRoutedObjectStore,
  StorageUnavailableError,
  type ObjectStore,
} from '@nightshift/storage-domain';
import { DirectoryObjectStore } from '@nightshift/storage-local';
import { startFauxqs, type FauxqsServer } from 'fauxqs';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
// The conformance suite is test-only and deliberately not in storage-domain's public index.
// eslint-disable-next-line @nx/enforce-module-boundaries
import { describeObjectStoreContract } from '../../domain/src/testing/object-store.contract.js';
import { s3ObjectStoreForBuckets } from './s3-buckets.js';
import { S3ObjectStore } from './s3-object-store.js';

/*
 * The routing `s3ObjectStoreForBuckets` builds. PrefixRoutedObjectStore lives in storage-domain,
 * which may not import an adapter, so its contract run over real stores is here: over
 * DirectoryObjectStores (every case, multipart included), then over S3 buckets in fauxqs.
 */

/** Three directory stores (landing, claim-checks, the rest) in temp dirs, routed as the deployment's buckets. */
async function routedDirectories(): Promise<{ store: PrefixRoutedObjectStore; landing: DirectoryObjectStore; claimChecks: DirectoryObjectStore; rest: DirectoryObjectStore; close(): Promise<void> }> {
  const root = await mkdtemp(join(tmpdir(), 'ns-routed-'));
  const landing = new DirectoryObjectStore(join(root, 'landing-bucket'));
  const claimChecks = new DirectoryObjectStore(join(root, 'claim-check-bucket'));
  const rest = new DirectoryObjectStore(join(root, 'results-bucket'));
  const store = new PrefixRoutedObjectStore(
    [
      { prefix: 'landing/', store: landing },
      { prefix: 'claim-checks/', store: claimChecks },
    ],
    rest,
  );
  return { store, landing, claimChecks, rest, close: () => rm(root, { recursive: true, force: true }) };
}

const keysOf = async (store: ObjectStore, prefix = ''): Promise<string[]> => (await store.list(prefix)).map((o) => o.key);

describeObjectStoreContract('PrefixRoutedObjectStore -> DirectoryObjectStores', async () => {
  const { store, close } = await routedDirectories();
  return { store, multipartFileBytes: 3 * 1024 * 1024, close };
});

// The contract's keys (runs/, a/, pages/ ...) all fall to one store; the same suite with every key under routed prefixes.
describeObjectStoreContract('PrefixRoutedObjectStore -> DirectoryObjectStores, keys spread over routes', async () => {
  const root = await mkdtemp(join(tmpdir(), 'ns-routed-'));
  const routes = ['a/', 'bin/', 'in/', 'x/', 'd/', 'p/q/', 'pages/', 'runs/r1/'].map((prefix, i) => ({ prefix, store: new DirectoryObjectStore(join(root, `route-${i}`)) }));
  return { store: new PrefixRoutedObjectStore(routes, new DirectoryObjectStore(join(root, 'rest'))), multipartFileBytes: 3 * 1024 * 1024, close: () => rm(root, { recursive: true, force: true }) };
});

describe('PrefixRoutedObjectStore', () => {
  let dirs: Awaited<ReturnType<typeof routedDirectories>>;
  let scratch: string;
  beforeEach(async () => {
    dirs = await routedDirectories();
    scratch = await mkdtemp(join(tmpdir(), 'ns-routed-scratch-'));
  });
  afterEach(async () => {
    await dirs.close();
    await rm(scratch, { recursive: true, force: true });
  });

  it('keeps each key, unchanged, in the store of its prefix, and reads it back from there', async () => {
    const { store, landing, claimChecks, rest } = dirs;
    await store.put('landing/oms/2024-05-02/fills.csv', 'a\n1\n');
    await store.put('claim-checks/2024-05-02/e1.json', '{}');
    await store.put('runs/r1/plan.json', '{"steps":[]}');
    await store.put('landingx', 'not under landing/');
    const file = join(scratch, 'up.csv');
    await writeFile(file, 'b\n2\n');
    await store.putFile('landing/oms/2024-05-02/more.csv', file);

    expect(await keysOf(landing)).toEqual(['landing/oms/2024-05-02/fills.csv', 'landing/oms/2024-05-02/more.csv']);
    expect(await keysOf(claimChecks)).toEqual(['claim-checks/2024-05-02/e1.json']);
    expect(await keysOf(rest)).toEqual(['landingx', 'runs/r1/plan.json']);

    expect(Buffer.from(await store.get('landing/oms/2024-05-02/more.csv')).toString()).toBe('b\n2\n');
    expect(await store.head('claim-checks/2024-05-02/e1.json')).toEqual(await claimChecks.head('claim-checks/2024-05-02/e1.json'));
    expect(await store.localFile('landing/oms/2024-05-02/fills.csv', scratch)).toBe(landing.pathOf('landing/oms/2024-05-02/fills.csv'));
    await store.delete('landing/oms/2024-05-02/fills.csv');
    expect(await landing.head('landing/oms/2024-05-02/fills.csv')).toBeUndefined();
    // An object of the same key in another store is not the routed one.
    await rest.put('landing/oms/2024-05-02/fills.csv', 'stray');
    await expect(store.get('landing/oms/2024-05-02/fills.csv')).rejects.toMatchObject({ name: 'ObjectNotFoundError', key: 'landing/oms/2024-05-02/fills.csv' });
  });

  it('merges a listing that spans stores in key order, and lists one store for a prefix it owns', async () => {
    const { store, landing, rest } = dirs;
    const keys = ['landing/b.csv', 'lab/x', 'claim-checks/c.json', 'landing/a.csv', 'landingx', 'datasets/d/v1/m.json', 'la', 'reports/r.json', 'm'];
    for (const k of keys) await store.put(k, k);
    // Keys a store holds outside its routes (another tool wrote them there) are not answered: nothing else would reach them.
    await landing.put('runs/stray.json', 'x');
    await rest.put('landing/stray.csv', 'x');

    expect(await keysOf(store)).toEqual(['claim-checks/c.json', 'datasets/d/v1/m.json', 'la', 'lab/x', 'landing/a.csv', 'landing/b.csv', 'landingx', 'm', 'reports/r.json']);
    expect(await keysOf(store, 'la')).toEqual(['la', 'lab/x', 'landing/a.csv', 'landing/b.csv', 'landingx']);
    expect(await keysOf(store, 'landing')).toEqual(['landing/a.csv', 'landing/b.csv', 'landingx']);
    expect(await keysOf(store, 'landing/')).toEqual(['landing/a.csv', 'landing/b.csv']);
    expect(await keysOf(store, 'landing/b')).toEqual(['landing/b.csv']);
    expect(await store.list('claim-checks/')).toEqual([{ key: 'claim-checks/c.json', size: 19 }]);
    expect(await keysOf(store, 'runs/')).toEqual([]);
  });

  it('routes a key to the longest prefix it starts with', async () => {
    const root = await mkdtemp(join(tmpdir(), 'ns-routed-nested-'));
    try {
      const outer = new DirectoryObjectStore(join(root, 'outer'));
      const inner = new DirectoryObjectStore(join(root, 'inner'));
      const rest = new DirectoryObjectStore(join(root, 'rest'));
      const store = new PrefixRoutedObjectStore(
        [
          { prefix: 'landing/', store: outer },
          { prefix: 'landing/big/', store: inner },
        ],
        rest,
      );
      for (const k of ['landing/big/1.csv', 'landing/a.csv', 'landing/bigger.csv', 'z']) await store.put(k, k);
      expect(await keysOf(inner)).toEqual(['landing/big/1.csv']);
      expect(await keysOf(outer)).toEqual(['landing/a.csv', 'landing/bigger.csv']);
      expect(await keysOf(store, 'landing/b')).toEqual(['landing/big/1.csv', 'landing/bigger.csv']);
      expect(await keysOf(store)).toEqual(['landing/a.csv', 'landing/big/1.csv', 'landing/bigger.csv', 'z']);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it('refuses a key before asking any store, and passes a store error on as it came', async () => {
    const unavailable = new StorageUnavailableError('SlowDown');
    const failing: ObjectStore = {
      put: () => Promise.reject(unavailable),
      putFile: () => Promise.reject(unavailable),
      get: () => Promise.reject(unavailable),
      head: () => Promise.reject(unavailable),
      list: () => Promise.reject(unavailable),
      delete: () => Promise.reject(unavailable),
      localFile: () => Promise.reject(unavailable),
    };
    const store = new PrefixRoutedObjectStore([{ prefix: 'landing/', store: failing }], dirs.rest);
    await expect(store.get('landing/../runs/x')).rejects.toBeInstanceOf(InvalidObjectKeyError);
    await expect(store.get('landing/a.csv')).rejects.toBe(unavailable);
    await expect(store.list('')).rejects.toBe(unavailable);
    expect(await store.list('runs/')).toEqual([]);
    await expect(store.get('runs/missing')).rejects.toBeInstanceOf(ObjectNotFoundError);
  });

  it('refuses routes that are not whole key segments, or given twice', () => {
    const { rest } = dirs;
    for (const prefix of ['landing', '', '/landing/', 'a//', '../x/']) {
      expect(() => new PrefixRoutedObjectStore([{ prefix, store: rest }], rest)).toThrow(RangeError);
    }
    expect(() => new PrefixRoutedObjectStore([{ prefix: 'a/', store: rest }, { prefix: 'a/', store: rest }], rest)).toThrow(/given twice/);
  });
});

describe('s3ObjectStoreForBuckets over fauxqs', () => {
  let fauxqs: FauxqsServer;
  let client: S3Client;
  beforeAll(async () => {
    fauxqs = await startFauxqs({ port: 0, logger: false });
    for (const bucket of ['ns-results', 'ns-landing', 'ns-claim-checks']) fauxqs.createBucket(bucket);
    client = new S3Client({ endpoint: fauxqs.address, forcePathStyle: true, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
  });
  afterEach(() => fauxqs.reset());
  afterAll(async () => {
    client?.destroy();
    await fauxqs?.stop();
  });
  const bucket = (name: string) => new S3ObjectStore(client, { bucket: name });

  describeObjectStoreContract(
    's3ObjectStoreForBuckets -> three fauxqs buckets',
    async () => ({ store: s3ObjectStoreForBuckets(client, { bucket: 'ns-results', landingBucket: 'ns-landing', claimCheckBucket: 'ns-claim-checks' }), multipartFileBytes: 6 * 1024 * 1024, close: async () => fauxqs.reset() }),
    { multipart: 'fauxqs 1.9.2 stores a multipart upload completed with part checksums empty (see s3-object-store.spec.ts)' },
  );

  it('keeps landing and claim-check keys, unchanged, in buckets of their own', async () => {
    const store = s3ObjectStoreForBuckets(client, { bucket: 'ns-results', landingBucket: 'ns-landing', claimCheckBucket: 'ns-claim-checks' });
    await store.put('landing/oms/fills.csv', 'a\n1\n');
    await store.put('claim-checks/2024-05-02/e1.json', '{}');
    await store.put('runs/r1/plan.json', '{}');
    expect(await keysOf(bucket('ns-landing'))).toEqual(['landing/oms/fills.csv']);
    expect(await keysOf(bucket('ns-claim-checks'))).toEqual(['claim-checks/2024-05-02/e1.json']);
    expect(await keysOf(bucket('ns-results'))).toEqual(['runs/r1/plan.json']);
    expect(await keysOf(store)).toEqual(['claim-checks/2024-05-02/e1.json', 'landing/oms/fills.csv', 'runs/r1/plan.json']);
  });

  it('shares one extra bucket between both prefixes, and leaves the other prefix in the main bucket', async () => {
    const shared = s3ObjectStoreForBuckets(client, { bucket: 'ns-results', landingBucket: 'ns-landing', claimCheckBucket: 'ns-landing' });
    await shared.put('landing/a.csv', 'a');
    await shared.put('claim-checks/e.json', 'e');
    expect(await keysOf(bucket('ns-landing'))).toEqual(['claim-checks/e.json', 'landing/a.csv']);
    expect(await keysOf(shared)).toEqual(['claim-checks/e.json', 'landing/a.csv']);

    const landingOnly = s3ObjectStoreForBuckets(client, { bucket: 'ns-results', landingBucket: 'ns-landing', claimCheckBucket: 'ns-results' });
    await landingOnly.put('claim-checks/f.json', 'f');
    expect(await keysOf(bucket('ns-results'))).toEqual(['claim-checks/f.json']);
  });

  it('is a plain S3ObjectStore on one bucket when no other bucket is set, or each is that bucket', () => {
    expect(s3ObjectStoreForBuckets(client, { bucket: 'ns-results' })).toBeInstanceOf(S3ObjectStore);
    expect(s3ObjectStoreForBuckets(client, { bucket: 'ns-results', landingBucket: 'ns-results', claimCheckBucket: undefined })).toBeInstanceOf(S3ObjectStore);
    expect(s3ObjectStoreForBuckets(client, { bucket: 'ns-results', landingBucket: 'ns-landing' })).toBeInstanceOf(PrefixRoutedObjectStore);
  });
});
