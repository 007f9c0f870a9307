import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AccessKeysFileError, loadOrCreateAccessKeys, mayPublishSource, type AccessGrant } from './access-keys.js';

const GRANTS: Record<string, AccessGrant> = {
  planner: { apis: ['events'], sources: ['nightshift.planner'], objects: [] },
  upstream: { apis: ['events', 's3'], sources: ['*'], objects: [{ actions: ['s3:GetObject', 's3:PutObject'], keys: ['landing/*'] }] },
};
let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'access-keys-'));
});
afterEach(async () => rm(dir, { recursive: true, force: true }));

describe('loadOrCreateAccessKeys', () => {
  it('generates one key per principal into a 0600 file on first use, and loads the same keys later, with the grants of the code', async () => {
    const file = join(dir, 'credentials.json');
    const first = await loadOrCreateAccessKeys(file, GRANTS);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const upstream = first.of('upstream');
    expect(upstream.accessKeyId).toMatch(/^AKIA[A-Z2-7]{16}$/);
    expect(upstream.secretAccessKey).toHaveLength(40);
    expect(first.of('planner').accessKeyId).not.toBe(upstream.accessKeyId);
    const again = await loadOrCreateAccessKeys(file, GRANTS);
    expect(again.of('upstream')).toEqual(upstream);
    expect(again.find(upstream.accessKeyId)).toMatchObject({ principal: 'upstream', grant: GRANTS.upstream });
    expect(again.find('AKIANOSUCHKEY')).toBeUndefined();
  });

  it('adds a key for a new principal and drops the key of one no longer granted', async () => {
    const file = join(dir, 'credentials.json');
    const first = await loadOrCreateAccessKeys(file, { upstream: GRANTS.upstream });
    const next = await loadOrCreateAccessKeys(file, { planner: GRANTS.planner });
    expect(next.find(first.of('upstream').accessKeyId)).toBeUndefined();
    expect(JSON.parse(await readFile(file, 'utf8')).keys.map((k: { principal: string }) => k.principal)).toEqual(['planner']);
  });

  it('refuses a file it did not write', async () => {
    const file = join(dir, 'credentials.json');
    await writeFile(file, '{"keys":[{"principal":"upstream"}]}');
    await expect(loadOrCreateAccessKeys(file, GRANTS)).rejects.toBeInstanceOf(AccessKeysFileError);
    await writeFile(file, 'not json');
    await expect(loadOrCreateAccessKeys(file, GRANTS)).rejects.toBeInstanceOf(AccessKeysFileError);
  });
});

describe('mayPublishSource', () => {
  it('never aws.*; nightshift.* only when named; anything else by pattern', () => {
    expect(mayPublishSource(['*'], 'com.example.oms')).toBe(true);
    expect(mayPublishSource(['*'], 'nightshift.planner')).toBe(false);
    expect(mayPublishSource(['*'], 'aws.batch')).toBe(false);
    expect(mayPublishSource(['aws.*'], 'aws.batch')).toBe(false);
    expect(mayPublishSource(['nightshift.planner'], 'nightshift.planner')).toBe(true);
    expect(mayPublishSource(['nightshift.planner'], 'nightshift.reporting')).toBe(false);
    expect(mayPublishSource(['com.example.*'], 'com.example.oms')).toBe(true);
    expect(mayPublishSource(['com.example.*'], 'com.other')).toBe(false);
    expect(mayPublishSource([], 'com.example.oms')).toBe(false);
  });
});
