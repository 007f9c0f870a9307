import { open, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { apiKeysFileSchema, hashApiKey, loadApiKeysFile, newApiKey, type ApiKeysFile } from '@nightshift/reporting';

/** The embedded default's REST API credentials in its home. */
export interface EmbeddedApiKeys {
  /** `<home>/api-keys.json`: the keys as reporting loads them (hashes only); pass as reporting's `apiKeysFile`. */
  keysFile: string;
  /** `<home>/api-key`: the platform admin key (no tenant: the local user operates the whole machine), for curl, the CLI and SDK calls (mode 0600). */
  adminKeyFile: string;
  /** Whether this start generated them (print how to use them then). */
  created: boolean;
}

/** The id of the key the embedded default generates. */
export const EMBEDDED_ADMIN_KEY_ID = 'embedded-admin';

/**
 * Generates the embedded default's API key on first start: one tenantless admin key (it reads every
 * tenant, redrives dead letters; runs it requests are the default tenant's),
 * its hash in `<home>/api-keys.json` and the key itself in `<home>/api-key`, both 0600. Later starts
 * keep both as they are (keys an operator added included) after checking the keys file loads.
 */
export async function ensureApiKeys(home: string): Promise<EmbeddedApiKeys> {
  const keysFile = join(home, 'api-keys.json');
  const adminKeyFile = join(home, 'api-key');
  try {
    await loadApiKeysFile(keysFile);
    return { keysFile, adminKeyFile, created: false };
  } catch (e) {
    if ((e as { cause?: NodeJS.ErrnoException }).cause?.code !== 'ENOENT') throw e;
  }
  const key = newApiKey();
  const file: ApiKeysFile = apiKeysFileSchema.parse({ keys: [{ id: EMBEDDED_ADMIN_KEY_ID, keyHash: hashApiKey(key), role: 'admin' }] });
  // The key first, then the file that makes it valid: a crash in between leaves no file, so the next start begins again.
  await writePrivate(adminKeyFile, `${key}\n`);
  await writePrivate(keysFile, `${JSON.stringify(file, null, 2)}\n`);
  return { keysFile, adminKeyFile, created: true };
}

/** How to call the REST API with the embedded key, for the host to print. */
export async function describeApiKeys(keys: EmbeddedApiKeys, apiUrl: string): Promise<string> {
  // Homes made before the key became tenantless keep an admin key of tenant "default": say which this one is.
  const record = (await loadApiKeysFile(keys.keysFile).catch(() => [])).find((k) => k.id === EMBEDDED_ADMIN_KEY_ID);
  const scope = record?.tenant === undefined ? 'platform admin: every tenant' : `admin of tenant "${record.tenant}"`;
  const lines = [
    `API key (${scope}) in ${keys.adminKeyFile}${keys.created ? ' (new)' : ''}:`,
    `  curl -H "Authorization: Bearer $(cat ${keys.adminKeyFile})" ${apiUrl}/runs`,
    `  npx nightshift runs list      (the CLI reads it from there)`,
  ];
  if ((await readFile(keys.adminKeyFile, 'utf8').catch(() => '')).trim() === '') lines.push(`  (${keys.adminKeyFile} is missing: add keys to ${keys.keysFile})`);
  return lines.join('\n');
}

/** Writes a file only its owner can read, atomically (temp file then rename). */
async function writePrivate(path: string, content: string): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  const handle = await open(tmp, 'w', 0o600);
  try {
    await handle.writeFile(content, 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(tmp, path).catch(async (e: unknown) => {
    await rm(tmp, { force: true });
    throw e;
  });
}
