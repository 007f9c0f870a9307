import { describe, expect, it } from 'vitest';
import { ApiProblemError } from '../api/api-problem.js';
import type { ApiPage } from '../api/platform-api.js';
import { connectionOf, type ConnectionValue } from './connection.js';

/**
 * A listing of `items` whose pages stop after `limit` items or at a multiple of `shortEvery`
 * (a filtered page may hold fewer than asked and still have a next one), with opaque cursors.
 */
function listing(items: readonly string[], shortEvery = Infinity) {
  return ({ cursor, limit }: { cursor?: string; limit: number }): ApiPage<string> => {
    const start = cursor === undefined ? 0 : Number(Buffer.from(cursor, 'base64url').toString());
    let end = Math.min(items.length, start + limit);
    const cut = Math.ceil((start + 1) / shortEvery) * shortEvery;
    if (cut < end) end = cut;
    return { items: items.slice(start, end), ...(end < items.length ? { nextCursor: Buffer.from(String(end)).toString('base64url') } : {}) };
  };
}

const ITEMS = ['a', 'b', 'c', 'd', 'e', 'f', 'g'];

async function walk(list: ReturnType<typeof listing>, first: number): Promise<{ nodes: string[]; pages: number }> {
  const nodes: string[] = [];
  let after: string | null = null;
  let pages = 0;
  for (; pages < 50; pages++) {
    const page: ConnectionValue<string> = await connectionOf(list, { first, after }, 500);
    nodes.push(...page.edges.map((e) => e.node));
    if (!page.pageInfo.hasNextPage) return { nodes, pages: pages + 1 };
    expect(page.pageInfo.endCursor).not.toBeNull();
    after = page.pageInfo.endCursor;
  }
  throw new Error('the connection never ended');
}

describe('connections over cursor listings', () => {
  it('yields every item once, in order, following endCursor, with full and with short listing pages', async () => {
    for (const first of [1, 2, 3, 7, 10]) {
      expect((await walk(listing(ITEMS), first)).nodes).toEqual(ITEMS);
      expect((await walk(listing(ITEMS, 2), first)).nodes).toEqual(ITEMS);
    }
  });

  it("resumes after any edge's cursor, not only the last", async () => {
    const page = await connectionOf(listing(ITEMS), { first: 5 }, 500);
    for (const [i, edge] of page.edges.entries()) {
      const rest = await connectionOf(listing(ITEMS), { first: 10, after: edge.cursor }, 500);
      expect(rest.edges.map((e) => e.node)).toEqual(ITEMS.slice(i + 1));
      expect(rest.pageInfo.hasNextPage).toBe(false);
    }
  });

  it('ends with no next page and a null endCursor on an empty listing', async () => {
    expect(await connectionOf(listing([]), { first: 3 }, 500)).toEqual({ edges: [], pageInfo: { hasNextPage: false, endCursor: null } });
  });

  it('refuses a cursor it did not issue and a first out of range, as 400 problems naming the argument', async () => {
    for (const args of [{ first: 3, after: 'garbage' }, { first: 3, after: Buffer.from('{"s":-1}').toString('base64url') }, { first: 0 }, { first: 501 }, { first: 1.5 }]) {
      const error = await Promise.resolve(connectionOf(listing(ITEMS), args, 500)).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ApiProblemError);
      expect(error).toMatchObject({ status: 400, problems: [{ path: args.first >= 1 && args.first <= 500 && Number.isInteger(args.first) ? 'after' : 'first' }] });
    }
  });
});
