import { createHash, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { InvalidApiKeysFileError } from '../errors.js';
import { ROLES, tenantSchema } from './principal.js';

/**
 * One API key as configured: only its SHA-256 is stored, so a leaked file or config does not
 * leak the key. A key without a tenant must be an admin's (a platform administrator).
 */
export const apiKeyRecordSchema = z
  .object({
    /** Names the key in logs and as the caller (`requestedBy`); never secret. */
    id: z.string().min(1).max(128),
    /** Lowercase hex SHA-256 of the whole key (see {@link hashApiKey}). */
    keyHash: z.string().regex(/^[0-9a-f]{64}$/, 'must be the lowercase hex SHA-256 of the key'),
    role: z.enum(ROLES),
    tenant: tenantSchema.optional(),
  })
  .strict()
  .refine((k) => k.tenant !== undefined || k.role === 'admin', { message: 'only an admin key may have no tenant', path: ['tenant'] });
export type ApiKeyRecord = z.infer<typeof apiKeyRecordSchema>;

/** The API keys file (`NIGHTSHIFT_API_KEYS_FILE`; the embedded default's `<home>/api-keys.json`). */
export const apiKeysFileSchema = z.object({ keys: z.array(apiKeyRecordSchema) }).strict();
export type ApiKeysFile = z.infer<typeof apiKeysFileSchema>;

/** The prefix of keys made by {@link newApiKey}: it tells a key from a JWT, and secret scanners can match it. */
export const API_KEY_PREFIX = 'nsk_';

/** A new random API key (256 bits). Show it once; store only {@link hashApiKey} of it. */
export function newApiKey(): string {
  return `${API_KEY_PREFIX}${randomBytes(32).toString('base64url')}`;
}

/** What a key is stored and looked up as. */
export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/** Reads and validates an API keys file; throws InvalidApiKeysFileError naming the file and what is wrong (never a key). */
export async function loadApiKeysFile(path: string): Promise<ApiKeyRecord[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (cause) {
    throw new InvalidApiKeysFileError(`cannot read the API keys file ${path}: ${(cause as NodeJS.ErrnoException).code ?? String(cause)}`, { cause });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new InvalidApiKeysFileError(`the API keys file ${path} is not JSON`, { cause });
  }
  const parsed = apiKeysFileSchema.safeParse(json);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new InvalidApiKeysFileError(`the API keys file ${path} is invalid: ${problems}`);
  }
  return parsed.data.keys;
}
