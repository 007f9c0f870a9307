import type { z } from 'zod';
import type { ApiAnswer } from './api-client.js';
import { optional, type FlagValues } from './args.js';
import type { PlatformContext } from './platform-options.js';

/** The paging flags of every listing command. */
export const PAGING = { limit: { type: 'string' }, cursor: { type: 'string' }, all: { type: 'boolean' } } as const;

/**
 * One page of a listing, or every page with `--all`: the items parsed, and the JSON of the
 * items as sent (what `--json` prints), with the cursor of the page after the last one read.
 */
export async function pages<S extends z.ZodType<{ items: unknown[]; nextCursor?: string | undefined }>>(
  ctx: PlatformContext,
  path: (cursor: string | undefined) => string,
  schema: S,
  what: string,
  values: FlagValues,
): Promise<{ items: z.output<S>['items']; json: unknown[]; nextCursor?: string }> {
  const items: unknown[] = [];
  const json: unknown[] = [];
  let cursor = optional(values, 'cursor');
  let next: string | undefined;
  do {
    const page: ApiAnswer<z.output<S>> = await ctx.api.get(path(cursor), schema, what);
    items.push(...page.data.items);
    json.push(...(page.json as { items: unknown[] }).items);
    next = page.data.nextCursor;
    cursor = next;
  } while (values['all'] === true && next !== undefined);
  return { items, json, ...(next !== undefined ? { nextCursor: next } : {}) };
}

/** Prints a listing: JSON as the API pages it, or the table and where more is. */
export function printListing(ctx: PlatformContext, listing: { json: unknown[]; nextCursor?: string }, table: string[], none: string): void {
  if (ctx.json) {
    ctx.print(JSON.stringify({ items: listing.json, ...(listing.nextCursor !== undefined ? { nextCursor: listing.nextCursor } : {}) }, null, 2));
    return;
  }
  if (listing.json.length === 0) ctx.print(none);
  else for (const line of table) ctx.print(line);
  if (listing.nextCursor !== undefined) ctx.print(`(more: --cursor ${listing.nextCursor}, or --all)`);
}

