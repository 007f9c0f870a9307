import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hashApiKey, loadApiKeysFile } from '@nightshift/reporting';
import { ensureApiKeys } from './api-keys.js';

describe('ensureApiKeys', () => {
  let home: string;
  beforeEach(async () => {
    home = await mkdtemp(join(tmpdir(), 'nightshift-keys-'));
  });
  afterEach(() => rm(home, { recursive: true, force: true }));

  it('generates one tenantless admin key (the machine\'s operator) on first start, owner-only, and keeps it after', async () => {
    const first = await ensureApiKeys(home);
    expect(first.created).toBe(true);
    const key = (await readFile(first.adminKeyFile, 'utf8')).trim();
    expect(await loadApiKeysFile(first.keysFile)).toEqual([{ id: 'embedded-admin', keyHash: hashApiKey(key), role: 'admin' }]);
    for (const f of [first.keysFile, first.adminKeyFile]) expect((await stat(f)).mode & 0o777).toBe(0o600);
    expect(await readFile(first.keysFile, 'utf8')).not.toContain(key);

    const again = await ensureApiKeys(home);
    expect(again.created).toBe(false);
    expect((await readFile(again.adminKeyFile, 'utf8')).trim()).toBe(key);
  });
});
