import { randomBytes } from 'node:crypto';
import { chmod, readFile, rename, writeFile } from 'node:fs/promises';
import type { AwsCredentials } from './sigv4.js';

/**
 * What a key may do, as an IAM policy would say it: which AWS APIs it may call (by the names the
 * gateway routes to: `events`, `sqs`, `logs`, `dynamodb`, `batch`, `s3`), which event sources
 * it may publish with PutEvents (IAM's `events:source` condition; see {@link mayPublishSource}),
 * and which objects it may use through S3 (IAM's S3 resources and `s3:prefix` condition).
 */
export interface AccessGrant {
  apis: readonly string[];
  /** Source patterns; `*` matches any run of characters. */
  sources: readonly string[];
  /**
   * Its S3 policy: the object accesses these statements allow, and no other (none: no object,
   * even with `s3` in `apis`, which then reaches only the bucket-level calls).
   */
  objects: readonly ObjectGrant[];
}

/** An S3 permission, as IAM names it (see the S3 endpoint's `ObjectAccess` for which operation needs which). */
export type ObjectAction = 's3:GetObject' | 's3:PutObject' | 's3:DeleteObject' | 's3:ListBucket';

/** One statement of a key's S3 policy: these actions on the object keys these patterns match. */
export interface ObjectGrant {
  actions: readonly ObjectAction[];
  /**
   * Object-key patterns, as the key part of IAM's resource `arn:aws:s3:::<bucket>/<pattern>`: `*`
   * matches any run of characters, `/` included. For `s3:ListBucket` a pattern is matched against
   * the listing's prefix, as IAM's `s3:prefix` condition (StringLike) is: `landing/*` allows
   * listing `landing/` or `landing/x`, not the whole bucket (prefix ``) nor `landing`.
   */
  keys: readonly string[];
}

/** A configured access key: its secret, whose it is, and what it may do. */
export interface AccessKey extends AwsCredentials {
  principal: string;
  grant: AccessGrant;
}

/** Sources no key may publish: AWS reserves `aws.*` for its own services' events. */
export const RESERVED_SOURCE_PREFIX = 'aws.';
/** Sources only a grant that names them may publish (the platform's own services). */
export const PLATFORM_SOURCE_PREFIX = 'nightshift.';

/**
 * Whether a key with these source patterns may publish an event of `source`. `aws.*` never (as in
 * AWS, whatever the policy); `nightshift.*` only through a pattern that itself starts with
 * `nightshift.` (so an upstream key's `*` does not reach the platform's sources); anything else
 * through any matching pattern.
 */
export function mayPublishSource(patterns: readonly string[], source: string): boolean {
  if (source.startsWith(RESERVED_SOURCE_PREFIX)) return false;
  const platform = source.startsWith(PLATFORM_SOURCE_PREFIX);
  return patterns.some((p) => (!platform || p.startsWith(PLATFORM_SOURCE_PREFIX)) && globMatches(p, source));
}

/**
 * Whether the grant allows `action` on the object `key` ({@link AccessGrant.objects}): some statement
 * names the action and has a pattern matching the key (for `s3:ListBucket`, the listing's prefix).
 */
export function mayAccessObject(grant: AccessGrant, action: ObjectAction, key: string): boolean {
  return grant.objects.some((statement) => statement.actions.includes(action) && statement.keys.some((pattern) => globMatches(pattern, key)));
}

/** IAM's StringLike: `*` matches any run of characters (`/` included); everything else itself. */
function globMatches(pattern: string, value: string): boolean {
  const re = new RegExp(`^${pattern.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`, 's');
  return re.test(value);
}

/** The credentials file is unreadable or not what {@link loadOrCreateAccessKeys} writes; the host cannot start on it. */
export class AccessKeysFileError extends Error {
  readonly retryable = false;
  constructor(
    readonly file: string,
    reason: string,
    options?: { cause?: unknown },
  ) {
    super(`${file}: ${reason}`, options);
    this.name = 'AccessKeysFileError';
  }
}

/** The configured keys, by access key id and by principal. */
export class AccessKeys {
  readonly #byId = new Map<string, AccessKey>();
  readonly #byPrincipal = new Map<string, AccessKey>();

  constructor(keys: readonly AccessKey[]) {
    for (const k of keys) {
      this.#byId.set(k.accessKeyId, k);
      this.#byPrincipal.set(k.principal, k);
    }
  }

  /** The key of this id, or undefined: an unknown key. */
  find(accessKeyId: string): AccessKey | undefined {
    return this.#byId.get(accessKeyId);
  }

  /** The credentials of a principal. @throws RangeError for a principal that has no key. */
  of(principal: string): AwsCredentials {
    const k = this.#byPrincipal.get(principal);
    if (!k) throw new RangeError(`no access key for ${principal}`);
    return { accessKeyId: k.accessKeyId, secretAccessKey: k.secretAccessKey };
  }
}

interface StoredKey {
  principal: string;
  accessKeyId: string;
  secretAccessKey: string;
}

/**
 * Reads the keys from `file`, or generates them there on first use: one per principal of `grants`,
 * written with mode 0600 (and set to 0600 again on every load). A principal the file lacks gets a new
 * key (the file is rewritten); a principal the file has and `grants` does not is dropped, so its key
 * stops working. Grants come from the caller, never from the file: the file holds secrets, the code
 * holds policy.
 *
 * @throws AccessKeysFileError when the file exists and cannot be read or parsed.
 */
export async function loadOrCreateAccessKeys(file: string, grants: Readonly<Record<string, AccessGrant>>): Promise<AccessKeys> {
  const stored = await readStored(file);
  const byPrincipal = new Map(stored.map((k) => [k.principal, k]));
  let changed = false;
  const keys: AccessKey[] = Object.entries(grants).map(([principal, grant]) => {
    let k = byPrincipal.get(principal);
    if (!k) {
      k = { principal, ...generateCredentials() };
      byPrincipal.set(principal, k);
      changed = true;
    }
    return { ...k, grant };
  });
  if (changed || stored.length !== keys.length) {
    const tmp = `${file}.tmp`;
    const content = { keys: keys.map(({ principal, accessKeyId, secretAccessKey }) => ({ principal, accessKeyId, secretAccessKey })) };
    await writeFile(tmp, `${JSON.stringify(content, null, 2)}\n`, { mode: 0o600 });
    await rename(tmp, file);
  }
  await chmod(file, 0o600);
  return new AccessKeys(keys);
}

/** A new key pair shaped as AWS's: `AKIA` and 16 base-32 characters; a 40-character secret. */
export function generateCredentials(): AwsCredentials {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  const id = [...randomBytes(16)].map((b) => alphabet[b % 32]).join('');
  return { accessKeyId: `AKIA${id}`, secretAccessKey: randomBytes(30).toString('base64') };
}

async function readStored(file: string): Promise<StoredKey[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new AccessKeysFileError(file, 'cannot be read', { cause: e });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new AccessKeysFileError(file, 'is not JSON', { cause: e });
  }
  const keys = (parsed as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys) || !keys.every(isStoredKey)) {
    throw new AccessKeysFileError(file, 'must be { "keys": [{ "principal", "accessKeyId", "secretAccessKey" }] } with non-empty strings');
  }
  return keys;
}

function isStoredKey(v: unknown): v is StoredKey {
  const k = v as Record<string, unknown> | null;
  return typeof k === 'object' && k !== null && (['principal', 'accessKeyId', 'secretAccessKey'] as const).every((f) => typeof k[f] === 'string' && k[f] !== '');
}
