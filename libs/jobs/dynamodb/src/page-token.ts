import { InvalidPageTokenError, type Page } from '@nightshift/jobs-domain';
import type { Item, QueryPage } from './dynamo-table.js';
import { InvalidJobStoreInputError } from './errors.js';

/*
 * Listing pages. A `nextToken` is the base64url JSON of where the next page starts: DynamoDB's
 * LastEvaluatedKey (`PK`, `SK`), plus for task listings the slot inside the chunk. Tokens are
 * opaque to callers; a token is checked against the listing it is passed to, so one that was not
 * issued by it (garbled, truncated, from another listing or run) is refused instead of silently
 * starting somewhere else.
 */

/**
 * Where a page resumes: after the item `PK`/`SK`, or (task chunks) at `slot` of that item. `scope`
 * names what a listing keeps to when its partition does not say it (a tenant's runs read from an
 * index shared by tenants), so that a token of one scope is refused by another. A type alias, not
 * an interface, so that it is assignable to the SDK's Record-typed keys.
 */
export type PageCursor = { PK: string; SK: string; slot?: number; scope?: string };

export function encodeToken(cursor: PageCursor): string {
  return Buffer.from(JSON.stringify(cursor), 'utf8').toString('base64url');
}

/**
 * Decodes a token issued by `listing` over partition `pk` (and sort keys starting with `prefix`;
 * with a slot below `slots` for task listings; of `scope`, or of none when it is not given).
 * Throws InvalidPageTokenError (jobs-domain) naming the token otherwise.
 */
export function decodeToken(token: string, listing: string, pk: string, options: { prefix?: string; slots?: number; scope?: string } = {}): PageCursor {
  const { prefix = '', slots, scope: expectedScope } = options;
  const refuse = (why: string): never => {
    throw new InvalidPageTokenError(token, `${listing}: ${why}`);
  };
  if (!/^[A-Za-z0-9_-]+$/.test(token)) refuse('not base64url');
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    return refuse('not JSON');
  }
  if (typeof parsed !== 'object' || parsed === null) return refuse('not an object');
  const { PK, SK, slot, scope } = parsed as Record<string, unknown>;
  if (PK !== pk) return refuse('another partition');
  if (typeof SK !== 'string' || !SK.startsWith(prefix)) return refuse('another key range');
  if (scope !== expectedScope) return refuse('another scope');
  const scoped = expectedScope === undefined ? {} : { scope: expectedScope };
  if (slots === undefined) {
    if (slot !== undefined) return refuse('unexpected slot');
    return { PK, SK, ...scoped };
  }
  if (typeof slot !== 'number' || !Number.isInteger(slot) || slot < 0 || slot >= slots) return refuse('bad slot');
  return { PK, SK, slot, ...scoped };
}

/** A page size: `requested` if given (a positive integer, capped at `max`), else `fallback`. */
export function pageLimit(requested: number | undefined, fallback: number, max: number, listing: string): number {
  if (requested === undefined) return fallback;
  if (!Number.isInteger(requested) || requested < 1) throw new InvalidJobStoreInputError(`${listing} limit must be a positive integer, got ${requested}`);
  return Math.min(requested, max);
}

/** A query page cut to `limit` items (the query asked for one more, to know whether a next page exists). */
export function cutPage(page: QueryPage, limit: number): { items: Item[]; next?: PageCursor } {
  if (page.items.length > limit) {
    const items = page.items.slice(0, limit);
    const last = items[limit - 1];
    return { items, next: { PK: String(last.PK), SK: String(last.SK) } };
  }
  return { items: page.items, next: page.lastKey && { PK: String(page.lastKey.PK), SK: String(page.lastKey.SK) } };
}

/** The page, with a token for the next one when there is one. */
export function withToken<T>(items: T[], next: PageCursor | undefined): Page<T> {
  return next === undefined ? { items } : { items, nextToken: encodeToken(next) };
}
